//! Builds the application from a [`Config`]: opens and migrates the database, loads
//! the secret key, starts the password pool and binds the HTTP server. Tests build it
//! on port 0 with their own database and a test clock.

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, middleware::from_fn, web};

use crate::auth::password::PasswordHasher;
use crate::auth::throttle::SignInThrottle;
use crate::clock::SharedClock;
use crate::config::{Config, DatabaseUrl, files};
use crate::crypto::{SecretKey, SecretString, hex};
use crate::db::{self, Pool};

use crate::jobs::outbox::Outbox;
use crate::state::AppState;
use crate::{methods, middleware, routes, services};

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Database(#[from] db::DbError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

/// Reads the secret key, or creates one (mode 0600, in a 0700 directory if it has to
/// create that) on first run.
pub fn load_or_create_secret_key(path: &Path) -> Result<SecretKey, StartupError> {
    let shown = path.display();
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let material = text.trim();
            if material.len() < SecretKey::MIN_LEN {
                return Err(StartupError::Config(format!(
                    "the secret key in {shown} is too short: it needs at least {} characters",
                    SecretKey::MIN_LEN
                )));
            }
            Ok(SecretKey::new(material.as_bytes().to_vec()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SecretKey::generate();
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                files::create_private_dir(dir).map_err(|e| {
                    StartupError::Config(format!("cannot create directory {}: {e}", dir.display()))
                })?;
            }
            let mut file = files::create_private_file(path).map_err(|e| {
                StartupError::Config(format!("cannot create the secret key file {shown}: {e}"))
            })?;
            file.write_all(hex(key.as_bytes()).as_bytes())
                .and_then(|()| file.write_all(b"\n"))
                .map_err(|e| {
                    StartupError::Config(format!("cannot write the secret key file {shown}: {e}"))
                })?;
            let material = hex(key.as_bytes());
            Ok(SecretKey::new(material.into_bytes()))
        }
        Err(e) => Err(StartupError::Config(format!(
            "cannot read the secret key file {shown}: {e}"
        ))),
    }
}

/// The hasher for stored credentials: SHA-256, or HMAC-SHA-256 with the pepper file.
pub fn load_secret_hasher(
    config: &Config,
) -> Result<crate::credentials::SecretHasher, StartupError> {
    let Some(path) = &config.credential_pepper_file else {
        return Ok(crate::credentials::SecretHasher::default());
    };
    let pepper = std::fs::read_to_string(path).map_err(|e| {
        StartupError::Config(format!(
            "cannot read the credential pepper file {}: {e}",
            path.display()
        ))
    })?;
    let pepper = pepper.trim();
    if pepper.len() < 16 {
        return Err(StartupError::Config(format!(
            "the credential pepper in {} is too short: it needs at least 16 characters",
            path.display()
        )));
    }
    Ok(crate::credentials::SecretHasher::new(Some(
        pepper.as_bytes().to_vec(),
    )))
}

/// Creates the data directory (0700, like every directory Gatehouse creates) and opens
/// the database, migrated.
pub fn open_database(config: &Config) -> Result<Pool, StartupError> {
    open_counted_database(config, Arc::default())
}

/// [`open_database`], with statements run outside any request counted in
/// `unattributed` (the `job` series of `/metrics`).
fn open_counted_database(
    config: &Config,
    unattributed: Arc<std::sync::atomic::AtomicU64>,
) -> Result<Pool, StartupError> {
    files::create_private_dir(&config.data_dir).map_err(|e| {
        StartupError::Config(format!(
            "cannot create the data directory {}: {e}",
            config.data_dir.display()
        ))
    })?;
    if !files::is_private(&config.data_dir).unwrap_or(true) {
        tracing::warn!(
            data_dir = %config.data_dir.display(),
            "other users can open the data directory: `chmod 700` it (its files are private)"
        );
    }
    if let DatabaseUrl::Sqlite(path) = &config.database_url
        && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
    {
        files::create_private_dir(dir).map_err(|e| {
            StartupError::Config(format!("cannot create directory {}: {e}", dir.display()))
        })?;
    }
    let pool = db::connect_counted(
        &config.database_url,
        pool_size(config.workers),
        config.sqlite_busy_timeout,
        unattributed,
    )?;
    let mut conn = pool.get().map_err(|e| db::DbError::Pool(e.to_string()))?;
    let applied = db::run_migrations(&mut conn)?;
    if applied > 0 {
        tracing::info!(applied, "database migrations applied");
    }
    Ok(pool)
}

/// Connections in the pool: two per worker and two for the background jobs. A
/// request holds one at a time. Past that a burst queues for a connection (in order,
/// up to ten seconds) and then, on SQLite, for the write lock (up to the busy
/// timeout); only after that is it answered 503. More connections would not write
/// faster (SQLite has one writer) and would move the queue into SQLite's busy
/// handler, which polls instead of serving in order.
fn pool_size(workers: usize) -> u32 {
    u32::try_from(workers.saturating_mul(2).saturating_add(2))
        .unwrap_or(u32::MAX)
        .min(32)
}

/// The `--metrics-bind` server: one worker answering `/metrics` without a token.
fn metrics_server(
    addr: std::net::SocketAddr,
    state: web::Data<AppState>,
) -> Result<(Server, u16), StartupError> {
    let bind_failed = |source| StartupError::Bind {
        addr: addr.to_string(),
        source,
    };
    let listener = TcpListener::bind(addr).map_err(bind_failed)?;
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .wrap(from_fn(middleware::security))
            .configure(routes::configure_metrics)
    })
    .workers(1)
    .listen(listener)
    .map_err(bind_failed)?
    .run();
    Ok((server, port))
}

/// A built, bound, not yet running application.
pub struct Application {
    port: u16,
    server: Server,
    setup_code: Option<SecretString>,
    state: web::Data<AppState>,
    /// The `--metrics-bind` server and its port, if any.
    metrics_server: Option<Server>,
    metrics_port: Option<u16>,
    stop_outbox: tokio::sync::watch::Sender<bool>,
    outbox_worker: tokio::task::JoinHandle<()>,
    /// Polls the change feed and flushes the verifier's counters; flushes once more
    /// when the outbox's stop signal is sent.
    verify_worker: tokio::task::JoinHandle<()>,
}

impl Application {
    pub fn build(mut config: Config, clock: SharedClock) -> Result<Self, StartupError> {
        let metrics = Arc::new(crate::telemetry::metrics::Metrics::default());
        let pool = open_counted_database(&config, metrics.job_statements())?;
        let key = load_or_create_secret_key(&config.secret_key_file)?;
        let secrets = load_secret_hasher(&config)?;
        let setup_code = {
            let mut conn = pool.get().map_err(|e| db::DbError::Pool(e.to_string()))?;
            services::instance::issue_setup_code(&mut conn).map_err(|e| {
                StartupError::Config(format!("cannot prepare first-run setup: {e:?}"))
            })?
        };
        let verifier = {
            let mut conn = pool.get().map_err(|e| db::DbError::Pool(e.to_string()))?;
            let started = std::time::Instant::now();
            let verifier = crate::verify::verifier::Verifier::load(
                &mut conn,
                secrets.clone(),
                (key.clone(), config.tokens.alg),
                clock.now_naive(),
            )
            .map_err(|e| StartupError::Config(format!("cannot load the verify index: {e}")))?;
            let size = verifier.size();
            tracing::info!(
                keys = size.keys,
                apps = size.apps,
                gateway_tokens = size.gateway_tokens,
                millis = started.elapsed().as_millis() as u64,
                "verify index loaded"
            );
            Arc::new(verifier)
        };
        let hasher = PasswordHasher::start(config.password_hash_threads, 256).map_err(|e| {
            StartupError::Config(format!("cannot start password hashing threads: {e}"))
        })?;
        let listener = TcpListener::bind(config.bind).map_err(|source| StartupError::Bind {
            addr: config.bind.to_string(),
            source,
        })?;
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        if !config.public_url_given && config.bind.port() == 0 {
            let mut bound = config.bind;
            bound.set_port(port);
            config.public_url = crate::config::public_url_for(bound)
                .map_err(|e| StartupError::Config(e.to_string()))?;
        }
        let mailer = crate::mail::Mailer::new(&config.mail_transport, config.mail_from.clone())
            .map_err(StartupError::Config)?;
        let workers = config.workers;
        let state = web::Data::new(AppState {
            config: Arc::new(config),
            pool,
            clock,
            key,
            rng: crate::crypto::Csprng::default(),
            hasher,
            throttle: SignInThrottle::default(),
            secrets,
            outbox: Arc::new(Outbox::new(mailer)),
            metrics,
            verifier,
        });
        let app_state = state.clone();
        let server = HttpServer::new(move || {
            let sessions = crate::auth::session_store::middleware(&app_state);
            App::new()
                .app_data(app_state.clone())
                .app_data(web::PayloadConfig::new(64 * 1024))
                .app_data(web::FormConfig::default().limit(64 * 1024))
                .wrap(from_fn(methods::head_as_get))
                .wrap(from_fn(middleware::security))
                .wrap(from_fn(middleware::observe))
                .configure(|cfg| routes::configure(cfg, sessions))
        })
        .workers(workers)
        .listen(listener)
        .map_err(|source| StartupError::Bind {
            addr: "listener".into(),
            source,
        })?
        .run();
        let (metrics_server, metrics_port) = match state.config.metrics_bind {
            Some(addr) => {
                let (server, port) = metrics_server(addr, state.clone())?;
                (Some(server), Some(port))
            }
            None => (None, None),
        };
        state.housekeeping().spawn();
        crate::jobs::rendered_docs::spawn(state.pool.clone());
        let (stop_outbox, stopped) = tokio::sync::watch::channel(false);
        let verify_worker = crate::verify::verifier::spawn(
            state.pool.clone(),
            state.verifier.clone(),
            state.clock.clone(),
            stopped.clone(),
        );
        let outbox_worker = state.delivery().spawn(stopped);
        Ok(Self {
            port,
            server,
            setup_code,
            state,
            metrics_server,
            metrics_port,
            stop_outbox,
            outbox_worker,
            verify_worker,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the `--metrics-bind` server (the real one after a port-0 bind).
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_port
    }

    /// The first-run setup code, when the database has no accounts yet.
    pub fn setup_code(&self) -> Option<&SecretString> {
        self.setup_code.as_ref()
    }

    /// The URL people reach this instance at (with the real port after a port-0 bind).
    pub fn public_url(&self) -> &crate::config::PublicUrl {
        &self.state.config.public_url
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Stops the server gracefully from elsewhere (tests; signals do it in production).
    pub fn server_handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGINT/SIGTERM, finishing requests in flight; then lets the outbox
    /// worker finish the message it is sending and stops it.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let metrics = self.metrics_server.as_ref().map(Server::handle);
        let served = match self.metrics_server {
            Some(metrics_server) => {
                tokio::pin!(metrics_server);
                let mut server = self.server;
                tokio::select! {
                    served = &mut server => served,
                    // It ends on the same signals as the main server; if it ends
                    // first, the main server goes on without it.
                    stopped = &mut metrics_server => {
                        if let Err(e) = stopped {
                            tracing::warn!(error = %e, "the metrics server stopped");
                        }
                        server.await
                    }
                }
            }
            None => self.server.await,
        };
        if let Some(metrics) = metrics {
            metrics.stop(true).await;
        }
        let _ = self.stop_outbox.send(true);
        if let Err(e) = self.outbox_worker.await {
            tracing::warn!(error = %e, "the outbox worker ended abnormally");
        }
        if let Err(e) = self.verify_worker.await {
            tracing::warn!(error = %e, "the verify worker ended abnormally");
        }
        served
    }
}
