//! Parameters as they were sent: still percent-encoded, with what one scan of
//! each learned. A verifier (and a signer reading a request's query) needs a
//! parameter twice: decoded, for the few it reads, and encoded as RFC 5849
//! §3.6 encodes, for the base string. A client that encodes as the RFC does
//! (the usual case) sent exactly that second form, so it is copied as sent:
//! nothing is decoded or encoded again unless it has to be.

use std::borrow::Cow;

use crate::encoding::{UNRESERVED, hex_value, percent_decode, percent_decode_into, reserved_bytes};
use crate::error::Error;

/// A name or value as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SentText<'a> {
    /// The text on the wire (a header's quoted-pairs already undone).
    raw: Cow<'a, str>,
    /// Decoding changes it: it holds a `%` (or, in a form, a `+`).
    escaped: bool,
    /// Encoding what it decodes to gives `raw` back: every byte unreserved
    /// but the `%XX` escapes, each upper-case and of a byte that must be
    /// escaped. The base string can take it as it is.
    canonical: bool,
    /// An escape stands for a byte from 0x80 up: only then can the decoded
    /// text fail to be UTF-8.
    high_escape: bool,
    /// `+` stands for a space (a query or form, not a header).
    plus_as_space: bool,
}

impl<'a> SentText<'a> {
    /// Scans `raw`; a `%` without two hex digits after it is an error naming `context`.
    #[inline(always)]
    pub(crate) fn scan(
        raw: Cow<'a, str>,
        plus_as_space: bool,
        context: &'static str,
    ) -> Result<Self, Error> {
        let (escaped, canonical, high_escape) = shape(raw.as_bytes(), plus_as_space, context)?;
        Ok(SentText {
            raw,
            escaped,
            canonical,
            high_escape,
            plus_as_space,
        })
    }

    /// Text already known to be all unreserved bytes (the header's or the
    /// form's scan found so).
    #[inline]
    pub(crate) fn unreserved(raw: &'a str) -> Self {
        debug_assert!(crate::encoding::is_unreserved_text(raw.as_bytes()));
        SentText {
            raw: Cow::Borrowed(raw),
            escaped: false,
            canonical: true,
            high_escape: false,
            plus_as_space: false,
        }
    }

    /// The text as sent.
    #[inline]
    pub(crate) fn raw(&self) -> &str {
        &self.raw
    }

    /// Whether decoding changes it.
    #[inline]
    pub(crate) fn is_escaped(&self) -> bool {
        self.escaped
    }

    /// Whether it is already in RFC 5849 §3.6 encoding (see the field).
    #[inline]
    pub(crate) fn is_canonical(&self) -> bool {
        self.canonical
    }

    /// The decoded bytes: borrowed unless something needed decoding.
    #[inline]
    pub(crate) fn decoded(&self) -> Cow<'_, [u8]> {
        if !self.escaped {
            return Cow::Borrowed(self.raw.as_bytes());
        }
        // The scan checked every escape, so decoding cannot fail here.
        Cow::Owned(percent_decode(&self.raw, self.plus_as_space, "").unwrap_or_default())
    }

    /// `read` applied to the decoded bytes, decoding only if there are
    /// escapes (no `Cow` goes back and forth on the common path).
    #[inline(always)]
    pub(crate) fn with_decoded<R>(&self, read: impl FnOnce(&[u8]) -> R) -> R {
        match self.escaped {
            false => read(self.raw.as_bytes()),
            true => read(&self.decoded()),
        }
    }

    /// The decoded text, which must be UTF-8 (`context` names it otherwise).
    pub(crate) fn decoded_str(&self, context: &'static str) -> Result<Cow<'_, str>, Error> {
        match self.decoded() {
            // Borrowed: a slice of `raw`, which is text.
            Cow::Borrowed(_) => Ok(Cow::Borrowed(self.raw())),
            Cow::Owned(bytes) => String::from_utf8(bytes)
                .map(Cow::Owned)
                .map_err(|_| Error::InvalidPercentEncoding { context }),
        }
    }

    /// Checks that it decodes to UTF-8 (`context` names it otherwise) without
    /// decoding it, unless an escape stands for a byte from 0x80 up.
    #[inline]
    pub(crate) fn check_text(&self, context: &'static str) -> Result<(), Error> {
        match self.high_escape {
            false => Ok(()),
            true => self.decoded_str(context).map(drop),
        }
    }

    /// `read` applied to the decoded text, once [`check_text`](Self::check_text)
    /// passed (anything else would come out with replacement characters);
    /// decoding only if there are escapes.
    #[inline(always)]
    pub(crate) fn with_text<R>(&self, read: impl FnOnce(&str) -> R) -> R {
        if !self.escaped {
            return read(&self.raw);
        }
        read(&String::from_utf8_lossy(&self.decoded()))
    }

    /// Appends the decoded bytes to `out`.
    #[inline]
    pub(crate) fn decode_into(&self, out: &mut Vec<u8>) {
        match self.escaped {
            false => out.extend_from_slice(self.raw.as_bytes()),
            // The scan checked every escape, so decoding cannot fail here.
            true => drop(percent_decode_into(out, &self.raw, self.plus_as_space, "")),
        }
    }

    /// Whether it decodes to `other`'s bytes.
    pub(crate) fn decodes_like(&self, other: &SentText<'_>) -> bool {
        if self.escaped || other.escaped {
            self.decoded() == other.decoded()
        } else {
            self.raw == other.raw
        }
    }
}

/// A parameter as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SentPair<'a> {
    pub(crate) name: SentText<'a>,
    pub(crate) value: SentText<'a>,
}

/// Whether `bytes` decodes to something else (`escaped`), whether it is
/// canonical (see [`SentText::canonical`]) and whether an escape stands for a
/// byte from 0x80 up; only its reserved bytes are looked at.
fn shape(
    bytes: &[u8],
    plus_as_space: bool,
    context: &'static str,
) -> Result<(bool, bool, bool), Error> {
    let (mut escaped, mut canonical, mut high_escape) = (false, true, false);
    // Eight bytes at a time; only the reserved ones are looked at. An
    // escape's hex digits are unreserved, so each reserved byte is a `%`,
    // a `+` or a byte that must be escaped, whatever came before it.
    for at in reserved_bytes(bytes) {
        match bytes[at] {
            b'%' => {
                let digits = (bytes.get(at + 1).copied(), bytes.get(at + 2).copied());
                let (Some(hi), Some(lo)) =
                    (digits.0.and_then(hex_value), digits.1.and_then(hex_value))
                else {
                    return Err(Error::InvalidPercentEncoding { context });
                };
                let upper = |digit: Option<u8>| !digit.is_some_and(|d| d.is_ascii_lowercase());
                canonical &=
                    upper(digits.0) && upper(digits.1) && !UNRESERVED[usize::from(hi << 4 | lo)];
                escaped = true;
                high_escape |= hi >= 8;
            }
            b'+' if plus_as_space => (escaped, canonical) = (true, false),
            _ => canonical = false,
        }
    }
    Ok((escaped, canonical, high_escape))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::percent_encode;

    fn sent(raw: &str, plus_as_space: bool) -> Result<SentText<'_>, Error> {
        SentText::scan(Cow::Borrowed(raw), plus_as_space, "test")
    }

    #[test]
    fn canonical_means_encoding_the_decoded_bytes_gives_it_back() {
        let cases = [
            "",
            "abc",
            "a-b.c_d~e",
            "abcdefgh",
            "abcdefghi",
            "%2B",
            "a%2Bb%3D",
            "%2b",
            "%41",
            "%7E",
            "+",
            "a+b",
            "a b",
            "*",
            "é",
            "%C3%A9",
            "%c3%a9",
            "abcdefgh%20",
            "0123456789%25",
        ];
        for raw in cases {
            for plus_as_space in [false, true] {
                let text = sent(raw, plus_as_space).unwrap();
                let decoded = percent_decode(raw, plus_as_space, "test").unwrap();
                assert_eq!(*text.decoded(), *decoded, "{raw:?}");
                let escapes = raw.contains('%') || (plus_as_space && raw.contains('+'));
                assert_eq!(text.is_escaped(), escapes, "{raw:?}");
                assert_eq!(
                    text.is_canonical(),
                    percent_encode(&decoded) == raw,
                    "{raw:?} {plus_as_space}"
                );
            }
        }
    }

    #[test]
    fn every_byte_in_every_position_is_judged_like_the_definition() {
        for byte in 0u8..=255 {
            for at in 0..17 {
                let mut raw = vec![b'a'; 17];
                raw[at] = byte;
                let Ok(raw) = String::from_utf8(raw) else {
                    continue;
                };
                let text = sent(&raw, true);
                if byte == b'%' {
                    // Followed by "aa" (0xAA) unless too near the end.
                    assert_eq!(text.is_err(), at >= 15, "{raw:?}");
                    continue;
                }
                let text = text.unwrap();
                assert_eq!(
                    text.is_canonical(),
                    percent_encode(raw.as_bytes()) == raw,
                    "{raw:?}"
                );
                assert_eq!(text.is_escaped(), byte == b'+', "{raw:?}");
            }
        }
    }

    #[test]
    fn broken_escapes_are_errors() {
        for raw in ["%", "%2", "%G0", "a%2", "abcdefgh%zz", "%%41"] {
            assert_eq!(
                sent(raw, false),
                Err(Error::InvalidPercentEncoding { context: "test" }),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn decoded_text_must_be_utf8_and_names_compare_decoded() {
        assert_eq!(
            sent("%C3%A9", false).unwrap().decoded_str("x").unwrap(),
            "é"
        );
        assert_eq!(
            sent("%FF", false).unwrap().decoded_str("x"),
            Err(Error::InvalidPercentEncoding { context: "x" })
        );
        assert!(matches!(
            sent("plain", false).unwrap().decoded_str("x").unwrap(),
            Cow::Borrowed("plain")
        ));
        let (a, b) = (
            sent("oauth_nonce", false).unwrap(),
            sent("oauth%5Fnonce", false).unwrap(),
        );
        assert!(a.decodes_like(&b) && b.decodes_like(&a));
        assert!(!a.decodes_like(&sent("oauth_nonc", false).unwrap()));
    }
}
