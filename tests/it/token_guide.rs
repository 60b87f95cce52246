//! The app page's "Get an access token" panel: the instance's token URL and requests
//! to copy for OAuth2 and JWT apps, the static-token exchange for API-key apps, and
//! never a secret — and what the panel says to send works at those endpoints.

use base64ct::{Base64, Encoding};

use crate::kit::{
    AppBuilder, Page, ProductBuilder, TestApp, create_app, extract_value, revealed_app_id,
    revealed_secret, spawn_app,
};

/// The text of the element with this id, as a browser shows it (entities decoded).
fn text_of(page: &Page, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let start = page.body.find(&marker).expect(id) + marker.len();
    let end = page.body[start..].find('<').unwrap() + start;
    page.body[start..end]
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn token_url(app: &TestApp) -> String {
    format!("{}/oauth/token", app.base)
}

/// An Ed25519 key pair made with OpenSSL: (private key DER, public key PEM).
const ED25519: (&str, &str) = (
    "MC4CAQAwBQYDK2VwBCIEIMhEftAOL5576tBkusu4GgxCp/mzUJj+4WtXC4ZfcCyz",
    "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAD/mBaXQkZB0oP71Ng5MBMZmIFkHilXSrbcE/6V95guw=\n-----END PUBLIC KEY-----",
);

/// POSTs a form to the token endpoint, optionally with HTTP Basic credentials.
async fn token_request(
    app: &TestApp,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    let mut req = reqwest::Client::new().post(token_url(app)).form(form);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

#[tokio::test]
async fn oauth2_app_page_shows_the_token_url_and_a_curl_without_the_secret() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let weather = ProductBuilder::new("Weather", "auto")
        .publish(&app, &ada)
        .await;
    let tick = format!("product.{weather}");
    let (reveal, _) = create_app(
        &ada,
        "acme",
        &[
            ("name", "Partner"),
            ("auth_type", "oauth2"),
            ("owner", "me"),
            (tick.as_str(), "on"),
        ],
    )
    .await;
    reveal.assert_status(200);
    let secret = revealed_secret(&reveal);
    let client_id = extract_value(&reveal.body, "id=\"reveal-client-id\" value=\"").unwrap();
    let page = ada
        .get(&format!("/o/acme/apps/{}", revealed_app_id(&reveal)))
        .await;
    page.assert_status(200);

    assert!(page.contains("Get an access token"));
    assert_eq!(text_of(&page, "token-url"), token_url(&app));
    assert_eq!(
        text_of(&page, "token-curl"),
        format!(
            "curl -u \"{client_id}:$CLIENT_SECRET\" \\\n  -d grant_type=client_credentials \\\n  {}",
            token_url(&app)
        )
    );
    assert_eq!(
        text_of(&page, "login-curl"),
        format!(
            "curl -H 'Content-Type: application/json' \\\n  -d \"{{\\\"client_id\\\": \\\"{client_id}\\\", \\\"client_secret\\\": \\\"$CLIENT_SECRET\\\"}}\" \\\n  {}/api/v1/login",
            app.base
        )
    );
    // The scope names the approved product.
    assert!(
        page.contains("Optional: <code>weather</code>"),
        "{}",
        page.body
    );
    assert!(!page.body.contains(&secret));
    // Copy buttons work through app.js (no inline script: the CSP forbids it).
    for id in ["token-url", "token-curl", "login-curl"] {
        assert!(page.contains(&format!("data-copy=\"{id}\"")), "{id}");
    }
    assert!(!page.body.contains("style="));
    assert!(!page.body.contains("onclick"));

    // What the curl sends gets a token, as long-lived as the page says.
    let (status, answer) = token_request(
        &app,
        Some((&client_id, &secret)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["scope"], "weather");
    assert!(page.contains(&format!(
        "&#34;expires_in&#34;: {}, &#34;scope&#34;: &#34;weather&#34;",
        answer["expires_in"]
    )));
}

#[tokio::test]
async fn jwt_app_page_shows_an_assertion_whose_claims_the_token_endpoint_takes() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let weather = ProductBuilder::new("Weather", "auto")
        .publish(&app, &ada)
        .await;
    let tick = format!("product.{weather}");
    let (reveal, _) = create_app(
        &ada,
        "acme",
        &[
            ("name", "Signer"),
            ("auth_type", "jwt"),
            ("owner", "me"),
            ("public_key", ED25519.1),
            (tick.as_str(), "on"),
        ],
    )
    .await;
    reveal.assert_status(200);
    let client_id = extract_value(&reveal.body, "id=\"reveal-client-id\" value=\"").unwrap();
    let page = ada
        .get(&format!("/o/acme/apps/{}", revealed_app_id(&reveal)))
        .await;
    page.assert_status(200);

    assert_eq!(text_of(&page, "token-url"), token_url(&app));
    assert_eq!(
        text_of(&page, "token-curl"),
        format!(
            "curl -d grant_type=client_credentials \\\n  -d client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \\\n  -d \"client_assertion=$ASSERTION\" \\\n  {}",
            token_url(&app)
        )
    );
    let claims: serde_json::Value =
        serde_json::from_str(&text_of(&page, "assertion-claims")).unwrap();
    let now = gatehouse::clock::Clock::now(app.clock.as_ref()).timestamp();
    assert_eq!(claims["iss"], client_id.as_str());
    assert_eq!(claims["sub"], client_id.as_str());
    assert_eq!(claims["aud"], token_url(&app).as_str());
    assert_eq!(claims["iat"], now);
    assert_eq!(claims["exp"], now + 300);
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
    let python = text_of(&page, "assertion-python");
    assert!(
        python.contains(&format!("\"aud\": \"{}\"", token_url(&app))),
        "{python}"
    );
    // The jti is new on every visit, as an assertion's must be.
    let again = ada
        .get(&format!("/o/acme/apps/{}", revealed_app_id(&reveal)))
        .await;
    let claims_again: serde_json::Value =
        serde_json::from_str(&text_of(&again, "assertion-claims")).unwrap();
    assert_ne!(claims["jti"], claims_again["jti"]);

    // The claims as shown, signed with the app's private key and sent as the curl
    // sends them, get a token; the same assertion again is refused.
    let key = jsonwebtoken::EncodingKey::from_ed_der(&Base64::decode_vec(ED25519.0).unwrap());
    let assertion = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA),
        &claims,
        &key,
    )
    .unwrap();
    let form = [
        ("grant_type", "client_credentials"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion.as_str()),
    ];
    let (status, answer) = token_request(&app, None, &form).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["token_type"], "Bearer");
    let (status, answer) = token_request(&app, None, &form).await;
    assert_eq!((status, &answer["error"]), (401, &"invalid_client".into()));
}

#[tokio::test]
async fn api_key_app_page_has_no_token_url_only_the_static_token_exchange() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let (id, key) = AppBuilder::new("Keyed").id_and_key(&ada).await;
    let page = ada.get(&format!("/o/acme/apps/{id}")).await;
    page.assert_status(200);
    assert!(!page.body.contains("/oauth/token"));
    assert!(!page.contains("Get an access token"));
    assert!(page.contains("Use the API key"));
    assert_eq!(
        text_of(&page, "login-curl"),
        format!(
            "curl -H 'Content-Type: application/json' \\\n  -d \"{{\\\"api_key\\\": \\\"$API_KEY\\\"}}\" \\\n  {}/api/v1/login",
            app.base
        )
    );
    assert!(!page.body.contains(&key));

    // What the curl sends gets a static token.
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/login", app.base))
        .json(&serde_json::json!({ "api_key": key }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let answer: serde_json::Value = res.json().await.unwrap();
    assert_eq!(answer["token_type"], "static");
    assert!(answer["token"].as_str().unwrap().starts_with("gate_tok_"));
}
