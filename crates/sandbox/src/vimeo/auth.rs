//! OAuth 2 endpoints: client credentials, the authorization-code flow (the
//! sandbox approves at once, as if the user clicked "Allow"), and the exchange
//! of a legacy OAuth 1.0a token for a v3 token.

use http::HeaderValue;
use serde_json::json;

use super::wire::{self, Reply, oauth_error, param, reply_json};
use super::{ALL_SCOPES, Call, Grant, State, USER_ID, lock};

/// An authorization code waiting to be exchanged.
#[derive(Debug, Clone)]
pub(crate) struct CodeGrant {
    redirect_uri: String,
    scope: String,
}

pub(crate) fn issue_token(state: &State, user: Option<u64>, scope: &str) -> String {
    let token = format!("sbx-tok-{}", wire::random_hex(16));
    lock(&state.tokens).insert(
        token.clone(),
        Grant {
            user,
            scope: scope.to_owned(),
        },
    );
    token
}

pub(crate) async fn route(state: &State, call: &Call) -> Reply {
    match (call.method.as_str(), call.path.as_str()) {
        ("GET", "/oauth/authorize") => authorize(state, call),
        ("POST", "/oauth/authorize/client") => client_credentials(state, call),
        ("POST", "/oauth/access_token") => exchange_code(state, call),
        ("POST", "/oauth/authorize/vimeo_oauth1") => convert_oauth1(state, call),
        _ => wire::api_error(
            404,
            5000,
            "The requested page couldn't be found.",
            "No such OAuth endpoint.",
        ),
    }
}

/// The app's Basic credentials, or the OAuth error to answer.
fn authenticate_app(state: &State, call: &Call) -> Result<(), Reply> {
    match wire::basic_auth(&call.headers) {
        Some((id, secret))
            if id == state.credentials.client_id
                && oauth1::__constant_time_eq(
                    secret.as_bytes(),
                    state.credentials.client_secret.as_bytes(),
                ) =>
        {
            Ok(())
        }
        Some(_) => Err(wire::api_error(
            401,
            8001,
            "Invalid client secret.",
            "The client id or secret in the Basic authorization header is wrong.",
        )),
        None => Err(oauth_error(
            401,
            "invalid_client",
            "HTTP Basic authentication with the client id and secret is required.",
        )),
    }
}

fn token_answer(token: &str, scope: &str, with_user: bool) -> Reply {
    let mut body = json!({
        "access_token": token,
        "token_type": "bearer",
        "scope": scope,
        "app": {"name": "Sandbox app", "uri": "/apps/1"},
    });
    if with_user && let Some(object) = body.as_object_mut() {
        object.insert("user".into(), super::videos::user_json(USER_ID));
    }
    reply_json(200, "auth", &body)
}

fn requested_scope(params: &[(String, String)]) -> Result<String, Reply> {
    let scope = param(params, "scope").unwrap_or("public").trim();
    let known: Vec<&str> = ALL_SCOPES.split(' ').collect();
    if let Some(unknown) = scope.split(' ').find(|s| !known.contains(s)) {
        return Err(oauth_error(
            400,
            "invalid_scope",
            &format!("unknown scope `{unknown}`"),
        ));
    }
    Ok(scope.to_owned())
}

fn client_credentials(state: &State, call: &Call) -> Reply {
    if let Err(reply) = authenticate_app(state, call) {
        return reply;
    }
    let params = call.body_params();
    if param(&params, "grant_type") != Some("client_credentials") {
        return oauth_error(
            400,
            "unsupported_grant_type",
            "grant_type must be client_credentials",
        );
    }
    let scope = match requested_scope(&params) {
        Ok(scope) => scope,
        Err(reply) => return reply,
    };
    let token = issue_token(state, None, &scope);
    token_answer(&token, &scope, false)
}

/// `GET /oauth/authorize?response_type=code&client_id&redirect_uri&scope&state`,
/// or a legacy OAuth 1.0a authorization when `oauth_token` is given.
fn authorize(state: &State, call: &Call) -> Reply {
    let params = call.query_params();
    if param(&params, "response_type") != Some("code") {
        return oauth_error(
            400,
            "unsupported_response_type",
            "response_type must be code",
        );
    }
    if param(&params, "client_id") != Some(state.credentials.client_id.as_str()) {
        return oauth_error(400, "invalid_client", "unknown client_id");
    }
    let Some(redirect_uri) = param(&params, "redirect_uri") else {
        return oauth_error(400, "invalid_request", "redirect_uri is required");
    };
    let scope = match requested_scope(&params) {
        Ok(scope) => scope,
        Err(reply) => return reply,
    };
    let code = format!("sbx-code-{}", wire::random_hex(12));
    lock(&state.codes).insert(
        code.clone(),
        CodeGrant {
            redirect_uri: redirect_uri.to_owned(),
            scope,
        },
    );
    let mut query = vec![("code", code.as_str())];
    if let Some(client_state) = param(&params, "state") {
        query.push(("state", client_state));
    }
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    let location = format!("{redirect_uri}{separator}{}", wire::encode_form(&query));
    let mut response = wire::reply(302, "text/plain", "approved; redirecting");
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert("location", value);
    }
    response
}

fn exchange_code(state: &State, call: &Call) -> Reply {
    if let Err(reply) = authenticate_app(state, call) {
        return reply;
    }
    let params = call.body_params();
    if param(&params, "grant_type") != Some("authorization_code") {
        return oauth_error(
            400,
            "unsupported_grant_type",
            "grant_type must be authorization_code",
        );
    }
    let code = param(&params, "code").unwrap_or_default();
    // A code is good for one attempt, right or wrong.
    let Some(grant) = lock(&state.codes).remove(code) else {
        return oauth_error(400, "invalid_grant", "the code is unknown, used or expired");
    };
    if param(&params, "redirect_uri") != Some(grant.redirect_uri.as_str()) {
        return oauth_error(
            400,
            "invalid_grant",
            "redirect_uri differs from the one of the authorization request",
        );
    }
    let token = issue_token(state, Some(USER_ID), &grant.scope);
    token_answer(&token, &grant.scope, true)
}

fn convert_oauth1(state: &State, call: &Call) -> Reply {
    if let Err(reply) = authenticate_app(state, call) {
        return reply;
    }
    let params = call.body_params();
    if param(&params, "grant_type") != Some("vimeo_oauth1") {
        return oauth_error(
            400,
            "unsupported_grant_type",
            "grant_type must be vimeo_oauth1",
        );
    }
    let token = param(&params, "token").unwrap_or_default();
    let secret = param(&params, "token_secret").unwrap_or_default();
    if !super::legacy::is_access_token(state, token, secret) {
        return oauth_error(400, "invalid_grant", "unknown OAuth 1.0a token or secret");
    }
    let token = issue_token(state, Some(USER_ID), ALL_SCOPES);
    token_answer(&token, ALL_SCOPES, true)
}
