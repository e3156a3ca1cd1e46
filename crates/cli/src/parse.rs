//! Value parsers for clap: every argument is checked when it is parsed, so a
//! usage error exits 2 before any request.

use std::time::Duration;

/// A byte size: `4096`, `128MiB`, `1.5 GB`.
pub fn size(text: &str) -> Result<u64, String> {
    crate::size::parse(text)
}

/// A chunk size: more than 0 and at most [`tus::MAX_CHUNK_SIZE`] (a stream
/// from stdin is held to [`tus::MAX_STREAM_CHUNK_SIZE`] after parsing).
///
/// ```
/// assert_eq!(cli::parse::chunk_size("8MiB"), Ok(8 << 20));
/// assert!(cli::parse::chunk_size("0").is_err());
/// assert!(cli::parse::chunk_size("65GiB").is_err());
/// ```
pub fn chunk_size(text: &str) -> Result<u64, String> {
    let bytes = size(text)?;
    if bytes == 0 || bytes > tus::MAX_CHUNK_SIZE {
        return Err(format!(
            "must be between 1 byte and {}",
            crate::size::human(tus::MAX_CHUNK_SIZE)
        ));
    }
    Ok(bytes)
}

/// A duration: `30s`, `400ms`, `2m`, `1.5`.
pub fn duration(text: &str) -> Result<Duration, String> {
    crate::size::parse_duration(text)
}

/// An `http://` or `https://` URL with a host.
///
/// ```
/// assert!(cli::parse::http_url("https://tus.example.com/files/").is_ok());
/// assert!(cli::parse::http_url("ftp://example.com/").is_err());
/// assert!(cli::parse::http_url("not a url").is_err());
/// ```
pub fn http_url(text: &str) -> Result<String, String> {
    let uri: http::Uri = text
        .parse()
        .map_err(|_| "not a URL (expected http://… or https://…)".to_owned())?;
    match uri.scheme_str() {
        Some("http" | "https") if uri.host().is_some_and(|h| !h.is_empty()) => Ok(text.to_owned()),
        Some("http" | "https") => Err("the URL has no host".into()),
        _ => Err("only http:// and https:// URLs are supported".into()),
    }
}

/// `Name: value`, both valid in HTTP.
///
/// ```
/// assert_eq!(
///     cli::parse::header("Authorization: Bearer x"),
///     Ok(("Authorization".to_owned(), "Bearer x".to_owned()))
/// );
/// assert!(cli::parse::header("no colon").is_err());
/// assert!(cli::parse::header("Bad Name: x").is_err());
/// ```
pub fn header(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| "expected `Name: value`".to_owned())?;
    let (name, value) = (name.trim(), value.trim());
    http::HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("{name:?} is not a valid header name"))?;
    http::HeaderValue::from_str(value).map_err(|_| "the value is not a valid header value")?;
    Ok((name.to_owned(), value.to_owned()))
}

/// `key=value` for `Upload-Metadata`: the key is non-empty ASCII without
/// spaces or commas (tus 1.0).
///
/// ```
/// assert_eq!(cli::parse::metadata("title=A b"), Ok(("title".into(), "A b".into())));
/// assert!(cli::parse::metadata("bad key=x").is_err());
/// assert!(cli::parse::metadata("novalue").is_err());
/// ```
pub fn metadata(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| "expected key=value".to_owned())?;
    // The tus crate's own rule, checked now rather than at upload time.
    tus::encode_metadata(&[(key.to_owned(), Vec::new())])
        .map_err(|_| format!("{key:?} is not a valid metadata key (ASCII, no spaces or commas)"))?;
    Ok((key.to_owned(), value.to_owned()))
}

/// A shared resume store: `redis://host:port/db`.
///
/// ```
/// assert!(cli::parse::resume_store("redis://127.0.0.1:6379/0").is_ok());
/// assert!(cli::parse::resume_store("http://127.0.0.1/").is_err());
/// ```
pub fn resume_store(text: &str) -> Result<String, String> {
    let uri: http::Uri = text
        .parse()
        .map_err(|_| "not a URL (expected redis://host:port/db)".to_owned())?;
    if uri.scheme_str() != Some("redis") || uri.host().is_none_or(str::is_empty) {
        return Err("expected redis://host:port/db".into());
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_parser_refuses_what_it_cannot_use() {
        assert!(http_url("https://").is_err());
        assert!(http_url("http://h/files/?a=1").is_ok());
        assert!(header("X-A: \u{1}").is_err());
        assert!(metadata("=x").is_err());
        assert!(metadata("ké=x").is_err());
        assert!(metadata("a,b=x").is_err());
        assert!(chunk_size("lots").is_err());
        assert_eq!(chunk_size("1"), Ok(1));
        assert!(resume_store("redis://").is_err());
        assert!(duration("soon").is_err());
    }
}
