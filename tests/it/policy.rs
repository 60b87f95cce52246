//! The route × role table: every route against every kind of actor, with the
//! expected statuses written out by hand. 404 where the actor may not see the
//! resource, 403 where they may see it but not change it, 303 to the sign-in page for
//! anonymous visitors. Requests for permitted actors are chosen so they change
//! nothing (invalid input, no-op role changes, unknown ids), which shows that the
//! policy let them through without disturbing the next rows. A second table puts
//! every consumer-app route against every way an actor can stand to an app (other
//! organisation, outside the team, another team, team member, team admin, owner, org
//! admin).

use crate::kit::{AppBuilder, Browser, PASSWORD, TeamBuilder, spawn_app};

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

/// One row of a route table: method, path, form fields, expected status per actor.
/// `MULTIPART` is a POST of the fields as `multipart/form-data` (a file upload form).
type TableRow<'a, const N: usize> = (&'a str, String, Vec<(&'a str, &'a str)>, [u16; N]);

/// The paths of the first table that no route has, on purpose.
const UNROUTED: [(&str, &str); 2] = [("GET", "/no/such/page"), ("POST", "/o/globex/hub")];

/// Checks the route table against the routes the server registers
/// ([`gatehouse::routes::PORTAL_ROUTES`], the same data `routes.rs` registers from):
/// every route has a row, and every row names a route (but the deliberate
/// [`UNROUTED`] ones). One line per gap.
fn method_of(m: &str) -> &str {
    if m == "MULTIPART" { "POST" } else { m }
}

fn coverage<const N: usize>(rows: &[TableRow<'_, N>]) -> Vec<String> {
    use actix_web::dev::ResourceDef;
    let path_of = |p: &str| p.split('?').next().unwrap_or_default().to_string();
    let routes = gatehouse::routes::PORTAL_ROUTES;
    let mut gaps = Vec::new();
    for route in routes {
        let def = ResourceDef::new(route.path);
        if !rows
            .iter()
            .any(|(m, p, _, _)| method_of(m) == route.method && def.is_match(&path_of(p)))
        {
            gaps.push(format!("{} {} has no row", route.method, route.path));
        }
    }
    for (m, p, _, _) in rows {
        let routed = routes
            .iter()
            .any(|r| r.method == method_of(m) && ResourceDef::new(r.path).is_match(&path_of(p)));
        if !routed && !UNROUTED.contains(&(*m, p.as_str())) {
            gaps.push(format!("{m} {p} is no registered route"));
        }
    }
    gaps
}

/// Sends every row's request as every actor; returns the mismatches, one line each.
async fn run_table<const N: usize>(
    actors: &[Actor],
    names: &[&str; N],
    rows: &[TableRow<'_, N>],
) -> Vec<String> {
    let mut failures = Vec::new();
    for (method, path, fields, expected) in rows {
        for (i, actor) in actors.iter().enumerate() {
            let page = if *method == "GET" {
                actor.browser.get(path).await
            } else if *method == "MULTIPART" {
                let mut form =
                    reqwest::multipart::Form::new().text("csrf_token", actor.token.clone());
                for (name, value) in fields {
                    form = form.text(name.to_string(), value.to_string());
                }
                actor.browser.post_multipart(path, form).await
            } else {
                let mut all = vec![("csrf_token", actor.token.as_str())];
                all.extend(fields.iter().copied());
                actor.browser.post_raw(path, &all).await
            };
            let got = page.status.as_u16();
            if got != expected[i] {
                failures.push(format!(
                    "{method} {path} as {}: expected {}, got {got}",
                    names[i], expected[i]
                ));
            }
        }
    }
    failures
}

#[tokio::test]
async fn every_route_against_every_role() {
    let app = spawn_app().await;
    // Ada: instance owner, owner of "acme" only.
    let ada = app.setup_owner().await;
    // Mo: a developer of "acme" only — a member of another organisation.
    let mo = app.join(&ada, "acme", "mo@example.com", "developer").await;
    // Olivia owns "globex", the organisation under test.
    let olivia = app
        .second_org("Olivia", "olivia@example.com", "Globex", "globex")
        .await;
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

    // Two apps of globex, made by Olivia as team admin: one owned by Squad (dev sees it
    // but may not change it), one owned by Platform (dev does not see it).
    let squad_app = AppBuilder::new("Squad app")
        .org("globex")
        .team(&squad)
        .id(&olivia)
        .await;
    let platform_app = AppBuilder::new("Platform app")
        .org("globex")
        .team(&platform)
        .id(&olivia)
        .await;
    let squad_cred = app.credential_of(&squad_app);
    let to_dev = format!("user:{dev_id}");
    assert_eq!(app.count("apps"), 2);
    assert_eq!(app.count("credentials"), 2);

    let mut actors = Vec::new();
    for (i, browser) in [anon, mo, dev, admin, olivia, ada].into_iter().enumerate() {
        let page = if i == 0 { "/login" } else { "/account" };
        let token = browser.get(page).await.csrf();
        assert!(!token.is_empty(), "{}", ACTORS[i]);
        actors.push(Actor { browser, token });
    }

    type Row<'a> = TableRow<'a, 6>;
    let g = |p: &str| format!("/o/globex{p}");
    #[rustfmt::skip]
    let rows: Vec<Row> = vec![
        //  method, path, form fields,                                    anon other  dev admin owner inst
        ("GET",  "/healthz".into(), vec![],                                [200, 200, 200, 200, 200, 200]),
        ("GET",  "/readyz".into(), vec![],                                 [200, 200, 200, 200, 200, 200]),
        // Off without --metrics-token (tests/it/metrics.rs covers it on)
        ("GET",  "/metrics".into(), vec![],                                [404, 404, 404, 404, 404, 404]),
        ("GET",  "/static/css/app.css".into(), vec![],                     [200, 200, 200, 200, 200, 200]),
        ("GET",  "/favicon.ico".into(), vec![],                            [200, 200, 200, 200, 200, 200]),
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
        // Personal access tokens: a forged form nonce is refused before anything is made.
        ("GET",  "/account/tokens".into(), vec![],                         [303, 200, 200, 200, 200, 200]),
        ("POST", "/account/tokens".into(), vec![("name", "x"), ("access", "read")],
                                                                           [303, 400, 400, 400, 400, 400]),
        ("POST", "/account/tokens/no-such-token/revoke".into(), vec![],    [303, 404, 404, 404, 404, 404]),
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
        // A no-op role change (refused as a conflict, not silently done), then a tampered role.
        ("POST", g(&format!("/teams/{squad}/members/{dev_id}/role")), vec![("role", "member")],
                                                                           [303, 404, 403, 409, 409, 404]),
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
        // Inbox, notification settings, email address and links sent by email. Each
        // user sees only their own inbox; unknown ids are 404s; permitted changes are
        // refused on their input (an unknown setting, a malformed address, dead links).
        ("GET",  "/notifications".into(), vec![],                          [303, 200, 200, 200, 200, 200]),
        ("GET",  "/notifications?cursor=x".into(), vec![],                   [303, 200, 200, 200, 200, 200]),
        ("POST", "/notifications/read-all".into(), vec![],                 [303, 303, 303, 303, 303, 303]),
        ("POST", "/notifications/no-such-notification/read".into(), vec![],[303, 404, 404, 404, 404, 404]),
        ("GET",  "/account/notifications".into(), vec![],                  [303, 200, 200, 200, 200, 200]),
        ("POST", "/account/notifications".into(), vec![("email_no_such_kind", "on")],
                                                                           [303, 400, 400, 400, 400, 400]),
        ("POST", "/account/email".into(), vec![("new_email", "not-an-email"), ("current_password", "x")],
                                                                           [303, 422, 422, 422, 422, 422]),
        // Invited members are verified already (a no-op); Olivia's sign-up link and
        // Ada's first-run setup link are under a minute old (429).
        ("POST", "/account/verify-email/resend".into(), vec![],            [303, 303, 303, 303, 429, 429]),
        ("GET",  "/verify-email/no-such-token".into(), vec![],             [410, 410, 410, 410, 410, 410]),
        ("POST", "/verify-email".into(), vec![("token", "no-such-token")], [410, 410, 410, 410, 410, 410]),
        ("GET",  "/forgot-password".into(), vec![],                        [200, 200, 200, 200, 200, 200]),
        ("POST", "/forgot-password".into(), vec![("email", "not-an-email")],
                                                                           [422, 422, 422, 422, 422, 422]),
        ("GET",  "/reset-password/no-such-token".into(), vec![],           [410, 410, 410, 410, 410, 410]),
        ("POST", "/reset-password".into(), vec![("token", "no-such-token"), ("new_password", PASSWORD)],
                                                                           [410, 410, 410, 410, 410, 410]),
        ("GET",  "/admin/outbox".into(), vec![],                           [303, 404, 404, 404, 404, 200]),
        ("POST", "/admin/outbox/no-such-email/retry".into(), vec![],       [303, 404, 404, 404, 404, 404]),
        // API products, approvals, subscriptions, suspension. Admin pages are 403 for
        // developers; permitted requests use unknown ids or invalid input.
        ("GET",  g("/products"), vec![],                                   [303, 404, 200, 200, 200, 404]),
        ("GET",  g("/products/no-such-product"), vec![],                   [303, 404, 404, 404, 404, 404]),
        ("POST", g("/products/no-such-product/subscribe"), vec![("app_id", "x")],
                                                                           [303, 404, 404, 404, 404, 404]),
        ("GET",  g("/admin/products"), vec![],                             [303, 404, 403, 200, 200, 404]),
        ("GET",  g("/admin/products/new"), vec![],                         [303, 404, 403, 200, 200, 404]),
        ("POST", g("/admin/products"), vec![("name", ""), ("approval_mode", "auto")],
                                                                           [303, 404, 403, 422, 422, 404]),
        ("GET",  g("/admin/products/no-such-product"), vec![],             [303, 404, 403, 404, 404, 404]),
        ("POST", g("/admin/products/no-such-product"), vec![("name", "X")],[303, 404, 403, 404, 404, 404]),
        ("POST", g("/admin/products/no-such-product/archive"), vec![],     [303, 404, 403, 404, 404, 404]),
        ("POST", g("/admin/products/no-such-product/restore"), vec![],     [303, 404, 403, 404, 404, 404]),
        ("MULTIPART", g("/admin/products/no-such-product/reference"), vec![],
                                                                           [303, 404, 403, 404, 404, 404]),
        ("POST", g("/admin/products/no-such-product/reference/remove"), vec![],
                                                                           [303, 404, 403, 404, 404, 404]),
        ("GET",  g("/products/no-such-product/openapi.json"), vec![],      [303, 404, 404, 404, 404, 404]),
        ("GET",  g("/admin/tokens"), vec![],                               [303, 404, 403, 200, 200, 404]),
        ("POST", g("/admin/tokens"), vec![("name", "x"), ("access", "write")],
                                                                           [303, 404, 403, 400, 400, 404]),
        ("POST", g("/admin/tokens/no-such-token/revoke"), vec![],          [303, 404, 404, 404, 404, 404]),
        // Gateway tokens: admins only; a developer cannot list them, so one token
        // does not exist for them (404). Without the form's nonce, nothing is made.
        ("GET",  g("/admin/gateway-tokens"), vec![],                       [303, 404, 403, 200, 200, 404]),
        ("POST", g("/admin/gateway-tokens"), vec![("name", "edge")],       [303, 404, 403, 400, 400, 404]),
        ("POST", g("/admin/gateway-tokens/no-such-token/revoke"), vec![],  [303, 404, 404, 404, 404, 404]),
        ("POST", g("/admin/gateway-tokens/00000000-0000-0000-0000-000000000000/revoke"), vec![],
                                                                           [303, 404, 404, 404, 404, 404]),
        ("GET",  g("/admin/approvals"), vec![],                            [303, 404, 403, 200, 200, 404]),
        // Nothing selected: refused with a message on the queue page.
        ("POST", g("/admin/approvals"), vec![("action", "approve")],       [303, 404, 403, 303, 303, 404]),
        ("POST", g("/admin/approvals"), vec![("action", "maybe")],         [303, 404, 403, 400, 400, 404]),
        ("GET",  g("/admin/approval-settings"), vec![],                    [303, 404, 403, 200, 200, 404]),
        ("POST", g("/admin/approval-settings"), vec![("mode", "sometimes")],
                                                                           [303, 404, 403, 400, 400, 404]),
        ("POST", g("/admin/approval-settings/rules"), vec![("kind", "astrology")],
                                                                           [303, 404, 403, 303, 303, 404]),
        ("POST", g("/admin/approval-settings/rules/no-such-rule/remove"), vec![],
                                                                           [303, 404, 403, 404, 404, 404]),
        ("POST", g("/apps/no-such-app/subscriptions"), vec![("product_id", "x")],
                                                                           [303, 404, 404, 404, 404, 404]),
        ("POST", g("/apps/no-such-app/subscriptions/x/cancel"), vec![],    [303, 404, 404, 404, 404, 404]),
        ("POST", g("/apps/no-such-app/suspend"), vec![("reason", "x")],    [303, 404, 403, 404, 404, 404]),
        ("POST", g("/apps/no-such-app/resume"), vec![],                    [303, 404, 403, 404, 404, 404]),
        // My Hub and consumer apps. dev is a plain member of Squad (views its app, may
        // not change it) and outside Platform (does not see its app); the admin manages
        // every app; Olivia is team admin of both teams. Permitted changes are refused
        // on their input (empty name, forged nonce, invalid key, unknown credential,
        // the last credential, a target nobody may transfer to) and change nothing.
        ("GET",  g("/hub"), vec![],                                        [303, 404, 200, 200, 200, 404]),
        ("POST", g("/hub"), vec![],                                        [405, 405, 405, 405, 405, 405]),
        ("GET",  g("/apps"), vec![],                                       [303, 404, 200, 200, 200, 404]),
        ("GET",  g("/apps?filter=orphaned"), vec![],                       [303, 404, 200, 200, 200, 404]),
        ("GET",  g("/apps/new"), vec![],                                   [303, 404, 200, 200, 200, 404]),
        ("POST", g("/apps"), vec![("nonce", "forged"), ("name", "X"), ("auth_type", "api_key"), ("owner", "me")],
                                                                           [303, 404, 400, 400, 400, 404]),
        ("GET",  g("/apps/no-such-app"), vec![],                           [303, 404, 404, 404, 404, 404]),
        ("GET",  g(&format!("/apps/{squad_app}")), vec![],                 [303, 404, 200, 200, 200, 404]),
        ("GET",  g(&format!("/apps/{platform_app}")), vec![],              [303, 404, 404, 200, 200, 404]),
        ("GET",  g(&format!("/apps/{squad_app}/edit")), vec![],            [303, 404, 403, 200, 200, 404]),
        ("GET",  g(&format!("/apps/{platform_app}/edit")), vec![],         [303, 404, 404, 200, 200, 404]),
        ("POST", g(&format!("/apps/{squad_app}/edit")), vec![("name", "")],[303, 404, 403, 422, 422, 404]),
        ("POST", g(&format!("/apps/{platform_app}/edit")), vec![("name", "")],
                                                                           [303, 404, 404, 422, 422, 404]),
        ("GET",  g(&format!("/apps/{squad_app}/rotate")), vec![],          [303, 404, 403, 200, 200, 404]),
        ("GET",  g(&format!("/apps/{platform_app}/rotate")), vec![],       [303, 404, 404, 200, 200, 404]),
        ("POST", g(&format!("/apps/{squad_app}/rotate")), vec![("nonce", "forged"), ("overlap", "1h")],
                                                                           [303, 404, 403, 400, 400, 404]),
        ("POST", g(&format!("/apps/{squad_app}/reset")), vec![("nonce", "forged")],
                                                                           [303, 404, 403, 400, 400, 404]),
        ("POST", g(&format!("/apps/{platform_app}/reset")), vec![("nonce", "forged")],
                                                                           [303, 404, 404, 400, 400, 404]),
        ("POST", g(&format!("/apps/{squad_app}/keys")), vec![("public_key", "not a key")],
                                                                           [303, 404, 403, 303, 303, 404]),
        ("POST", g(&format!("/apps/{squad_app}/credentials/no-such-credential/retire")), vec![],
                                                                           [303, 404, 403, 404, 404, 404]),
        // The app's last working credential: refused with a message on the app page.
        ("POST", g(&format!("/apps/{squad_app}/credentials/{squad_cred}/retire")), vec![],
                                                                           [303, 404, 403, 303, 303, 404]),
        // A key's IP allowlist: a list with a bad entry is refused with the page again.
        ("POST", g(&format!("/apps/{squad_app}/credentials/{squad_cred}/allowed-ips")), vec![("allowed_ips", "10.0.0.1/8")],
                                                                           [303, 404, 403, 422, 422, 404]),
        ("POST", g(&format!("/apps/{platform_app}/credentials/{squad_cred}/allowed-ips")), vec![("allowed_ips", "10.0.0.1/8")],
                                                                           [303, 404, 404, 404, 404, 404]),
        ("POST", g(&format!("/apps/{squad_app}/transfer")), vec![("to", "team:no-such-team")],
                                                                           [303, 404, 403, 403, 403, 404]),
        ("POST", g(&format!("/apps/{platform_app}/transfer")), vec![("to", &to_dev)],
                                                                           [303, 404, 404, 403, 403, 404]),
        ("GET",  g(&format!("/apps/{squad_app}/revoke")), vec![],          [303, 404, 403, 200, 200, 404]),
        ("GET",  g(&format!("/apps/{squad_app}/delete")), vec![],          [303, 404, 403, 200, 200, 404]),
        ("GET",  g(&format!("/apps/{platform_app}/delete")), vec![],       [303, 404, 404, 200, 200, 404]),
        // Revoking and deleting cannot be no-ops: the first permitted actor does it and
        // the next one finds the app already revoked (409) or gone (404).
        ("POST", g(&format!("/apps/{squad_app}/revoke")), vec![("reason", "policy table")],
                                                                           [303, 404, 403, 303, 409, 404]),
        ("POST", g(&format!("/apps/{squad_app}/delete")), vec![],          [303, 404, 403, 303, 404, 404]),
        ("POST", g(&format!("/apps/{platform_app}/delete")), vec![],       [303, 404, 404, 303, 404, 404]),
        // Leaving a team is the one permitted request that cannot be a no-op, so these
        // come last and change team memberships only: only team members may leave
        // (409 for everyone else in the organisation).
        ("POST", g(&format!("/teams/{platform}/leave")), vec![],           [303, 404, 409, 409, 303, 404]),
        ("POST", g(&format!("/teams/{squad}/leave")), vec![],              [303, 404, 303, 409, 303, 404]),
        // Leaving globex: the developer and the admin go; Olivia, the last owner, is
        // refused with a message.
        ("POST", g("/leave"), vec![],                                      [303, 404, 303, 303, 303, 404]),
        // Last: signs everyone out.
        ("POST", "/logout".into(), vec![],                                 [303, 303, 303, 303, 303, 303]),
    ];

    let gaps = coverage(&rows);
    assert!(
        gaps.is_empty(),
        "route × role table vs registered routes:\n{}",
        gaps.join("\n")
    );
    let failures = run_table(&actors, &ACTORS, &rows).await;
    assert!(
        failures.is_empty(),
        "route × role mismatches:\n{}",
        failures.join("\n")
    );
    // Before the leave row nothing changed memberships; it removed the developer and
    // the admin of globex, and kept its last owner.
    assert_eq!(app.count("memberships"), 3);
    assert_eq!(app.count("memberships WHERE role = 'owner'"), 2);
    assert_eq!(app.count("memberships WHERE role = 'admin'"), 0);
    // No product, rule or approval mode was created by the product rows.
    assert_eq!(app.count("products"), 0);
    assert_eq!(app.count("approval_rules"), 0);
    assert_eq!(app.count("approval_settings"), 0);
    // The only team changes were the three leaves at the end; no team was created.
    assert_eq!(app.count("teams"), 2);
    assert_eq!(app.count("team_members"), 0);
    // The only app changes were the revoke and the two deletes: no app or credential
    // was created, renamed, rotated, re-keyed or transferred.
    assert_eq!(app.count("apps"), 2);
    assert_eq!(app.count("apps WHERE status = 'deleted'"), 2);
    assert_eq!(
        app.count("apps WHERE name IN ('Squad app', 'Platform app')"),
        2
    );
    assert_eq!(
        app.count(&format!(
            "apps WHERE id = '{squad_app}' AND owner_team_id = '{squad}'"
        )),
        1
    );
    assert_eq!(
        app.count(&format!(
            "apps WHERE id = '{platform_app}' AND owner_team_id = '{platform}'"
        )),
        1
    );
    assert_eq!(app.count("credentials"), 2);
    assert_eq!(app.count("credentials WHERE revoked_at IS NULL"), 0);
    assert_eq!(app.count("audit_events WHERE action = 'app.revoked'"), 1);
    assert_eq!(app.count("audit_events WHERE action = 'app.deleted'"), 2);
    assert_eq!(
        app.count(
            "audit_events WHERE action IN ('app.updated', 'app.transferred', \
             'credential.rotated', 'credential.reset', 'credential.retired', \
             'credential.key_added', 'credential.allowlist_changed')"
        ),
        0
    );
    // No address, password or notification setting changed, no reset link went out,
    // and nothing but Ada's verification link was sent beyond Olivia's sign-up one
    // (signing in and out is all that happened to the accounts).
    assert_eq!(
        app.count(
            "audit_events WHERE action LIKE 'user.%' AND action NOT IN \
             ('user.created', 'user.signed_in', 'user.signed_out')"
        ),
        0
    );
    assert_eq!(app.count("notification_preferences"), 0);
    assert_eq!(app.count("user_tokens WHERE purpose = 'reset_password'"), 0);
    assert_eq!(app.count("user_tokens WHERE purpose = 'verify_email'"), 2);
    assert_eq!(app.count("users WHERE email_verified_at IS NOT NULL"), 3);
}

const APP_ACTORS: [&str; 8] = [
    "anonymous",
    "other-org member",
    "developer outside the team",
    "member of another team",
    "team member",
    "team admin",
    "app owner",
    "org admin",
];

/// Every app route against every way an actor can stand to an app: the columns the
/// first table has no room for. Three apps of acme: `team_app` owned by team Squad
/// (Lena is its team admin, Tom a plain member), `own_app` Paul's personal app, and
/// `vault_app` owned by team Vault, which none of the actors is in (Ada, the org
/// owner, made it). Olga is in acme but in no team; Otto is team admin of another
/// team (Other); Xena belongs only to her own organisation; Adam is an org admin in
/// no team.
#[tokio::test]
async fn every_app_route_against_every_relation_to_the_app() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let xena = app
        .second_org("xena@example.com", "xena@example.com", "initech", "initech")
        .await;
    let olga = app
        .join(&ada, "acme", "olga@example.com", "developer")
        .await;
    let otto = app
        .join(&ada, "acme", "otto@example.com", "developer")
        .await;
    let tom = app.join(&ada, "acme", "tom@example.com", "developer").await;
    let lena = app
        .join(&ada, "acme", "lena@example.com", "developer")
        .await;
    let paul = app
        .join(&ada, "acme", "paul@example.com", "developer")
        .await;
    let adam = app.join(&ada, "acme", "adam@example.com", "admin").await;
    let anon = app.browser();

    let squad = TeamBuilder::new("Squad").create(&lena).await;
    TeamBuilder::new("Other").create(&otto).await;
    let vault = TeamBuilder::new("Vault").create(&ada).await;
    lena.submit(
        "/account",
        &format!("/o/acme/teams/{squad}/members"),
        &[("email", "tom@example.com"), ("role", "member")],
    )
    .await
    .assert_status(303);
    assert_eq!(app.count("team_members"), 4);

    let team_app = AppBuilder::new("Team app").team(&squad).id(&lena).await;
    let own_app = AppBuilder::new("Own app").id(&paul).await;
    let vault_app = AppBuilder::new("Vault app").team(&vault).id(&ada).await;
    let team_cred = app.credential_of(&team_app);
    let own_cred = app.credential_of(&own_app);
    let to_olga = format!("user:{}", app.user_id("olga@example.com"));
    assert_eq!(app.count("apps"), 3);
    assert_eq!(app.count("credentials"), 3);
    let memberships = app.count("memberships");

    let mut actors = Vec::new();
    for (i, browser) in [anon, xena, olga, otto, tom, lena, paul, adam]
        .into_iter()
        .enumerate()
    {
        let page = if i == 0 { "/login" } else { "/account" };
        let token = browser.get(page).await.csrf();
        assert!(!token.is_empty(), "{}", APP_ACTORS[i]);
        actors.push(Actor { browser, token });
    }

    type Row<'a> = TableRow<'a, 8>;
    let a = |p: &str| format!("/o/acme{p}");
    let t = |p: &str| format!("/o/acme/apps/{team_app}{p}");
    let o = |p: &str| format!("/o/acme/apps/{own_app}{p}");
    let v = |p: &str| format!("/o/acme/apps/{vault_app}{p}");
    #[rustfmt::skip]
    let rows: Vec<Row> = vec![
        //  method, path, form fields                            anon  xorg  out  otm  tmem tadm ownr oadm
        ("GET",  a("/hub"), vec![],                               [303, 404, 200, 200, 200, 200, 200, 200]),
        ("POST", a("/hub"), vec![],                               [405, 405, 405, 405, 405, 405, 405, 405]),
        ("GET",  a("/apps"), vec![],                              [303, 404, 200, 200, 200, 200, 200, 200]),
        ("GET",  a("/apps/new"), vec![],                          [303, 404, 200, 200, 200, 200, 200, 200]),
        ("POST", a("/apps"), vec![("nonce", "forged"), ("name", "X"), ("auth_type", "api_key"), ("owner", "me")],
                                                                  [303, 404, 400, 400, 400, 400, 400, 400]),
        // Creating for a team one does not admin, with a genuine nonce, is in
        // app_access.rs; here the nonce is refused first.
        ("GET",  a("/apps/no-such-app"), vec![],                  [303, 404, 404, 404, 404, 404, 404, 404]),
        ("GET",  t(""), vec![],                                   [303, 404, 404, 404, 200, 200, 404, 200]),
        ("GET",  o(""), vec![],                                   [303, 404, 404, 404, 404, 404, 200, 200]),
        ("GET",  v(""), vec![],                                   [303, 404, 404, 404, 404, 404, 404, 200]),
        ("GET",  t("/edit"), vec![],                              [303, 404, 404, 404, 403, 200, 404, 200]),
        ("GET",  o("/edit"), vec![],                              [303, 404, 404, 404, 404, 404, 200, 200]),
        ("POST", t("/edit"), vec![("name", "")],                  [303, 404, 404, 404, 403, 422, 404, 422]),
        ("POST", o("/edit"), vec![("name", "")],                  [303, 404, 404, 404, 404, 404, 422, 422]),
        // A callback URL that is not https:// is refused with the form shown again.
        ("POST", t("/edit"), vec![("name", "Team app"), ("callback_urls", "http://evil.example.com/cb")],
                                                                  [303, 404, 404, 404, 403, 422, 404, 422]),
        ("GET",  t("/rotate"), vec![],                            [303, 404, 404, 404, 403, 200, 404, 200]),
        ("GET",  o("/rotate"), vec![],                            [303, 404, 404, 404, 404, 404, 200, 200]),
        ("POST", t("/rotate"), vec![("nonce", "forged"), ("overlap", "24h")],
                                                                  [303, 404, 404, 404, 403, 400, 404, 400]),
        ("POST", o("/rotate"), vec![("nonce", "forged"), ("overlap", "24h")],
                                                                  [303, 404, 404, 404, 404, 404, 400, 400]),
        ("POST", t("/reset"), vec![("nonce", "forged")],          [303, 404, 404, 404, 403, 400, 404, 400]),
        ("POST", o("/reset"), vec![("nonce", "forged")],          [303, 404, 404, 404, 404, 404, 400, 400]),
        // An invalid key: refused with a message on the app page.
        ("POST", t("/keys"), vec![("public_key", "not a key")],   [303, 404, 404, 404, 403, 303, 404, 303]),
        ("POST", o("/keys"), vec![("public_key", "not a key")],   [303, 404, 404, 404, 404, 404, 303, 303]),
        ("POST", t("/credentials/no-such-credential/retire"), vec![],
                                                                  [303, 404, 404, 404, 403, 404, 404, 404]),
        // The last working credential: refused with a message on the app page.
        ("POST", t(&format!("/credentials/{team_cred}/retire")), vec![],
                                                                  [303, 404, 404, 404, 403, 303, 404, 303]),
        ("POST", o(&format!("/credentials/{own_cred}/retire")), vec![],
                                                                  [303, 404, 404, 404, 404, 404, 303, 303]),
        // Another app's credential through this app's path.
        ("POST", t(&format!("/credentials/{own_cred}/retire")), vec![],
                                                                  [303, 404, 404, 404, 403, 404, 404, 404]),
        // A key's IP allowlist: a bad entry is refused with the page again.
        ("POST", t(&format!("/credentials/{team_cred}/allowed-ips")), vec![("allowed_ips", "nope")],
                                                                  [303, 404, 404, 404, 403, 422, 404, 422]),
        ("POST", o(&format!("/credentials/{own_cred}/allowed-ips")), vec![("allowed_ips", "nope")],
                                                                  [303, 404, 404, 404, 404, 404, 422, 422]),
        ("POST", t(&format!("/credentials/{own_cred}/allowed-ips")), vec![("allowed_ips", "10.0.0.0/8")],
                                                                  [303, 404, 404, 404, 403, 404, 404, 404]),
        // Transfer targets nobody may pick: an unknown team, another user.
        ("POST", t("/transfer"), vec![("to", "team:no-such-team")],
                                                                  [303, 404, 404, 404, 403, 403, 404, 403]),
        ("POST", o("/transfer"), vec![("to", "team:no-such-team")],
                                                                  [303, 404, 404, 404, 404, 404, 403, 403]),
        ("POST", t("/transfer"), vec![("to", &to_olga)],          [303, 404, 404, 404, 403, 403, 404, 403]),
        ("POST", o("/transfer"), vec![("to", &to_olga)],          [303, 404, 404, 404, 404, 404, 403, 403]),
        ("GET",  t("/revoke"), vec![],                            [303, 404, 404, 404, 403, 200, 404, 200]),
        ("GET",  o("/revoke"), vec![],                            [303, 404, 404, 404, 404, 404, 200, 200]),
        ("GET",  t("/delete"), vec![],                            [303, 404, 404, 404, 403, 200, 404, 200]),
        ("GET",  o("/delete"), vec![],                            [303, 404, 404, 404, 404, 404, 200, 200]),
        ("GET",  v("/delete"), vec![],                            [303, 404, 404, 404, 404, 404, 404, 200]),
        // Revoking and deleting cannot be no-ops, so they come last: the first permitted
        // actor does it; the org admin then finds it already revoked (409) or gone
        // (404). Vault's app shows the org admin's own right to both.
        ("POST", t("/revoke"), vec![],                            [303, 404, 404, 404, 403, 303, 404, 409]),
        ("POST", o("/revoke"), vec![],                            [303, 404, 404, 404, 404, 404, 303, 409]),
        ("POST", v("/revoke"), vec![],                            [303, 404, 404, 404, 404, 404, 404, 303]),
        ("GET",  t("/revoke"), vec![],                            [303, 404, 404, 404, 403, 409, 404, 409]),
        ("POST", t("/delete"), vec![],                            [303, 404, 404, 404, 403, 303, 404, 404]),
        ("POST", o("/delete"), vec![],                            [303, 404, 404, 404, 404, 404, 303, 404]),
        ("POST", v("/delete"), vec![],                            [303, 404, 404, 404, 404, 404, 404, 303]),
        ("GET",  t(""), vec![],                                   [303, 404, 404, 404, 404, 404, 404, 404]),
    ];

    let failures = run_table(&actors, &APP_ACTORS, &rows).await;
    assert!(
        failures.is_empty(),
        "app route × relation mismatches:\n{}",
        failures.join("\n")
    );
    // Only the revokes and deletes at the end changed anything.
    assert_eq!(app.count("apps"), 3);
    assert_eq!(app.count("apps WHERE status = 'deleted'"), 3);
    assert_eq!(
        app.count("apps WHERE name IN ('Team app', 'Own app', 'Vault app') AND callback_urls = ''"),
        3
    );
    assert_eq!(
        app.count(&format!(
            "apps WHERE id = '{team_app}' AND owner_team_id = '{squad}'"
        )),
        1
    );
    assert_eq!(
        app.count(&format!(
            "apps WHERE id = '{own_app}' AND owner_user_id = '{}'",
            app.user_id("paul@example.com")
        )),
        1
    );
    assert_eq!(app.count("credentials"), 3);
    assert_eq!(app.count("credentials WHERE revoked_at IS NULL"), 0);
    assert_eq!(app.count("audit_events WHERE action = 'app.revoked'"), 3);
    assert_eq!(app.count("audit_events WHERE action = 'app.deleted'"), 3);
    assert_eq!(
        app.count(
            "audit_events WHERE action IN ('app.updated', 'app.transferred', \
             'credential.rotated', 'credential.reset', 'credential.retired', \
             'credential.key_added', 'credential.allowlist_changed')"
        ),
        0
    );
    assert_eq!(app.count("memberships"), memberships);
    assert_eq!(app.count("team_members"), 4);
    assert_eq!(app.count("teams"), 3);
}
