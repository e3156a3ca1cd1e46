//! The API request cache's rules, as plain values: which requests are
//! cached, for how long, under which key (OAuth protocol parameters and
//! tokens never enter a key; the credential's identity does). The storage
//! is any `cache::Cache`; what OAuth is stays here, not in the cache crate.

use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use cache::{Key, Namespace};

/// Query parameters that never enter a key: OAuth 1.0a protocol parameters
/// (nonce, timestamp, signature, token...) and bearer tokens. The credential is
/// represented by [`credential_identity`] instead.
fn is_excluded_param(name: &str) -> bool {
    name.starts_with("oauth_") || name == "access_token"
}

/// A stable, non-reversible identity for a credential: SHA-256 (hex) of the
/// consumer key and token. Two users never share cached responses; the token
/// itself never appears in a key.
pub(crate) fn credential_identity(consumer_key: Option<&str>, token: Option<&str>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"credential-v1\0");
    hasher.update(consumer_key.unwrap_or("").as_bytes());
    hasher.update([0u8]);
    hasher.update(token.unwrap_or("").as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The key for a request: method, URL without query, the query and extra
/// parameters sorted (OAuth protocol parameters and tokens left out), and the
/// credential identity.
pub(crate) fn request_key(
    namespace: &Namespace,
    method: &str,
    url: &str,
    params: &[(&str, &str)],
    credential: &str,
) -> Key {
    let url = url.split('#').next().unwrap_or(url);
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let base = match base.split_once("://") {
        Some((scheme, rest)) => {
            let (host, path) = rest.split_once('/').map_or((rest, ""), |(h, p)| (h, p));
            format!(
                "{}://{}/{}",
                scheme.to_ascii_lowercase(),
                host.to_ascii_lowercase(),
                path
            )
        }
        None => base.to_owned(),
    };
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (name.to_owned(), value.to_owned())
        })
        .chain(
            params
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
        )
        .filter(|(name, _)| !is_excluded_param(name))
        .collect();
    pairs.sort();
    let mut raw = format!("{}\n{base}\n", method.to_ascii_uppercase());
    for (name, value) in pairs {
        raw.push_str(&name);
        raw.push('=');
        raw.push_str(&value);
        raw.push('&');
    }
    raw.push('\n');
    raw.push_str(credential);
    namespace.key(raw)
}

/// A path pattern: `*` matches within one segment, `**` any number of segments.
fn glob_matches(pattern: &str, path: &str) -> bool {
    fn matches(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) if p.get(1) == Some(&b'*') => {
                (0..=s.len()).any(|i| matches(&p[2..], &s[i..]))
            }
            (Some(b'*'), _) => {
                let segment_end = s.iter().position(|&c| c == b'/').unwrap_or(s.len());
                (0..=segment_end).any(|i| matches(&p[1..], &s[i..]))
            }
            (Some(a), Some(b)) if a == b => matches(&p[1..], &s[1..]),
            _ => false,
        }
    }
    matches(pattern.as_bytes(), path.as_bytes())
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Rule {
    Ttl(String, Duration),
    Never(String),
}

/// Which responses are stored and for how long.
///
/// Only successful (2xx) responses to GET and HEAD are stored; errors never
/// are. Path rules are checked in the order added and the first match wins;
/// otherwise the default TTL applies. With stale-if-error, an entry is kept
/// that much longer after it goes stale and may be served when the origin fails.
///
/// ```
/// use std::time::Duration;
/// let policy = vimeo::CachePolicy::new(Duration::from_secs(60))
///     .never("/uploads/**")
///     .ttl_for("/videos/*", Duration::from_secs(5));
/// assert_eq!(policy.ttl("GET", "/videos/42", 200), Some(Duration::from_secs(5)));
/// assert_eq!(policy.ttl("GET", "/uploads/1/status", 200), None);
/// assert_eq!(policy.ttl("GET", "/me", 500), None);
/// assert_eq!(policy.ttl("POST", "/me", 200), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachePolicy {
    default_ttl: Duration,
    rules: Vec<Rule>,
    stale_if_error: Option<Duration>,
}

impl CachePolicy {
    /// Caches successful GET/HEAD responses for `default_ttl`.
    pub fn new(default_ttl: Duration) -> Self {
        CachePolicy {
            default_ttl,
            rules: Vec::new(),
            stale_if_error: None,
        }
    }

    /// Paths matching `pattern` are cached for `ttl`.
    pub fn ttl_for(mut self, pattern: &str, ttl: Duration) -> Self {
        self.rules.push(Rule::Ttl(pattern.to_owned(), ttl));
        self
    }

    /// Paths matching `pattern` are never cached (e.g. upload-status polls).
    pub fn never(mut self, pattern: &str) -> Self {
        self.rules.push(Rule::Never(pattern.to_owned()));
        self
    }

    /// Keeps entries `window` past freshness, to serve when the origin fails.
    pub fn stale_if_error(mut self, window: Duration) -> Self {
        self.stale_if_error = Some(window);
        self
    }

    /// The stale-if-error window, if any.
    pub fn stale_window(&self) -> Option<Duration> {
        self.stale_if_error
    }

    /// Whether a request may be answered from the cache at all.
    pub fn is_cacheable_request(&self, method: &str, path: &str) -> bool {
        let method = method.to_ascii_uppercase();
        (method == "GET" || method == "HEAD") && self.rule_ttl(path).is_some()
    }

    /// How long to keep a response, or `None` when it must not be stored.
    pub fn ttl(&self, method: &str, path: &str, status: u16) -> Option<Duration> {
        if !(200..300).contains(&status) || !self.is_cacheable_request(method, path) {
            return None;
        }
        self.rule_ttl(path).filter(|ttl| !ttl.is_zero())
    }

    fn rule_ttl(&self, path: &str) -> Option<Duration> {
        for rule in &self.rules {
            match rule {
                Rule::Ttl(pattern, ttl) if glob_matches(pattern, path) => return Some(*ttl),
                Rule::Never(pattern) if glob_matches(pattern, path) => return None,
                _ => {}
            }
        }
        Some(self.default_ttl)
    }
}

/// A stored response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub(crate) struct CachedResponse {
    /// The HTTP status.
    pub(crate) status: u16,
    /// Headers worth keeping (content type, rate-limit snapshot...).
    pub(crate) headers: Vec<(String, String)>,
    /// When it stops being fresh, ms since the Unix epoch.
    pub(crate) fresh_until_ms: u64,
    /// The body.
    #[serde(skip)]
    pub(crate) body: Bytes,
}

/// Whether a cached response may be used as is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum Freshness {
    /// Within its TTL.
    Fresh,
    /// Past its TTL but within the stale-if-error window: use only if the origin fails.
    Stale,
}

impl CachedResponse {
    /// A response stored at `now_ms` for `ttl`.
    pub(crate) fn new(
        status: u16,
        headers: Vec<(String, String)>,
        body: Bytes,
        now_ms: u64,
        ttl: Duration,
    ) -> Self {
        CachedResponse {
            status,
            headers,
            body,
            fresh_until_ms: now_ms.saturating_add(ttl.as_millis() as u64),
        }
    }

    /// Fresh or stale at `now_ms`.
    pub(crate) fn freshness(&self, now_ms: u64) -> Freshness {
        if now_ms < self.fresh_until_ms {
            Freshness::Fresh
        } else {
            Freshness::Stale
        }
    }

    /// Encodes as `u32 BE header length | JSON header | body`.
    pub(crate) fn encode(&self) -> Bytes {
        let header = serde_json::to_vec(self).unwrap_or_default();
        let mut out = Vec::with_capacity(4 + header.len() + self.body.len());
        out.extend_from_slice(&(header.len() as u32).to_be_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(&self.body);
        out.into()
    }

    /// Decodes; `None` for anything malformed (never panics).
    pub(crate) fn decode(bytes: &Bytes) -> Option<CachedResponse> {
        let len = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
        let header = bytes.get(4..4usize.checked_add(len)?)?;
        let mut response: CachedResponse = serde_json::from_slice(header).ok()?;
        response.body = bytes.slice(4 + len..);
        Some(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let check = |p: &str, s: &str, expected: bool| {
            assert_eq!(glob_matches(p, s), expected, "{p} vs {s}")
        };
        check("/videos/*", "/videos/42", true);
        check("/videos/*", "/videos/42/comments", false);
        check("/videos/**", "/videos/42/comments", true);
        check("/videos/*/comments", "/videos/42/comments", true);
        check("/me", "/me", true);
        check("/me", "/me/videos", false);
        check("**/status", "/uploads/1/status", true);
        check("/a*c", "/abc", true);
        check("/a*c", "/a/c", false);
    }

    #[test]
    fn only_successful_get_and_head_are_stored() {
        let policy = CachePolicy::new(Duration::from_secs(10));
        for status in [200, 203, 204, 299] {
            assert_eq!(
                policy.ttl("GET", "/x", status),
                Some(Duration::from_secs(10))
            );
        }
        for status in [100, 301, 304, 400, 401, 404, 429, 500, 503] {
            assert_eq!(policy.ttl("GET", "/x", status), None, "{status}");
        }
        assert!(policy.ttl("head", "/x", 200).is_some());
        for method in ["POST", "PUT", "PATCH", "DELETE"] {
            assert_eq!(policy.ttl(method, "/x", 200), None);
        }
        assert_eq!(
            CachePolicy::new(Duration::ZERO).ttl("GET", "/x", 200),
            None,
            "a zero TTL stores nothing"
        );
    }

    #[test]
    fn first_matching_rule_wins() {
        let policy = CachePolicy::new(Duration::from_secs(60))
            .ttl_for("/videos/1", Duration::from_secs(1))
            .never("/videos/**")
            .ttl_for("/videos/*", Duration::from_secs(5));
        assert_eq!(
            policy.ttl("GET", "/videos/1", 200),
            Some(Duration::from_secs(1))
        );
        assert_eq!(policy.ttl("GET", "/videos/2", 200), None);
        assert_eq!(
            policy.ttl("GET", "/users/2", 200),
            Some(Duration::from_secs(60))
        );
        assert!(!policy.is_cacheable_request("GET", "/videos/2"));
    }

    #[test]
    fn keys_ignore_oauth_noise_and_order_but_not_identity_or_values() {
        let ns = Namespace::new("http").unwrap();
        let alice = credential_identity(Some("ck"), Some("alice"));
        let bob = credential_identity(Some("ck"), Some("bob"));
        let key = |method, url: &str, who: &str| request_key(&ns, method, url, &[], who);
        let base = key("GET", "https://api.example.com/v?x=1&y=2", &alice);
        assert_eq!(
            base,
            key(
                "GET",
                "https://api.example.com/v?y=2&x=1&oauth_nonce=1&oauth_timestamp=2&oauth_signature=s&oauth_token=t",
                &alice
            )
        );
        assert_eq!(
            base,
            key(
                "GET",
                "https://api.example.com/v?x=1&y=2&access_token=SECRET",
                &alice
            )
        );
        assert_eq!(
            base,
            request_key(
                &ns,
                "GET",
                "https://api.example.com/v?x=1",
                &[("y", "2")],
                &alice
            )
        );
        assert_ne!(
            base,
            key("GET", "https://api.example.com/v?x=1&y=3", &alice)
        );
        assert_ne!(
            base,
            key("HEAD", "https://api.example.com/v?x=1&y=2", &alice)
        );
        assert_ne!(
            base,
            key("GET", "https://api.example.com/w?x=1&y=2", &alice)
        );
        assert_ne!(base, key("GET", "https://api.example.com/v?x=1&y=2", &bob));
        assert_eq!(
            base,
            key("GET", "HTTPS://API.EXAMPLE.COM/v?x=1&y=2#frag", &alice)
        );
        assert_ne!(
            base,
            key("GET", "https://api.example.com/V?x=1&y=2", &alice),
            "paths are case-sensitive"
        );
    }

    #[test]
    fn responses_round_trip_and_know_their_freshness() {
        let response = CachedResponse::new(
            200,
            vec![("content-type".into(), "application/json".into())],
            Bytes::from_static(b"{}"),
            1_000,
            Duration::from_secs(2),
        );
        let decoded = CachedResponse::decode(&response.encode()).unwrap();
        assert_eq!(decoded, response);
        assert_eq!(decoded.freshness(2_999), Freshness::Fresh);
        assert_eq!(decoded.freshness(3_000), Freshness::Stale);
        for bad in [
            &b""[..],
            b"\x00\x00\x00\x10{}",
            b"\xff\xff\xff\xff",
            b"\x00\x00\x00\x02no",
        ] {
            assert_eq!(CachedResponse::decode(&Bytes::copy_from_slice(bad)), None);
        }
    }
}
