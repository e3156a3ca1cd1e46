//! The `Authorization: OAuth ...` header (RFC 5849 §3.5.1): writing and strict parsing.

use std::borrow::Cow;

use crate::encoding::{lanes_equal, load_padded, percent_encode_bytes, reserved_lanes};
use crate::error::Error;
use crate::sent::{SentPair, SentText};

/// Writes `OAuth realm="...", name="value", ...`; names and values are encoded.
pub(crate) fn format<'a>(
    realm: Option<&str>,
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let mut out: Vec<u8> = Vec::with_capacity(256);
    out.extend_from_slice(b"OAuth ");
    let mut params = params.into_iter();
    if let Some(realm) = realm {
        // A quoted-string (RFC 7235): quotes and backslashes are escaped.
        out.extend_from_slice(b"realm=\"");
        for &byte in realm.as_bytes() {
            if byte == b'"' || byte == b'\\' {
                out.push(b'\\');
            }
            out.push(byte);
        }
        out.push(b'"');
    } else if let Some((name, value)) = params.next() {
        write_param(&mut out, name, value);
    }
    for (name, value) in params {
        push_param(&mut out, name, value);
    }
    // The realm is UTF-8 and everything else ASCII.
    String::from_utf8(out).unwrap_or_default()
}

/// Appends `, name="value"` (both encoded).
pub(crate) fn push_param(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(b", ");
    write_param(out, name, value);
}

/// Appends `, name="value"` for a protocol parameter, whose name (`oauth_…`)
/// needs no encoding.
pub(crate) fn push_protocol_param(out: &mut Vec<u8>, name: &'static str, value: &str) {
    debug_assert!(crate::encoding::is_unreserved_text(name.as_bytes()));
    out.extend_from_slice(b", ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"=\"");
    percent_encode_bytes(out, value.as_bytes());
    out.push(b'"');
}

fn write_param(out: &mut Vec<u8>, name: &str, value: &str) {
    percent_encode_bytes(out, name.as_bytes());
    out.extend_from_slice(b"=\"");
    percent_encode_bytes(out, value.as_bytes());
    out.push(b'"');
}

/// An `Authorization: OAuth …` header as received, parsed but not verified:
/// a server reads the consumer key (to look up its secret or key), the
/// token, the realm or any extension parameter from it before verifying with
/// [`crate::ReceivedRequest`]. `Debug` shows the parameter names only.
///
/// ```
/// let header = oauth1::AuthorizationHeader::parse(
///     r#"OAuth realm="Photos \"2\"", oauth_consumer_key="dpf43f3p2l4k3l03", oauth_nonce="a%20b""#,
/// )?;
/// assert_eq!(header.realm(), Some(r#"Photos "2""#));
/// assert_eq!(header.get("oauth_consumer_key"), Some("dpf43f3p2l4k3l03"));
/// assert_eq!(header.get("oauth_nonce"), Some("a b"));
/// # Ok::<(), oauth1::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct AuthorizationHeader {
    realm: Option<String>,
    params: Vec<(String, String)>,
}

impl AuthorizationHeader {
    /// Parses a header value whose scheme is `OAuth` (any case); values are
    /// percent-decoded, the realm's quoted-pairs undone. Strict: see the
    /// errors of [`crate::Error::MalformedHeader`].
    pub fn parse(value: &str) -> Result<Self, Error> {
        let parsed = parse(value)?;
        let text = |text: &SentText<'_>| {
            text.decoded_str("Authorization header (not UTF-8)")
                .map(Cow::into_owned)
        };
        let mut params = Vec::with_capacity(parsed.params.len());
        for pair in &parsed.params {
            params.push((text(&pair.name)?, text(&pair.value)?));
        }
        Ok(AuthorizationHeader {
            realm: parsed.realm.map(Cow::into_owned),
            params,
        })
    }

    /// The realm, if any (never signed).
    pub fn realm(&self) -> Option<&str> {
        self.realm.as_deref()
    }

    /// A parameter's decoded value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every parameter but the realm, decoded, in header order.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }
}

impl std::fmt::Debug for AuthorizationHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.params.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("AuthorizationHeader")
            .field("realm", &self.realm)
            .field("params", &names)
            .finish()
    }
}

/// A parsed OAuth header: the realm (not signed) and the other parameters as
/// sent, borrowing from the header (unless a quoted-pair had to be undone).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ParsedHeader<'a> {
    pub(crate) realm: Option<Cow<'a, str>>,
    pub(crate) params: Vec<SentPair<'a>>,
}

/// Parses an `Authorization` header value whose scheme is `OAuth` (any case).
///
/// Strict: every value must be a double-quoted string (RFC 7235: `\"` and
/// `\\` escapes are undone), parameters are separated by commas, and no name
/// may repeat.
pub(crate) fn parse(value: &str) -> Result<ParsedHeader<'_>, Error> {
    let mut params: Vec<SentPair<'_>> = Vec::with_capacity(10);
    let realm = for_each_param(value, |name, value| {
        if params.iter().any(|seen| seen.name.decodes_like(name)) {
            return Err(Error::DuplicateParameter {
                name: String::from_utf8_lossy(&name.decoded()).into_owned(),
            });
        }
        params.push(SentPair {
            name: name.clone(),
            value,
        });
        Ok(())
    })?;
    Ok(ParsedHeader { realm, params })
}

/// [`parse`] as a visit: every parameter but the realm goes to `visit` as
/// sent, in order (a repeated name is `visit`'s to refuse); returns the realm.
/// A verifier takes each parameter where it belongs as it comes, without
/// collecting them first.
pub(crate) fn for_each_param<'a>(
    value: &'a str,
    mut visit: impl FnMut(&SentText<'a>, SentText<'a>) -> Result<(), Error>,
) -> Result<Option<Cow<'a, str>>, Error> {
    let malformed = |reason: &'static str| Error::MalformedHeader { reason };
    let value = value.trim_matches(is_space);
    let scheme_end = find_byte(value, |b| is_space(char::from(b))).unwrap_or(value.len());
    let (scheme, rest) = value.split_at(scheme_end);
    if !scheme.eq_ignore_ascii_case("OAuth") {
        return Err(malformed("the scheme is not OAuth"));
    }
    let mut realm = None;
    // Byte positions in `rest`: every delimiter is ASCII, so each is a
    // char boundary.
    let bytes = rest.as_bytes();
    let skip_space = |mut at: usize| {
        while bytes.get(at).is_some_and(|&b| is_space(char::from(b))) {
            at += 1;
        }
        at
    };
    let mut at = 0;
    loop {
        at = skip_space(at);
        if at == bytes.len() {
            break;
        }
        let name_scan = find_name_end(&bytes[at..]);
        let name_end = at
            + name_scan
                .end
                .ok_or_else(|| malformed("a parameter has no value"))?;
        if name_end == at {
            return Err(malformed("a parameter has no name"));
        }
        let name = &rest[at..name_end];
        let equals = skip_space(name_end);
        if bytes.get(equals) != Some(&b'=') {
            return Err(malformed("a parameter has no value"));
        }
        let quote = skip_space(equals + 1);
        if bytes.get(quote) != Some(&b'"') {
            return Err(malformed("a value is not in double quotes"));
        }
        let value_scan = find_quote_end(&bytes[quote + 1..]);
        let value_end = quote
            + 1
            + value_scan
                .end
                .ok_or_else(|| malformed("a quoted value is not closed"))?;
        let (raw_value, value_clean, after_value) = if bytes[value_end] == b'"' {
            let text = Cow::Borrowed(&rest[quote + 1..value_end]);
            (text, value_scan.clean, value_end + 1)
        } else {
            // A quoted-pair: undone into a copy (OAuth values never hold
            // one), which is scanned like any text that is not clean.
            let (value, after) = undo_quoted_pairs(&rest[quote + 1..])
                .ok_or_else(|| malformed("a quoted value is not closed"))?;
            (Cow::Owned(value), false, rest.len() - after.len())
        };
        at = skip_space(after_value);
        match bytes.get(at) {
            None => {}
            Some(b',') => at += 1,
            Some(_) => return Err(malformed("parameters are not separated by commas")),
        }

        let name = if name_scan.clean {
            SentText::unreserved(name)
        } else {
            SentText::scan(Cow::Borrowed(name), false, CONTEXT)?
        };
        if name.with_decoded(|name| name == b"realm") {
            if realm.is_some() {
                return Err(Error::DuplicateParameter {
                    name: "realm".to_owned(),
                });
            }
            // A plain quoted-string, not percent-encoded (RFC 5849 §3.5.1).
            realm = Some(raw_value);
            continue;
        }
        let value = match raw_value {
            Cow::Borrowed(text) if value_clean => SentText::unreserved(text),
            text => SentText::scan(text, false, CONTEXT)?,
        };
        // The name by reference: it was built a while ago, in pieces, and
        // a copy of it read back whole stalled on every parameter.
        visit(&name, value)?;
    }
    Ok(realm)
}

/// What a malformed escape in a header is reported as.
const CONTEXT: &str = "Authorization header";

/// The position of the first byte of `text` that `matches`.
fn find_byte(text: &str, matches: impl Fn(u8) -> bool) -> Option<usize> {
    text.bytes().position(matches)
}

/// The content of a quoted-string that holds a quoted-pair, its opening
/// quote already consumed, with the quoted-pairs undone, and what follows the
/// closing quote; `None` if it is not closed.
fn undo_quoted_pairs(quoted: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = quoted.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((value, &quoted[i + 1..])),
            '\\' => value.push(chars.next()?.1),
            c => value.push(c),
        }
    }
    None
}

/// What a scan for the end of a name or value found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Scanned {
    /// Where the first stop byte is.
    end: Option<usize>,
    /// Whether every byte before it is unreserved, so the text is already
    /// in the form RFC 5849 encoding gives it.
    clean: bool,
}

/// What ends a quoted value: its closing quote, or a quoted-pair.
const VALUE_STOPS: &[u8] = b"\"\\";

/// What ends a parameter name: `=`, `,` or white space.
const NAME_STOPS: &[u8] = b"=, \t\r\n";

/// The first `"` or `\\` in `bytes` (the values are most of a header).
#[inline(always)]
fn find_quote_end(bytes: &[u8]) -> Scanned {
    scan(bytes, VALUE_STOPS)
}

/// The first byte that ends a parameter name.
#[inline(always)]
fn find_name_end(bytes: &[u8]) -> Scanned {
    scan(bytes, NAME_STOPS)
}

/// The first of the `stops` bytes, and whether every byte before it is
/// unreserved, eight bytes at a time. Every stop byte is reserved, so the
/// first reserved byte settles it when it is a stop (clean text, the usual
/// case: only the reserved lanes are computed); from any other, the stops
/// are looked for alone.
#[inline(always)]
fn scan(bytes: &[u8], stops: &[u8]) -> Scanned {
    // The first reserved byte, as `encoding::reserved_bytes(..).next()`
    // would find it: written out, because that iterator's state cost about
    // 320 instructions per request here (callgrind), where only one is wanted.
    let mut from = bytes.len();
    for (index, chunk) in bytes.chunks(8).enumerate() {
        let real = u64::MAX >> (8 * (8 - chunk.len()));
        let reserved = reserved_lanes(load_padded(chunk)) & real;
        if reserved != 0 {
            let at = index * 8 + reserved.trailing_zeros() as usize / 8;
            if stops.contains(&bytes[at]) {
                return Scanned {
                    end: Some(at),
                    clean: true,
                };
            }
            from = at;
            break;
        }
    }
    let stop_lanes = |word| {
        stops
            .iter()
            .fold(0, |lanes, &stop| lanes | lanes_equal(word, stop))
    };
    for (index, chunk) in bytes[from..].chunks(8).enumerate() {
        // Exact lanes: the zero padding never matches a stop.
        let stop = stop_lanes(load_padded(chunk));
        if stop != 0 {
            return Scanned {
                end: Some(from + index * 8 + stop.trailing_zeros() as usize / 8),
                clean: false,
            };
        }
    }
    Scanned {
        end: None,
        clean: false,
    }
}

const fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(name: &str, value: &str) -> (Vec<u8>, Vec<u8>) {
        (name.as_bytes().to_vec(), value.as_bytes().to_vec())
    }

    /// The parameters, decoded.
    fn decoded(parsed: &ParsedHeader<'_>) -> Vec<(Vec<u8>, Vec<u8>)> {
        let params = parsed.params.iter();
        params
            .map(|p| {
                (
                    p.name.decoded().into_owned(),
                    p.value.decoded().into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn formats_realm_raw_and_params_encoded() {
        let header = format(
            Some("Photos"),
            [("oauth_callback", "http://p.example/ready")],
        );
        assert_eq!(
            header,
            "OAuth realm=\"Photos\", oauth_callback=\"http%3A%2F%2Fp.example%2Fready\""
        );
        assert_eq!(format(None, [("a", "b c")]), "OAuth a=\"b%20c\"");
    }

    #[test]
    fn parses_the_rfc_5849_example_with_line_breaks() {
        let header = "OAuth realm=\"Example\",\n    oauth_consumer_key=\"9djdj82h48djs9d2\",\n    \
                      oauth_token=\"kkk9d7dh3k39sjv7\",\n    oauth_signature=\"bYT5CMsGcbgUdFHObYMEfcx6bsw%3D\"";
        let parsed = parse(header).unwrap();
        assert_eq!(parsed.realm.as_deref(), Some("Example"));
        assert_eq!(
            decoded(&parsed),
            vec![
                pair("oauth_consumer_key", "9djdj82h48djs9d2"),
                pair("oauth_token", "kkk9d7dh3k39sjv7"),
                pair("oauth_signature", "bYT5CMsGcbgUdFHObYMEfcx6bsw="),
            ]
        );
    }

    #[test]
    fn accepts_any_scheme_case_spacing_and_an_empty_list() {
        assert_eq!(parse("oauth a=\"1\" ,b = \"2\",").unwrap().params.len(), 2);
        assert_eq!(parse("OAuth").unwrap(), ParsedHeader::default());
        assert_eq!(parse("  OAUTH   ").unwrap(), ParsedHeader::default());
    }

    #[test]
    fn round_trips_what_it_formats() {
        let params = [
            ("oauth_nonce".to_owned(), "a b+c/é\"".to_owned()),
            ("oauth_token".to_owned(), String::new()),
        ];
        let header = format(
            Some("r"),
            params.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        );
        let parsed = parse(&header).unwrap();
        assert_eq!(parsed.realm.as_deref(), Some("r"));
        assert_eq!(
            decoded(&parsed),
            vec![pair("oauth_nonce", "a b+c/é\""), pair("oauth_token", "")]
        );
    }

    #[test]
    fn rejects_malformed_headers_with_a_reason() {
        for bad in [
            "Bearer abc",
            "OAuthx a=\"1\"",
            "OAuth a",
            "OAuth a=1",
            "OAuth a=\"1",
            "OAuth =\"1\"",
            "OAuth a=\"1\" b=\"2\"",
            "OAuth a=\"x\\\"",
            "OAuth a=\"%zz\"",
            "",
        ] {
            assert!(
                matches!(
                    parse(bad),
                    Err(Error::MalformedHeader { .. } | Error::InvalidPercentEncoding { .. })
                ),
                "{bad:?} should be rejected, got {:?}",
                parse(bad)
            );
        }
    }

    #[test]
    fn the_word_scans_find_what_a_byte_scan_finds() {
        let naive = |bytes: &[u8], stops: &[u8]| {
            let end = bytes.iter().position(|b| stops.contains(b));
            let before = &bytes[..end.unwrap_or(bytes.len())];
            Scanned {
                end,
                clean: end.is_some() && crate::encoding::is_unreserved_text(before),
            }
        };
        // Every placement of a stop byte and a percent sign in values
        // around the eight-byte word size, with non-ASCII filler.
        for len in 0..20 {
            for (stop, percent) in (0..=len).flat_map(|s| (0..=len).map(move |p| (s, p))) {
                for stop_byte in [b'"', b'\\', b'=', b',', b' ', b'\t', b'\r', b'\n'] {
                    // Clean filler, and filler with a reserved or non-ASCII byte.
                    let filler: &[u8] = if len % 2 == 0 {
                        b"aZ0-._~9"
                    } else {
                        b"a\xC3\xA9!bcde"
                    };
                    let mut bytes: Vec<u8> = (0..len).map(|i| filler[i % filler.len()]).collect();
                    if percent < len {
                        bytes[percent] = b'%';
                    }
                    if stop < len {
                        bytes[stop] = stop_byte;
                    }
                    assert_eq!(find_quote_end(&bytes), naive(&bytes, b"\"\\"), "{bytes:?}");
                    assert_eq!(
                        find_name_end(&bytes),
                        naive(&bytes, b"=, \t\r\n"),
                        "{bytes:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn realms_with_quotes_and_backslashes_round_trip() {
        for realm in [r#"say "hi""#, r"C:\dir", r#"\""#, ""] {
            let header = format(Some(realm), [("oauth_nonce", "n")]);
            let parsed = parse(&header).unwrap();
            assert_eq!(parsed.realm.as_deref(), Some(realm), "{header}");
            assert_eq!(decoded(&parsed), vec![pair("oauth_nonce", "n")]);
        }
        // An escaped quote inside a value is part of it.
        let parsed = parse(r#"OAuth realm="a\"b", x="1""#).unwrap();
        assert_eq!(parsed.realm.as_deref(), Some(r#"a"b"#));
        // A quoted-pair in a parameter's value is undone, then decoded.
        let parsed = parse(r#"OAuth x="a\"b%20c\\", y="1""#).unwrap();
        assert_eq!(
            decoded(&parsed),
            vec![pair("x", r#"a"b c\"#), pair("y", "1")]
        );
        assert!(!parsed.params[0].value.is_canonical());
    }

    #[test]
    fn rejects_duplicate_names_even_when_encoded_differently() {
        assert_eq!(
            parse("OAuth oauth_nonce=\"1\", oauth%5Fnonce=\"2\""),
            Err(Error::DuplicateParameter {
                name: "oauth_nonce".into()
            })
        );
        assert!(matches!(
            parse("OAuth realm=\"a\", realm=\"b\""),
            Err(Error::DuplicateParameter { .. })
        ));
    }
}
