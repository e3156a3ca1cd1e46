//! The legacy Advanced API v2: OAuth 1.0a request token, authorization (the
//! sandbox approves at once), access token, and the `method=vimeo.…` REST
//! endpoint, every request verified with the `oauth1` crate.
//!
//! Error codes follow the old API: 301 invalid consumer key, 302 invalid or
//! expired token, 303 timestamp outside the window (the old documentation
//! has no code for it; 303 was its "invalid signature" sibling), 304 nonce
//! reused, 305 invalid signature, 306 unsupported signature method, 307
//! missing parameter, 308 parameters in more than one place, 111 format not
//! found, 112 method not found, 98 login required.

use std::collections::HashMap;
use std::time::SystemTime;

use http::HeaderValue;
use oauth1::{MemoryNonceStore, ReceivedRequest, VerifyError, VerifyOptions};
use serde_json::{Map, Value, json};

use super::wire::{self, Reply, param};
use super::{Call, State, USER_ID, lock};

#[derive(Debug, Default)]
pub(crate) struct LegacyState {
    tokens: HashMap<String, LegacyToken>,
    nonces: MemoryNonceStore,
}

#[derive(Debug)]
struct LegacyToken {
    secret: String,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Request {
        callback: String,
        /// Set once the user approved.
        verifier: Option<String>,
    },
    Access,
}

/// Whether `token` / `secret` is a live OAuth 1.0a access token.
pub(crate) fn is_access_token(state: &State, token: &str, secret: &str) -> bool {
    lock(&state.legacy)
        .tokens
        .get(token)
        .is_some_and(|t| matches!(t.kind, Kind::Access) && t.secret == secret)
}

pub(crate) fn route(state: &State, rest: &str, call: &Call) -> Reply {
    match rest {
        "oauth/request_token" => request_token(state, call),
        "oauth/authorize" => authorize(state, call),
        "oauth/access_token" => access_token(state, call),
        "api/rest/v2" => rest_call(state, call),
        _ => wire::reply(404, "text/plain", "not found"),
    }
}

/// Why a signed request was refused: (legacy code, message).
fn refusal(error: &VerifyError) -> (u32, String) {
    let code = match error {
        VerifyError::TokenMismatch => 302,
        VerifyError::TimestampOutOfWindow { .. } | VerifyError::InvalidTimestamp => 303,
        VerifyError::NonceReused => 304,
        VerifyError::InvalidSignature => 305,
        VerifyError::UnsupportedSignatureMethod
        | VerifyError::SignatureMethodNotAllowed { .. }
        | VerifyError::UnsupportedVersion => 306,
        VerifyError::MissingParameter { .. } => 307,
        VerifyError::MixedPlacement => 308,
        _ => 305,
    };
    (code, error.to_string())
}

/// The OAuth problem answer of the token endpoints.
fn token_refusal(code: u32, message: &str) -> Reply {
    let body = wire::encode_form(&[("oauth_problem", message), ("code", &code.to_string())]);
    wire::reply(401, "application/x-www-form-urlencoded", body)
}

/// The legacy consumer that signs with RSA-SHA1/RSA-SHA256 instead of a
/// shared secret; its public key is the OAuth wiki's RSA test key's.
pub(crate) const RSA_CONSUMER_KEY: &str = "sbx-rsa-consumer";
const RSA_PUBLIC_KEY: &str = include_str!("../../../oauth1/tests/data/rsa-test-key.pub.pem");

/// Parses and verifies a signed request; `token_secret_for` returns the secret
/// of the token the request names (or `None` if the token is unusable here).
fn verify(
    state: &State,
    call: &Call,
    token_secret_for: impl Fn(&LegacyState, &str) -> Option<String>,
) -> Result<ReceivedRequest, (u32, String)> {
    // As received: the scheme served, `Host` and the target (no URL written
    // out to be parsed again).
    let mut request =
        oauth1::Request::from_parts(call.method.as_str(), "http", &call.host, &call.target);
    let content_type = call.header("content-type").unwrap_or_default();
    if call.is_form() {
        request = request.body(&content_type, &call.body);
    }
    let authorization = call.header("authorization");
    if let Some(header) = &authorization {
        request = request.authorization(header);
    }
    // Parse, look the consumer up by its key, then verify with what it has:
    // a shared secret, or (the RSA consumer) a public key.
    let received = ReceivedRequest::parse(&request).map_err(|e| refusal(&e))?;
    let rsa = received.consumer_key() == RSA_CONSUMER_KEY;
    if !rsa && received.consumer_key() != state.credentials.consumer_key {
        return Err((301, "invalid consumer key".into()));
    }
    let mut legacy = lock(&state.legacy);
    let token_secret = match received.token() {
        Some(token) => match token_secret_for(&legacy, token) {
            Some(secret) => Some(secret),
            None => return Err((302, "invalid or expired token".into())),
        },
        None => None,
    };
    let now = wire::unix_seconds(SystemTime::now());
    let options = VerifyOptions::new(now).timestamp_window(state.config.timestamp_window);
    let verified = if rsa {
        let key = oauth1::RsaPublicKey::from_pem(RSA_PUBLIC_KEY)
            .map_err(|_| (305, "the sandbox's RSA key does not load".to_owned()))?;
        received.verify_rsa(&key, &options, &mut legacy.nonces)
    } else {
        received.verify(
            &state.credentials.consumer_secret,
            token_secret.as_deref(),
            &options,
            &mut legacy.nonces,
        )
    };
    verified.map_err(|e| refusal(&e))?;
    Ok(received)
}

fn request_token(state: &State, call: &Call) -> Reply {
    let received = match verify(state, call, |_, _| None) {
        Ok(received) => received,
        Err((code, message)) => return token_refusal(code, &message),
    };
    if received.token().is_some() {
        return token_refusal(302, "a request-token request carries no token");
    }
    let Some(callback) = received.callback().map(str::to_owned) else {
        return token_refusal(307, "oauth_callback is required (use `oob` for none)");
    };
    let token = format!("sbx-rt-{}", wire::random_hex(10));
    let secret = wire::random_hex(16);
    lock(&state.legacy).tokens.insert(
        token.clone(),
        LegacyToken {
            secret: secret.clone(),
            kind: Kind::Request {
                callback,
                verifier: None,
            },
        },
    );
    let body = wire::encode_form(&[
        ("oauth_token", &token),
        ("oauth_token_secret", &secret),
        ("oauth_callback_confirmed", "true"),
    ]);
    wire::reply(200, "application/x-www-form-urlencoded", body)
}

/// The user "approves" at once: a redirect to the callback with the verifier,
/// or (for `oob`) a page showing it.
fn authorize(state: &State, call: &Call) -> Reply {
    let params = call.query_params();
    let token = param(&params, "oauth_token").unwrap_or_default();
    let permission = param(&params, "permission").unwrap_or("read");
    if !["read", "write", "delete"].contains(&permission) {
        return wire::reply(
            400,
            "text/plain",
            "permission must be read, write or delete",
        );
    }
    let mut legacy = lock(&state.legacy);
    let Some(LegacyToken {
        kind: Kind::Request { callback, verifier },
        ..
    }) = legacy.tokens.get_mut(token)
    else {
        return wire::reply(400, "text/plain", "unknown request token");
    };
    let new_verifier = wire::random_hex(8);
    *verifier = Some(new_verifier.clone());
    if callback == "oob" {
        return wire::reply(
            200,
            "text/plain",
            format!("Access granted. Your verifier is: {new_verifier}\n"),
        );
    }
    let separator = if callback.contains('?') { '&' } else { '?' };
    let location = format!(
        "{callback}{separator}{}",
        wire::encode_form(&[("oauth_token", token), ("oauth_verifier", &new_verifier)])
    );
    let mut response = wire::reply(302, "text/plain", "approved; redirecting");
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert("location", value);
    }
    response
}

fn access_token(state: &State, call: &Call) -> Reply {
    let received = match verify(state, call, |legacy, token| {
        match legacy.tokens.get(token) {
            Some(LegacyToken {
                secret,
                kind: Kind::Request { .. },
            }) => Some(secret.clone()),
            _ => None,
        }
    }) {
        Ok(received) => received,
        Err((code, message)) => return token_refusal(code, &message),
    };
    let Some(request_token) = received.token().map(str::to_owned) else {
        return token_refusal(307, "oauth_token is required");
    };
    let mut legacy = lock(&state.legacy);
    let expected = match legacy.tokens.get(&request_token) {
        Some(LegacyToken {
            kind: Kind::Request { verifier, .. },
            ..
        }) => verifier.clone(),
        _ => None,
    };
    match (expected, received.verifier()) {
        (Some(expected), Some(given)) if expected == given => {}
        (None, _) => return token_refusal(302, "the request token was not authorized"),
        _ => return token_refusal(302, "wrong oauth_verifier"),
    }
    legacy.tokens.remove(&request_token);
    let token = format!("sbx-at-{}", wire::random_hex(10));
    let secret = wire::random_hex(16);
    legacy.tokens.insert(
        token.clone(),
        LegacyToken {
            secret: secret.clone(),
            kind: Kind::Access,
        },
    );
    let body = wire::encode_form(&[
        ("oauth_token", &token),
        ("oauth_token_secret", &secret),
        ("username", "sandbox"),
        ("user_id", &USER_ID.to_string()),
    ]);
    wire::reply(200, "application/x-www-form-urlencoded", body)
}

fn rest_reply(method: &str, payload: Result<Map<String, Value>, (u32, &str, String)>) -> Reply {
    let body = match payload {
        Ok(mut map) => {
            map.insert("generated_in".into(), json!("0.0010"));
            map.insert("stat".into(), json!("ok"));
            Value::Object(map)
        }
        Err((code, msg, expl)) => json!({
            "generated_in": "0.0010",
            "stat": "fail",
            "err": {"code": code.to_string(), "msg": msg, "expl": expl},
        }),
    };
    tracing::debug!(method, "legacy REST call answered");
    // Like the old API: errors travel in the body of a 200.
    wire::reply(
        200,
        "application/json",
        serde_json::to_vec(&body).unwrap_or_default(),
    )
}

fn rest_call(state: &State, call: &Call) -> Reply {
    let mut params = call.query_params();
    if call.is_form() {
        params.extend(wire::parse_form(&call.body));
    }
    let method = param(&params, "method").unwrap_or_default().to_owned();
    let received = match verify(state, call, |legacy, token| {
        match legacy.tokens.get(token) {
            Some(LegacyToken {
                secret,
                kind: Kind::Access,
            }) => Some(secret.clone()),
            _ => None,
        }
    }) {
        Ok(received) => received,
        Err((code, message)) => {
            let msg = if code == 301 {
                "Invalid consumer key"
            } else {
                "Invalid signature"
            };
            return rest_reply(&method, Err((code, msg, message)));
        }
    };
    if param(&params, "format").unwrap_or("xml") != "json" {
        return rest_reply(
            &method,
            Err((
                111,
                "Format not found",
                "the sandbox speaks format=json only".into(),
            )),
        );
    }
    let logged_in = received.token().is_some();
    let result = match method.as_str() {
        "vimeo.test.echo" => {
            let echoed: Map<String, Value> = params
                .iter()
                .filter(|(n, _)| !n.starts_with("oauth_") && n != "method" && n != "format")
                .map(|(n, v)| (n.clone(), json!(v)))
                .collect();
            Ok(echoed)
        }
        "vimeo.test.null" => Ok(Map::new()),
        _ if !logged_in => Err((
            98,
            "Login failed / Invalid auth token",
            "this method needs an access token".into(),
        )),
        "vimeo.test.login" => Ok(object(json!({
            "user": {"id": USER_ID.to_string(), "username": "sandbox"}
        }))),
        "vimeo.videos.upload.getQuota" => {
            let used = super::videos::used_space(state);
            Ok(object(json!({"user": {
                "id": USER_ID.to_string(),
                "upload_space": {
                    "free": state.config.upload_space.saturating_sub(used).to_string(),
                    "max": state.config.upload_space.to_string(),
                    "used": used.to_string(),
                }
            }})))
        }
        "vimeo.videos.getUploaded" => {
            let videos: Vec<Value> = lock(&state.videos)
                .values()
                .filter(|v| v.owner == USER_ID)
                .map(|v| json!({"id": v.id.to_string(), "title": v.name}))
                .collect();
            Ok(object(json!({"videos": {
                "on_this_page": videos.len().to_string(),
                "video": videos,
            }})))
        }
        "" => Err((
            307,
            "Missing required parameter",
            "method is required".into(),
        )),
        other => Err((112, "Method not found", format!("no method `{other}`"))),
    };
    rest_reply(&method, result)
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}
