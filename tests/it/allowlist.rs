//! A key's IP allowlist, set from the app page and through the API: what the person
//! sees, what is stored, that refused input changes nothing, who may change it, and
//! that every change leaves its row in the change feed (so every verify index reloads
//! the app).

use serde_json::{Value, json};

use crate::api_kit::Api;
use crate::kit::{
    AppBuilder, Browser, ED25519_PEM, OWNER_EMAIL, Page, TeamBuilder, TestApp, follow, spawn_app,
    str_of,
};

/// The stored allowlist of a credential.
fn stored(app: &TestApp, cred: &str) -> String {
    app.text(&format!(
        "SELECT allowed_ips AS v FROM credentials WHERE id = '{cred}'"
    ))
}

/// How many allowlist changes were audited, and how many credential changes the feed
/// holds, for an app.
fn recorded(app: &TestApp, app_id: &str) -> (i64, i64) {
    (
        app.count(&format!(
            "audit_events WHERE action = 'credential.allowlist_changed' AND target = 'app:{app_id}'"
        )),
        app.count(&format!(
            "changes WHERE kind = 'credential' AND app_id = '{app_id}'"
        )),
    )
}

/// The flash message on a page: (level, text).
fn flash(page: &Page) -> (String, String) {
    let marker = "<p class=\"flash flash-";
    let start = page.body.find(marker).expect("a flash") + marker.len();
    let rest = &page.body[start..];
    let level = rest[..rest.find('"').unwrap()].to_string();
    let text = rest[rest.find('>').unwrap() + 1..rest.find("</p>").unwrap()].to_string();
    (level, text)
}

/// Sends the allowlist form of `cred` from the app page (with its CSRF token).
async fn send_form(b: &Browser, app_id: &str, cred: &str, text: &str) -> Page {
    b.submit(
        &format!("/o/acme/apps/{app_id}"),
        &format!("/o/acme/apps/{app_id}/credentials/{cred}/allowed-ips"),
        &[("allowed_ips", text)],
    )
    .await
}

/// The "Allowed from" cell of the credentials table (the page has one key).
fn allowed_cell(page: &Page) -> String {
    let start = page
        .body
        .find("<td class=\"allowed-ips\">")
        .unwrap_or_else(|| panic!("an allowed-ips cell:\n{}", page.body));
    let rest = &page.body[start..];
    rest[..rest.find("</td>").unwrap()].to_string()
}

#[tokio::test]
async fn the_app_page_restricts_a_key_and_lifts_the_restriction() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let id = AppBuilder::new("Billing").id(&ada).await;
    let cred = app.credential_of(&id);
    let page_path = format!("/o/acme/apps/{id}");
    let shown = app.text(&format!(
        "SELECT prefix || '…' || last4 AS v FROM credentials WHERE id = '{cred}'"
    ));

    // A new key works from any address; its form is there, closed, and empty.
    let page = ada.get(&page_path).await;
    page.assert_status(200);
    assert!(allowed_cell(&page).contains("Any address"));
    assert!(page.contains(&format!("id=\"allowlist-{cred}\">")));
    assert!(page.contains(&format!(
        "action=\"/o/acme/apps/{id}/credentials/{cred}/allowed-ips\""
    )));
    assert!(page.contains("></textarea>"));
    assert!(page.contains("2001:db8::/32"), "the hint shows examples");
    assert_eq!(recorded(&app, &id), (0, 0));

    // Restricting it: any separator, any case, a bare address for one host.
    let sent = send_form(
        &ada,
        &id,
        &cred,
        "2001:DB8::/32\r\n10.0.0.0/8, 203.0.113.7\n\n10.0.0.0/8",
    )
    .await;
    sent.assert_redirect(&page_path);
    let page = follow(&ada, &sent).await;
    assert_eq!(
        flash(&page),
        (
            "info".to_string(),
            format!("Key {shown} now works only from 10.0.0.0/8, 203.0.113.7, 2001:db8::/32.")
        )
    );
    assert_eq!(
        allowed_cell(&page),
        "<td class=\"allowed-ips\"><ul class=\"ranges\"><li><code>10.0.0.0/8</code></li>\
         <li><code>203.0.113.7</code></li><li><code>2001:db8::/32</code></li></ul>"
    );
    assert!(page.contains(">10.0.0.0/8\n203.0.113.7\n2001:db8::/32</textarea>"));
    assert!(page.contains(&format!(
        "Ada Lovelace restricted key {shown} of Billing to 10.0.0.0/8, 203.0.113.7, 2001:db8::/32"
    )));
    assert_eq!(
        stored(&app, &cred),
        "10.0.0.0/8 203.0.113.7/32 2001:db8::/32"
    );
    assert_eq!(recorded(&app, &id), (1, 1));

    // Bad entries: the page again (422), the form open beside the key, every bad
    // entry named with what to write instead, the input as typed; nothing changes.
    let typed = "10.0.0.1/8\nnot-an-address\n192.168.0.0/16";
    let refused = send_form(&ada, &id, &cred, typed).await;
    refused.assert_status(422);
    assert!(refused.contains(&format!("id=\"allowlist-{cred}\" open>")));
    assert!(refused.contains("aria-invalid=\"true\""));
    for words in [
        "&#34;10.0.0.1/8&#34; has bits set after its /8 prefix. Write 10.0.0.0/8 for the whole network, or 10.0.0.1 for that one address.",
        "&#34;not-an-address&#34; is not an IP address or range.",
    ] {
        assert!(refused.contains(words), "{words}\n{}", refused.body);
    }
    assert!(refused.contains(&format!(">{typed}</textarea>")));
    // The table still shows what is stored.
    assert!(allowed_cell(&refused).contains("<code>10.0.0.0/8</code>"));
    assert_eq!(
        stored(&app, &cred),
        "10.0.0.0/8 203.0.113.7/32 2001:db8::/32"
    );
    assert_eq!(recorded(&app, &id), (1, 1));

    // Too many ranges: refused the same way.
    let many: Vec<String> = (0..101).map(|i| format!("10.{i}.0.0/16")).collect();
    let refused = send_form(&ada, &id, &cred, &many.join("\n")).await;
    refused.assert_status(422);
    assert!(refused.contains("at most 100 IP ranges; this list has 101"));
    assert_eq!(recorded(&app, &id), (1, 1));

    // The same list again, written differently: nothing to change, nothing recorded.
    let same = send_form(&ada, &id, &cred, "203.0.113.7/32 2001:db8::/32 10.0.0.0/8").await;
    same.assert_redirect(&page_path);
    let page = follow(&ada, &same).await;
    assert_eq!(
        flash(&page).1,
        format!("Nothing changed: key {shown} already had these IP ranges.")
    );
    assert_eq!(recorded(&app, &id), (1, 1));

    // An empty list lifts the restriction.
    let cleared = send_form(&ada, &id, &cred, "  \n").await;
    cleared.assert_redirect(&page_path);
    let page = follow(&ada, &cleared).await;
    assert_eq!(
        flash(&page).1,
        format!("Key {shown} works from any address again.")
    );
    assert!(allowed_cell(&page).contains("Any address"));
    assert!(page.contains(&format!(
        "Ada Lovelace removed the IP restriction of key {shown} of Billing"
    )));
    assert_eq!(stored(&app, &cred), "");
    assert_eq!(recorded(&app, &id), (2, 2));

    // A form without its CSRF token changes nothing.
    ada.post_raw(
        &format!("/o/acme/apps/{id}/credentials/{cred}/allowed-ips"),
        &[("allowed_ips", "10.0.0.0/8")],
    )
    .await
    .assert_status(403);
    assert_eq!(stored(&app, &cred), "");

    // A key that no longer works has no form and takes no list: after a reset, the
    // old key is revoked and the page offers the form for the new one only.
    let rotate = ada.get(&format!("{page_path}/rotate")).await;
    let nonce = crate::kit::extract_value(&rotate.body, "name=\"nonce\" value=\"").unwrap();
    ada.submit(
        &format!("{page_path}/rotate"),
        &format!("{page_path}/reset"),
        &[("nonce", &nonce)],
    )
    .await
    .assert_status(200);
    let page = ada.get(&page_path).await;
    assert!(!page.contains(&format!("id=\"allowlist-{cred}\"")));
    assert_eq!(page.body.matches("class=\"allowlist\"").count(), 1);
    let refused = send_form(&ada, &id, &cred, "10.0.0.0/8").await;
    refused.assert_redirect(&page_path);
    let page = follow(&ada, &refused).await;
    assert_eq!(
        flash(&page),
        (
            "error".to_string(),
            "This key is expired or revoked: its IP ranges can no longer be changed.".to_string()
        )
    );
    assert_eq!(stored(&app, &cred), "");
    // Another app's credential through this app's path: not found.
    let other = AppBuilder::new("Other").id(&ada).await;
    let other_cred = app.credential_of(&other);
    send_form(&ada, &id, &other_cred, "10.0.0.0/8")
        .await
        .assert_status(404);
    assert_eq!(stored(&app, &other_cred), "");
    // The reset has its own feed row; the refused requests none.
    assert_eq!(recorded(&app, &id), (2, 3));
}

/// The credential list of an app through the API.
async fn credentials(api: &Api, app_id: &str) -> Vec<Value> {
    api.get(&format!("/api/v1/apps/{app_id}/credentials"))
        .await
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn the_api_sets_and_clears_a_keys_allowlist() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let api = app.api(OWNER_EMAIL, "acme", true, true);
    let id = AppBuilder::new("Billing").create_api(&api).await;
    let listed = credentials(&api, &id).await;
    assert_eq!(listed[0]["allowed_ips"], json!([]));
    let cred = str_of(&listed[0], "id").to_string();
    let path = format!("/api/v1/apps/{id}/credentials/{cred}");

    let reply = api
        .patch(
            &path,
            json!({"allowed_ips": ["2001:DB8::1", "10.0.0.0/8", "::ffff:192.0.2.0/120", "10.0.0.0/8"]}),
            None,
        )
        .await;
    let body = reply.expect(200);
    assert_eq!(body["id"], json!(cred));
    assert_eq!(
        body["allowed_ips"],
        json!(["10.0.0.0/8", "192.0.2.0/24", "2001:db8::1/128"])
    );
    assert_eq!(
        credentials(&api, &id).await[0]["allowed_ips"],
        json!(["10.0.0.0/8", "192.0.2.0/24", "2001:db8::1/128"])
    );
    assert_eq!(
        stored(&app, &cred),
        "10.0.0.0/8 192.0.2.0/24 2001:db8::1/128"
    );
    assert_eq!(recorded(&app, &id), (1, 1));

    // Refused lists: a 422 problem naming the entry; nothing changes.
    let hundred_and_one: Vec<String> = (0..101).map(|i| format!("10.{i}.0.0/16")).collect();
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"allowed_ips": ["10.0.0.1/8"]}),
            "\"10.0.0.1/8\" has bits set after its /8 prefix. Write 10.0.0.0/8 for the whole network, or 10.0.0.1 for that one address.",
        ),
        (
            json!({"allowed_ips": ["10.0.0.0/8", "10.0.0.0/33"]}),
            "\"10.0.0.0/33\" is not an IP range: the number after the / must be from 0 to 32",
        ),
        (
            json!({"allowed_ips": ["localhost"]}),
            "\"localhost\" is not an IP address or range.",
        ),
        (
            json!({"allowed_ips": ["10.0.0.0/8, 11.0.0.0/8"]}),
            "Each item of allowed_ips must be one address or range; \"10.0.0.0/8, 11.0.0.0/8\" is not.",
        ),
        (
            json!({"allowed_ips": [""]}),
            "Each item of allowed_ips must be one address or range; \"\" is not.",
        ),
        (
            json!({"allowed_ips": hundred_and_one}),
            "at most 100 IP ranges; this list has 101",
        ),
    ];
    for (body, wanted) in cases {
        let reply = api.patch(&path, body.clone(), None).await;
        let detail = reply.expect_problem(422);
        assert!(detail.contains(wanted), "{body}: {detail}");
        assert!(
            reply.body["errors"][0].as_str().unwrap().contains(wanted),
            "{}",
            reply.body
        );
    }
    // Not a list of strings: a 400 that says so.
    api.patch(&path, json!({"allowed_ips": "10.0.0.0/8"}), None)
        .await
        .expect_problem(400);
    assert_eq!(
        stored(&app, &cred),
        "10.0.0.0/8 192.0.2.0/24 2001:db8::1/128"
    );
    assert_eq!(recorded(&app, &id), (1, 1));

    // Leaving the field out, or sending the list it has, changes nothing.
    for body in [
        json!({}),
        json!({"allowed_ips": ["2001:db8::1/128", "192.0.2.0/24", "10.0.0.0/8"]}),
    ] {
        let reply = api.patch(&path, body, None).await;
        assert_eq!(
            reply.expect(200)["allowed_ips"],
            json!(["10.0.0.0/8", "192.0.2.0/24", "2001:db8::1/128"])
        );
    }
    assert_eq!(recorded(&app, &id), (1, 1));

    // `[]` lifts the restriction.
    let reply = api.patch(&path, json!({"allowed_ips": []}), None).await;
    assert_eq!(reply.expect(200)["allowed_ips"], json!([]));
    assert_eq!(stored(&app, &cred), "");
    assert_eq!(recorded(&app, &id), (2, 2));

    // Unknown credentials, another app's, and unknown apps are 404s.
    let other = AppBuilder::new("Other").create_api(&api).await;
    let other_cred = app.credential_of(&other);
    for p in [
        format!("/api/v1/apps/{id}/credentials/no-such-credential"),
        format!("/api/v1/apps/{id}/credentials/{other_cred}"),
        format!("/api/v1/apps/no-such-app/credentials/{cred}"),
    ] {
        api.patch(&p, json!({"allowed_ips": ["10.0.0.0/8"]}), None)
            .await
            .expect_problem(404);
    }

    // Only live API keys take a list: not a key revoked by a reset, not an OAuth2
    // client secret, not a JWT app's public key, not a key of a revoked app.
    api.post(&format!("/api/v1/apps/{id}/reset"), json!({}))
        .await
        .expect(201);
    let detail = api
        .patch(&path, json!({"allowed_ips": ["10.0.0.0/8"]}), None)
        .await
        .expect_problem(409)
        .to_string();
    assert_eq!(
        detail,
        "This key is expired or revoked: its IP ranges can no longer be changed."
    );
    let oauth = api
        .post(
            "/api/v1/apps",
            json!({"name": "Machine", "auth_type": "oauth2"}),
        )
        .await;
    let oauth = str_of(oauth.expect(201), "id").to_string();
    let jwt = api
        .post(
            "/api/v1/apps",
            json!({"name": "Signed", "auth_type": "jwt", "public_key": ED25519_PEM}),
        )
        .await;
    let jwt = str_of(jwt.expect(201), "id").to_string();
    for other in [&oauth, &jwt] {
        let c = app.credential_of(other);
        let detail = api
            .patch(
                &format!("/api/v1/apps/{other}/credentials/{c}"),
                json!({"allowed_ips": ["10.0.0.0/8"]}),
                None,
            )
            .await
            .expect_problem(409)
            .to_string();
        assert_eq!(detail, "Only API keys can be restricted to IP ranges.");
    }
    api.post(
        &format!("/api/v1/apps/{other}/revoke"),
        json!({"reason": "done"}),
    )
    .await
    .expect(200);
    api.patch(
        &format!("/api/v1/apps/{other}/credentials/{other_cred}"),
        json!({"allowed_ips": ["10.0.0.0/8"]}),
        None,
    )
    .await
    .expect_problem(409);
    assert_eq!(
        app.count("credentials WHERE allowed_ips <> ''"),
        0,
        "no refused request stored a list"
    );
    assert_eq!(
        app.count("audit_events WHERE action = 'credential.allowlist_changed'"),
        2
    );
}

#[tokio::test]
async fn only_those_who_may_change_the_app_restrict_its_keys() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let lena = app
        .join(&ada, "acme", "lena@example.com", "developer")
        .await;
    let tom = app.join(&ada, "acme", "tom@example.com", "developer").await;
    let olga = app
        .join(&ada, "acme", "olga@example.com", "developer")
        .await;
    let adam = app.join(&ada, "acme", "adam@example.com", "admin").await;
    let xena = app
        .second_org("Xena", "xena@example.com", "Initech", "initech")
        .await;
    // Squad: Lena its team admin, Tom a plain member; Olga is in no team.
    let squad = TeamBuilder::new("Squad").create(&lena).await;
    lena.submit(
        "/account",
        &format!("/o/acme/teams/{squad}/members"),
        &[("email", "tom@example.com"), ("role", "member")],
    )
    .await
    .assert_status(303);
    let id = AppBuilder::new("Shared").team(&squad).id(&lena).await;
    let cred = app.credential_of(&id);
    let form = format!("id=\"allowlist-{cred}\"");

    // The page: the team member sees the ranges but no form; strangers see nothing.
    let page = tom.get(&format!("/o/acme/apps/{id}")).await;
    page.assert_status(200);
    assert!(allowed_cell(&page).contains("Any address"));
    assert!(!page.contains(&form));
    assert!(!page.contains("/allowed-ips\""));
    for (who, b) in [("team admin", &lena), ("org admin", &adam), ("owner", &ada)] {
        assert!(
            b.get(&format!("/o/acme/apps/{id}")).await.contains(&form),
            "{who}"
        );
    }
    let post = |b: &Browser, text: &'static str| {
        let b = b.clone();
        let action = format!("/o/acme/apps/{id}/credentials/{cred}/allowed-ips");
        async move {
            b.submit("/account", &action, &[("allowed_ips", text)])
                .await
                .status
                .as_u16()
        }
    };
    assert_eq!(post(&tom, "10.0.0.0/8").await, 403);
    assert_eq!(post(&olga, "10.0.0.0/8").await, 404);
    assert_eq!(post(&xena, "10.0.0.0/8").await, 404);
    let anon = app.browser();
    let token = anon.get("/login").await.csrf();
    anon.post_raw(
        &format!("/o/acme/apps/{id}/credentials/{cred}/allowed-ips"),
        &[("csrf_token", &token), ("allowed_ips", "10.0.0.0/8")],
    )
    .await
    .assert_status(303);
    assert_eq!(stored(&app, &cred), "");
    assert_eq!(post(&lena, "10.0.0.0/8").await, 303);
    assert_eq!(post(&adam, "10.1.0.0/16").await, 303);
    assert_eq!(stored(&app, &cred), "10.1.0.0/16");

    // The API: the same answers, and read-only tokens may only look.
    let path = format!("/api/v1/apps/{id}/credentials/{cred}");
    let body = json!({"allowed_ips": ["192.0.2.0/24"]});
    for (email, org, admin, write, status) in [
        ("tom@example.com", "acme", false, true, 403),
        ("olga@example.com", "acme", false, true, 404),
        ("xena@example.com", "initech", true, true, 404),
        ("lena@example.com", "acme", false, false, 403),
        ("adam@example.com", "acme", true, false, 403),
    ] {
        let reply = app
            .api(email, org, admin, write)
            .patch(&path, body.clone(), None)
            .await;
        reply.expect_problem(status);
    }
    assert_eq!(stored(&app, &cred), "10.1.0.0/16");
    let tom_reads = app.api("tom@example.com", "acme", false, false);
    assert_eq!(
        credentials(&tom_reads, &id).await[0]["allowed_ips"],
        json!(["10.1.0.0/16"])
    );
    for (email, admin) in [("lena@example.com", false), ("adam@example.com", true)] {
        app.api(email, "acme", admin, true)
            .patch(&path, body.clone(), None)
            .await
            .expect(200);
    }
    assert_eq!(stored(&app, &cred), "192.0.2.0/24");
    // Three changes (Lena's and Adam's forms, Lena's PATCH; Adam's was a no-op), each
    // with its feed row.
    assert_eq!(recorded(&app, &id), (3, 3));
}
