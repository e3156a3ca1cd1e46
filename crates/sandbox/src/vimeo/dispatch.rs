//! One API request through the sandbox: read it, apply the fault plan and
//! the rate limit, route it (videos, OAuth, legacy), stamp rate headers.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{HeaderValue, Method, Request};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use super::wire::{self, Reply, api_error};
use super::{ApiRequest, State, auth, legacy, lock, videos};
use crate::Fault;

/// A request with its body read (API bodies are small).
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) headers: http::HeaderMap,
    pub(crate) body: Bytes,
    /// The `Host` the client addressed and the request target (`/path?query`):
    /// the parts of the URL an OAuth 1.0a base string is made from.
    pub(crate) host: String,
    pub(crate) target: String,
}

impl Call {
    pub(crate) fn query_params(&self) -> Vec<(String, String)> {
        wire::parse_form(self.query.as_bytes())
    }

    pub(crate) fn is_form(&self) -> bool {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim()
                    .to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            })
    }

    pub(crate) fn is_json(&self) -> bool {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                let v = v.to_ascii_lowercase();
                v.starts_with("application/json") || v.contains("+json")
            })
    }

    /// Form body parameters, or a JSON object's scalar members as strings.
    pub(crate) fn body_params(&self) -> Vec<(String, String)> {
        if self.is_form() {
            return wire::parse_form(&self.body);
        }
        if self.is_json()
            && let Ok(serde_json::Value::Object(map)) =
                serde_json::from_slice::<serde_json::Value>(&self.body)
        {
            return map
                .into_iter()
                .filter_map(|(k, v)| match v {
                    serde_json::Value::String(s) => Some((k, s)),
                    serde_json::Value::Number(n) => Some((k, n.to_string())),
                    _ => None,
                })
                .collect();
        }
        Vec::new()
    }

    pub(crate) fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

pub(super) async fn handle(
    state: Arc<State>,
    request: Request<hyper::body::Incoming>,
) -> Result<Reply, std::convert::Infallible> {
    let (parts, body) = request.into_parts();
    let host = parts
        .headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| state.api_addr.to_string(), str::to_owned);
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_owned();
    let mut entry = ApiRequest {
        method: parts.method.clone(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        authorization: header_text(&parts.headers, "authorization"),
        proxy_authorization: header_text(&parts.headers, "proxy-authorization"),
        accept: header_text(&parts.headers, "accept"),
        user_agent: header_text(&parts.headers, "user-agent"),
        status: 0,
    };
    let response = match read_body(body).await {
        Err(response) => response,
        Ok(body) => {
            let request = Call {
                method: parts.method,
                path: parts.uri.path().to_owned(),
                query: parts.uri.query().unwrap_or("").to_owned(),
                headers: parts.headers,
                body,
                host,
                target: path_and_query,
            };
            respond(&state, request).await
        }
    };
    entry.status = response.status().as_u16();
    lock(&state.log).push(entry);
    Ok(response)
}

fn header_text(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn read_body(body: Incoming) -> Result<Bytes, Reply> {
    match Limited::new(body, 1 << 20).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(_) => Err(api_error(
            400,
            2205,
            "The request body is too large or was cut.",
            "Request bodies are limited to 1 MiB.",
        )),
    }
}

async fn respond(state: &State, request: Call) -> Reply {
    match state.faults.on_request(&request.method) {
        Some(Fault::RewriteJson { pointer, value }) => {
            let reply = respond_with(state, request, None).await;
            wire::rewrite_json(reply, &pointer, value).await
        }
        fault => respond_with(state, request, fault).await,
    }
}

async fn respond_with(state: &State, request: Call, fault: Option<Fault>) -> Reply {
    let mut injected_limit = None;
    match fault {
        Some(Fault::Status {
            status,
            retry_after,
        }) => {
            let mut response = api_error(
                status,
                if status == 429 { 9000 } else { 0 },
                "Injected fault.",
                "The sandbox's fault plan answered this request.",
            );
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert("retry-after", HeaderValue::from(seconds));
            }
            if status == 429 {
                injected_limit = retry_after.or(Some(1));
            }
            return with_rate_headers(state, response, injected_limit);
        }
        Some(Fault::Raw {
            status,
            content_type,
            body,
        }) => return wire::reply(status, &content_type, body),
        Some(Fault::Redirect { status, location }) => {
            let mut response = wire::reply(status, "text/plain", String::new());
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.headers_mut().insert("location", value);
            }
            return response;
        }
        Some(Fault::Stall(duration)) => tokio::time::sleep(duration).await,
        _ => {}
    }
    if let Some(rest) = request.path.strip_prefix("/legacy/") {
        let rest = rest.to_owned();
        return legacy::route(state, &rest, &request);
    }
    if request.path.starts_with("/oauth/") {
        return auth::route(state, &request).await;
    }
    if let Some(reply) = over_rate_limit(state) {
        return reply;
    }
    let response = videos::route(state, &request).await;
    with_rate_headers(state, response, injected_limit)
}

/// Counts a request against the window; `Some(429)` once the window is used up.
fn over_rate_limit(state: &State) -> Option<Reply> {
    {
        let mut window = lock(&state.rate);
        if window.started.elapsed() >= state.config.rate_window {
            window.started = Instant::now();
            window.started_wall = SystemTime::now();
            window.used = 0;
        }
        window.used = window.used.saturating_add(1);
        if window.used <= state.config.rate_limit {
            return None;
        }
    }
    let response = api_error(
        429,
        9000,
        "You have made too many API requests. Please wait and try again.",
        "The rate limit of this window is used up; see X-RateLimit-Reset.",
    );
    Some(with_rate_headers(state, response, None))
}

fn with_rate_headers(state: &State, mut response: Reply, injected: Option<u64>) -> Reply {
    let (remaining, reset) = {
        let window = lock(&state.rate);
        let reset = window.started_wall + state.config.rate_window;
        match injected {
            Some(seconds) => (0, SystemTime::now() + Duration::from_secs(seconds)),
            None => (state.config.rate_limit.saturating_sub(window.used), reset),
        }
    };
    let reset_text = if state.config.reset_as_epoch {
        wire::unix_seconds(reset).to_string()
    } else {
        wire::iso8601(reset)
    };
    let headers = response.headers_mut();
    headers.insert(
        "x-ratelimit-limit",
        HeaderValue::from(state.config.rate_limit),
    );
    headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    if let Ok(value) = HeaderValue::from_str(&reset_text) {
        headers.insert("x-ratelimit-reset", value);
    }
    response
}
