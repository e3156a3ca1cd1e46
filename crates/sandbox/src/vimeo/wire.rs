//! Small wire helpers for the API server: forms, Basic auth, JSON replies,
//! Vimeo-shaped errors, `fields` filtering and dates.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use http_body_util::Full;
use serde_json::{Map, Value, json};

pub(crate) type Reply = Response<Full<Bytes>>;

/// Decodes `application/x-www-form-urlencoded` (also a query string).
pub(crate) fn parse_form(input: &[u8]) -> Vec<(String, String)> {
    input
        .split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let mut parts = pair.splitn(2, |&b| b == b'=');
            let name = decode_component(parts.next().unwrap_or_default());
            let value = decode_component(parts.next().unwrap_or_default());
            (name, value)
        })
        .collect()
}

fn decode_component(raw: &[u8]) -> String {
    let spaced: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_encoding::percent_decode(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// The first value of `name`.
pub(crate) fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Form-encodes pairs (for OAuth 1.0a token answers and redirects).
pub(crate) fn encode_form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(n, v)| {
            format!(
                "{}={}",
                oauth1::percent_encode(n),
                oauth1::percent_encode(v)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// `Authorization: Basic` → (user, password).
pub(crate) fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// `Authorization: Bearer` → token (scheme case-insensitive).
pub(crate) fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

pub(crate) fn reply(status: u16, content_type: &str, body: impl Into<Bytes>) -> Reply {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(value) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert("content-type", value);
    }
    response
}

pub(crate) fn reply_json(status: u16, media: &str, value: &Value) -> Reply {
    let body = serde_json::to_vec(value).unwrap_or_default();
    reply(status, &format!("application/vnd.vimeo.{media}+json"), body)
}

pub(crate) fn no_content() -> Reply {
    reply(204, "text/plain", Bytes::new())
}

/// A Vimeo API error body (`error`, `link`, `developer_message`, `error_code`).
pub(crate) fn api_error(status: u16, code: u32, message: &str, developer: &str) -> Reply {
    api_error_with(status, code, message, developer, None)
}

pub(crate) fn api_error_with(
    status: u16,
    code: u32,
    message: &str,
    developer: &str,
    invalid: Option<Value>,
) -> Reply {
    let mut body = json!({
        "error": message,
        "link": null,
        "developer_message": developer,
        "error_code": code,
    });
    if let (Some(invalid), Some(object)) = (invalid, body.as_object_mut()) {
        object.insert("invalid_parameters".into(), invalid);
    }
    reply_json(status, "error", &body)
}

/// The OAuth-style error of the token endpoints.
pub(crate) fn oauth_error(status: u16, error: &str, description: &str) -> Reply {
    let body = json!({"error": error, "error_description": description});
    reply(
        status,
        "application/json",
        serde_json::to_vec(&body).unwrap_or_default(),
    )
}

/// Keeps only the dotted `fields` of `value` (Vimeo's `?fields=` filter),
/// nested as in the full object; list envelopes filter each item of `data`.
pub(crate) fn filter_fields(value: &Value, fields: &str) -> Value {
    let paths: Vec<Vec<&str>> = fields
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(|f| f.split('.').collect())
        .collect();
    if paths.is_empty() {
        return value.clone();
    }
    let mut out = Map::new();
    for path in &paths {
        copy_path(value, path, &mut out);
    }
    Value::Object(out)
}

fn copy_path(value: &Value, path: &[&str], out: &mut Map<String, Value>) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let Some(inner) = value.get(*first) else {
        return;
    };
    if rest.is_empty() {
        out.insert((*first).to_owned(), inner.clone());
        return;
    }
    if let Value::Object(_) = inner {
        let slot = out
            .entry((*first).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(map) = slot {
            copy_path(inner, rest, map);
        }
    }
}

pub(crate) fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// ISO-8601 UTC with an explicit offset, as Vimeo writes dates:
/// `2016-08-12T10:00:00+00:00`.
pub(crate) fn iso8601(at: SystemTime) -> String {
    let seconds = unix_seconds(at);
    let days = (seconds / 86_400) as i64;
    let rest = seconds % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}+00:00",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

/// 16 random bytes as hex: ids, tokens, codes.
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut random = vec![0u8; bytes];
    let _ = getrandom::fill(&mut random);
    random.iter().map(|b| format!("{b:02x}")).collect()
}

/// `reply` with the JSON value at `pointer` replaced by `value` (a lying
/// answer for fault injection); non-JSON answers are left alone.
pub(crate) async fn rewrite_json(reply: Reply, pointer: &str, value: Value) -> Reply {
    use http_body_util::BodyExt as _;
    let (parts, body) = reply.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mut json: Value = match serde_json::from_slice(&bytes) {
        Ok(json) => json,
        Err(_) => return Response::from_parts(parts, Full::new(bytes)),
    };
    if let Some(slot) = json.pointer_mut(pointer) {
        *slot = value;
    }
    let mut parts = parts;
    parts.headers.remove(http::header::CONTENT_LENGTH);
    Response::from_parts(parts, Full::new(Bytes::from(json.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_plus_and_percent() {
        let pairs = parse_form(b"a=1+2&b=%7E%20x&c&=v");
        assert_eq!(
            pairs,
            vec![
                ("a".into(), "1 2".into()),
                ("b".into(), "~ x".into()),
                ("c".into(), "".into()),
                ("".into(), "v".into())
            ]
        );
    }

    #[test]
    fn fields_keep_nested_paths() {
        let video = json!({"uri": "/videos/1", "name": "n", "upload": {"status": "complete", "upload_link": "x"}});
        assert_eq!(
            filter_fields(&video, "uri,upload.status"),
            json!({"uri": "/videos/1", "upload": {"status": "complete"}})
        );
        assert_eq!(filter_fields(&video, "missing"), json!({}));
    }

    #[test]
    fn dates_are_iso8601() {
        let at = UNIX_EPOCH + std::time::Duration::from_secs(1_470_996_000);
        assert_eq!(iso8601(at), "2016-08-12T10:00:00+00:00");
        assert_eq!(iso8601(UNIX_EPOCH), "1970-01-01T00:00:00+00:00");
        let leap = UNIX_EPOCH + std::time::Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(iso8601(leap), "2000-02-29T00:00:00+00:00");
    }
}
