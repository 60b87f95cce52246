//! `gatehouse seed --clients` for the token benchmarks: client secrets on the demo's
//! live OAuth2 apps, written out (owner-only) as `client_id client_secret` lines,
//! that an instance started on the seeded database issues tokens for.

use std::collections::HashSet;

use crate::demo::{Seeded, seed};
use crate::kit::spawn_app;

#[tokio::test]
async fn seed_with_clients_writes_client_ids_and_secrets_of_live_oauth2_apps() {
    let app = spawn_app().await;
    let Seeded {
        json: seeded,
        stdout,
        stderr,
        text,
        ..
    } = seed(&app, "clients", 30).await;
    let clients = &seeded["clients"];
    assert_eq!(clients["made"], 30, "{seeded}");
    assert_eq!(clients["written"], 30, "{seeded}");
    let apps = clients["apps"].as_u64().unwrap();
    assert!(apps >= 2, "{seeded}");
    let product = clients["product"].as_str().unwrap().to_string();
    assert!(seeded.get("keys").is_none(), "{seeded}");

    let pairs: Vec<(&str, &str)> = text
        .lines()
        .map(|l| l.split_once(' ').expect("client_id client_secret"))
        .collect();
    assert_eq!(pairs.len(), 30);
    assert!(
        pairs
            .iter()
            .all(|(id, secret)| id.starts_with("gate_cid_") && secret.starts_with("gate_sec_"))
    );
    assert_eq!(pairs.iter().map(|p| p.1).collect::<HashSet<_>>().len(), 30);
    // Spread over the apps: as many client ids as apps (all of them when fewer than 30).
    let ids: HashSet<&str> = pairs.iter().map(|p| p.0).collect();
    assert_eq!(ids.len() as u64, apps);
    assert!(!stdout.contains(pairs[0].1) && !stderr.contains(pairs[0].1));

    // Every one is a live secret (stored as a hash only) of an active OAuth2 app that
    // is approved for the printed product.
    let live: HashSet<String> = app
        .texts(&format!(
            "SELECT DISTINCT a.client_id AS v FROM apps a \
             JOIN credentials c ON c.app_id = a.id \
             JOIN subscriptions s ON s.app_id = a.id \
             JOIN products p ON p.id = s.product_id \
             WHERE a.auth_type = 'oauth2' AND a.status = 'active' AND s.status = 'approved' \
             AND p.slug = '{product}' AND c.kind = 'client_secret' AND c.revoked_at IS NULL \
             AND c.expires_at IS NULL AND c.label LIKE 'benchmark %'"
        ))
        .into_iter()
        .collect();
    assert_eq!(live, ids.iter().map(|s| s.to_string()).collect());
    assert_eq!(
        app.count(&format!(
            "credentials WHERE secret_hash = '{}' OR secret_hash IS NULL AND kind = 'client_secret'",
            pairs[0].1
        )),
        0
    );

    // A new instance on the seeded database issues tokens for them, for the product.
    let url = app.database_url.clone();
    let second = crate::kit::spawn_app_with(|s| s.database_url = Some(url)).await;
    for (id, secret) in pairs.iter().step_by(7) {
        let res = reqwest::Client::new()
            .post(format!("{}/oauth/token", second.base))
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials"), ("scope", &product)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let answer: serde_json::Value = res.json().await.unwrap();
        assert_eq!(answer["scope"], product.as_str());
    }
}
