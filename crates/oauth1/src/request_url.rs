//! Splitting a request URL into the RFC 5849 §3.4.1.2 base string URI and its query.

use std::borrow::Cow;

use crate::encoding::{HIGHS, graphic_lanes, lanes_equal, load_padded, percent_encode_bytes};
use crate::error::Error;

/// A request URL taken apart for signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestUrl<'a> {
    /// `scheme://host[:port]/path`: lower-case scheme and host, default port dropped,
    /// no query and no fragment. Borrowed when it already is in that form
    /// (the usual case).
    pub(crate) base_uri: BaseUri<'a>,
    /// The raw query component, without the `?`, if there is one.
    pub(crate) query: Option<&'a str>,
}

/// The base string URI (§3.4.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BaseUri<'a> {
    /// In one text.
    Whole(Cow<'a, str>),
    /// Parts already in that form (lower case, no port), joined by `://`
    /// only when written: nothing is copied to join them.
    Split {
        scheme: &'a str,
        host: &'a str,
        path: &'a str,
    },
}

impl BaseUri<'_> {
    /// Its length in bytes.
    pub(crate) fn len(&self) -> usize {
        match self {
            BaseUri::Whole(text) => text.len(),
            BaseUri::Split { scheme, host, path } => scheme.len() + 3 + host.len() + path.len(),
        }
    }

    /// Appends it percent-encoded (the base string's second element).
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            BaseUri::Whole(text) => percent_encode_bytes(out, text.as_bytes()),
            BaseUri::Split { scheme, host, path } => {
                percent_encode_bytes(out, scheme.as_bytes());
                out.extend_from_slice(b"%3A%2F%2F");
                percent_encode_bytes(out, host.as_bytes());
                percent_encode_bytes(out, path.as_bytes());
            }
        }
    }
}

/// The text, for tests to compare (the base string is written by
/// [`BaseUri::encode_into`]).
#[cfg(test)]
impl std::fmt::Display for BaseUri<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BaseUri::Whole(text) => f.write_str(text),
            BaseUri::Split { scheme, host, path } => write!(f, "{scheme}://{host}{path}"),
        }
    }
}

/// Parses an absolute URL. The URL must already be percent-encoded: spaces,
/// control characters and non-ASCII bytes are refused rather than guessed at,
/// because the server signs what it sees on the wire.
pub(crate) fn parse(url: &str) -> Result<RequestUrl<'_>, Error> {
    let invalid = |reason: &'static str| Error::InvalidUrl { reason };
    let (fragment, question) = scan(url)?;
    let url = &url[..fragment.unwrap_or(url.len())];
    let bytes = url.as_bytes();
    // The first `://`: almost always at the first `:` (a few bytes in).
    let first_colon =
        (bytes.iter().position(|&b| b == b':')).filter(|&at| bytes[at..].starts_with(b"://"));
    let scheme_end = first_colon
        .or_else(|| url.find("://"))
        .ok_or(invalid("it has no scheme (expected scheme://host/...)"))?;
    let scheme = &url[..scheme_end];
    let rest_at = scheme_end + 3;
    // The query starts at the first `?` (a valid scheme holds none, so it
    // is past `://`, and before any fragment); the authority ends at the
    // first `/` or `?` (a few bytes: looked at one by one).
    let query_at = question.filter(|&at| at >= rest_at && at < url.len());
    let before_query = &bytes[rest_at..query_at.unwrap_or(url.len())];
    let slash = before_query.iter().position(|&b| b == b'/');
    let authority_end = slash.map(|at| rest_at + at).or(query_at);
    let authority_end = authority_end.unwrap_or(url.len());
    let authority = &url[rest_at..authority_end];
    let (path, query) = match query_at {
        Some(at) => (&url[authority_end..at], Some(&url[at + 1..])),
        None => (&url[authority_end..], None),
    };
    // Userinfo is not part of the base string URI.
    let at_sign = authority.bytes().rposition(|b| b == b'@');
    let host_port = at_sign.map_or(authority, |at| &authority[at + 1..]);
    let parts = Parts {
        scheme,
        host_port,
        path,
        query,
    };
    // Borrowed when the URL's start already is the base string URI: no
    // userinfo before the host.
    let start = (host_port.len() == authority.len()).then_some(url);
    parts.base_uri(start)
}

/// [`parse`] for a URL given as parts, as a server has them: the scheme,
/// the `Host` header (`host[:port]`) and the request target (`/path?query`,
/// origin form). The same result as parsing `scheme://host_port` + `target`,
/// without building that URL.
pub(crate) fn from_parts<'a>(
    scheme: &'a str,
    host_port: &'a str,
    target: &'a str,
) -> Result<RequestUrl<'a>, Error> {
    let invalid = |reason: &'static str| Error::InvalidUrl { reason };
    // Printable ASCII, and none of the delimiters that end a host in a URL.
    scan(host_port)?;
    if host_port.contains(['/', '?', '#', '@']) {
        return Err(invalid(
            "its host is not host[:port] (no userinfo, path, query or fragment)",
        ));
    }
    if !target.starts_with('/') {
        return Err(invalid("its request target does not start with '/'"));
    }
    let (fragment, question) = scan(target)?;
    let target = &target[..fragment.unwrap_or(target.len())];
    let (path, query) = match question.filter(|&at| at < target.len()) {
        Some(at) => (&target[..at], Some(&target[at + 1..])),
        None => (target, None),
    };
    let parts = Parts {
        scheme,
        host_port,
        path,
        query,
    };
    parts.base_uri(None)
}

/// Checks that every byte of `text` is printable ASCII and finds the first
/// `#` and the first `?`: one pass, eight bytes at a time (byte positions of
/// ASCII delimiters, so slices there are on char boundaries).
fn scan(text: &str) -> Result<(Option<usize>, Option<usize>), Error> {
    let (mut fragment, mut question) = (None, None);
    for (index, chunk) in text.as_bytes().chunks(8).enumerate() {
        let word = load_padded(chunk);
        let real = u64::MAX >> (8 * (8 - chunk.len()));
        if !graphic_lanes(word) & real & HIGHS != 0 {
            return Err(Error::InvalidUrl {
                reason: "it contains a space, control or non-ASCII character; percent-encode it first",
            });
        }
        let first = |byte: u8| {
            let lanes = lanes_equal(word, byte) & real;
            (lanes != 0).then(|| index * 8 + lanes.trailing_zeros() as usize / 8)
        };
        fragment = fragment.or_else(|| first(b'#'));
        question = question.or_else(|| first(b'?'));
    }
    Ok((fragment, question))
}

/// A URL taken apart, before its base string URI is settled.
struct Parts<'a> {
    scheme: &'a str,
    /// The authority without userinfo.
    host_port: &'a str,
    path: &'a str,
    query: Option<&'a str>,
}

impl<'a> Parts<'a> {
    /// The base string URI (§3.4.1.2) and the query. `start`: the URL these
    /// parts were taken from in order (`scheme://host_port/path...`), to
    /// borrow the base string URI from when it already is in that form.
    fn base_uri(self, start: Option<&'a str>) -> Result<RequestUrl<'a>, Error> {
        let invalid = |reason: &'static str| Error::InvalidUrl { reason };
        let Parts {
            scheme,
            host_port,
            path,
            query,
        } = self;
        if !is_valid_scheme(scheme) {
            return Err(invalid("its scheme is not a valid URI scheme"));
        }
        let (host, port) = split_host_port(host_port)?;
        if host.is_empty() {
            return Err(invalid("it has no host"));
        }
        let default_port = if scheme.eq_ignore_ascii_case("http") {
            Some(80)
        } else if scheme.eq_ignore_ascii_case("https") {
            Some(443)
        } else {
            None
        };
        let has_upper = |text: &str| text.bytes().any(|b| b.is_ascii_uppercase());
        // No port (not even an empty one), a path: the base string URI is
        // the URL's start, if scheme and host are lower case.
        let as_is = host.len() == host_port.len()
            && !path.is_empty()
            && !has_upper(scheme)
            && !has_upper(host);
        if as_is {
            let base_uri = match start {
                // `scheme://host/path` exactly as the URL spells it.
                Some(url) => BaseUri::Whole(Cow::Borrowed(
                    &url[..scheme.len() + 3 + host.len() + path.len()],
                )),
                None => BaseUri::Split { scheme, host, path },
            };
            return Ok(RequestUrl { base_uri, query });
        }
        // Written in one buffer, lower-casing scheme and host on the way.
        let mut base_uri =
            String::with_capacity(scheme.len() + 3 + host_port.len() + path.len() + 1);
        base_uri.push_str(scheme);
        base_uri.push_str("://");
        base_uri.push_str(host);
        base_uri.make_ascii_lowercase();
        if let Some(port) = port.filter(|port| Some(*port) != default_port) {
            use std::fmt::Write as _;
            let _ = write!(base_uri, ":{port}");
        }
        base_uri.push_str(if path.is_empty() { "/" } else { path });
        Ok(RequestUrl {
            base_uri: BaseUri::Whole(Cow::Owned(base_uri)),
            query,
        })
    }
}

fn is_valid_scheme(scheme: &str) -> bool {
    let mut bytes = scheme.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

fn split_host_port(host_port: &str) -> Result<(&str, Option<u16>), Error> {
    let (host, port) = if host_port.starts_with('[') {
        let end = host_port.find(']').ok_or(Error::InvalidUrl {
            reason: "its IPv6 host has no closing ']'",
        })?;
        let (host, after) = host_port.split_at(end + 1);
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => {
                    return Err(Error::InvalidUrl {
                        reason: "unexpected characters after its IPv6 host",
                    });
                }
            },
        }
    } else {
        match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    let port = match port {
        // RFC 3986 allows an empty port; it means the scheme's default.
        None | Some("") => None,
        Some(digits) => Some(parse_port(digits)?),
    };
    Ok((host, port))
}

fn parse_port(digits: &str) -> Result<u16, Error> {
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::InvalidUrl {
            reason: "its port is not a number",
        });
    }
    digits.parse().map_err(|_| Error::InvalidUrl {
        reason: "its port is out of range",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(url: &str) -> String {
        parse(url).unwrap().base_uri.to_string()
    }

    #[test]
    fn a_url_already_in_base_form_is_borrowed_not_copied() {
        let url = parse("https://api.vimeo.com/me/videos?page=2#f").unwrap();
        assert!(matches!(
            url.base_uri,
            BaseUri::Whole(Cow::Borrowed("https://api.vimeo.com/me/videos"))
        ));
        for needs_a_copy in [
            "https://API.vimeo.com/x",
            "HTTPS://api.vimeo.com/x",
            "https://api.vimeo.com:443/x",
            "https://api.vimeo.com:/x",
            "https://api.vimeo.com?q",
        ] {
            assert!(
                matches!(
                    parse(needs_a_copy).unwrap().base_uri,
                    BaseUri::Whole(Cow::Owned(_))
                ),
                "{needs_a_copy}"
            );
        }
        // Userinfo left out: the rest is borrowed in pieces.
        assert_eq!(
            parse("https://u@api.vimeo.com/x").unwrap().base_uri,
            BaseUri::Split {
                scheme: "https",
                host: "api.vimeo.com",
                path: "/x"
            }
        );
    }

    #[test]
    fn rfc_5849_3_4_1_2_examples() {
        assert_eq!(
            base("HTTP://EXAMPLE.COM:80/r%20v/X?id=123"),
            "http://example.com/r%20v/X"
        );
        assert_eq!(
            base("https://www.example.net:8080/?q=1"),
            "https://www.example.net:8080/"
        );
    }

    #[test]
    fn drops_only_default_ports() {
        assert_eq!(base("https://a.example:443/x"), "https://a.example/x");
        assert_eq!(base("http://a.example:443/x"), "http://a.example:443/x");
        assert_eq!(base("https://a.example:80/x"), "https://a.example:80/x");
        assert_eq!(base("http://a.example:8080"), "http://a.example:8080/");
        assert_eq!(base("http://a.example:/x"), "http://a.example/x");
        assert_eq!(base("http://a.example:0080/x"), "http://a.example/x");
        assert_eq!(base("ftp://a.example:21/x"), "ftp://a.example:21/x");
    }

    #[test]
    fn keeps_path_case_and_encoding_but_lowercases_scheme_and_host() {
        assert_eq!(
            base("HtTpS://API.Vimeo.COM/Me/Videos%2f"),
            "https://api.vimeo.com/Me/Videos%2f"
        );
    }

    #[test]
    fn separates_query_and_drops_fragment_and_userinfo() {
        let url = parse("http://user:pw@h.example/p?a=1&b=2#frag?x").unwrap();
        assert_eq!(url.base_uri.to_string(), "http://h.example/p");
        assert_eq!(url.query, Some("a=1&b=2"));
        assert_eq!(
            parse("http://h.example?q").unwrap().base_uri.to_string(),
            "http://h.example/"
        );
        assert_eq!(parse("http://h.example/").unwrap().query, None);
        assert_eq!(parse("http://h.example/?").unwrap().query, Some(""));
        // Only the first `://` ends the scheme; one in the fragment is not looked at.
        let url = parse("http://h.example/p?next=http://x#y://z").unwrap();
        assert_eq!(
            (url.base_uri.to_string().as_str(), url.query),
            ("http://h.example/p", Some("next=http://x"))
        );
        assert!(matches!(parse("a:b://h/"), Err(Error::InvalidUrl { .. })));
        assert!(matches!(parse("h/p#://x"), Err(Error::InvalidUrl { .. })));
    }

    #[test]
    fn the_scan_reads_every_byte_in_every_position_as_one_at_a_time_would() {
        // Lengths across whole words and short tails; every ASCII byte and
        // a non-ASCII character in each position.
        for len in 1..=40 {
            for at in 0..len {
                for byte in (0u8..0x80).map(char::from).chain(['é']) {
                    let mut text: Vec<char> = vec!['a'; len];
                    text[at] = byte;
                    let text: String = text.into_iter().collect();
                    let expected = match byte.is_ascii_graphic() {
                        true => Ok((text.find('#'), text.find('?'))),
                        false => Err(()),
                    };
                    assert_eq!(scan(&text).map_err(drop), expected, "{text:?}");
                }
            }
        }
    }

    #[test]
    fn ipv6_hosts() {
        assert_eq!(base("http://[::1]:80/x"), "http://[::1]/x");
        assert_eq!(base("http://[::1]:8080/x"), "http://[::1]:8080/x");
        assert_eq!(base("http://[FE80::1]/"), "http://[fe80::1]/");
    }

    #[test]
    fn rejects_malformed_urls_with_a_reason() {
        for bad in [
            "",
            "example.com/x",
            "://h/x",
            "1http://h/",
            "http:///path",
            "http://h:99999/",
            "http://h:8a/",
            "http://[::1/",
            "http://[::1]x/",
            "http://h/a b",
            "http://h/caf\u{e9}",
            "http://h/\n",
        ] {
            assert!(
                matches!(parse(bad), Err(Error::InvalidUrl { .. })),
                "{bad:?} should be rejected"
            );
        }
    }
}
