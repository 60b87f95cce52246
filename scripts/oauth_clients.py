#!/usr/bin/env python3
"""Stock OAuth2 clients against a running Gatehouse, unchanged.

Run by scripts/oauth-clients.sh, which starts the binary, makes an admin token and
installs the libraries in a virtual environment. This script makes what the clients
need through the management API (two products, an OAuth2 app subscribed to both, a
gateway token), then:

- reads /.well-known/oauth-authorization-server (RFC 8414) and the JWKS it names;
- fetches client-credentials tokens with Authlib's OAuth2Session
  (client_secret_basic, then client_secret_post) and with requests-oauthlib's
  OAuth2Session + BackendApplicationClient (HTTPBasicAuth, then the credentials in
  the body), each from the token endpoint the metadata names;
- introspects every token with the gateway token (RFC 7662), and a garbage token, and
  has the gateway's verify endpoint accept it for a product in its scope;
- verifies every token offline with authlib.jose against the JWKS (EdDSA, Ed25519):
  signature, kid, iss, sub, aud, exp;
- sends a wrong secret, which must be refused with 401, invalid_client and
  WWW-Authenticate: Basic, by hand and through both libraries; asks for a scope the
  app has no subscription to (invalid_scope);
- revokes a token with Authlib's revoke_token (RFC 7009), after which introspection
  says it is not active.

Every check prints PASS or FAIL; any FAIL makes the exit status 1.

    python3 scripts/oauth_clients.py --base http://127.0.0.1:PORT --admin-token gate_…
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import time
import uuid
import warnings
from urllib.parse import quote

# Plain http on loopback: oauthlib refuses it otherwise.
os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")

import requests  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session as AuthlibSession  # noqa: E402
from authlib.integrations.requests_client import OAuthError  # noqa: E402
from oauthlib.oauth2 import BackendApplicationClient  # noqa: E402
from oauthlib.oauth2.rfc6749.errors import OAuth2Error  # noqa: E402
from requests.auth import HTTPBasicAuth  # noqa: E402
from requests_oauthlib import OAuth2Session as OauthlibSession  # noqa: E402

with warnings.catch_warnings():
    # Authlib 1.x marks authlib.jose deprecated in favour of joserfc; it still works.
    warnings.simplefilter("ignore")
    from authlib.jose import JsonWebKey, JsonWebToken  # noqa: E402
    from authlib.jose.errors import JoseError  # noqa: E402

TIMEOUT = 10


class SetupError(Exception):
    pass


class Checks:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, name: str, ok: bool, detail: object = "") -> bool:
        if ok:
            self.passed += 1
            print(f"PASS: {name}")
        else:
            self.failed += 1
            print(f"FAIL: {name}" + (f" ({detail})" if detail != "" else ""))
        return ok

    def run(self, name: str, fn, *args, **kwargs):
        """Runs `fn`; an exception is one FAIL named `name`, and gives None."""
        try:
            return fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - every failure is reported, then counted
            self.check(name, False, f"{type(e).__name__}: {e}")
            return None


def short(response: requests.Response) -> str:
    return f"HTTP {response.status_code} {response.headers.get('content-type')}: {response.text[:300]}"


class Gatehouse:
    """The management API with an admin token: what the clients need."""

    def __init__(self, base: str, admin_token: str) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {admin_token}"

    def post(self, path: str, body: dict) -> dict:
        r = self.session.post(self.base + path, json=body, timeout=TIMEOUT)
        if r.status_code != 201:
            raise SetupError(f"POST {path}: {short(r)}")
        return r.json()


def setup(gh: Gatehouse) -> dict:
    for slug in ("payments", "maps"):
        gh.post("/api/v1/products", {"name": slug.title(), "slug": slug, "approval_mode": "auto"})
    app = gh.post(
        "/api/v1/apps",
        {"name": "Stock OAuth2 client", "auth_type": "oauth2", "products": ["payments", "maps"]},
    )
    creds = app.get("credentials") or {}
    if app.get("status") != "active" or not creds.get("client_id") or not creds.get("client_secret"):
        raise SetupError(f"the OAuth2 app came back without an active status or credentials: {app}")
    other = gh.post("/api/v1/apps", {"name": "Another client", "auth_type": "oauth2", "products": ["maps"]})
    other_secret = (other.get("credentials") or {}).get("client_secret")
    if not other_secret:
        raise SetupError(f"no client secret for the second OAuth2 app: {other}")
    gateway = gh.post("/api/v1/gateway-tokens", {"name": "oauth clients test"})
    if not gateway.get("token"):
        raise SetupError(f"no gateway token in {gateway}")
    return {
        "app_id": app["id"],
        "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
        "other_secret": other_secret,
        "gateway_token": gateway["token"],
    }


# --- discovery ---------------------------------------------------------------------------


def check_metadata(c: Checks, base: str, issuer: str) -> dict:
    r = requests.get(base + "/.well-known/oauth-authorization-server", timeout=TIMEOUT)
    if not c.check("metadata: 200 application/json", r.status_code == 200
                   and r.headers.get("content-type", "").startswith("application/json"), short(r)):
        return {}
    meta = r.json()
    c.check("metadata: issuer equals the public URL", meta.get("issuer") == issuer,
            f"issuer {meta.get('issuer')!r}, public URL {issuer!r}")
    for field, path in (
        ("token_endpoint", "/oauth/token"),
        ("introspection_endpoint", "/oauth/introspect"),
        ("revocation_endpoint", "/oauth/revoke"),
        ("jwks_uri", "/.well-known/jwks.json"),
    ):
        c.check(f"metadata: {field} is {issuer}{path}", meta.get(field) == issuer + path,
                meta.get(field))
    grants = meta.get("grant_types_supported") or []
    c.check("metadata: grant_types_supported has client_credentials and refresh_token",
            "client_credentials" in grants and "refresh_token" in grants, grants)
    methods = meta.get("token_endpoint_auth_methods_supported") or []
    c.check("metadata: token_endpoint_auth_methods_supported has client_secret_basic, "
            "client_secret_post and private_key_jwt",
            {"client_secret_basic", "client_secret_post", "private_key_jwt"} <= set(methods), methods)
    algs = meta.get("token_endpoint_auth_signing_alg_values_supported")
    c.check("metadata: token_endpoint_auth_signing_alg_values_supported is a non-empty list "
            "without 'none' (RFC 8414 2)",
            isinstance(algs, list) and algs and "none" not in algs, algs)
    c.check("metadata: response_types_supported is a list (REQUIRED by RFC 8414 2)",
            isinstance(meta.get("response_types_supported"), list),
            meta.get("response_types_supported"))
    urls = {k: v for k, v in meta.items() if k.endswith(("_endpoint", "_uri")) and isinstance(v, str)}
    c.check("metadata: every endpoint and URI is under the issuer",
            bool(urls) and all(v.startswith(issuer + "/") for v in urls.values()), urls)
    return meta


def check_jwks(c: Checks, meta: dict):
    r = requests.get(meta["jwks_uri"], timeout=TIMEOUT)
    if not c.check("jwks: 200 JSON", r.status_code == 200
                   and r.headers.get("content-type", "").startswith(("application/json", "application/jwk-set+json")),
                   short(r)):
        return None
    keys = r.json().get("keys") or []
    if not c.check("jwks: at least one key", bool(keys), r.text[:300]):
        return None
    for k in keys:
        shape = {f: k.get(f) for f in ("kty", "crv", "alg", "use")}
        c.check(f"jwks: key {k.get('kid')!r} is OKP Ed25519 EdDSA sig with x and kid",
                shape == {"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig"}
                and k.get("x") and k.get("kid") and "d" not in k, k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return JsonWebKey.import_key_set({"keys": keys}), {k.get("kid") for k in keys}


# --- token checks ------------------------------------------------------------------------


def check_token(c: Checks, label: str, token: dict, want_scope: set[str] | None) -> None:
    c.check(f"{label}: token_type Bearer", str(token.get("token_type", "")).lower() == "bearer", token)
    expires_in = token.get("expires_in")
    c.check(f"{label}: expires_in a positive integer",
            isinstance(expires_in, int) and expires_in > 0, expires_in)
    c.check(f"{label}: no refresh token for client_credentials (RFC 6749 4.4.3)",
            "refresh_token" not in token, sorted(token))
    if want_scope is not None:
        scope = token.get("scope", "")  # oauthlib gives a list, Authlib the string
        got = set(scope) if isinstance(scope, list) else set(str(scope).split())
        c.check(f"{label}: scope is {' '.join(sorted(want_scope))}", got == want_scope, token.get("scope"))


def check_jwt(c: Checks, label: str, access_token: str, keys, kids: set, issuer: str,
              client_id: str, want_aud: set[str]) -> None:
    try:
        header = JsonWebToken(["EdDSA"]).decode(access_token, keys).header  # signature only
    except (JoseError, ValueError) as e:
        c.check(f"{label}: JWT signature verifies against the JWKS", False, f"{type(e).__name__}: {e}")
        return
    c.check(f"{label}: JWT header alg EdDSA with a kid from the JWKS",
            header.get("alg") == "EdDSA" and header.get("kid") in kids, header)
    options = {
        "iss": {"essential": True, "value": issuer},
        "sub": {"essential": True, "value": client_id},
        "aud": {"essential": True, "values": sorted(want_aud)},
        "exp": {"essential": True},
        "iat": {"essential": True},
        "jti": {"essential": True},
    }
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            claims = JsonWebToken(["EdDSA"]).decode(access_token, keys, claims_options=options)
            claims.validate(leeway=5)
    except (JoseError, ValueError) as e:
        c.check(f"{label}: JWT claims iss/sub/aud/exp/iat/jti validate", False,
                f"{type(e).__name__}: {e}")
        return
    now = time.time()
    aud = claims.get("aud")
    aud = set(aud) if isinstance(aud, list) else {aud}
    c.check(f"{label}: JWT verifies offline (EdDSA), iss/sub/aud/exp/iat/jti valid", True)
    c.check(f"{label}: JWT aud is {sorted(want_aud)}", aud == want_aud, claims.get("aud"))
    c.check(f"{label}: JWT scope claim equals aud", set(str(claims.get("scope", "")).split()) == want_aud,
            claims.get("scope"))
    c.check(f"{label}: JWT exp in the future, at most a day away, after iat",
            now < claims["exp"] <= now + 86400 and claims["iat"] < claims["exp"], dict(claims))


def introspect(base: str, gateway_token: str | None, token: str, hint: str | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {gateway_token}"} if gateway_token else {}
    data = {"token": token}
    if hint:
        data["token_type_hint"] = hint
    return requests.post(base + "/oauth/introspect", data=data, headers=headers, timeout=TIMEOUT)


def check_introspection(c: Checks, label: str, base: str, gateway_token: str, access_token: str,
                        issuer: str, client_id: str, app_id: str, want_aud: set[str]) -> None:
    r = introspect(base, gateway_token, access_token, "access_token")
    ok = c.check(f"{label}: introspection 200 JSON", r.status_code == 200
                 and r.headers.get("content-type", "").startswith("application/json"), short(r))
    if not ok:
        return
    body = r.json()
    c.check(f"{label}: introspection active, client_id and sub the client, Bearer",
            body.get("active") is True and body.get("client_id") == client_id
            and body.get("sub") == client_id and str(body.get("token_type", "")).lower() == "bearer", body)
    aud = body.get("aud")
    aud = set(aud) if isinstance(aud, list) else {aud}
    c.check(f"{label}: introspection iss, app_id, scope and aud",
            body.get("iss") == issuer and body.get("app_id") == app_id
            and set(str(body.get("scope", "")).split()) == want_aud and aud == want_aud, body)
    c.check(f"{label}: introspection exp in the future", isinstance(body.get("exp"), int)
            and body["exp"] > time.time(), body.get("exp"))


def check_gateway_verify(c: Checks, label: str, base: str, gateway_token: str, access_token: str,
                         app_id: str, product: str) -> None:
    r = requests.post(base + "/api/v1/keys/verify", json={"key": access_token, "product": product},
                      headers={"Authorization": f"Bearer {gateway_token}"}, timeout=TIMEOUT)
    body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
    c.check(f"{label}: the gateway's verify says VALID for {product}",
            r.status_code == 200 and body.get("valid") is True and body.get("code") == "VALID"
            and (body.get("app") or {}).get("id") == app_id, short(r))


# --- the clients -------------------------------------------------------------------------


class LastResponse:
    """A requests response hook that keeps the last response (for its headers)."""

    def __init__(self) -> None:
        self.response: requests.Response | None = None

    def __call__(self, response: requests.Response, *args, **kwargs) -> requests.Response:
        self.response = response
        return response


def authlib_fetch(token_url: str, client_id: str, secret: str, method: str,
                  scope: str | None = None, seen: LastResponse | None = None) -> dict:
    kwargs = {"scope": scope} if scope else {}
    with AuthlibSession(client_id, secret, token_endpoint_auth_method=method, **kwargs) as s:
        if seen:
            s.hooks["response"].append(seen)
        return dict(s.fetch_token(token_url, grant_type="client_credentials", timeout=TIMEOUT))


def oauthlib_fetch(token_url: str, client_id: str, secret: str, body_credentials: bool,
                   scope: list[str] | None = None, seen: LastResponse | None = None) -> dict:
    # The scope goes on the oauthlib client, which writes the request body; the session
    # compares the answer's scope with its own.
    client = BackendApplicationClient(client_id=client_id, scope=scope)
    with OauthlibSession(client=client, scope=scope) as s:
        if seen:
            s.hooks["response"].append(seen)
        if body_credentials:
            token = s.fetch_token(token_url, client_id=client_id, client_secret=secret,
                                  include_client_id=True, timeout=TIMEOUT)
        else:
            token = s.fetch_token(token_url, auth=HTTPBasicAuth(client_id, secret), timeout=TIMEOUT)
        return dict(token)


def check_revocation(c: Checks, base: str, meta: dict, token_url: str, issuer: str,
                     cid: str, secret: str, gw: str) -> None:
    revoke_url = meta.get("revocation_endpoint") or issuer + "/oauth/revoke"
    token = authlib_fetch(token_url, cid, secret, "client_secret_basic")["access_token"]
    c.check("before revocation: introspection active", introspect(base, gw, token).json().get("active") is True)
    with AuthlibSession(cid, secret, token_endpoint_auth_method="client_secret_basic",
                        revocation_endpoint_auth_method="client_secret_basic") as s:
        r = s.revoke_token(revoke_url, token=token, token_type_hint="access_token", timeout=TIMEOUT)
        c.check("authlib revoke_token (RFC 7009) of the access token: 200", r.status_code == 200, short(r))
        r = s.revoke_token(revoke_url, token="not-a-token", timeout=TIMEOUT)
        c.check("authlib revoke_token of an unknown token: 200", r.status_code == 200, short(r))
    r = introspect(base, gw, token)
    c.check("revoked access token: introspection {\"active\": false}",
            r.status_code == 200 and r.json() == {"active": False}, short(r))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="http://127.0.0.1:PORT of the running server")
    parser.add_argument("--public-url", help="the server's --public-url (default: --base)")
    parser.add_argument("--admin-token", required=True, help="an organisation admin token")
    args = parser.parse_args()
    base = args.base.rstrip("/")
    issuer = (args.public_url or base).rstrip("/")

    try:
        made = setup(Gatehouse(base, args.admin_token))
    except (SetupError, requests.RequestException) as e:
        print(f"FAIL: setup through the management API: {e}")
        return 1
    cid, secret, gw, app_id = made["client_id"], made["client_secret"], made["gateway_token"], made["app_id"]
    both = {"payments", "maps"}
    c = Checks()

    meta = c.run("metadata", check_metadata, c, base, issuer) or {}
    token_url = meta.get("token_endpoint") or issuer + "/oauth/token"
    meta.setdefault("jwks_uri", issuer + "/.well-known/jwks.json")
    keys, kids = c.run("jwks", check_jwks, c, meta) or (None, set())

    # Each stock client, its way of sending the credentials, and the scope it asks for.
    cases = [
        ("authlib client_secret_basic",
         lambda seen: authlib_fetch(token_url, cid, secret, "client_secret_basic", seen=seen), both),
        ("authlib client_secret_post",
         lambda seen: authlib_fetch(token_url, cid, secret, "client_secret_post", seen=seen), both),
        ("authlib client_secret_basic scope=payments",
         lambda seen: authlib_fetch(token_url, cid, secret, "client_secret_basic", scope="payments",
                                    seen=seen), {"payments"}),
        ("requests-oauthlib HTTPBasicAuth",
         lambda seen: oauthlib_fetch(token_url, cid, secret, body_credentials=False, seen=seen), both),
        ("requests-oauthlib include_client_id (body)",
         lambda seen: oauthlib_fetch(token_url, cid, secret, body_credentials=True, seen=seen), both),
        ("requests-oauthlib body scope=maps",
         lambda seen: oauthlib_fetch(token_url, cid, secret, body_credentials=True, scope=["maps"],
                                     seen=seen), {"maps"}),
    ]
    for label, fetch, want in cases:
        seen = LastResponse()
        try:
            token = fetch(seen)
        except Exception as e:  # noqa: BLE001 - the library's refusal is the finding
            got = short(seen.response) if seen.response is not None else "no response"
            c.check(f"{label}: fetch_token", False, f"{type(e).__name__}: {e}; {got}")
            continue
        r = seen.response
        access = token.get("access_token")
        if not c.check(f"{label}: fetch_token gives 200 with an access_token",
                       r is not None and r.status_code == 200 and bool(access),
                       short(r) if r is not None else token):
            continue
        c.check(f"{label}: token response is JSON with Cache-Control: no-store",
                r.headers.get("content-type", "").startswith("application/json")
                and "no-store" in r.headers.get("cache-control", ""), dict(r.headers))
        check_token(c, label, token, want)
        c.run(f"{label}: introspection", check_introspection, c, label, base, gw, access,
              issuer, cid, app_id, want)
        c.run(f"{label}: verify", check_gateway_verify, c, label, base, gw, access, app_id, min(want))
        if keys is not None:
            c.run(f"{label}: JWT", check_jwt, c, label, access, keys, kids, issuer, cid, want)

    # Introspection of what is not a live token, and without a gateway token.
    for label, value in (("garbage", "not-a-token"),
                         ("a JWT-shaped garbage token", "eyJhbGciOiJFZERTQSJ9.e30.c2ln"),
                         ("the client secret", secret)):
        r = introspect(base, gw, value)
        c.check(f"introspection of {label}: 200 {{\"active\": false}}",
                r.status_code == 200 and r.json() == {"active": False}, short(r))
    r = introspect(base, None, "not-a-token")
    c.check("introspection without a gateway token: 401", r.status_code == 401, short(r))

    # A wrong secret (one character changed, so its checksum fails; another app's real
    # one) and an unknown client: by hand (status and headers), then through both libraries.
    wrong = secret[:-8] + ("A" if secret[-8] != "A" else "B") + secret[-7:]
    for label, kwargs in (
        ("client_secret_basic", {"headers": {"Authorization": "Basic " + base64.b64encode(
            f"{quote(cid, safe='')}:{quote(wrong, safe='')}".encode()).decode()},
            "data": {"grant_type": "client_credentials"}}),
        ("another app's real secret, client_secret_basic",
         {"auth": (cid, made["other_secret"]), "data": {"grant_type": "client_credentials"}}),
        ("client_secret_basic, unknown client", {"auth": ("gate_cid_nobody", wrong),
                                                 "data": {"grant_type": "client_credentials"}}),
        ("client_secret_post", {"data": {"grant_type": "client_credentials",
                                         "client_id": cid, "client_secret": wrong}}),
    ):
        r = requests.post(token_url, timeout=TIMEOUT, **kwargs)
        try:
            error = r.json().get("error")
        except ValueError:
            error = None
        c.check(f"wrong secret ({label}): 401 invalid_client, WWW-Authenticate: Basic",
                r.status_code == 401 and error == "invalid_client"
                and r.headers.get("www-authenticate", "").lower().startswith("basic"),
                f"{short(r)}; WWW-Authenticate {r.headers.get('www-authenticate')!r}")
    for label, method in (("authlib client_secret_basic", "client_secret_basic"),
                          ("authlib client_secret_post", "client_secret_post")):
        seen = LastResponse()
        try:
            authlib_fetch(token_url, cid, wrong, method, seen=seen)
            c.check(f"wrong secret ({label}): refused", False, short(seen.response))
        except OAuthError as e:
            c.check(f"wrong secret ({label}): OAuthError invalid_client on a 401",
                    e.error == "invalid_client" and seen.response.status_code == 401, short(seen.response))
    for label, body in (("requests-oauthlib HTTPBasicAuth", False), ("requests-oauthlib body", True)):
        seen = LastResponse()
        try:
            oauthlib_fetch(token_url, cid, wrong, body_credentials=body, seen=seen)
            c.check(f"wrong secret ({label}): refused", False, short(seen.response))
        except OAuth2Error as e:
            c.check(f"wrong secret ({label}): InvalidClientError on a 401",
                    e.error == "invalid_client" and seen.response.status_code == 401, short(seen.response))

    # Scope beyond the app's subscriptions.
    seen = LastResponse()
    try:
        authlib_fetch(token_url, cid, secret, "client_secret_basic", scope=f"other-{uuid.uuid4().hex[:8]}",
                      seen=seen)
        c.check("a scope the app is not subscribed to: refused", False, short(seen.response))
    except OAuthError as e:
        c.check("a scope the app is not subscribed to: 400 invalid_scope",
                e.error == "invalid_scope" and seen.response.status_code == 400, short(seen.response))

    c.run("revocation", check_revocation, c, base, meta, token_url, issuer, cid, secret, gw)

    print(f"oauth-clients: {c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
