//! Who may do what to consumer apps, through HTTP: team-owned apps (members view,
//! team admins and org admins change, everyone else does not see them), transfers,
//! owners leaving the organisation, JWT keys, editing, and the reveal page staying
//! out of other tabs, the back button and double submissions.

use diesel::prelude::*;
use gatehouse::db::DbConnection;
use gatehouse::db::schema::{apps, credentials};
use gatehouse::models::apps::App;

use crate::kit::{
    AppBuilder, Browser, ED25519_PEM, Page, TeamBuilder, TestApp, create_app, extract_value,
    follow, revealed_app_id, revealed_secret, spawn_app,
};

/// An Ed25519 public key as a JWK (RFC 8037, appendix A).
const ED25519_JWK: &str =
    r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;

/// The id of the app's credential labelled `label`.
fn credential_labelled(app: &TestApp, app_id: &str, label: &str) -> String {
    let mut conn = app.conn();
    let conn: &mut DbConnection = &mut conn;
    credentials::table
        .filter(credentials::app_id.eq(app_id))
        .filter(credentials::label.eq(label))
        .select(credentials::id)
        .first(conn)
        .expect("a credential with this label")
}

/// The app as stored.
fn stored(app: &TestApp, app_id: &str) -> App {
    let mut conn = app.conn();
    let conn: &mut DbConnection = &mut conn;
    apps::table
        .find(app_id)
        .select(App::as_select())
        .first(conn)
        .expect("app exists")
}

/// The flash message the page shows, as (level, message).
fn flash(page: &Page) -> Option<(String, String)> {
    let marker = "<p class=\"flash flash-";
    let start = page.body.find(marker)? + marker.len();
    let rest = &page.body[start..];
    let level = rest[..rest.find('"')?].to_string();
    let text_start = rest.find('>')? + 1;
    let text_end = rest.find("</p>")?;
    Some((level, rest[text_start..text_end].to_string()))
}

#[track_caller]
fn assert_flash(page: &Page, level: &str, contains: &str) {
    let (got_level, message) = flash(page).unwrap_or_else(|| panic!("no flash on:\n{}", page.body));
    assert_eq!(got_level, level, "{message}");
    assert!(
        message.contains(contains),
        "flash {message:?} should contain {contains:?}"
    );
}

/// POSTs `fields` to an app's action with a CSRF token from the account page.
async fn act(b: &Browser, app_id: &str, action: &str, fields: &[(&str, &str)]) -> Page {
    b.submit(
        "/account",
        &format!("/o/acme/apps/{app_id}{action}"),
        fields,
    )
    .await
}

fn audit_count(app: &TestApp, app_id: &str, action: &str) -> i64 {
    app.count(&format!(
        "audit_events WHERE target = 'app:{app_id}' AND action = '{action}'"
    ))
}

#[tokio::test]
async fn a_team_app_is_seen_by_its_members_and_changed_by_its_admins() {
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
    let squad = TeamBuilder::new("Squad")
        .member("tom@example.com", "member")
        .create(&lena)
        .await;
    let owner_value = format!("team:{squad}");

    // The team is an owner choice for its admin only; a plain member cannot pick it.
    let option = format!("<option value=\"{owner_value}\"");
    assert!(lena.get("/o/acme/apps/new").await.contains(&option));
    assert!(!tom.get("/o/acme/apps/new").await.contains(&option));
    let (refused, _) = create_app(
        &tom,
        "acme",
        &[
            ("name", "Sneaky"),
            ("auth_type", "api_key"),
            ("owner", &owner_value),
        ],
    )
    .await;
    refused.assert_status(422);
    assert!(refused.contains("only for yourself or for a team you admin"));
    assert_eq!(app.count("apps"), 0);

    // The team admin creates the app for the team.
    let id = AppBuilder::new("Shared").team(&squad).id(&lena).await;
    let made = stored(&app, &id);
    assert_eq!(made.owner_team_id.as_deref(), Some(squad.as_str()));
    assert_eq!(made.owner_user_id, None);
    assert_eq!(made.created_by, app.user_id("lena@example.com"));
    assert_eq!(made.status, "active");
    let page_path = format!("/o/acme/apps/{id}");
    let edit_link = format!("/o/acme/apps/{id}/edit");

    // A plain team member sees it in My Hub and on its page, without any action.
    let hub = tom.get("/o/acme/hub").await;
    hub.assert_status(200);
    assert!(hub.contains(&format!("<a href=\"{page_path}\">Shared</a>")));
    assert!(hub.contains("<td>team Squad</td>"));
    assert!(!hub.contains(&edit_link));
    let list = tom.get("/o/acme/apps").await;
    assert!(list.contains(&format!("<a href=\"{page_path}\">Shared</a>")));
    assert!(!list.contains(&edit_link));
    let show = tom.get(&page_path).await;
    show.assert_status(200);
    assert!(show.contains("<h1>Shared</h1>"));
    assert!(show.contains("<dd>team Squad</dd>"));
    for action in [
        "/edit",
        "/rotate",
        "/revoke",
        "/delete",
        "/transfer",
        "/retire",
    ] {
        assert!(
            !show.contains(&format!("{action}\"")),
            "a team member is offered {action}"
        );
    }
    // …and every change is refused with 403.
    for action in ["/edit", "/rotate", "/revoke", "/delete"] {
        tom.get(&format!("{page_path}{action}"))
            .await
            .assert_status(403);
    }
    let cred = app.credential_of(&id);
    let posts: [(&str, Vec<(&str, &str)>); 8] = [
        (
            "/edit",
            vec![("name", "Renamed"), ("description", "mine now")],
        ),
        ("/rotate", vec![("nonce", "x"), ("overlap", "1h")]),
        ("/reset", vec![("nonce", "x")]),
        ("/keys", vec![("public_key", ED25519_PEM)]),
        ("/transfer", vec![("to", "user:me")]),
        ("/revoke", vec![("reason", "mine")]),
        ("/delete", vec![]),
        ("/credentials/x/retire", vec![]),
    ];
    for (action, fields) in &posts {
        act(&tom, &id, action, fields).await.assert_status(403);
    }
    act(&tom, &id, &format!("/credentials/{cred}/retire"), &[])
        .await
        .assert_status(403);
    let after = stored(&app, &id);
    assert_eq!(
        (after.name.as_str(), after.status.as_str()),
        ("Shared", "active")
    );
    assert_eq!(after.owner_team_id.as_deref(), Some(squad.as_str()));
    assert_eq!(
        app.count(&format!(
            "credentials WHERE app_id = '{id}' AND revoked_at IS NULL"
        )),
        1
    );
    assert_eq!(app.count("credentials"), 1);

    // A developer outside the team does not see it at all.
    olga.get(&page_path).await.assert_status(404);
    olga.get(&edit_link).await.assert_status(404);
    act(&olga, &id, "/revoke", &[]).await.assert_status(404);
    let list = olga.get("/o/acme/apps").await;
    list.assert_status(200);
    assert!(!list.contains("Shared"));
    assert!(!list.contains(&id));
    assert!(!olga.get("/o/acme/hub").await.contains("Shared"));
    assert!(
        !olga
            .get(&format!("/o/acme/apps?q={id}"))
            .await
            .contains("Shared")
    );

    // The team admin manages it.
    let show = lena.get(&page_path).await;
    assert!(show.contains(&format!("href=\"{edit_link}\"")));
    assert!(lena.get("/o/acme/hub").await.contains(&edit_link));

    // An org admin outside the team sees it in the list and manages it.
    let list = adam.get("/o/acme/apps").await;
    assert!(list.contains(&format!("<a href=\"{page_path}\">Shared</a>")));
    assert!(list.contains(&edit_link));
    adam.get(&edit_link).await.assert_status(200);
    adam.submit(&edit_link, &edit_link, &[("name", "Shared v2")])
        .await
        .assert_redirect(&page_path);
    assert_eq!(stored(&app, &id).name, "Shared v2");
    adam.submit(
        &format!("{page_path}/revoke"),
        &format!("{page_path}/revoke"),
        &[("reason", "audit")],
    )
    .await
    .assert_redirect("/o/acme/apps");
    let after = stored(&app, &id);
    assert_eq!(after.status, "revoked");
    assert_eq!(after.owner_team_id.as_deref(), Some(squad.as_str()));
    assert_eq!(audit_count(&app, &id, "app.updated"), 1);
    assert_eq!(audit_count(&app, &id, "app.revoked"), 1);
}

#[tokio::test]
async fn an_owner_moves_an_app_to_a_team_they_admin_and_back() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let dev = app.join(&ada, "acme", "dev@example.com", "developer").await;
    let dev_id = app.user_id("dev@example.com");
    let core = TeamBuilder::new("Core").create(&dev).await;
    // dev is a plain member of Elsewhere: not a transfer target for them.
    let elsewhere = TeamBuilder::new("Elsewhere")
        .member("dev@example.com", "member")
        .create(&ada)
        .await;

    let id = AppBuilder::new("Mover").id(&dev).await;
    let page_path = format!("/o/acme/apps/{id}");
    let show = dev.get(&page_path).await;
    assert!(show.contains(&format!("<option value=\"team:{core}\">Team Core</option>")));
    assert!(!show.contains(&format!("team:{elsewhere}")));
    assert!(
        !show.contains(&format!("<option value=\"user:{dev_id}\"")),
        "already theirs"
    );

    // To the team…
    let moved = act(&dev, &id, "/transfer", &[("to", &format!("team:{core}"))]).await;
    moved.assert_redirect(&page_path);
    let shown = follow(&dev, &moved).await;
    assert_flash(&shown, "info", "App transferred.");
    assert!(shown.contains("<dd>team Core</dd>"));
    let after = stored(&app, &id);
    assert_eq!(after.owner_team_id.as_deref(), Some(core.as_str()));
    assert_eq!(after.owner_user_id, None);

    // …and back.
    act(&dev, &id, "/transfer", &[("to", &format!("user:{dev_id}"))])
        .await
        .assert_redirect(&page_path);
    let after = stored(&app, &id);
    assert_eq!(after.owner_user_id.as_deref(), Some(dev_id.as_str()));
    assert_eq!(after.owner_team_id, None);
    assert_eq!(after.status, "active");
    assert_eq!(audit_count(&app, &id, "app.transferred"), 2);

    // Not to a team they do not admin, nor to someone else.
    act(
        &dev,
        &id,
        "/transfer",
        &[("to", &format!("team:{elsewhere}"))],
    )
    .await
    .assert_status(403);
    let ada_id = app.user_id(crate::kit::OWNER_EMAIL);
    act(&dev, &id, "/transfer", &[("to", &format!("user:{ada_id}"))])
        .await
        .assert_status(403);
    let after = stored(&app, &id);
    assert_eq!(after.owner_user_id.as_deref(), Some(dev_id.as_str()));
    assert_eq!(after.owner_team_id, None);
    assert_eq!(audit_count(&app, &id, "app.transferred"), 2);

    // A name clash at the target: a flash error, nothing changes.
    let team_clash = AppBuilder::new("Clash").team(&core).id(&dev).await;
    let mine = AppBuilder::new("clash").id(&dev).await;
    let refused = act(&dev, &mine, "/transfer", &[("to", &format!("team:{core}"))]).await;
    refused.assert_redirect(&format!("/o/acme/apps/{mine}"));
    let shown = follow(&dev, &refused).await;
    assert_flash(&shown, "error", "already has an app called");
    let after = stored(&app, &mine);
    assert_eq!(after.owner_user_id.as_deref(), Some(dev_id.as_str()));
    assert_eq!(after.owner_team_id, None);
    assert_eq!(after.name, "clash");
    assert_eq!(
        stored(&app, &team_clash).owner_team_id.as_deref(),
        Some(core.as_str())
    );
    assert_eq!(audit_count(&app, &mine, "app.transferred"), 0);
}

#[tokio::test]
async fn personal_apps_of_a_departing_member_are_suspended_for_admins_to_rehome() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let ada_id = app.user_id(crate::kit::OWNER_EMAIL);
    let dev = app.join(&ada, "acme", "dev@example.com", "developer").await;
    let first = AppBuilder::new("Left one").id(&dev).await;
    let second = AppBuilder::new("Left two").id(&dev).await;
    let crew = TeamBuilder::new("Crew").create(&dev).await;
    let crew_app = AppBuilder::new("Crew app").team(&crew).id(&dev).await;
    let gone = AppBuilder::new("Revoked before").id(&dev).await;
    act(&dev, &gone, "/revoke", &[])
        .await
        .assert_redirect("/o/acme/apps");

    // The owner leaves the organisation.
    dev.submit("/o/acme", "/o/acme/leave", &[])
        .await
        .assert_redirect("/orgs");
    for id in [&first, &second] {
        let a = stored(&app, id);
        assert_eq!(
            (a.status.as_str(), a.status_reason.as_str()),
            ("suspended", "owner left")
        );
        assert_eq!(audit_count(&app, id, "app.suspended"), 1);
    }
    assert_eq!(stored(&app, &crew_app).status, "active");
    assert_eq!(stored(&app, &gone).status, "revoked");
    dev.get(&format!("/o/acme/apps/{first}"))
        .await
        .assert_status(404);

    // The org admin finds them as orphaned.
    let orphaned = ada.get("/o/acme/apps?filter=orphaned").await;
    orphaned.assert_status(200);
    assert!(orphaned.contains(&format!("/o/acme/apps/{first}\">Left one</a>")));
    assert!(orphaned.contains(&format!("/o/acme/apps/{second}\">Left two</a>")));
    assert!(orphaned.contains("<small title=\"owner left\">(owner left)</small>"));
    assert!(!orphaned.contains("Crew app"));
    assert!(!orphaned.contains("Revoked before"));
    assert!(ada.get("/o/acme/apps").await.contains("Crew app"));

    // …and moves one to a team, which makes it active again.
    let rescue = TeamBuilder::new("Rescue").create(&ada).await;
    let show = ada.get(&format!("/o/acme/apps/{first}")).await;
    assert!(show.contains("suspended"));
    assert!(show.contains(&format!("value=\"team:{rescue}\"")));
    act(
        &ada,
        &first,
        "/transfer",
        &[("to", &format!("team:{rescue}"))],
    )
    .await
    .assert_redirect(&format!("/o/acme/apps/{first}"));
    let a = stored(&app, &first);
    assert_eq!(
        (a.status.as_str(), a.status_reason.as_str()),
        ("active", "")
    );
    assert_eq!(a.owner_team_id.as_deref(), Some(rescue.as_str()));
    assert_eq!(a.owner_user_id, None);
    let orphaned = ada.get("/o/acme/apps?filter=orphaned").await;
    assert!(!orphaned.contains("Left one"));
    assert!(orphaned.contains("Left two"));

    // Removing a member does the same.
    let sam = app.join(&ada, "acme", "sam@example.com", "developer").await;
    let sams = AppBuilder::new("Sam app").id(&sam).await;
    let sam_id = app.user_id("sam@example.com");
    ada.submit(
        "/o/acme/members",
        &format!("/o/acme/members/{sam_id}/remove"),
        &[],
    )
    .await
    .assert_redirect("/o/acme/members");
    let a = stored(&app, &sams);
    assert_eq!(
        (a.status.as_str(), a.status_reason.as_str()),
        ("suspended", "owner left")
    );
    let orphaned = ada.get("/o/acme/apps?filter=orphaned").await;
    assert!(orphaned.contains(&format!("/o/acme/apps/{sams}\">Sam app</a>")));
    act(
        &ada,
        &sams,
        "/transfer",
        &[("to", &format!("user:{ada_id}"))],
    )
    .await
    .assert_redirect(&format!("/o/acme/apps/{sams}"));
    let a = stored(&app, &sams);
    assert_eq!(
        (a.status.as_str(), a.status_reason.as_str()),
        ("active", "")
    );
    assert_eq!(a.owner_user_id.as_deref(), Some(ada_id.as_str()));
}

#[tokio::test]
async fn a_jwt_app_adds_and_retires_keys_but_keeps_one() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let (page, _) = create_app(
        &ada,
        "acme",
        &[
            ("name", "Signer"),
            ("auth_type", "jwt"),
            ("owner", "me"),
            ("public_key", ED25519_PEM),
            ("label", "first"),
        ],
    )
    .await;
    page.assert_status(200);
    let id = revealed_app_id(&page);
    let page_path = format!("/o/acme/apps/{id}");
    let first = credential_labelled(&app, &id, "first");
    let live = |app: &TestApp| {
        app.count(&format!(
            "credentials WHERE app_id = '{id}' AND revoked_at IS NULL"
        ))
    };

    // One key: no retire button, and retiring it anyway is refused.
    let show = ada.get(&page_path).await;
    assert!(show.contains("Add a public key"));
    assert_eq!(show.body.matches("/retire\"").count(), 0);
    let refused = act(&ada, &id, &format!("/credentials/{first}/retire"), &[]).await;
    refused.assert_redirect(&page_path);
    assert_flash(&follow(&ada, &refused).await, "error", "or revoke the app.");
    assert_eq!(live(&app), 1);

    // An invalid key: a flash error and nothing written.
    for (bad, message) in [
        (
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
            "not a valid",
        ),
        ("{\"kty\":\"OKP\"", "not valid JSON"),
        (
            r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}"#,
            "private key",
        ),
        ("", "public key (PEM or JWK)"),
    ] {
        let page = act(&ada, &id, "/keys", &[("public_key", bad), ("label", "bad")]).await;
        page.assert_redirect(&page_path);
        assert_flash(&follow(&ada, &page).await, "error", message);
    }
    assert_eq!(app.count(&format!("credentials WHERE app_id = '{id}'")), 1);
    assert_eq!(audit_count(&app, &id, "credential.key_added"), 0);

    // A second key, as a JWK.
    let added = act(
        &ada,
        &id,
        "/keys",
        &[("public_key", ED25519_JWK), ("label", "second")],
    )
    .await;
    added.assert_redirect(&page_path);
    let show = follow(&ada, &added).await;
    assert_flash(&show, "info", "Public key added.");
    assert!(show.contains("<td>second</td>"));
    assert_eq!(
        show.body
            .matches("<td><mark class=\"status status-active\">active</mark></td>")
            .count(),
        2
    );
    assert_eq!(show.body.matches("/retire\"").count(), 2);
    let second = credential_labelled(&app, &id, "second");
    assert_eq!(live(&app), 2);
    assert_eq!(audit_count(&app, &id, "credential.key_added"), 1);

    // Retire the first; the second is now the last and stays.
    let retired = act(&ada, &id, &format!("/credentials/{first}/retire"), &[]).await;
    retired.assert_redirect(&page_path);
    let show = follow(&ada, &retired).await;
    assert_flash(&show, "info", "Credential retired");
    assert_eq!(show.body.matches("/retire\"").count(), 0);
    assert_eq!(
        show.body
            .matches("<td><mark class=\"status status-revoked\">revoked</mark></td>")
            .count(),
        1
    );
    assert_eq!(
        app.count(&format!(
            "credentials WHERE id = '{first}' AND revoked_at IS NOT NULL"
        )),
        1
    );
    let refused = act(&ada, &id, &format!("/credentials/{second}/retire"), &[]).await;
    refused.assert_redirect(&page_path);
    assert_flash(&follow(&ada, &refused).await, "error", "or revoke the app.");
    assert_eq!(
        app.count(&format!(
            "credentials WHERE id = '{second}' AND revoked_at IS NULL"
        )),
        1
    );
    // Retiring the first again is a conflict, not a silent no-op.
    let again = act(&ada, &id, &format!("/credentials/{first}/retire"), &[]).await;
    assert_flash(
        &follow(&ada, &again).await,
        "error",
        "already expired or revoked",
    );
    assert_eq!(live(&app), 1);
    assert_eq!(audit_count(&app, &id, "credential.retired"), 1);
}

#[tokio::test]
async fn edit_saves_details_and_refuses_duplicates_and_revoked_apps() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let (page, _) = create_app(
        &ada,
        "acme",
        &[
            ("name", "Alpha"),
            ("description", "First"),
            ("callback_urls", "https://alpha.example.com/cb"),
            ("auth_type", "oauth2"),
            ("owner", "me"),
            ("label", "prod"),
        ],
    )
    .await;
    page.assert_status(200);
    let alpha = revealed_app_id(&page);
    let client_id = stored(&app, &alpha).client_id.expect("a client id");
    let beta = AppBuilder::new("Beta").id(&ada).await;
    let alpha_cred = app.credential_of(&alpha);
    let beta_cred = app.credential_of(&beta);
    let edit = format!("/o/acme/apps/{alpha}/edit");
    let label_field = format!("label.{alpha_cred}");

    let form = ada.get(&edit).await;
    form.assert_status(200);
    assert!(form.contains(&format!("name=\"{label_field}\" value=\"prod\"")));
    assert!(form.contains(&format!("<code>{client_id}</code>")));
    assert!(!form.contains("name=\"client_id\""), "never editable");

    // Rename, description, callback URLs, credential label.
    let saved = ada
        .submit(
            &edit,
            &edit,
            &[
                ("name", "Alpha Two"),
                ("description", "Second"),
                (
                    "callback_urls",
                    "https://alpha.example.com/cb2\r\nhttp://localhost:8080/cb",
                ),
                (&label_field, "staging"),
                ("client_id", "tampered"),
            ],
        )
        .await;
    saved.assert_redirect(&format!("/o/acme/apps/{alpha}"));
    let show = follow(&ada, &saved).await;
    assert_flash(&show, "info", "App saved.");
    assert!(show.contains("<h1>Alpha Two</h1>"));
    assert!(show.contains("<dd>Second</dd>"));
    assert!(show.contains("<li><code>http://localhost:8080/cb</code></li>"));
    assert!(show.contains("<td>staging</td>"));
    let a = stored(&app, &alpha);
    assert_eq!(a.name, "Alpha Two");
    assert_eq!(a.description, "Second");
    assert_eq!(
        a.callback_urls,
        "https://alpha.example.com/cb2\nhttp://localhost:8080/cb"
    );
    assert_eq!(a.client_id.as_deref(), Some(client_id.as_str()));
    assert_eq!(a.auth_type, "oauth2");
    assert_eq!(credential_labelled(&app, &alpha, "staging"), alpha_cred);
    assert_eq!(audit_count(&app, &alpha, "app.updated"), 1);

    // A name the same owner already uses: 409, the form again, nothing changed.
    let beta_edit = format!("/o/acme/apps/{beta}/edit");
    let clash = ada
        .submit(
            &beta_edit,
            &beta_edit,
            &[
                ("name", "alpha two"),
                ("description", "changed"),
                (&format!("label.{beta_cred}"), "changed"),
            ],
        )
        .await;
    clash.assert_status(409);
    assert!(clash.contains("already has an app called"));
    assert!(clash.contains("name=\"name\" value=\"alpha two\""));
    assert!(clash.contains(&format!("action=\"{beta_edit}\"")));
    let b = stored(&app, &beta);
    assert_eq!((b.name.as_str(), b.description.as_str()), ("Beta", ""));
    assert_eq!(app.count("credentials WHERE label = 'changed'"), 0);
    // Another app's credential label smuggled into the form: refused, nothing changed.
    let smuggled = ada
        .submit(
            &beta_edit,
            &beta_edit,
            &[("name", "Beta"), (&label_field, "hijacked")],
        )
        .await;
    smuggled.assert_status(422);
    assert!(smuggled.contains("does not have"));
    assert_eq!(credential_labelled(&app, &alpha, "staging"), alpha_cred);
    assert_eq!(audit_count(&app, &beta, "app.updated"), 0);

    // A revoked app can be neither edited nor rotated.
    act(&ada, &beta, "/revoke", &[])
        .await
        .assert_redirect("/o/acme/apps");
    let show = ada.get(&format!("/o/acme/apps/{beta}")).await;
    assert!(!show.contains(&format!("href=\"{beta_edit}\"")));
    assert!(!show.contains("/rotate\""));
    // Neither the edit form nor the rotate form opens for it…
    ada.get(&beta_edit).await.assert_status(409);
    ada.get(&format!("/o/acme/apps/{beta}/rotate"))
        .await
        .assert_status(409);
    // …and a form posted anyway is refused.
    let token = ada.get("/account").await.csrf();
    let refused = ada
        .post_raw(&beta_edit, &[("csrf_token", &token), ("name", "Gamma")])
        .await;
    refused.assert_status(409);
    assert!(refused.contains("revoked"));
    assert_eq!(stored(&app, &beta).name, "Beta");
    // A rotate nonce from a live app's form, posted to the revoked app.
    let form = ada.get(&format!("/o/acme/apps/{alpha}/rotate")).await;
    let nonce = extract_value(&form.body, "name=\"nonce\" value=\"").unwrap();
    for action in ["rotate", "reset"] {
        let path = format!("/o/acme/apps/{beta}/{action}");
        let page = ada
            .post_raw(
                &path,
                &[
                    ("csrf_token", &form.csrf()),
                    ("nonce", &nonce),
                    ("overlap", "1h"),
                ],
            )
            .await;
        page.assert_redirect(&format!("/o/acme/apps/{beta}"));
        assert!(!page.contains("reveal-secret"));
        assert_flash(&follow(&ada, &page).await, "error", "revoked");
    }
    assert_eq!(
        app.count(&format!("credentials WHERE app_id = '{beta}'")),
        1
    );
    assert_eq!(audit_count(&app, &beta, "credential.rotated"), 0);
    assert_eq!(audit_count(&app, &beta, "credential.reset"), 0);
    assert_eq!(audit_count(&app, &beta, "app.updated"), 0);
}

fn clears_reveal_cookie(page: &Page) -> bool {
    page.headers.get_all("set-cookie").iter().any(|c| {
        let c = c.to_str().unwrap_or_default();
        c.starts_with("gatehouse_revealed=") && c.contains("Max-Age=0")
    })
}

fn sets_reveal_cookie(page: &Page) -> bool {
    page.headers.get_all("set-cookie").iter().any(|c| {
        let c = c.to_str().unwrap_or_default();
        c.starts_with("gatehouse_revealed=") && !c.contains("Max-Age=0")
    })
}

#[tokio::test]
async fn a_second_tab_and_the_back_button_never_see_the_secret() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    // The same cookie jar: another tab of the same browser.
    let tab = ada.clone();
    let fields = [
        ("name", "Secretive"),
        ("auth_type", "api_key"),
        ("owner", "me"),
    ];
    let (reveal, nonce) = create_app(&ada, "acme", &fields).await;
    reveal.assert_status(200);
    assert_eq!(reveal.header("cache-control"), Some("no-store"));
    assert!(sets_reveal_cookie(&reveal));
    let secret = revealed_secret(&reveal);
    let id = revealed_app_id(&reveal);
    for (name, value) in &reveal.headers {
        assert!(
            !value.to_str().unwrap_or_default().contains(&secret),
            "secret in the {name} header"
        );
    }

    // The other tab's next page clears the reveal cookie (so the back/forward cache
    // may not restore the reveal page) and does not show the secret.
    let next = tab.get("/o/acme/hub").await;
    next.assert_status(200);
    assert!(clears_reveal_cookie(&next), "{:?}", next.headers);
    assert!(!next.contains(&secret));
    let pages = [
        format!("/o/acme/apps/{id}"),
        format!("/o/acme/apps/{id}/edit"),
        format!("/o/acme/apps/{id}/rotate"),
        "/o/acme/apps".to_string(),
        "/o/acme/apps/new".to_string(),
        "/o/acme/hub".to_string(),
        "/o/acme".to_string(),
    ];
    for path in &pages {
        for b in [&tab, &ada] {
            let page = b.get(path).await;
            page.assert_status(200);
            assert!(!page.contains(&secret), "secret on {path}");
            assert!(!page.contains("reveal-secret"), "a reveal on {path}");
            // Cleared once; nothing left to clear.
            assert!(!clears_reveal_cookie(&page), "{path}: {:?}", page.headers);
        }
    }
    // Reloading the reveal (re-posting its form) shows no secret either.
    let token = ada.get("/account").await.csrf();
    let mut again = vec![("csrf_token", token.as_str()), ("nonce", nonce.as_str())];
    again.extend(fields);
    let reload = tab.post_raw("/o/acme/apps", &again).await;
    reload.assert_status(409);
    assert!(!reload.contains(&secret));
    assert!(!sets_reveal_cookie(&reload));

    // The same for a rotation's reveal.
    let path = format!("/o/acme/apps/{id}/rotate");
    let form = ada.get(&path).await;
    let rotate_nonce = extract_value(&form.body, "name=\"nonce\" value=\"").unwrap();
    let rotated = ada
        .post_raw(
            &path,
            &[
                ("csrf_token", &form.csrf()),
                ("nonce", &rotate_nonce),
                ("overlap", "1h"),
            ],
        )
        .await;
    rotated.assert_status(200);
    assert_eq!(rotated.header("cache-control"), Some("no-store"));
    assert!(sets_reveal_cookie(&rotated));
    let new_secret = revealed_secret(&rotated);
    assert_ne!(new_secret, secret);
    let next = tab.get(&format!("/o/acme/apps/{id}")).await;
    assert!(clears_reveal_cookie(&next));
    for path in &pages {
        let page = tab.get(path).await;
        assert!(!page.contains(&new_secret), "new secret on {path}");
        assert!(!page.contains(&secret), "old secret on {path}");
    }
    assert_eq!(app.count("apps"), 1);
    assert_eq!(app.count("credentials"), 2);
}

#[tokio::test]
async fn a_double_submit_creates_one_app_and_one_credential() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    for (round, name) in ["Twin", "Twin two", "Twin three"].into_iter().enumerate() {
        let form = ada.get("/o/acme/apps/new").await;
        let nonce = extract_value(&form.body, "name=\"nonce\" value=\"").unwrap();
        let token = form.csrf();
        let fields = [
            ("csrf_token", token.as_str()),
            ("nonce", nonce.as_str()),
            ("name", name),
            ("auth_type", "api_key"),
            ("owner", "me"),
        ];
        let (a, b) = tokio::join!(
            ada.post_raw("/o/acme/apps", &fields),
            ada.post_raw("/o/acme/apps", &fields)
        );
        let (reveal, replay) = if a.status.as_u16() == 200 {
            (a, b)
        } else {
            (b, a)
        };
        reveal.assert_status(200);
        replay.assert_status(409);
        assert!(
            replay.contains("This form was already submitted"),
            "{name}: {}",
            replay.body
        );
        let id = revealed_app_id(&reveal);
        assert!(replay.contains(&format!("/o/acme/apps/{id}/rotate")));
        assert!(!replay.contains(&revealed_secret(&reveal)));
        let n = i64::try_from(round).unwrap() + 1;
        assert_eq!(app.count("apps"), n);
        assert_eq!(app.count("credentials"), n);
        assert_eq!(app.count("form_nonces"), n);
        assert_eq!(audit_count(&app, &id, "app.created"), 1);
    }
}
