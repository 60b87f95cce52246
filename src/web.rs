//! What every page needs: the page context (user, organisations menu, CSRF token,
//! flash message), rendering with the right headers, redirects with a flash, cookies
//! and the client's address.

use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, dev::Payload};
use askama::Template;

use crate::auth::csrf::expected_token;
use crate::auth::policy::{self, OrgTabs, Role};
use crate::auth::{LocalFuture, MaybeIdentity, OrgScope};
use crate::crypto::hex;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub const FLASH_COOKIE: &str = "gatehouse_flash";
/// Set on every reveal of a secret; the middleware clears it on the next page. A cookie
/// change makes browsers drop the reveal page from their back/forward cache.
pub const REVEAL_COOKIE: &str = "gatehouse_revealed";
const FLASH_PURPOSE: &str = "flash";

/// An organisation in the header menu.
#[derive(Debug, Clone)]
pub struct OrgLink {
    pub slug: String,
    pub name: String,
    pub role: String,
}

/// The organisation a page belongs to: the switcher's label, and the tabs the viewer
/// may open there (decided by the policy, never by the templates).
#[derive(Debug, Clone)]
pub struct CurrentOrg {
    pub slug: String,
    pub name: String,
    pub role: String,
    pub tabs: OrgTabs,
}

impl CurrentOrg {
    fn new(slug: String, name: String, role: Option<Role>) -> Self {
        Self {
            slug,
            name,
            role: role.map(|r| r.as_str().to_string()).unwrap_or_default(),
            tabs: policy::org_tabs(role),
        }
    }
}

/// A one-time message shown on the next page.
#[derive(Debug, Clone)]
pub struct Flash {
    /// `info` or `error`.
    pub level: String,
    pub message: String,
}

/// The signed-in user as the layout shows them.
#[derive(Debug, Clone)]
pub struct UserView {
    pub id: String,
    pub display_name: String,
    /// The first letter of the name, for the avatar in the header.
    pub initial: String,
    pub email: String,
    pub is_instance_owner: bool,
}

/// Everything the base layout needs.
#[derive(Debug, Clone)]
pub struct PageCtx {
    pub user: Option<UserView>,
    pub orgs: Vec<OrgLink>,
    pub current_org: Option<CurrentOrg>,
    pub csrf_token: String,
    pub flash: Option<Flash>,
    /// Unread inbox items, for the bell in the header.
    /// Unread notifications, counted up to 100 (see [`PageCtx::unread_shown`]).
    pub unread: i64,
}

impl PageCtx {
    /// A context with no user, for error pages.
    pub fn bare() -> Self {
        Self {
            user: None,
            orgs: Vec::new(),
            current_org: None,
            csrf_token: String::new(),
            flash: None,
            unread: 0,
        }
    }

    /// Marks the organisation the page belongs to (the header menu shows it).
    pub fn in_org(mut self, scope: &OrgScope) -> Self {
        self.current_org = Some(CurrentOrg::new(
            scope.org.slug.clone(),
            scope.org.name.clone(),
            scope.role,
        ));
        self
    }

    /// For a page that did not load its organisation (an error page): marks the
    /// organisation of `path` (`/o/{slug}/…`) only when the viewer is a member of it,
    /// so an error page reveals nothing about organisations the viewer cannot see.
    pub fn in_org_of_path(mut self, path: &str) -> Self {
        let slug = path
            .strip_prefix("/o/")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_default();
        if let Some(link) = self.orgs.iter().find(|o| o.slug == slug) {
            self.current_org = Some(CurrentOrg::new(
                link.slug.clone(),
                link.name.clone(),
                Role::parse(&link.role),
            ));
        }
        self
    }

    /// The bell's figure: "99+" past the cap.
    pub fn unread_shown(&self) -> String {
        if self.unread > crate::models::notifications::UNREAD_CAP {
            format!("{}+", crate::models::notifications::UNREAD_CAP)
        } else {
            self.unread.to_string()
        }
    }

    pub fn is_signed_in(&self) -> bool {
        self.user.is_some()
    }
}

impl FromRequest for PageCtx {
    type Error = AppError;
    type Future = LocalFuture<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let identity = MaybeIdentity::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let identity = identity.await?;
            let state = AppState::from_req(&req)?;
            let csrf_token = expected_token(&req, &identity).unwrap_or_default();
            let flash = read_flash(&req, &state);
            let (user, orgs, unread) = match &identity.0 {
                None => (None, Vec::new(), 0),
                Some(identity) => {
                    let user_id = identity.user.id.clone();
                    let (orgs, unread) = state
                        .db(move |conn| {
                            Ok((
                                crate::models::orgs::for_user(conn, &user_id)?,
                                crate::models::notifications::unread_count(conn, &user_id)?,
                            ))
                        })
                        .await?;
                    let orgs = orgs
                        .into_iter()
                        .map(|(org, role)| OrgLink {
                            slug: org.slug,
                            name: org.name,
                            role,
                        })
                        .collect();
                    let u = &identity.user;
                    let view = UserView {
                        id: u.id.clone(),
                        display_name: u.display_name.clone(),
                        initial: u
                            .display_name
                            .chars()
                            .next()
                            .map(|c| c.to_uppercase().to_string())
                            .unwrap_or_default(),
                        email: u.email.clone(),
                        is_instance_owner: u.is_instance_owner,
                    };
                    (Some(view), orgs, unread)
                }
            };
            Ok(PageCtx {
                user,
                orgs,
                current_org: None,
                csrf_token,
                flash,
                unread,
            })
        })
    }
}

/// Renders a page with the given status; pages are never cached.
pub fn render_status(status: StatusCode, page: &impl Template) -> AppResult<HttpResponse> {
    let html = page.render()?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(html))
}

pub fn render(page: &impl Template) -> AppResult<HttpResponse> {
    render_status(StatusCode::OK, page)
}

/// Marks a page whose URL carries a link token (invitation, reset, verification).
/// `same-origin`: no `Referer` leaves the site, so the token cannot leak to another
/// one, while the page's own form still sends the real `Origin` (`no-referrer` makes
/// Chromium send `Origin: null`, which the CSRF check rightly refuses). Pinned here
/// rather than left to the site-wide default so a change there cannot leak tokens.
pub fn token_page(mut res: HttpResponse) -> HttpResponse {
    res.headers_mut().insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("same-origin"),
    );
    res
}

/// `303 See Other` to `location`.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// `303 See Other` with a message for the next page.
pub fn see_other_with(
    req: &HttpRequest,
    location: &str,
    level: &str,
    message: &str,
) -> HttpResponse {
    let mut res = see_other(location);
    if let Ok(state) = AppState::from_req(req) {
        let raw = format!("{level}\n{message}");
        let value = state.key.sign(FLASH_PURPOSE, &hex(raw.as_bytes()));
        let _ = res.add_cookie(&state.cookie(FLASH_COOKIE, value, None));
    }
    res
}

fn read_flash(req: &HttpRequest, state: &AppState) -> Option<Flash> {
    let cookie = req.cookie(FLASH_COOKIE)?;
    let hexed = state.key.verify(FLASH_PURPOSE, cookie.value())?;
    let bytes = unhex(hexed)?;
    let raw = String::from_utf8(bytes).ok()?;
    let (level, message) = raw.split_once('\n')?;
    req.extensions_mut().insert(FlashShown);
    Some(Flash {
        level: if level == "error" { "error" } else { "info" }.to_string(),
        message: message.to_string(),
    })
}

/// Marks a request whose page displayed the flash, so the middleware clears it.
#[derive(Debug, Clone, Copy)]
pub struct FlashShown;

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A local redirect target from a `next` parameter: a path on this site, else `/`.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

/// A bare page for errors (used by the error middleware).
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub ctx: PageCtx,
    /// No tab is current on an error page.
    pub tab: &'static str,
    pub status: u16,
    pub title: String,
    pub message: String,
    pub request_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_stay_on_site() {
        assert_eq!(safe_next(Some("/o/acme")), "/o/acme");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn unhex_round_trips() {
        assert_eq!(unhex(&hex(b"info\nhello")).unwrap(), b"info\nhello");
        assert!(unhex("zz").is_none());
    }
}

/// The Previous / Next links of a keyset-paged portal list. Each link keeps the
/// page's other query parameters (search, sort, filter, other sections' cursors) and
/// sets `param` to the neighbouring page's cursor.
#[derive(Debug, Clone, Default)]
pub struct Pager {
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    /// Links for `page`, whose cursor travels in the query parameter `param`; `keep`
    /// lists the other parameters to carry (empty values are left out).
    pub fn new<T>(page: &crate::models::page::Page<T>, param: &str, keep: &[(&str, &str)]) -> Self {
        let link = |cursor: &crate::models::page::Cursor| {
            let encoded = cursor.encode();
            let mut pairs: Vec<(&str, &str)> = keep
                .iter()
                .filter(|(name, value)| *name != param && !value.is_empty())
                .copied()
                .collect();
            pairs.push((param, encoded.as_str()));
            format!(
                "?{}",
                serde_urlencoded::to_string(pairs).unwrap_or_default()
            )
        };
        Self {
            prev: page.prev.as_ref().map(link),
            next: page.next.as_ref().map(link),
        }
    }

    /// Nothing to link to: the whole list fits on this page.
    pub fn is_empty(&self) -> bool {
        self.prev.is_none() && self.next.is_none()
    }
}
