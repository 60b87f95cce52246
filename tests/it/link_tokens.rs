//! The data directory and its files are private.

use std::sync::Arc;

use gatehouse::clock::TestClock;
use gatehouse::config::{Config, Settings};
use gatehouse::db::{DbConnection, write_transaction};
use gatehouse::services::Ctx;
use gatehouse::startup::Application;

#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_and_its_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("new").join("data");
    let (database_url, postgres) = match std::env::var("TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => {
            let (url, admin) = crate::kit::new_database(tmp.path());
            (Some(url), admin)
        }
        _ => (None, None),
    };
    let settings = Settings {
        bind: Some("127.0.0.1:0".into()),
        data_dir: Some(data.clone()),
        database_url,
        workers: Some(1),
        password_hash_threads: Some(1),
        ..Settings::default()
    };
    let start = || {
        let app = Application::build(
            Config::resolve(&settings).unwrap(),
            Arc::new(TestClock::default()),
        )
        .unwrap();
        let state = app.state();
        let handle = app.server_handle();
        tokio::spawn(app.run_until_stopped());
        (state, handle)
    };
    let (state, handle) = start();
    {
        let mut c = state.pool.get().unwrap();
        let c: &mut DbConnection = &mut c;
        let ctx = Ctx::system(state.clock.now_naive());
        write_transaction(c, |c| {
            gatehouse::services::notifications::queue_email(
                c,
                &ctx,
                "ops@example.com",
                "Hello",
                "hi",
            )
        })
        .unwrap();
    }
    assert_eq!(state.delivery().deliver_due(None).await.unwrap().sent, 1);

    assert_eq!(mode(&tmp.path().join("new")), 0o700);
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("mail")), 0o700);
    assert_eq!(mode(&data.join("secret.key")), 0o600);
    let emls: Vec<_> = std::fs::read_dir(data.join("mail"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(emls.len(), 1);
    assert_eq!(mode(&emls[0]), 0o600);
    let sqlite = postgres.is_none();
    let db_files = gatehouse::config::files::sqlite_files(&data.join("gatehouse.db"));
    if sqlite {
        for file in &db_files {
            assert_eq!(mode(file), 0o600, "{}", file.display());
        }
    }

    // Files of an older install that others could read are made private on start.
    handle.stop(true).await;
    drop(state);
    if sqlite {
        for file in &db_files {
            if file.exists() {
                std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
            }
        }
        let (state, _handle) = start();
        for file in &db_files {
            if file.exists() {
                assert_eq!(mode(file), 0o600, "{}", file.display());
            }
        }
        assert_eq!(mode(&db_files[0]), 0o600);
        drop(state);
    }
    if let Some((admin, name)) = postgres {
        use diesel::Connection;
        use diesel::connection::SimpleConnection;
        let mut conn = diesel::PgConnection::establish(&admin).unwrap();
        let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
    }
}
