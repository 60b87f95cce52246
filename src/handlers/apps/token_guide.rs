//! The app page's "Get an access token" panel: the instance's token endpoint and
//! ready-to-copy requests for the app's auth type. Nothing secret is ever part of it —
//! the commands name the client secret or the signed assertion by a shell variable.

use chrono::{DateTime, Utc};

use crate::config::PublicUrl;

/// What the panel shows for one app.
pub struct TokenGuide {
    /// `{public_url}/oauth/token`.
    pub token_url: String,
    /// The client id (OAuth2 and JWT apps; empty for API-key apps).
    pub client_id: String,
    /// Slugs of the products the app is approved for (what a token's scope may name).
    pub scopes: Vec<String>,
    /// `curl` for the token endpoint (OAuth2: HTTP Basic; JWT: a client assertion).
    pub token_curl: String,
    /// `curl` for `/api/v1/login` (OAuth2: client id and secret; API keys: the key).
    pub login_curl: String,
    /// JWT apps: an example client assertion's claims, as pretty JSON.
    pub example_claims: String,
    /// JWT apps: making an assertion with Python and PyJWT.
    pub python_assertion: String,
    /// Seconds an access token lives (the instance's setting).
    pub expires_in: u64,
}

/// The longest life the token endpoint accepts for a client assertion.
pub const ASSERTION_MAX_SECONDS: i64 = 300;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

impl TokenGuide {
    /// The panel for an app of `auth_type` with `client_id` on the instance at
    /// `public_url` whose access tokens live `expires_in` seconds; `now` and `jti`
    /// make the example assertion's claims.
    pub fn new(
        public_url: &PublicUrl,
        expires_in: u64,
        auth_type: &str,
        client_id: Option<&str>,
        scopes: Vec<String>,
        now: DateTime<Utc>,
        jti: &str,
    ) -> Self {
        let token_url = public_url.join("/oauth/token");
        let login_url = public_url.join("/api/v1/login");
        let (token_arg, login_arg) = (shell_word(&token_url), shell_word(&login_url));
        let client_id = client_id.unwrap_or_default().to_string();
        let mut guide = Self {
            token_curl: String::new(),
            login_curl: String::new(),
            example_claims: String::new(),
            python_assertion: String::new(),
            expires_in,
            token_url,
            client_id,
            scopes,
        };
        match auth_type {
            "oauth2" => {
                guide.token_curl = format!(
                    "curl -u \"{}:$CLIENT_SECRET\" \\\n  -d grant_type=client_credentials \\\n  {token_arg}",
                    guide.client_id
                );
                guide.login_curl = format!(
                    "curl -H 'Content-Type: application/json' \\\n  -d \"{{\\\"client_id\\\": \\\"{}\\\", \\\"client_secret\\\": \\\"$CLIENT_SECRET\\\"}}\" \\\n  {login_arg}",
                    guide.client_id
                );
            }
            "jwt" => {
                guide.token_curl = format!(
                    "curl -d grant_type=client_credentials \\\n  -d client_assertion_type={ASSERTION_TYPE} \\\n  -d \"client_assertion=$ASSERTION\" \\\n  {token_arg}"
                );
                guide.example_claims = example_claims(&guide.client_id, &guide.token_url, now, jti);
                guide.python_assertion = python_assertion(&guide.client_id, &guide.token_url);
            }
            _ => {
                guide.login_curl = format!(
                    "curl -H 'Content-Type: application/json' \\\n  -d \"{{\\\"api_key\\\": \\\"$API_KEY\\\"}}\" \\\n  {login_arg}"
                );
            }
        }
        guide
    }

    /// The product slugs as a scope value, e.g. `weather-api payments-api`.
    pub fn scope_example(&self) -> String {
        self.scopes.join(" ")
    }

    /// What the token endpoint answers, shortened.
    pub fn answer_example(&self) -> String {
        let scope = if self.scopes.is_empty() {
            "…".to_string()
        } else {
            self.scope_example()
        };
        format!(
            "{{\"access_token\": \"eyJ…\", \"token_type\": \"Bearer\", \"expires_in\": {}, \"scope\": {}}}",
            self.expires_in,
            quoted(&scope)
        )
    }
}

/// A URL as one shell word: as it is when it holds no character a shell treats
/// specially, else in single quotes.
fn shell_word(url: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-._~:/%@+=,".contains(c);
    if url.chars().all(plain) {
        url.to_string()
    } else {
        format!("'{}'", url.replace('\'', "'\\''"))
    }
}

/// A JSON string literal (the URL comes from configuration; ids are base62).
fn quoted(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// The claims of a client assertion made at `now`, in the order people read them.
fn example_claims(client_id: &str, token_url: &str, now: DateTime<Utc>, jti: &str) -> String {
    let iat = now.timestamp();
    format!(
        "{{\n  \"iss\": {cid},\n  \"sub\": {cid},\n  \"aud\": {aud},\n  \"iat\": {iat},\n  \"exp\": {exp},\n  \"jti\": {jti}\n}}",
        cid = quoted(client_id),
        aud = quoted(token_url),
        exp = iat + ASSERTION_MAX_SECONDS,
        jti = quoted(jti),
    )
}

/// A client assertion made with PyJWT from the app's private key.
fn python_assertion(client_id: &str, token_url: &str) -> String {
    format!(
        "import time, uuid, jwt  # pip install \"pyjwt[crypto]\"\n\n\
         now = int(time.time())\n\
         claims = {{\"iss\": {cid}, \"sub\": {cid},\n          \"aud\": {aud},\n          \
         \"iat\": now, \"exp\": now + 300, \"jti\": str(uuid.uuid4())}}\n\
         key = open(\"private-key.pem\").read()\n\
         # EdDSA for an Ed25519 key; ES256, ES384 or RS256 for P-256, P-384 or RSA keys\n\
         print(jwt.encode(claims, key, algorithm=\"EdDSA\"))",
        cid = quoted(client_id),
        aud = quoted(token_url),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn url() -> PublicUrl {
        PublicUrl::parse("https://portal.example.com/gate/").unwrap()
    }

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).unwrap()
    }

    #[test]
    fn oauth2_apps_get_basic_auth_and_the_json_exchange_without_a_secret() {
        let g = TokenGuide::new(
            &url(),
            900,
            "oauth2",
            Some("gate_cid_abc"),
            vec![],
            at(),
            "j",
        );
        assert_eq!(g.token_url, "https://portal.example.com/gate/oauth/token");
        assert_eq!(
            g.token_curl,
            "curl -u \"gate_cid_abc:$CLIENT_SECRET\" \\\n  -d grant_type=client_credentials \\\n  https://portal.example.com/gate/oauth/token"
        );
        assert_eq!(
            g.login_curl,
            "curl -H 'Content-Type: application/json' \\\n  -d \"{\\\"client_id\\\": \\\"gate_cid_abc\\\", \\\"client_secret\\\": \\\"$CLIENT_SECRET\\\"}\" \\\n  https://portal.example.com/gate/api/v1/login"
        );
        assert!(g.example_claims.is_empty());
        assert_eq!(
            g.answer_example(),
            "{\"access_token\": \"eyJ…\", \"token_type\": \"Bearer\", \"expires_in\": 900, \"scope\": \"…\"}"
        );
    }

    #[test]
    fn jwt_apps_get_an_assertion_whose_claims_follow_rfc_7523() {
        let g = TokenGuide::new(
            &url(),
            900,
            "jwt",
            Some("gate_cid_abc"),
            vec![],
            at(),
            "0193-x",
        );
        let claims: serde_json::Value = serde_json::from_str(&g.example_claims).unwrap();
        assert_eq!(
            claims,
            serde_json::json!({
                "iss": "gate_cid_abc",
                "sub": "gate_cid_abc",
                "aud": "https://portal.example.com/gate/oauth/token",
                "iat": 1_795_856_400,
                "exp": 1_795_856_700,
                "jti": "0193-x",
            })
        );
        assert!(g.token_curl.contains(
            "-d client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        ));
        assert!(g.token_curl.contains("\"client_assertion=$ASSERTION\""));
        assert!(
            g.python_assertion
                .contains("\"aud\": \"https://portal.example.com/gate/oauth/token\"")
        );
        assert!(g.login_curl.is_empty());
    }

    #[test]
    fn urls_a_shell_would_change_are_quoted() {
        assert_eq!(shell_word("https://a.example/x"), "https://a.example/x");
        assert_eq!(
            shell_word("http://[::1]:8080/oauth/token"),
            "'http://[::1]:8080/oauth/token'"
        );
        assert_eq!(
            shell_word("https://a.example/it's"),
            "'https://a.example/it'\\''s'"
        );
    }

    #[test]
    fn api_key_apps_get_only_the_static_token_exchange() {
        let g = TokenGuide::new(&url(), 900, "api_key", None, vec![], at(), "j");
        assert!(g.token_curl.is_empty());
        assert!(g.login_curl.contains("{\\\"api_key\\\": \\\"$API_KEY\\\"}"));
    }
}
