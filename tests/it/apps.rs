//! Consumer apps through HTTP: reveal once, replay guard, rotation with overlap,
//! reset, retire, revoke, delete, transfer, bad input.

use crate::kit::{
    AppBuilder, Browser, ED25519_PEM, Page, create_app, extract_value, revealed_app_id,
    revealed_secret, spawn_app,
};

#[tokio::test]
async fn api_key_is_revealed_exactly_once_and_stored_only_as_a_hash() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let (page, nonce) = create_app(
        &ada,
        "acme",
        &[
            ("name", "Billing"),
            ("description", "Invoices"),
            ("callback_urls", "https://billing.example.com/cb"),
            ("auth_type", "api_key"),
            ("owner", "me"),
            ("label", "production"),
        ],
    )
    .await;
    page.assert_status(200);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert!(
        page.headers
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("gatehouse_revealed="))
    );
    let key = revealed_secret(&page);
    let app_id = revealed_app_id(&page);
    assert!(key.starts_with("gate_key_"), "{key}");
    assert!(page.contains("Download as JSON"));
    assert!(page.body.contains("data:application/json"));

    // The next page clears the reveal cookie (so the back/forward cache drops the reveal).
    let next = ada.get("/o/acme/hub").await;
    assert!(
        next.headers.get_all("set-cookie").iter().any(|c| c
            .to_str()
            .unwrap()
            .starts_with("gatehouse_revealed=")
            && c.to_str().unwrap().contains("Max-Age=0")),
        "{:?}",
        next.headers
    );

    // Nowhere else: not the app page, the list, the hub, nor the database.
    for path in [
        format!("/o/acme/apps/{app_id}"),
        "/o/acme/apps".into(),
        "/o/acme/hub".into(),
        format!("/o/acme/apps/{app_id}/edit"),
    ] {
        let p = ada.get(&path).await;
        p.assert_status(200);
        assert!(!p.body.contains(&key), "secret shown again on {path}");
        assert!(
            p.body.contains(&key[key.len() - 4..]),
            "last 4 shown on {path}"
        );
    }
    assert_eq!(
        app.count(&format!("credentials WHERE secret_hash = '{key}'")),
        0
    );
    assert_eq!(app.count("credentials WHERE secret_hash IS NOT NULL"), 1);

    // Replaying the same form creates nothing and says what happened.
    let token = ada.get("/account").await.csrf();
    let replay = ada
        .post_raw(
            "/o/acme/apps",
            &[
                ("csrf_token", &token),
                ("nonce", &nonce),
                ("name", "Billing 2"),
                ("auth_type", "api_key"),
                ("owner", "me"),
            ],
        )
        .await;
    replay.assert_status(409);
    assert!(replay.contains("already submitted"));
    assert!(replay.contains("Billing"));
    assert!(!replay.body.contains(&key));
    assert_eq!(app.count("apps"), 1);
    assert_eq!(app.count("credentials"), 1);
}

#[tokio::test]
async fn oauth2_and_jwt_apps_reveal_their_client_ids() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let (page, _) = create_app(
        &ada,
        "acme",
        &[
            ("name", "Partner"),
            ("auth_type", "oauth2"),
            ("owner", "me"),
        ],
    )
    .await;
    page.assert_status(200);
    let secret = revealed_secret(&page);
    assert!(secret.starts_with("gate_sec_"));
    let client_id = extract_value(&page.body, "id=\"reveal-client-id\" value=\"").unwrap();
    assert!(client_id.starts_with("gate_cid_"));
    let app_id = revealed_app_id(&page);
    let show = ada.get(&format!("/o/acme/apps/{app_id}")).await;
    assert!(show.contains(&client_id));
    assert!(!show.contains(&secret));

    let (jwt, _) = create_app(
        &ada,
        "acme",
        &[
            ("name", "Signer"),
            ("auth_type", "jwt"),
            ("owner", "me"),
            ("public_key", ED25519_PEM),
        ],
    )
    .await;
    jwt.assert_status(200);
    assert!(jwt.body.contains("reveal-client-id"));
    assert!(!jwt.body.contains("reveal-secret"));
    assert_eq!(app.count("apps"), 2);
}

#[tokio::test]
async fn bad_input_re_shows_the_form_and_writes_nothing() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    AppBuilder::new("Taken").id(&ada).await;
    let long = "x".repeat(101);
    type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec![("name", ""), ("auth_type", "api_key"), ("owner", "me")],
            422,
            "App name is required",
        ),
        (
            vec![("name", &long), ("auth_type", "api_key"), ("owner", "me")],
            422,
            "at most 100",
        ),
        (
            vec![
                ("name", "A\u{0}B"),
                ("auth_type", "api_key"),
                ("owner", "me"),
            ],
            422,
            "control characters",
        ),
        (
            vec![("name", "Ok"), ("auth_type", "basic"), ("owner", "me")],
            422,
            "Choose how the app authenticates",
        ),
        (
            vec![
                ("name", "Ok"),
                ("auth_type", "api_key"),
                ("owner", "me"),
                ("callback_urls", "http://evil.example.com/cb"),
            ],
            422,
            "https://",
        ),
        (
            vec![
                ("name", "Ok"),
                ("auth_type", "api_key"),
                ("owner", "me"),
                ("callback_urls", "not a url"),
            ],
            422,
            "Callback URL",
        ),
        (
            vec![
                ("name", "Ok"),
                ("auth_type", "jwt"),
                ("owner", "me"),
                (
                    "public_key",
                    "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
                ),
            ],
            422,
            "not a valid",
        ),
        (
            vec![
                ("name", "Ok"),
                ("auth_type", "jwt"),
                ("owner", "me"),
                ("public_key", "{\"kty\":\"OKP\""),
            ],
            422,
            "JWK",
        ),
        (
            vec![
                ("name", "Ok"),
                ("auth_type", "api_key"),
                ("owner", "team:01234567-not-mine"),
            ],
            422,
            "team you admin",
        ),
        (
            vec![("name", "taken"), ("auth_type", "api_key"), ("owner", "me")],
            409,
            "already has an app called",
        ),
    ];
    for (fields, status, message) in cases {
        let (page, _) = create_app(&ada, "acme", &fields).await;
        assert_eq!(page.status.as_u16(), status, "{fields:?}: {}", page.body);
        assert!(page.contains(message), "{fields:?} should say {message:?}");
        assert!(page.contains("name=\"nonce\""), "the form is shown again");
    }
    // A tampered nonce is refused.
    let token = ada.get("/account").await.csrf();
    ada.post_raw(
        "/o/acme/apps",
        &[
            ("csrf_token", &token),
            ("nonce", "forged.abc"),
            ("name", "X"),
            ("auth_type", "api_key"),
            ("owner", "me"),
        ],
    )
    .await
    .assert_status(400);
    assert_eq!(app.count("apps"), 1);
    assert_eq!(app.count("credentials"), 1);
}

async fn rotate(b: &Browser, app_id: &str, overlap: &str, custom: &str) -> Page {
    let path = format!("/o/acme/apps/{app_id}/rotate");
    let form = b.get(&path).await;
    form.assert_status(200);
    let nonce = extract_value(&form.body, "name=\"nonce\" value=\"").unwrap();
    b.post_raw(
        &path,
        &[
            ("csrf_token", &form.csrf()),
            ("nonce", &nonce),
            ("overlap", overlap),
            ("custom_hours", custom),
        ],
    )
    .await
}

#[tokio::test]
async fn rotation_keeps_the_old_key_for_the_overlap_then_it_expires() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let (app_id, old_key) = AppBuilder::new("Rotator").id_and_key(&ada).await;
    let page = rotate(&ada, &app_id, "1h", "").await;
    page.assert_status(200);
    let new_key = revealed_secret(&page);
    assert_ne!(new_key, old_key);
    let show = ada.get(&format!("/o/acme/apps/{app_id}")).await;
    assert_eq!(
        show.body
            .matches("<td><mark class=\"status status-expiring\">expiring</mark></td>")
            .count(),
        1,
        "{}",
        show.body
    );
    assert_eq!(
        show.body
            .matches("<td><mark class=\"status status-active\">active</mark></td>")
            .count(),
        1
    );
    assert!(show.contains("Retire old now"));

    app.clock.advance(chrono::Duration::minutes(61));
    let later = ada.get(&format!("/o/acme/apps/{app_id}")).await;
    assert_eq!(
        later
            .body
            .matches("<td><mark class=\"status status-expired\">expired</mark></td>")
            .count(),
        1
    );
    assert_eq!(
        later
            .body
            .matches("<td><mark class=\"status status-active\">active</mark></td>")
            .count(),
        1
    );

    // The overlap is capped.
    let too_long = rotate(&ada, &app_id, "custom", "100000").await;
    too_long.assert_status(422);
    // Reset: a new key; every old one revoked at once.
    let form = ada.get(&format!("/o/acme/apps/{app_id}/rotate")).await;
    let nonce = extract_value(&form.body, "name=\"nonce\" value=\"").unwrap();
    let reset = ada
        .post_raw(
            &format!("/o/acme/apps/{app_id}/reset"),
            &[("csrf_token", &form.csrf()), ("nonce", &nonce)],
        )
        .await;
    reset.assert_status(200);
    let after = ada.get(&format!("/o/acme/apps/{app_id}")).await;
    assert_eq!(
        after
            .body
            .matches("<td><mark class=\"status status-active\">active</mark></td>")
            .count(),
        1
    );
    assert_eq!(
        after
            .body
            .matches("<td><mark class=\"status status-revoked\">revoked</mark></td>")
            .count(),
        1
    );
    // Replaying the reset form does not rotate again.
    let again = ada
        .post_raw(
            &format!("/o/acme/apps/{app_id}/reset"),
            &[("csrf_token", &form.csrf()), ("nonce", &nonce)],
        )
        .await;
    again.assert_status(303);
    assert_eq!(
        app.count(&format!("credentials WHERE app_id = '{app_id}'")),
        3
    );
}

#[tokio::test]
async fn retire_old_now_and_the_last_credential_stays() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let (app_id, _) = AppBuilder::new("Retiree").id_and_key(&ada).await;
    rotate(&ada, &app_id, "24h", "").await.assert_status(200);
    let show = ada.get(&format!("/o/acme/apps/{app_id}")).await;
    let marker = "<td><mark class=\"status status-expiring\">expiring</mark></td>";
    let at = show.body.find(marker).unwrap();
    let old_id = extract_value(&show.body[at..], "credentials/").unwrap();
    let old_id = old_id.trim_end_matches("/retire").to_string();
    ada.submit(
        &format!("/o/acme/apps/{app_id}"),
        &format!("/o/acme/apps/{app_id}/credentials/{old_id}/retire"),
        &[],
    )
    .await
    .assert_redirect(&format!("/o/acme/apps/{app_id}"));
    let show = ada.get(&format!("/o/acme/apps/{app_id}")).await;
    assert_eq!(
        show.body
            .matches("<td><mark class=\"status status-revoked\">revoked</mark></td>")
            .count(),
        1
    );
    // The last working credential cannot be retired.
    let at = show
        .body
        .find("<td><mark class=\"status status-active\">active</mark></td>")
        .unwrap();
    let _ = at;
    let last: String = {
        let rows: Vec<&str> = show
            .body
            .split("<tr>")
            .filter(|r| r.contains("<td><mark class=\"status status-active\">active</mark></td>"))
            .collect();
        extract_value(rows[0], "credentials/")
            .map(|s| s.trim_end_matches("/retire").to_string())
            .unwrap_or_default()
    };
    assert!(last.is_empty(), "no retire button for the last credential");
}

#[tokio::test]
async fn revoke_moves_the_app_to_the_revoked_table_and_delete_hides_it() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let (keep_id, _) = AppBuilder::new("Keeper").id_and_key(&ada).await;
    let (gone_id, _) = AppBuilder::new("Goner").id_and_key(&ada).await;
    let confirm = ada.get(&format!("/o/acme/apps/{keep_id}/revoke")).await;
    confirm.assert_status(200);
    assert!(confirm.contains("cannot be undone"));
    ada.submit(
        &format!("/o/acme/apps/{keep_id}/revoke"),
        &format!("/o/acme/apps/{keep_id}/revoke"),
        &[("reason", "leaked")],
    )
    .await
    .assert_redirect("/o/acme/apps");
    let list = ada.get("/o/acme/apps").await;
    let revoked_table = &list.body[list.body.find("id=\"revoked-apps\"").unwrap()..];
    assert!(revoked_table.contains("Keeper"));
    assert_eq!(
        app.count(&format!(
            "credentials WHERE app_id = '{keep_id}' AND revoked_at IS NULL"
        )),
        0
    );
    // Revoking twice is a conflict, not a silent no-op.
    ada.submit(
        "/o/acme/apps",
        &format!("/o/acme/apps/{keep_id}/revoke"),
        &[],
    )
    .await
    .assert_status(409);

    ada.submit(
        &format!("/o/acme/apps/{gone_id}/delete"),
        &format!("/o/acme/apps/{gone_id}/delete"),
        &[],
    )
    .await
    .assert_redirect("/o/acme/apps");
    ada.get(&format!("/o/acme/apps/{gone_id}"))
        .await
        .assert_status(404);
    ada.get("/o/acme/hub").await; // shows the flash once
    assert!(!ada.get("/o/acme/hub").await.contains("Goner"));
    assert_eq!(
        app.count(&format!(
            "audit_events WHERE target = 'app:{gone_id}' AND action = 'app.deleted'"
        )),
        1
    );
    assert_eq!(
        app.count(&format!(
            "credentials WHERE app_id = '{gone_id}' AND revoked_at IS NULL"
        )),
        0
    );
}
