//! The route × role table: every route against every kind of actor, with the
//! expected statuses written out by hand. 404 where the actor may not see the
//! resource, 403 where they may see it but not change it, 303 to the sign-in page for
//! anonymous visitors. Requests for permitted actors are chosen so they change
//! nothing (invalid input, no-op role changes, unknown ids), which shows that the
//! policy let them through without disturbing the next rows.

use crate::kit::{Browser, PASSWORD, spawn_app};

const ACTORS: [&str; 6] = [
    "anonymous",
    "other-org member",
    "developer",
    "admin",
    "owner",
    "instance owner",
];

struct Actor {
    browser: Browser,
    token: String,
}

#[tokio::test]
async fn every_route_against_every_role() {
    let app = spawn_app().await;
    // Ada: instance owner, owner of "acme" only.
    let ada = app.setup_owner().await;
    // Mo: a developer of "acme" only — a member of another organisation.
    let mo = app.join(&ada, "acme", "mo@example.com", "developer").await;
    // Olivia owns "globex", the organisation under test.
    let olivia = app.browser();
    olivia
        .submit(
            "/signup",
            "/signup",
            &[
                ("display_name", "Olivia"),
                ("email", "olivia@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await
        .assert_redirect("/orgs");
    olivia
        .submit(
            "/orgs/new",
            "/orgs",
            &[("name", "Globex"), ("slug", "globex")],
        )
        .await
        .assert_redirect("/o/globex");
    let dev = app
        .join(&olivia, "globex", "dev@example.com", "developer")
        .await;
    let admin = app
        .join(&olivia, "globex", "admin@example.com", "admin")
        .await;
    let anon = app.browser();

    // Two teams in globex, both created by Olivia (so she is team admin of both):
    // "Platform", which nobody else is in, and "Squad", where dev is a plain member.
    let mut team_ids = Vec::new();
    for name in ["Platform", "Squad"] {
        let made = olivia
            .submit("/o/globex/teams", "/o/globex/teams", &[("name", name)])
            .await;
        made.assert_status(303);
        let id = made
            .location()
            .and_then(|l| l.strip_prefix("/o/globex/teams/"))
            .expect("redirect to the new team")
            .to_string();
        team_ids.push(id);
    }
    let (platform, squad) = (team_ids[0].clone(), team_ids[1].clone());
    olivia
        .submit(
            &format!("/o/globex/teams/{squad}"),
            &format!("/o/globex/teams/{squad}/members"),
            &[("email", "dev@example.com"), ("role", "member")],
        )
        .await
        .assert_status(303);
    assert_eq!(app.count("team_members"), 3);

    let dev_id = app.user_id("dev@example.com");
    let owner_id = app.user_id("olivia@example.com");
    let admin_id = app.user_id("admin@example.com");

    let mut actors = Vec::new();
    for (i, browser) in [anon, mo, dev, admin, olivia, ada].into_iter().enumerate() {
        let page = if i == 0 { "/login" } else { "/account" };
        let token = browser.get(page).await.csrf();
        assert!(!token.is_empty(), "{}", ACTORS[i]);
        actors.push(Actor { browser, token });
    }

    type Row<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, [u16; 6]);
    let g = |p: &str| format!("/o/globex{p}");
    #[rustfmt::skip]
    let rows: Vec<Row> = vec![
        //  method, path, form fields,                                    anon other  dev admin owner inst
        ("GET",  "/healthz".into(), vec![],                                [200, 200, 200, 200, 200, 200]),
        ("GET",  "/readyz".into(), vec![],                                 [200, 200, 200, 200, 200, 200]),
        ("GET",  "/static/css/app.css".into(), vec![],                     [200, 200, 200, 200, 200, 200]),
        ("GET",  "/".into(), vec![],                                       [303, 303, 303, 303, 303, 303]),
        ("GET",  "/setup".into(), vec![],                                  [303, 303, 303, 303, 303, 303]),
        ("POST", "/setup".into(), vec![("setup_code", "x"), ("display_name", "X"), ("email", "x@example.com"), ("password", PASSWORD), ("org_name", "X")],
                                                                           [303, 303, 303, 303, 303, 303]),
        ("GET",  "/login".into(), vec![],                                  [200, 303, 303, 303, 303, 303]),
        ("POST", "/login".into(), vec![("email", "nobody@example.com"), ("password", "")],
                                                                           [422, 422, 422, 422, 422, 422]),
        ("GET",  "/signup".into(), vec![],                                 [200, 303, 303, 303, 303, 303]),
        ("POST", "/signup".into(), vec![("display_name", "X"), ("email", "not-an-email"), ("password", PASSWORD)],
                                                                           [422, 422, 422, 422, 422, 422]),
        ("GET",  "/account".into(), vec![],                                [303, 200, 200, 200, 200, 200]),
        ("POST", "/account/profile".into(), vec![("display_name", "")],    [303, 422, 422, 422, 422, 422]),
        ("POST", "/account/password".into(), vec![("current_password", "x"), ("new_password", "short")],
                                                                           [303, 422, 422, 422, 422, 422]),
        ("POST", "/account/sessions/others/end".into(), vec![],            [303, 303, 303, 303, 303, 303]),
        ("POST", "/account/sessions/no-such-session/end".into(), vec![],   [303, 404, 404, 404, 404, 404]),
        ("GET",  "/orgs".into(), vec![],                                   [303, 200, 200, 200, 200, 200]),
        ("GET",  "/orgs/new".into(), vec![],                               [303, 200, 200, 200, 200, 200]),
        ("POST", "/orgs".into(), vec![("name", "")],                       [303, 422, 422, 422, 422, 422]),
        ("GET",  "/o/no-such-org".into(), vec![],                          [303, 404, 404, 404, 404, 404]),
        ("GET",  g(""), vec![],                                            [303, 404, 200, 200, 200, 404]),
        ("GET",  g("/members"), vec![],                                    [303, 404, 200, 200, 200, 404]),
        ("GET",  g("/settings"), vec![],                                   [303, 404, 403, 200, 200, 404]),
        ("POST", g("/settings"), vec![("name", "")],                       [303, 404, 403, 422, 422, 404]),
        ("POST", g("/delete"), vec![("confirm_slug", "wrong")],            [303, 404, 403, 403, 422, 404]),
        ("POST", g("/invitations"), vec![("email", "not-an-email"), ("role", "developer")],
                                                                           [303, 404, 403, 422, 422, 404]),
        ("POST", g("/invitations/no-such-invitation/revoke"), vec![],      [303, 404, 403, 404, 404, 404]),
        ("POST", g("/invitations/no-such-invitation/resend"), vec![],      [303, 404, 403, 404, 404, 404]),
        ("POST", g(&format!("/members/{dev_id}/role")), vec![("role", "developer")],
                                                                           [303, 404, 403, 303, 303, 404]),
        ("POST", g(&format!("/members/{admin_id}/role")), vec![("role", "admin")],
                                                                           [303, 404, 403, 303, 303, 404]),
        ("POST", g(&format!("/members/{owner_id}/role")), vec![("role", "owner")],
                                                                           [303, 404, 403, 403, 303, 404]),
        // The last owner cannot be demoted: refused with a message on the members page.
        ("POST", g(&format!("/members/{owner_id}/role")), vec![("role", "admin")],
                                                                           [303, 404, 403, 403, 303, 404]),
        ("POST", g(&format!("/members/{owner_id}/remove")), vec![],        [303, 404, 403, 403, 400, 404]),
        ("POST", g("/members/no-such-user/remove"), vec![],                [303, 404, 404, 404, 404, 404]),
        // Teams: every member sees them and may create one; team admins (Olivia) and
        // org admins manage them; a plain team member (dev, in Squad) or a developer
        // outside the team (dev, for Platform) may not.
        ("GET",  g("/teams"), vec![],                                      [303, 404, 200, 200, 200, 404]),
        ("POST", g("/teams"), vec![("name", "")],                          [303, 404, 422, 422, 422, 404]),
        ("GET",  g(&format!("/teams/{platform}")), vec![],                 [303, 404, 200, 200, 200, 404]),
        ("GET",  g(&format!("/teams/{squad}")), vec![],                    [303, 404, 200, 200, 200, 404]),
        ("GET",  g("/teams/no-such-team"), vec![],                         [303, 404, 404, 404, 404, 404]),
        ("POST", g(&format!("/teams/{platform}/members")), vec![("email", "not-an-email"), ("role", "member")],
                                                                           [303, 404, 403, 422, 422, 404]),
        ("POST", g(&format!("/teams/{squad}/members")), vec![("email", "not-an-email"), ("role", "member")],
                                                                           [303, 404, 403, 422, 422, 404]),
        // Already in the team: refused with the form shown again.
        ("POST", g(&format!("/teams/{squad}/members")), vec![("email", "dev@example.com"), ("role", "member")],
                                                                           [303, 404, 403, 409, 409, 404]),
        ("POST", g("/teams/no-such-team/members"), vec![("email", "dev@example.com"), ("role", "member")],
                                                                           [303, 404, 404, 404, 404, 404]),
        // A no-op role change, then a tampered role.
        ("POST", g(&format!("/teams/{squad}/members/{dev_id}/role")), vec![("role", "member")],
                                                                           [303, 404, 403, 303, 303, 404]),
        ("POST", g(&format!("/teams/{squad}/members/{dev_id}/role")), vec![("role", "owner")],
                                                                           [303, 404, 403, 422, 422, 404]),
        ("POST", g(&format!("/teams/{squad}/members/no-such-user/role")), vec![("role", "admin")],
                                                                           [303, 404, 403, 404, 404, 404]),
        ("POST", g(&format!("/teams/{platform}/members/{dev_id}/remove")), vec![],
                                                                           [303, 404, 403, 404, 404, 404]),
        ("POST", g(&format!("/teams/{squad}/members/no-such-user/remove")), vec![],
                                                                           [303, 404, 403, 404, 404, 404]),
        ("POST", g(&format!("/teams/no-such-team/members/{dev_id}/remove")), vec![],
                                                                           [303, 404, 404, 404, 404, 404]),
        ("POST", g("/teams/no-such-team/leave"), vec![],                   [303, 404, 404, 404, 404, 404]),
        ("GET",  "/invite/no-such-token".into(), vec![],                   [410, 410, 410, 410, 410, 410]),
        ("POST", "/invite/accept".into(), vec![("token", "no-such-token")],
                                                                           [303, 410, 410, 410, 410, 410]),
        ("POST", "/invite/signup".into(), vec![("token", "no-such-token"), ("display_name", "X"), ("password", PASSWORD)],
                                                                           [410, 410, 410, 410, 410, 410]),
        ("GET",  "/admin/instance".into(), vec![],                         [303, 404, 404, 404, 404, 200]),
        ("POST", "/admin/instance".into(), vec![("org_creation", "bogus")],[303, 404, 404, 404, 404, 400]),
        ("GET",  "/no/such/page".into(), vec![],                           [404, 404, 404, 404, 404, 404]),
        // Leaving a team is the one permitted request that cannot be a no-op, so these
        // come last and change team memberships only: only team members may leave
        // (409 for everyone else in the organisation).
        ("POST", g(&format!("/teams/{platform}/leave")), vec![],           [303, 404, 409, 409, 303, 404]),
        ("POST", g(&format!("/teams/{squad}/leave")), vec![],              [303, 404, 303, 409, 303, 404]),
        // Last: signs everyone out.
        ("POST", "/logout".into(), vec![],                                 [303, 303, 303, 303, 303, 303]),
    ];

    let mut failures = Vec::new();
    for (method, path, fields, expected) in &rows {
        for (i, actor) in actors.iter().enumerate() {
            let page = if *method == "GET" {
                actor.browser.get(path).await
            } else {
                let mut all = vec![("csrf_token", actor.token.as_str())];
                all.extend(fields.iter().copied());
                actor.browser.post_raw(path, &all).await
            };
            let got = page.status.as_u16();
            if got != expected[i] {
                failures.push(format!(
                    "{method} {path} as {}: expected {}, got {got}",
                    ACTORS[i], expected[i]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "route × role mismatches:\n{}",
        failures.join("\n")
    );
    // Nothing above changed who belongs to globex or in which role.
    assert_eq!(app.count("memberships"), 5);
    assert_eq!(app.count("memberships WHERE role = 'owner'"), 2);
    assert_eq!(app.count("memberships WHERE role = 'admin'"), 1);
    // The only team changes were the three leaves at the end; no team was created.
    assert_eq!(app.count("teams"), 2);
    assert_eq!(app.count("team_members"), 0);
}
