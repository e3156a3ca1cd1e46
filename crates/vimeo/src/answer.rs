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

/// Longest excerpt of a non-JSON body, in characters shown (then `…`).
pub(crate) const EXCERPT: usize = 300;

/// How much of a non-JSON body is cleaned for its excerpt: far more than
/// [`EXCERPT`], so a secret that starts within what is shown is whole in it
/// and redacted (a body cut before cleaning showed the start of a secret
/// that crossed the cut).
const EXCERPT_WINDOW: usize = 64 << 10;

/// Longest text taken from a field of a JSON error body, in characters
/// (then `…`): a server's message, however long, stays a message.
pub(crate) const FIELD: usize = 1_000;

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
            .map(|t| clean_field(t, secrets))
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
            field: p.field.map(|t| clean_field(&t, secrets)),
            error_code: p.error_code,
            error: p.error.map(|t| clean_field(&t, secrets)),
            developer_message: p.developer_message.map(|t| clean_field(&t, secrets)),
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

/// A JSON error field, cleaned, at most [`FIELD`] characters.
fn clean_field(text: &str, secrets: &[&str]) -> String {
    let (mut cleaned, cut) = cut_to(clean(text, secrets), FIELD);
    if cut {
        cleaned.push('…');
    }
    cleaned
}

/// The start of a non-JSON body as it may be shown: cleaned (within
/// [`EXCERPT_WINDOW`]), then cut to [`EXCERPT`] characters, so redaction
/// (`be` → `[redacted]`) cannot make it longer either.
fn excerpt(body: &[u8], secrets: &[&str]) -> String {
    let window = &body[..body.len().min(EXCERPT_WINDOW)];
    let mut cleaned = clean(&String::from_utf8_lossy(window), secrets);
    let mut cut = false;
    if window.len() < body.len() {
        // A secret crossing the window's end was not recognised: what could
        // be its start goes (secrets hold no white space, so cleaning moved
        // none of it from the end).
        let longest = secrets.iter().map(|s| s.chars().count()).max().unwrap_or(0);
        let keep = cleaned.chars().count().saturating_sub(longest);
        cleaned = cut_to(cleaned, keep).0;
        cut = true;
    }
    let (mut shown, shortened) = cut_to(cleaned, EXCERPT);
    if cut || shortened {
        shown.push('…');
    }
    shown
}

/// `text` cut to its first `chars` characters; whether anything was cut.
fn cut_to(mut text: String, chars: usize) -> (String, bool) {
    match text.char_indices().nth(chars) {
        Some((at, _)) => {
            text.truncate(at);
            (text, true)
        }
        None => (text, false),
    }
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

    fn excerpt_of(body: &[u8]) -> String {
        let response = RawResponse {
            status: 502,
            headers: HeaderMap::new(),
            body: Bytes::copy_from_slice(body),
        };
        match api_error(&Method::GET, "/me", response, None, &["tok-123456789"]) {
            Error::Api(api) => api.body_excerpt,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_excerpt_stays_bounded_when_redaction_lengthens_it() {
        // Found by the vimeo_json fuzz target: each "bearer xx" became
        // "bearer [redacted]", and the excerpt outgrew its bound.
        let body = "mustbearer be ".repeat(60);
        let excerpt = excerpt_of(body.as_bytes());
        assert_eq!(excerpt.chars().count(), EXCERPT + 1, "{excerpt}");
        assert!(excerpt.ends_with('…'));
        // (The fuzzer's input is kept in fuzz/corpus/vimeo_json/, replayed by
        // every fuzz run.)
    }

    #[test]
    fn a_secret_across_the_excerpts_end_is_not_shown_in_part() {
        // The secret starts at byte 295: cut before cleaning, its first five
        // bytes were shown.
        let body = format!("{}tok-123456789 and more", "x".repeat(295));
        let excerpt = excerpt_of(body.as_bytes());
        assert!(!excerpt.contains("tok-1"), "{excerpt}");
        // And across the end of the window that is cleaned, after white
        // space that cleaning collapses.
        let body = format!("a{}tok-123456789", " ".repeat(EXCERPT_WINDOW - 6));
        let excerpt = excerpt_of(body.as_bytes());
        assert!(!excerpt.contains("tok"), "{excerpt:?}");
        assert!(excerpt.ends_with('…'));
    }

    #[test]
    fn json_fields_are_bounded_too() {
        let long = "x".repeat(5 * FIELD);
        let api = error_of(&format!(
            r#"{{"error":"{long}","developer_message":"short"}}"#
        ));
        let error = api.error.unwrap();
        assert_eq!(error.chars().count(), FIELD + 1);
        assert!(error.ends_with('…'));
        assert_eq!(api.developer_message.as_deref(), Some("short"));
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
