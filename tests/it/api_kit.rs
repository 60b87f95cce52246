//! Test kit for the management API: tokens made through the real service, and a
//! small JSON client that sends them.

use gatehouse::auth::policy::TokenAccess;
use gatehouse::clock::Clock;
use gatehouse::db::DbConnection;
use gatehouse::services::apps::Issuer;
use gatehouse::services::tokens::{NewToken, TokenKind};
use serde_json::Value;

use crate::kit::TestApp;

/// What a replayed response (same Idempotency-Key) shows in place of a secret, written
/// out here rather than taken from the code under test.
pub const ALREADY_RETURNED: &str =
    "(already returned: secrets are shown only in the first response to this Idempotency-Key)";

/// A JSON response: status, headers, parsed body (`Value::Null` when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "body: {}", self.body);
        &self.body
    }

    /// Asserts an RFC 9457 problem with this status.
    #[track_caller]
    pub fn expect_problem(&self, status: u16) -> &str {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{:?}",
            self.headers
        );
        assert_eq!(self.body["status"], status);
        self.body["detail"].as_str().expect("detail")
    }
}

/// The `field` of every item of a list body, in order.
pub fn item_ids(list: &Value, field: &str) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("items in {list}"))
        .iter()
        .map(|i| crate::kit::str_of(i, field).to_string())
        .collect()
}

/// The ids of a list reply, in order.
pub fn ids(reply: &Reply) -> Vec<String> {
    item_ids(&reply.body, "id")
}

/// Sends requests with one bearer token.
/// A response as a [`Reply`]: JSON parsed when it is JSON, else the text.
pub async fn reply(res: reqwest::Response) -> Reply {
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Reply {
        status,
        headers,
        body,
    }
}

#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub token: String,
    client: reqwest::Client,
}

#[allow(dead_code)]
impl Api {
    pub fn new(app: &TestApp, token: &str) -> Self {
        Self {
            base: app.base.clone(),
            token: token.to_string(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
        }
    }

    async fn send(&self, builder: reqwest::RequestBuilder) -> Reply {
        reply(builder.send().await.expect("request")).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.client.get(self.url(path)).bearer_auth(&self.token))
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(
            self.client
                .post(self.url(path))
                .bearer_auth(&self.token)
                .json(&body),
        )
        .await
    }

    /// A POST with an `Idempotency-Key`.
    pub async fn post_once(&self, path: &str, key: &str, body: Value) -> Reply {
        self.send(
            self.client
                .post(self.url(path))
                .bearer_auth(&self.token)
                .header("idempotency-key", key)
                .json(&body),
        )
        .await
    }

    pub async fn patch(&self, path: &str, body: Value, if_match: Option<&str>) -> Reply {
        let mut b = self
            .client
            .patch(self.url(path))
            .bearer_auth(&self.token)
            .json(&body);
        if let Some(tag) = if_match {
            b = b.header("if-match", tag);
        }
        self.send(b).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(self.client.delete(self.url(path)).bearer_auth(&self.token))
            .await
    }

    /// Any request, for the unusual ones (no token, other headers).
    pub fn raw(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path))
    }

    pub async fn send_raw(&self, builder: reqwest::RequestBuilder) -> Reply {
        self.send(builder).await
    }
}

impl TestApp {
    /// Makes an API token for the member `email` of organisation `org` through the
    /// real service (`admin`: an organisation admin token; `write`: read-write).
    pub fn token(&self, email: &str, org: &str, admin: bool, write: bool) -> String {
        self.token_expiring(email, org, admin, write, None)
    }

    /// As [`TestApp::token`], expiring after `days` when given (the default never does).
    pub fn token_expiring(
        &self,
        email: &str,
        org: &str,
        admin: bool,
        write: bool,
        days: Option<u32>,
    ) -> String {
        use gatehouse::models::{orgs, users};
        let mut conn = self.conn();
        let conn: &mut DbConnection = &mut conn;
        let user = users::find_by_email(conn, email).unwrap().expect("user");
        let org = orgs::find_by_slug(conn, org).unwrap().expect("org");
        let ctx = gatehouse::services::Ctx {
            actor_id: Some(user.id.clone()),
            ip: None,
            now: self.clock.now_naive(),
        };
        let issuer = Issuer {
            prefix: &self.state.config.credential_prefix,
            hasher: &self.state.secrets,
        };
        let new = NewToken {
            kind: if admin {
                TokenKind::Admin
            } else {
                TokenKind::Personal
            },
            name: "test token".into(),
            access: if write {
                TokenAccess::Write
            } else {
                TokenAccess::Read
            },
            expires_in_days: days,
        };
        let (_, secret) =
            gatehouse::services::tokens::create(conn, &ctx, &org, &user, issuer, new, None)
                .unwrap();
        secret.expose().to_string()
    }

    /// An API client for a new token of `email` in `org`.
    pub fn api(&self, email: &str, org: &str, admin: bool, write: bool) -> Api {
        Api::new(self, &self.token(email, org, admin, write))
    }
}
