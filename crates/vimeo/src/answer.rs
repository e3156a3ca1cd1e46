//! Error answers made fit for people: the typed [`ApiError`] of a non-2xx
//! answer, with server text stripped of control characters (ANSI escapes, BEL)
//! and every secret the client knows — and anything after `Bearer ` —
//! replaced by `[redacted]`, whatever the server echoes back.

use http::Method;

use crate::error::{ApiError, Error, InvalidParameter};
use crate::http::RawResponse;
use crate::rate_limit::RateLimit;

/// What replaces a secret in server text.
const REDACTED: &str = "[redacted]";

/// Longest excerpt of a non-JSON body, in bytes read.
const EXCERPT: usize = 300;

/// Server text as it may be shown: control characters become spaces, runs of
/// whitespace one space, `secrets` (non-empty ones) and bearer credentials
/// `[redacted]`.
pub(crate) fn clean(text: &str, secrets: &[&str]) -> String {
    let visible: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut cleaned = visible.split_whitespace().collect::<Vec<_>>().join(" ");
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        cleaned = cleaned.replace(secret, REDACTED);
    }
    redact_bearer(&cleaned)
}

/// `Bearer <credential>` → `Bearer [redacted]` (any case).
/// A credential already redacted by name stays as it is.
fn redact_bearer(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    let mut search = 0;
    while let Some(found) = lower[search..].find("bearer ") {
        let start = search + found + "bearer ".len();
        // RFC 7235 token68: the characters a bearer credential is made of.
        let end = text[start..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || "-._~+/=".contains(c)))
            .map_or(text.len(), |n| start + n);
        out.push_str(&text[rest..start]);
        if end > start && &text[start..end] != REDACTED {
            out.push_str(REDACTED);
        } else {
            out.push_str(&text[start..end]);
        }
        rest = end;
        search = end.max(start);
    }
    out.push_str(&text[rest..]);
    out
}

/// The typed error of a non-2xx answer; parses Vimeo's error body and the
/// OAuth shape defensively. `secrets` are the credentials this request
/// carried: they never reach the error's text.
pub(crate) fn api_error(
    method: &Method,
    path: &str,
    response: RawResponse,
    rate_limit: Option<RateLimit>,
    secrets: &[&str],
) -> Error {
    let json: Option<serde_json::Value> = serde_json::from_slice(&response.body).ok();
    let text = |name: &str| {
        json.as_ref()
            .and_then(|j| j.get(name))
            .and_then(|v| v.as_str())
            .map(|t| clean(t, secrets))
    };
    let error_code = json
        .as_ref()
        .and_then(|j| j.get("error_code"))
        .and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        });
    let invalid_parameters: Vec<InvalidParameter> = json
        .as_ref()
        .and_then(|j| j.get("invalid_parameters"))
        .and_then(|v| serde_json::from_value::<Vec<InvalidParameter>>(v.clone()).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|p| InvalidParameter {
            field: p.field.map(|t| clean(&t, secrets)),
            error_code: p.error_code,
            error: p.error.map(|t| clean(&t, secrets)),
            developer_message: p.developer_message.map(|t| clean(&t, secrets)),
        })
        .collect();
    Error::Api(Box::new(ApiError {
        status: response.status,
        method: method.to_string(),
        path: path.to_owned(),
        error_code,
        error: text("error"),
        developer_message: text("developer_message").or_else(|| text("error_description")),
        link: text("link"),
        invalid_parameters,
        rate_limit,
        body_excerpt: if json.is_some() {
            String::new()
        } else {
            excerpt(&response.body, secrets)
        },
    }))
}

fn excerpt(body: &[u8], secrets: &[&str]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(EXCERPT)]);
    let mut cleaned = clean(&text, secrets);
    if body.len() > EXCERPT {
        cleaned.push('…');
    }
    cleaned
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http::HeaderMap;

    use super::*;

    fn error_of(body: &str) -> ApiError {
        let response = RawResponse {
            status: 401,
            headers: HeaderMap::new(),
            body: Bytes::from(body.to_owned()),
        };
        match api_error(&Method::GET, "/me", response, None, &["tok-123"]) {
            Error::Api(api) => *api,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn echoed_credentials_and_control_characters_never_reach_the_text() {
        let api = error_of(
            r#"{"error":"bad token tok-123\u001b[2J\u0007","developer_message":"Authorization: Bearer tok-123 was refused","invalid_parameters":[{"field":"x","error":"tok-123"}]}"#,
        );
        let shown = format!("{api} {api:?}");
        assert!(!shown.contains("tok-123"), "{shown}");
        assert!(
            !shown.contains('\u{1b}') && !shown.contains('\u{7}'),
            "{shown}"
        );
        assert_eq!(api.error.as_deref(), Some("bad token [redacted] [2J"));
        let page = error_of("<html>\u{1b}]0;pwned\u{7}Bearer other-secret</html>");
        assert_eq!(
            page.body_excerpt,
            "<html> ]0;pwned Bearer [redacted]</html>"
        );
    }

    #[test]
    fn bearer_redaction_keeps_the_rest() {
        assert_eq!(
            redact_bearer("BEARER a, bearer b"),
            "BEARER [redacted], bearer [redacted]"
        );
        assert_eq!(redact_bearer("no credentials"), "no credentials");
        assert_eq!(redact_bearer("ends with bearer "), "ends with bearer ");
    }
}
