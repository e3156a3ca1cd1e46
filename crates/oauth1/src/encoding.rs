//! RFC 5849 §3.6 percent-encoding and `application/x-www-form-urlencoded` parsing.
//!
//! Everything here works on bytes: a value is decoded to raw bytes and encoded
//! again byte by byte, so non-UTF-8 input is carried through exactly instead of
//! being rejected or replaced.

use std::borrow::Cow;

use crate::error::Error;
use crate::sent::{SentPair, SentText};

/// Percent-encodes `input` per RFC 5849 §3.6.
///
/// Only the unreserved characters `A-Z a-z 0-9 - . _ ~` stay as they are; every
/// other byte becomes `%XX` with upper-case hex digits. Strings are taken as
/// their UTF-8 bytes, as the RFC requires.
///
/// ```
/// assert_eq!(oauth1::percent_encode("Ladies + Gentlemen"), "Ladies%20%2B%20Gentlemen");
/// assert_eq!(oauth1::percent_encode("café~"), "caf%C3%A9~");
/// ```
pub fn percent_encode(input: impl AsRef<[u8]>) -> String {
    let input = input.as_ref();
    let mut out = Vec::with_capacity(input.len() + input.len() / 2);
    percent_encode_bytes(&mut out, input);
    ascii_string(out)
}

/// RFC 5849 §3.6 unreserved bytes, as a table (no branches per byte).
pub(crate) const UNRESERVED: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
        byte += 1;
    }
    table
};

/// Appends the percent-encoding of `input` to `out`. The output is ASCII.
///
/// The room for the worst case (`%XX` for every byte) is reserved first; eight
/// bytes at a time are checked at once (SWAR) and copied whole when all are
/// unreserved. This is the hottest loop of signing and verifying.
pub(crate) fn percent_encode_bytes(out: &mut Vec<u8>, input: &[u8]) {
    out.reserve(3 * input.len());
    // Runs of unreserved words are copied whole, once each (not a copy per
    // word); a word with anything else in it is written byte by byte.
    let mut run_start = 0;
    let mut chunks = input.chunks_exact(8);
    for (index, chunk) in (&mut chunks).enumerate() {
        if !all_unreserved(load_padded(chunk)) {
            out.extend_from_slice(&input[run_start..index * 8]);
            chunk.iter().for_each(|&byte| push_encoded_byte(out, byte));
            run_start = index * 8 + 8;
        }
    }
    let tail = input.len() - chunks.remainder().len();
    out.extend_from_slice(&input[run_start..tail]);
    for &byte in chunks.remainder() {
        push_encoded_byte(out, byte);
    }
}

#[inline(always)]
fn push_encoded_byte(out: &mut Vec<u8>, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    if UNRESERVED[usize::from(byte)] {
        out.push(byte);
    } else {
        out.extend_from_slice(&[
            b'%',
            HEX[usize::from(byte >> 4)],
            HEX[usize::from(byte & 0x0F)],
        ]);
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
pub(crate) const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `word` (all below 0x80) set where the byte
/// lies in `lo..=hi`: adding `0x80 - lo` sets it from `lo` up, adding
/// `0x7F - hi` sets it above `hi`; no byte carries into the next.
#[inline(always)]
fn in_range(word: u64, lo: u8, hi: u8) -> u64 {
    let from_lo = word.wrapping_add(ONES * u64::from(0x80 - lo));
    let above_hi = word.wrapping_add(ONES * u64::from(0x7F - hi));
    from_lo & !above_hi & HIGHS
}

/// The high bit of each byte of `word` (all below 0x80) that is RFC 5849
/// unreserved (`A-Z a-z 0-9 - . _ ~`), without a branch per byte.
#[inline(always)]
fn unreserved_lanes(word: u64) -> u64 {
    // `| 0x20` folds upper case onto lower case (and `@[\]^_` onto ``{|}~DEL`,
    // which the letter range leaves out).
    in_range(word | (ONES * 0x20), b'a', b'z')
        | in_range(word, b'0', b'9')
        | in_range(word, b'-', b'.')
        | in_range(word, b'_', b'_')
        | in_range(word, b'~', b'~')
}

/// The high bit of each byte of `word` that is printable ASCII (`!` to `~`).
#[inline(always)]
pub(crate) fn graphic_lanes(word: u64) -> u64 {
    in_range(word & !HIGHS, b'!', b'~') & !word & HIGHS
}

/// The high bit set in each lane of `word` that equals `byte`, exactly: no
/// lane's arithmetic carries into the next.
#[inline(always)]
pub(crate) fn lanes_equal(word: u64, byte: u8) -> u64 {
    let x = word ^ (ONES * u64::from(byte));
    // A lane's high bit ends up clear only if all its bits were.
    !((x & !HIGHS).wrapping_add(!HIGHS) | x) & HIGHS
}

/// The positions of the bytes of `bytes` that are not RFC 5849 unreserved,
/// in order, found eight bytes at a time.
#[inline(always)]
pub(crate) fn reserved_bytes(bytes: &[u8]) -> ReservedBytes<'_> {
    ReservedBytes {
        words: bytes.chunks(8),
        next_word: 0,
        lanes: 0,
    }
}

/// See [`reserved_bytes`].
pub(crate) struct ReservedBytes<'a> {
    words: std::slice::Chunks<'a, u8>,
    /// Where the word after the current one starts.
    next_word: usize,
    /// The current word's reserved lanes not yet visited.
    lanes: u64,
}

impl Iterator for ReservedBytes<'_> {
    type Item = usize;

    #[inline(always)]
    fn next(&mut self) -> Option<usize> {
        while self.lanes == 0 {
            let chunk = self.words.next()?;
            // Padding lanes are zero bytes, reserved: only the real ones count.
            let real = u64::MAX >> (8 * (8 - chunk.len()));
            self.lanes = reserved_lanes(load_padded(chunk)) & real;
            self.next_word += 8;
        }
        let at = self.next_word - 8 + self.lanes.trailing_zeros() as usize / 8;
        self.lanes &= self.lanes - 1;
        Some(at)
    }
}

/// Up to eight bytes as a little-endian word (lane 0 = the first byte),
/// zero-padded.
#[inline(always)]
pub(crate) fn load_padded(bytes: &[u8]) -> u64 {
    if let Ok(whole) = <[u8; 8]>::try_from(bytes) {
        return u64::from_le_bytes(whole);
    }
    // A short tail, byte by byte: cheaper than a call to memcpy.
    let mut word = [0u8; 8];
    for (lane, &byte) in word.iter_mut().zip(bytes) {
        *lane = byte;
    }
    u64::from_le_bytes(word)
}

/// The high bit of each byte of `word` that is not RFC 5849 unreserved
/// (any byte: those from 0x80 up are reserved too).
#[inline(always)]
pub(crate) fn reserved_lanes(word: u64) -> u64 {
    let high = word & HIGHS;
    HIGHS & !(unreserved_lanes(word & !HIGHS) & !high)
}

/// Whether all eight bytes of `word` are unreserved.
#[inline(always)]
fn all_unreserved(word: u64) -> bool {
    word & HIGHS == 0 && unreserved_lanes(word) == HIGHS
}

/// Appends percent-encoded text encoded once more: in such text every byte is
/// unreserved except the `%` of an escape, so encoding it again only turns
/// each `%` into `%25` (the base string's second encoding of the normalized
/// parameters, RFC 5849 §3.4.1.1).
pub(crate) fn escape_percents(out: &mut Vec<u8>, encoded: &[u8]) {
    let mut rest = encoded;
    while let Some(at) = rest.iter().position(|&b| b == b'%') {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(b"%25");
        rest = &rest[at + 1..];
    }
    out.extend_from_slice(rest);
}

/// Whether percent-encoding leaves `input` as it is.
pub(crate) fn is_unreserved_text(input: &[u8]) -> bool {
    input.iter().all(|&b| UNRESERVED[usize::from(b)])
}

/// Bytes built from ASCII (percent-encoded output and `&`/`=` joins) as a
/// `String`; never fails for such bytes (and yields an empty string rather
/// than panicking if it ever did).
pub(crate) fn ascii_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_default()
}

#[cfg(test)]
fn is_unreserved(byte: u8) -> bool {
    UNRESERVED[usize::from(byte)]
}

/// Decodes `%XX` sequences (either hex case). With `plus_as_space`, `+` decodes
/// to a space, as in form-encoded data.
///
/// A `%` not followed by two hex digits is an error naming `context`.
pub(crate) fn percent_decode(
    input: &str,
    plus_as_space: bool,
    context: &'static str,
) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(input.len());
    percent_decode_into(&mut out, input, plus_as_space, context)?;
    Ok(out)
}

/// [`percent_decode`], appending to `out`.
#[inline]
pub(crate) fn percent_decode_into(
    out: &mut Vec<u8>,
    input: &str,
    plus_as_space: bool,
    context: &'static str,
) -> Result<(), Error> {
    let mut rest = input.as_bytes();
    // Runs between escapes are copied whole.
    while let Some(at) = rest
        .iter()
        .position(|&b| b == b'%' || (plus_as_space && b == b'+'))
    {
        out.extend_from_slice(&rest[..at]);
        if rest[at] == b'+' {
            out.push(b' ');
            rest = &rest[at + 1..];
            continue;
        }
        let hi = rest.get(at + 1).copied().and_then(hex_value);
        let lo = rest.get(at + 2).copied().and_then(hex_value);
        match (hi, lo) {
            (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
            _ => return Err(Error::InvalidPercentEncoding { context }),
        }
        rest = &rest[at + 3..];
    }
    out.extend_from_slice(rest);
    Ok(())
}

pub(crate) fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// A decoded name/value pair, as raw bytes.
pub(crate) type RawPair = (Vec<u8>, Vec<u8>);

/// Parses an `application/x-www-form-urlencoded` string (a query or a form body)
/// into decoded pairs, in order.
///
/// `a` and `a=` both give an empty value. Empty segments (`a&&b`, a trailing `&`)
/// carry no parameter and are skipped, as every form parser does.
pub(crate) fn parse_form(input: &str, context: &'static str) -> Result<Vec<RawPair>, Error> {
    let mut pairs = Vec::new();
    for_each_form_pair(input, context, |pair| {
        pairs.push((
            pair.name.decoded().into_owned(),
            pair.value.decoded().into_owned(),
        ));
        Ok(())
    })?;
    Ok(pairs)
}

/// Visits the pairs of a form (or query) string in order, as sent (see
/// [`SentText`]: nothing decoded); stops at the first error, the visitor's
/// included.
///
/// One walk over the reserved bytes finds the `&` and `=` and whether each
/// name and value holds another; only those that do are scanned again (their
/// escapes checked, their form judged).
pub(crate) fn for_each_form_pair<'a>(
    input: &'a str,
    context: &'static str,
    mut visit: impl FnMut(SentPair<'a>) -> Result<(), Error>,
) -> Result<(), Error> {
    let text = |part: &'a str, reserved: bool| match reserved {
        false => Ok(SentText::unreserved(part)),
        true => SentText::scan(Cow::Borrowed(part), true, context),
    };
    // A segment `input[start..end]`, its first `=`, and whether its name / its value
    // holds a reserved byte.
    let mut emit = |start: usize, equals: Option<usize>, end: usize, reserved: [bool; 2]| {
        if end == start {
            return Ok(()); // `a&&b`, a trailing `&`: no parameter
        }
        let (name, value) = match equals {
            Some(at) => (&input[start..at], &input[at + 1..end]),
            None => (&input[start..end], ""),
        };
        visit(SentPair {
            name: text(name, reserved[0])?,
            value: text(value, reserved[1])?,
        })
    };
    let bytes = input.as_bytes();
    let (mut start, mut equals, mut reserved) = (0, None, [false; 2]);
    // `&` and `=` are reserved bytes too: walking the reserved bytes finds
    // the delimiters and marks the names and values that hold any other.
    for at in reserved_bytes(bytes) {
        match bytes[at] {
            b'&' => {
                emit(start, equals, at, reserved)?;
                (start, equals, reserved) = (at + 1, None, [false; 2]);
            }
            b'=' if equals.is_none() => equals = Some(at),
            // Anything else (a second `=` included) is part of the text.
            _ => reserved[usize::from(equals.is_some())] = true,
        }
    }
    emit(start, equals, bytes.len(), reserved)
}

/// Whether a `Content-Type` value is `application/x-www-form-urlencoded`,
/// ignoring case, surrounding space and parameters such as `; charset=utf-8`.
pub(crate) fn is_form_content_type(content_type: &str) -> bool {
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_only_unreserved_characters_as_is() {
        let check = |input: &str, expected: &str| assert_eq!(percent_encode(input), expected);
        check("", "");
        check("abcXYZ019-._~", "abcXYZ019-._~");
        check(" ", "%20");
        check("+", "%2B");
        check("*", "%2A");
        check("%", "%25");
        check(
            "/?#[]@!$&'()*,;=:",
            "%2F%3F%23%5B%5D%40%21%24%26%27%28%29%2A%2C%3B%3D%3A",
        );
        check("é", "%C3%A9");
        check("日本", "%E6%97%A5%E6%9C%AC");
        check("\u{1F600}", "%F0%9F%98%80");
    }

    #[test]
    fn encodes_every_byte_with_upper_case_hex() {
        for byte in 0u8..=255 {
            let encoded = percent_encode([byte]);
            if is_unreserved(byte) {
                assert_eq!(encoded.as_bytes(), [byte]);
            } else {
                assert_eq!(encoded, format!("%{byte:02X}"));
            }
        }
    }

    #[test]
    fn the_eight_byte_check_agrees_with_the_table_on_every_byte_in_every_lane() {
        for byte in 0u8..=255 {
            for lane in 0..8 {
                let mut word = *b"aZ09-._~";
                word[lane] = byte;
                assert_eq!(
                    all_unreserved(u64::from_le_bytes(word)),
                    is_unreserved(byte),
                    "byte {byte:#04x} in lane {lane}"
                );
            }
        }
        // The reserved-lane mask, non-ASCII bytes included, lane by lane.
        for byte in 0u8..=255 {
            for lane in 0..8 {
                let mut word = *b"aZ09-._~";
                word[lane] = byte;
                let expected = if is_unreserved(byte) {
                    0
                } else {
                    0x80 << (lane * 8)
                };
                assert_eq!(
                    reserved_lanes(u64::from_le_bytes(word)),
                    expected,
                    "{byte:#04x}"
                );
            }
        }
        // Printable lanes and equal lanes, exact in every lane whatever the
        // others hold (one lane equal to the byte sought, every other lane
        // each value).
        for byte in 0u8..=255 {
            for other in 0u8..=255 {
                for lane in 0..8 {
                    let mut word = [other; 8];
                    word[lane] = byte;
                    let word = u64::from_le_bytes(word);
                    let lanes = |hit: fn(u8) -> bool| {
                        (0..8).fold(0u64, |mask, at| {
                            let lane_byte = (word >> (8 * at)) as u8;
                            mask | (u64::from(hit(lane_byte)) << (8 * at + 7))
                        })
                    };
                    assert_eq!(graphic_lanes(word), lanes(|b| b.is_ascii_graphic()));
                    assert_eq!(lanes_equal(word, b'#'), lanes(|b| b == b'#'), "{word:#x}");
                    assert_eq!(lanes_equal(word, 0xFF), lanes(|b| b == 0xFF), "{word:#x}");
                }
            }
        }
        // Long inputs take the eight-byte path; compare with one byte at a time.
        let text: Vec<u8> = (0..2000u32).map(|i| (i * 37 % 256) as u8).collect();
        for len in [0, 7, 8, 9, 63, 64, 65, 2000] {
            let mut fast = Vec::new();
            percent_encode_bytes(&mut fast, &text[..len]);
            let slow: Vec<u8> = text[..len]
                .iter()
                .flat_map(|&b| percent_encode([b]).into_bytes())
                .collect();
            assert_eq!(fast, slow, "{len}");
        }
    }

    #[test]
    fn one_reserved_byte_anywhere_in_clean_text_is_escaped() {
        // The eight-byte path and the byte-at-a-time tail, at every length
        // around the word size and every position of one escape.
        for len in 0..40 {
            for at in (0..len).map(Some).chain([None]) {
                let mut text: Vec<u8> = (0..len).map(|i| b"aZ09-._~x"[i % 9]).collect();
                if let Some(at) = at {
                    text[at] = b'/';
                }
                let mut fast = Vec::new();
                percent_encode_bytes(&mut fast, &text);
                let slow: Vec<u8> = text
                    .iter()
                    .flat_map(|&b| percent_encode([b]).into_bytes())
                    .collect();
                assert_eq!(fast, slow, "len {len}, escape at {at:?}");
            }
        }
    }

    #[test]
    fn encoding_encoded_text_again_equals_encoding_it_twice() {
        for input in [
            "",
            "abc",
            "a b&c=d%",
            "%%%",
            "é~*",
            "x%25y",
            "0123456789abcdef%%x",
        ] {
            let once = percent_encode(input);
            let mut twice = Vec::new();
            escape_percents(&mut twice, once.as_bytes());
            assert_eq!(twice, percent_encode(&once).into_bytes(), "{input:?}");
        }
        assert!(is_unreserved_text(b"abc-._~09"));
        assert!(!is_unreserved_text(b"a b"));
    }

    #[test]
    fn decodes_both_hex_cases_and_plus_only_in_forms() {
        assert_eq!(percent_decode("%2b%2B", false, "t").unwrap(), b"++");
        assert_eq!(percent_decode("a+b", true, "t").unwrap(), b"a b");
        assert_eq!(percent_decode("a+b", false, "t").unwrap(), b"a+b");
        assert_eq!(
            percent_decode("%C3%A9", false, "t").unwrap(),
            "é".as_bytes()
        );
        assert_eq!(percent_decode("%FF", false, "t").unwrap(), [0xFF]);
    }

    #[test]
    fn rejects_broken_percent_sequences() {
        for bad in ["%", "%4", "%G0", "a%zz", "%%", "100%"] {
            assert!(
                matches!(
                    percent_decode(bad, true, "query"),
                    Err(Error::InvalidPercentEncoding { context: "query" })
                ),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn parses_forms_like_rfc_5849_3_4_1_3_1() {
        let pairs = parse_form("c2&a3=2+q", "body").unwrap();
        assert_eq!(
            pairs,
            vec![
                (b"c2".to_vec(), b"".to_vec()),
                (b"a3".to_vec(), b"2 q".to_vec())
            ]
        );
        let pairs = parse_form("a=1&&a=2&", "body").unwrap();
        assert_eq!(pairs.len(), 2);
        assert_eq!(parse_form("", "body").unwrap(), vec![]);
        assert_eq!(
            parse_form("=v&k==", "body").unwrap(),
            vec![
                (b"".to_vec(), b"v".to_vec()),
                (b"k".to_vec(), b"=".to_vec())
            ]
        );
    }

    #[test]
    fn the_word_at_a_time_form_scan_agrees_with_splitting_and_decoding() {
        // Pieces that matter (delimiters, escapes good and bad, `+`, reserved
        // and non-ASCII text, unreserved filler) at every word offset.
        const PIECES: [&str; 12] = [
            "&", "=", "%2B", "%2b", "%41", "%", "+", "a", "bcdefg", "~", "*", "é",
        ];
        let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
        for _ in 0..20_000 {
            let mut input = String::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            for step in 0..(seed % 14) {
                input.push_str(PIECES[((seed >> (4 * step + 8)) % 12) as usize]);
            }
            let reference = (|| {
                let mut pairs = Vec::new();
                for segment in input.split('&').filter(|s| !s.is_empty()) {
                    let (name, value) = segment.split_once('=').unwrap_or((segment, ""));
                    let part = |raw: &str| {
                        let decoded = percent_decode(raw, true, "t")?;
                        let canonical = percent_encode(&decoded) == raw;
                        Ok::<_, Error>((decoded, canonical))
                    };
                    pairs.push((part(name)?, part(value)?));
                }
                Ok::<_, Error>(pairs)
            })();
            let mut scanned = Vec::new();
            let result = for_each_form_pair(&input, "t", |pair| {
                let part = |text: &SentText<'_>| (text.decoded().into_owned(), text.is_canonical());
                scanned.push((part(&pair.name), part(&pair.value)));
                Ok(())
            });
            match reference {
                Ok(pairs) => assert_eq!((result, scanned), (Ok(()), pairs), "{input:?}"),
                Err(error) => assert_eq!(result, Err(error), "{input:?}"),
            }
        }
    }

    #[test]
    fn recognises_form_content_types() {
        assert!(is_form_content_type("application/x-www-form-urlencoded"));
        assert!(is_form_content_type("Application/X-WWW-Form-URLEncoded"));
        assert!(is_form_content_type(
            "application/x-www-form-urlencoded; charset=utf-8"
        ));
        assert!(is_form_content_type(
            "  application/x-www-form-urlencoded ;charset=UTF-8"
        ));
        assert!(!is_form_content_type("application/json"));
        assert!(!is_form_content_type("multipart/form-data; boundary=x"));
        assert!(!is_form_content_type(""));
    }
}
