//! `gatehouse demo`: the portal with a lived-in organisation, in one command. It runs
//! on a fresh temporary data directory that is deleted when the demo stops (Ctrl-C or
//! SIGTERM), or on an empty `--data-dir`, which is kept. Its database is always the
//! SQLite file inside that directory and its email always goes to files there, so a
//! demo can never write into a real database or mail the demo's made-up people.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use super::{Failure, fail};
use crate::clock::SystemClock;
use crate::config::MailTransport;
use crate::config::{Config, DatabaseUrl, Settings};
use crate::demo::{self, Demo, Environment, Size};
use crate::services::apps::Issuer;
use crate::startup::Application;
use crate::telemetry;

/// The demo's data directory; a temporary one is removed when this is dropped.
struct DataDir {
    path: PathBuf,
    temporary: bool,
}

impl DataDir {
    /// A new private directory under the system's temporary directory.
    fn temporary() -> Result<Self, Failure> {
        let path = std::env::temp_dir().join(format!(
            "gatehouse-demo-{}",
            crate::crypto::random_base62(12)
        ));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(&path).map_err(|e| {
            fail(
                1,
                format!(
                    "cannot create a temporary directory {}: {e}",
                    path.display()
                ),
            )
        })?;
        Ok(Self {
            path,
            temporary: true,
        })
    }

    /// The directory the user named, if it is empty or does not exist yet.
    fn given(path: PathBuf) -> Result<Self, Failure> {
        match std::fs::read_dir(&path) {
            Ok(mut entries) => {
                if entries.next().is_some() {
                    return Err(fail(
                        2,
                        format!(
                            "the data directory {} is not empty: gatehouse demo starts only on an empty or new directory, so that demo data never mixes with real data",
                            path.display()
                        ),
                    ));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(fail(
                    1,
                    format!("cannot read the data directory {}: {e}", path.display()),
                ));
            }
        }
        Ok(Self {
            path,
            temporary: false,
        })
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        if self.temporary
            && let Err(e) = std::fs::remove_dir_all(&self.path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            eprintln!(
                "gatehouse: could not remove the demo's data directory {}: {e}",
                self.path.display()
            );
        }
    }
}

/// Runs the demo until it is stopped.
pub(super) fn run(mut settings: Settings, apps: Option<u32>) -> Result<(), Failure> {
    let size = match apps {
        None => Size::DEMO,
        Some(n) => Size::with_apps(usize::try_from(n).unwrap_or(usize::MAX)),
    };
    let dir = match settings.data_dir.take() {
        Some(path) => DataDir::given(path)?,
        None => DataDir::temporary()?,
    };
    settings.data_dir = Some(dir.path().to_path_buf());
    settings.secret_key_file = Some(dir.path().join("secret.key"));
    let mut config = Config::resolve(&settings).map_err(|e| fail(2, e.to_string()))?;
    if config.database_url != DatabaseUrl::Sqlite(dir.path().join("gatehouse.db")) {
        return Err(fail(
            2,
            "gatehouse demo keeps its data in SQLite inside its data directory: run it without --database-url (or GATEHOUSE_DATABASE_URL)",
        ));
    }
    config.mail_transport = MailTransport::Files(dir.path().join("mail"));
    telemetry::init(config.log_format);
    let served = actix_web::rt::System::new().block_on(async move {
        let app = Application::build(config, Arc::new(SystemClock))?;
        let state = app.state();
        let started = Instant::now();
        let made = {
            let mut conn = state
                .pool
                .get()
                .map_err(|e| fail(1, format!("no database connection: {e}")))?;
            let public_base = state.public_base();
            let env = Environment {
                now: state.clock.now_naive(),
                public_base: &public_base,
                issuer: Issuer {
                    prefix: &state.config.credential_prefix,
                    hasher: &state.secrets,
                },
                max_overlap: chrono::Duration::from_std(state.config.max_credential_overlap)
                    .unwrap_or(chrono::Duration::days(30)),
            };
            demo::generate(&mut conn, &env, &size).map_err(|e| match e {
                crate::error::AppError::Internal(cause) => {
                    fail(1, format!("cannot make the demo data: {cause}"))
                }
                other => fail(
                    1,
                    format!("cannot make the demo data: {}", other.public_message()),
                ),
            })?
        };
        let url = app.public_url().join("/login");
        let took = started.elapsed();
        // The server starts accepting and handling Ctrl-C and SIGTERM when it is first
        // polled: let it start before saying it is ready, so that stopping it at once
        // still removes the temporary directory.
        let running = actix_web::rt::spawn(app.run_until_stopped());
        actix_web::rt::task::yield_now().await;
        print_welcome(&made, &url, &dir, took);
        running
            .await
            .map_err(|e| fail(1, format!("the server ended abnormally: {e}")))?
            .map_err(|e| fail(1, format!("the server stopped with an error: {e}")))?;
        Ok::<_, Failure>(dir)
    });
    // The directory (moved into the server's future) is dropped, and so removed if
    // temporary, on the way out in every case.
    served.map(drop)
}

fn print_welcome(demo: &Demo, url: &str, dir: &DataDir, took: std::time::Duration) {
    let apps: i64 = demo.apps_by_status.iter().map(|(_, n)| n).sum();
    let by_status = demo
        .apps_by_status
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut out = format!(
        "\n  Gatehouse demo: {} ({} people, {} teams, {apps} apps: {by_status}), made in {:.1} s.\n\n  Open      {url}\n  Password  {}   (every account; new each run)\n\n",
        demo.org_name,
        demo.people,
        demo.teams,
        took.as_secs_f64(),
        demo.password.expose(),
    );
    for login in &demo.logins {
        let role = match login.role {
            "owner" => "Owner",
            "admin" => "Admin",
            _ => "Developer",
        };
        out.push_str(&format!("  {role:<10}{:<36}{}\n", login.email, login.name));
    }
    let kept = if dir.temporary {
        "deleted when the demo stops"
    } else {
        "kept; serve it again with gatehouse serve --data-dir"
    };
    out.push_str(&format!(
        "\n  Data      {} ({kept})\n  Email     written as files to {}\n  Stop      Ctrl-C\n\n",
        dir.path().display(),
        dir.path().join("mail").display()
    ));
    let mut stdout = std::io::stdout().lock();
    // Nothing useful is left to do if the terminal is gone.
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
}

/// Creates (or empties) a file for the benchmark's plaintexts, readable by its owner
/// only.
fn keys_file(path: &Path) -> Result<std::io::BufWriter<std::fs::File>, Failure> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let cannot = |e: std::io::Error| fail(1, format!("cannot write {}: {e}", path.display()));
    let file = options.open(path).map_err(cannot)?;
    // `mode` applies only to a new file: an existing one is narrowed too.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(cannot)?;
    }
    Ok(std::io::BufWriter::new(file))
}

/// What `gatehouse seed` makes besides the demo organisation, for the benchmarks.
pub(super) struct Extras {
    /// More API keys on the live API-key apps, and where their plaintexts go.
    pub keys: Option<u32>,
    pub keys_out: Option<PathBuf>,
    /// More client secrets on the live OAuth2 apps, and where they go.
    pub clients: Option<u32>,
    pub clients_out: Option<PathBuf>,
}

/// `gatehouse seed --apps N [--keys K [--keys-out FILE]] [--clients C [--clients-out
/// FILE]]`: fills an empty database — SQLite or PostgreSQL, from the configuration —
/// with the demo organisation at benchmark size (and, for the gateway benchmarks, K
/// more API keys and C more OAuth2 client secrets), prints the sign-in details as one
/// JSON object and exits. Refuses a database that has any account, so it can never
/// mix made-up data into a real instance.
pub(super) fn seed(config: &Config, apps: u32, extras: Extras) -> Result<(), Failure> {
    let Extras {
        keys,
        keys_out,
        clients,
        clients_out,
    } = extras;
    let size = Size::with_apps(usize::try_from(apps).unwrap_or(usize::MAX));
    let mut keys_out = keys_out.as_deref().map(keys_file).transpose()?;
    let mut clients_out = clients_out.as_deref().map(keys_file).transpose()?;
    let pool = crate::startup::open_database(config)?;
    let secrets = crate::startup::load_secret_hasher(config)?;
    let mut conn = pool
        .get()
        .map_err(|e| fail(1, format!("no database connection: {e}")))?;
    let accounts = crate::models::users::count(&mut conn)
        .map_err(|e| fail(1, format!("cannot read the database: {e}")))?;
    if accounts > 0 {
        return Err(fail(
            2,
            "the database already has accounts: gatehouse seed fills only an empty database, so that made-up data never mixes with real data",
        ));
    }
    let public_base = config.public_url.join("");
    let env = Environment {
        now: crate::clock::Clock::now_naive(&SystemClock),
        public_base: &public_base,
        issuer: Issuer {
            prefix: &config.credential_prefix,
            hasher: &secrets,
        },
        max_overlap: chrono::Duration::from_std(config.max_credential_overlap)
            .unwrap_or(chrono::Duration::days(30)),
    };
    let started = Instant::now();
    let made = demo::generate(&mut conn, &env, &size).map_err(|e| {
        fail(
            1,
            format!("cannot make the demo data: {}", e.public_message()),
        )
    })?;
    let seconds = started.elapsed().as_secs_f64();
    let fleet = match keys {
        None => None,
        Some(count) => {
            let started = Instant::now();
            let out = keys_out.as_mut().map(|w| w as &mut dyn Write);
            let fleet = demo::keys::add(
                &mut conn,
                &env,
                &made.org_slug,
                usize::try_from(count).unwrap_or(usize::MAX),
                out,
            )
            .map_err(|e| fail(1, format!("cannot make the keys: {}", e.public_message())))?;
            Some(serde_json::json!({
                "made": fleet.keys,
                "live": fleet.live,
                "apps": fleet.apps,
                "product": fleet.product,
                "written": fleet.written,
                "seconds": started.elapsed().as_secs_f64(),
            }))
        }
    };
    let made_clients = match clients {
        None => None,
        Some(count) => {
            let started = Instant::now();
            let out = clients_out.as_mut().map(|w| w as &mut dyn Write);
            let clients = demo::clients::add(
                &mut conn,
                &env,
                &made.org_slug,
                usize::try_from(count).unwrap_or(usize::MAX),
                out,
            )
            .map_err(|e| {
                fail(
                    1,
                    format!("cannot make the clients: {}", e.public_message()),
                )
            })?;
            Some(serde_json::json!({
                "made": clients.secrets,
                "apps": clients.apps,
                "product": clients.product,
                "written": clients.written,
                "seconds": started.elapsed().as_secs_f64(),
            }))
        }
    };
    let login = |role: &str| {
        made.logins
            .iter()
            .find(|l| l.role == role)
            .map(|l| l.email.clone())
            .unwrap_or_default()
    };
    let mut out = serde_json::json!({
        "org": made.org_slug,
        "password": made.password.expose(),
        "owner": login("owner"),
        "admin": login("admin"),
        "developer": login("developer"),
        "apps": made.apps_by_status.iter().map(|(_, n)| n).sum::<i64>(),
        "apps_by_status": made.apps_by_status.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
        "seconds": seconds,
    });
    if let serde_json::Value::Object(fields) = &mut out {
        if let Some(fleet) = fleet {
            fields.insert("keys".into(), fleet);
        }
        if let Some(clients) = made_clients {
            fields.insert("clients".into(), clients);
        }
    }
    println!("{out}");
    Ok(())
}
