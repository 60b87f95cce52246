//! The command line: `serve` (the default), `demo`, `migrate`, `admin …`.

use std::io::BufRead;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::auth::password::hash_blocking;
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, Settings};
use crate::crypto::SecretString;
use crate::services::{self, Ctx, accounts::NewAccount};
use crate::startup::{Application, StartupError, open_database};
use crate::{telemetry, validate};

mod demo;

#[derive(Debug, Parser)]
#[command(
    name = "gatehouse",
    version,
    about = "Self-hosted developer portal and credential authority for APIs"
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the portal and the machine endpoints (the default).
    Serve,
    /// Serve a lived-in demo organisation on a throwaway data directory (deleted when
    /// the demo stops), or on an empty `--data-dir` (kept).
    Demo {
        /// About how many apps to make [default: 87, the portal demo; larger sizes are
        /// for benchmarks].
        #[arg(long, value_parser = clap::value_parser!(u32).range(20..=1_000_000))]
        apps: Option<u32>,
    },
    /// Fill an empty database (SQLite or PostgreSQL) with the demo organisation at
    /// benchmark size, print the sign-in details as JSON and exit.
    Seed {
        /// About how many apps to make.
        #[arg(long, value_parser = clap::value_parser!(u32).range(20..=1_000_000))]
        apps: u32,
        /// Also give the live API-key apps this many more API keys, for the verify
        /// benchmark (most live, some rotated away, expiring or expired).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
        keys: Option<u32>,
        /// Write the plaintexts of up to 100,000 of those keys (live ones, spread
        /// evenly) to this file, one a line, readable only by you: for the benchmark.
        #[arg(long, requires = "keys")]
        keys_out: Option<std::path::PathBuf>,
        /// Also give the live OAuth2 apps approved for one product this many more
        /// client secrets, for the token benchmarks.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        clients: Option<u32>,
        /// Write those clients to this file as `client_id client_secret` lines,
        /// readable only by you: for the benchmark.
        #[arg(long, requires = "clients")]
        clients_out: Option<std::path::PathBuf>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Administration from the command line.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// The keys access tokens are signed with.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new signing key: new tokens are signed with it at once (on every
    /// instance within a second), both keys are published in the JWKS, and the old
    /// one is retired once every token it signed has expired. Prints the new key id.
    Rotate,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an instance owner and their first organisation (for scripted deploys).
    CreateOwner {
        /// The owner's email address.
        #[arg(long)]
        email: String,
        /// The owner's display name [default: the part of the email before @].
        #[arg(long)]
        name: Option<String>,
        /// The organisation's display name.
        #[arg(long)]
        org: String,
        /// The organisation's URL slug [default: derived from --org].
        #[arg(long)]
        org_slug: Option<String>,
        /// Read the password from the first line of standard input (required).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// API tokens for automation.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Set a new password for an account and end all its sessions.
    ResetPassword {
        #[arg(long)]
        email: String,
        /// Read the password from the first line of standard input (required).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an organisation admin token acting for the organisation's first owner;
    /// prints only the token on standard output.
    Create {
        /// The organisation's slug.
        #[arg(long)]
        org: String,
        /// A name to recognise the token by in the portal.
        #[arg(long, default_value = "created on the command line")]
        name: String,
        /// Only allow reading (GET requests).
        #[arg(long)]
        read_only: bool,
        /// Days until the token expires [default: never].
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=366))]
        expires_in_days: Option<u32>,
    },
}

/// A failure said in one sentence, with its exit code.
struct Failure {
    code: u8,
    message: String,
}

fn fail(code: u8, message: impl Into<String>) -> Failure {
    Failure {
        code,
        message: message.into(),
    }
}

impl From<StartupError> for Failure {
    fn from(e: StartupError) -> Self {
        let code = match e {
            StartupError::Config(_) => 2,
            _ => 1,
        };
        fail(code, e.to_string())
    }
}

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Demo { apps }) = cli.command {
        // The demo chooses its own data directory before the configuration resolves.
        return exit(demo::run(cli.settings, apps));
    }
    let config = match Config::resolve(&cli.settings) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("gatehouse: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve | Command::Demo { .. } => serve(config),
        Command::Migrate => migrate(&config),
        Command::Seed {
            apps,
            keys,
            keys_out,
            clients,
            clients_out,
        } => demo::seed(
            &config,
            apps,
            demo::Extras {
                keys,
                keys_out,
                clients,
                clients_out,
            },
        ),
        Command::Admin(cmd) => admin(&config, cmd),
        Command::Keys(KeysCommand::Rotate) => rotate_signing_key(&config),
    };
    exit(result)
}

fn exit(result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("gatehouse: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

fn serve(config: Config) -> Result<(), Failure> {
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(config, Arc::new(SystemClock))?;
        let public = app.public_url().clone();
        if let Some(code) = app.setup_code() {
            // Printed for the person at the terminal, not logged.
            eprintln!(
                "\n  Gatehouse is not set up yet. Open {} and enter this one-time setup code:\n\n      {}\n",
                public.join("/setup"),
                code.expose()
            );
        }
        tracing::info!(url = %public.join("/"), port = app.port(), "Gatehouse is listening");
        app.run_until_stopped()
            .await
            .map_err(|e| fail(1, format!("the server stopped with an error: {e}")))
    })
}

fn rotate_signing_key(config: &Config) -> Result<(), Failure> {
    if !config.secret_key_file.exists() {
        return Err(fail(
            2,
            format!(
                "the secret key file {} does not exist: give the --secret-key-file the \
                 instances use (the new key is sealed with it)",
                config.secret_key_file.display()
            ),
        ));
    }
    let key = crate::startup::load_or_create_secret_key(&config.secret_key_file)?;
    let pool = open_database(config)?;
    let mut conn = pool
        .get()
        .map_err(|e| fail(1, format!("cannot connect to the database: {e}")))?;
    let now = SystemClock.now_naive();
    // The old key keeps verifying until the longest-lived token it signed expires.
    let ttl = chrono::Duration::from_std(config.tokens.access_ttl).unwrap_or_default();
    let kid = crate::verify::tokens::Keyring::rotate(
        &mut conn,
        &key,
        config.tokens.alg,
        now,
        now + ttl + chrono::Duration::minutes(1),
    )
    .map_err(|e| fail(1, e))?;
    println!("{kid}");
    Ok(())
}

fn migrate(config: &Config) -> Result<(), Failure> {
    // open_database applies pending migrations.
    open_database(config)?;
    println!("Database is up to date.");
    Ok(())
}

/// An operator at the terminal may see the cause of an internal error.
fn app_failure(e: crate::error::AppError) -> Failure {
    match e {
        crate::error::AppError::Internal(cause) => fail(1, format!("internal error: {cause}")),
        other => fail(1, other.public_message()),
    }
}

/// Reads the new password from standard input and checks it like every form does,
/// against the account's `words` (its email and name, the organisation's name).
fn read_password(config: &Config, words: &[&str]) -> Result<SecretString, Failure> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| {
        fail(
            1,
            format!("cannot read the password from standard input: {e}"),
        )
    })?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    let password = SecretString::new(password);
    services::passwords::check_new_blocking(config, &password, words).map_err(|m| fail(2, m))?;
    Ok(password)
}

fn admin(config: &Config, cmd: AdminCommand) -> Result<(), Failure> {
    let pool = open_database(config)?;
    let mut conn = pool
        .get()
        .map_err(|e| fail(1, format!("no database connection: {e}")))?;
    let ctx = Ctx::system(SystemClock.now_naive());
    match cmd {
        AdminCommand::CreateOwner {
            email,
            name,
            org,
            org_slug,
            password_stdin: _,
        } => {
            let email = validate::email(&email).map_err(|m| fail(2, m))?;
            let display = name.unwrap_or_else(|| email.split('@').next().unwrap_or("").to_string());
            let display = validate::name(&display, "Name", 100).map_err(|m| fail(2, m))?;
            let org_name =
                validate::name(&org, "Organisation name", 100).map_err(|m| fail(2, m))?;
            let slug = org_slug.unwrap_or_else(|| validate::slugify(&org_name));
            let slug = validate::slug(&slug).map_err(|m| fail(2, m))?;
            let password = read_password(config, &[&email, &display, &org_name])?;
            let hash = hash_blocking(&password).map_err(|e| fail(1, e.to_string()))?;
            let account = NewAccount {
                email,
                display_name: display,
                password_hash: hash,
            };
            let (user, org) =
                services::accounts::create_owner(&mut conn, &ctx, &account, &org_name, &slug)
                    .map_err(app_failure)?;
            println!(
                "Created instance owner {} and organisation {} ({}).",
                user.email,
                org.name,
                config.public_url.join(&format!("/o/{}", org.slug))
            );
            Ok(())
        }
        AdminCommand::Token(TokenCommand::Create {
            org,
            name,
            read_only,
            expires_in_days,
        }) => {
            let hasher = crate::startup::load_secret_hasher(config)?;
            let wanted = AdminToken {
                org,
                name,
                read_only,
                expires_in_days,
            };
            let token = create_admin_token(&mut conn, &ctx, config, &hasher, wanted)?;
            // Only the token, so that `TOKEN=$(gatehouse admin token create …)` works.
            println!("{}", token.expose());
            Ok(())
        }
        AdminCommand::ResetPassword {
            email,
            password_stdin: _,
        } => {
            let email = validate::email(&email).map_err(|m| fail(2, m))?;
            let name = crate::models::users::find_by_email(&mut conn, &email)
                .map_err(|e| fail(1, format!("cannot read the account: {e}")))?
                .map(|user| user.display_name)
                .unwrap_or_default();
            let password = read_password(config, &[&email, &name])?;
            let hash = hash_blocking(&password).map_err(|e| fail(1, e.to_string()))?;
            let user = services::accounts::reset_password(&mut conn, &ctx, &email, &hash)
                .map_err(app_failure)?;
            println!(
                "Password for {} is reset; all of its sessions have ended.",
                user.email
            );
            Ok(())
        }
    }
}

/// `admin token create`: an organisation admin token owned by the first owner.
struct AdminToken {
    /// The organisation's slug.
    org: String,
    name: String,
    read_only: bool,
    expires_in_days: Option<u32>,
}

fn create_admin_token(
    conn: &mut crate::db::DbConnection,
    ctx: &Ctx,
    config: &Config,
    hasher: &crate::credentials::SecretHasher,
    wanted: AdminToken,
) -> Result<crate::credentials::PlainSecret, Failure> {
    let AdminToken {
        org: slug,
        name,
        read_only,
        expires_in_days,
    } = wanted;
    let slug = slug.as_str();
    use crate::auth::policy::TokenAccess;
    use crate::services::tokens::{NewToken, TokenKind};
    let org = crate::models::orgs::find_by_slug(conn, slug)
        .map_err(|e| fail(1, format!("database error: {e}")))?
        .ok_or_else(|| {
            fail(
                2,
                format!("there is no organisation with the slug {slug:?}"),
            )
        })?;
    let owner = crate::models::orgs::first_owner(conn, &org.id)
        .map_err(|e| fail(1, format!("database error: {e}")))?
        .ok_or_else(|| fail(1, format!("organisation {slug:?} has no owner")))?;
    let ctx = Ctx {
        actor_id: Some(owner.id.clone()),
        ..ctx.clone()
    };
    let issuer = services::apps::Issuer {
        prefix: &config.credential_prefix,
        hasher,
    };
    let new = NewToken {
        kind: TokenKind::Admin,
        name,
        access: if read_only {
            TokenAccess::Read
        } else {
            TokenAccess::Write
        },
        expires_in_days,
    };
    let (_, secret) = services::tokens::create(conn, &ctx, &org, &owner, issuer, new, None)
        .map_err(|e| match e {
            crate::error::AppError::Invalid(list) => fail(2, list.join(" ")),
            other => app_failure(other),
        })?;
    Ok(secret)
}
