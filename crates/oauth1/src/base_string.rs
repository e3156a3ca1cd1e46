//! The signature base string (RFC 5849 §3.4.1) and parameter normalization
//! (§3.4.1.3.2), written from encoded spans in one buffer.

#[cfg(test)]
use crate::encoding::ascii_string;
use crate::encoding::{escape_percents, percent_encode_bytes};
use crate::request_url::BaseUri;
use crate::sent::SentText;

/// Parameters percent-encoded into one buffer, as (name, value) spans, ready
/// to be normalized (RFC 5849 §3.4.1.3.2): sorted by encoded name, then
/// encoded value, in byte order. Sorting moves small index records, never
/// strings; each records whether its text holds a `%` (an escape), so the
/// base string's second encoding copies every other parameter as it is.
///
/// A request's query, form body or header is copied in whole first
/// ([`EncodedParams::copy_source`]): a parameter sent in RFC 5849 encoding
/// (the usual case) is then a span of that copy, not copied again.
pub(crate) struct EncodedParams {
    buf: Vec<u8>,
    spans: Vec<Span>,
}

/// A text copied into the buffer whole: where it is there, and the address
/// and length it had, to find its parts' places in the copy.
#[derive(Clone, Copy, Default)]
pub(crate) struct SourceCopy {
    base: usize,
    address: usize,
    len: usize,
}

impl SourceCopy {
    /// Where `text` is in the copy, if it is a part of the copied text.
    fn place(&self, text: &[u8]) -> Option<(usize, usize)> {
        let offset = (text.as_ptr() as usize).wrapping_sub(self.address);
        let inside = offset <= self.len && text.len() <= self.len - offset;
        inside.then(|| (self.base + offset, self.base + offset + text.len()))
    }
}

/// One parameter in [`EncodedParams`]: `buf[start..name_end]` is the encoded
/// name, `buf[value_start..end]` the encoded value.
#[derive(Clone, Copy)]
struct Span {
    start: usize,
    name_end: usize,
    value_start: usize,
    end: usize,
    /// Whether the name / the value holds a `%`.
    escaped: (bool, bool),
    /// The name's first eight bytes, big-endian, zero-padded: comparing
    /// these orders most pairs without touching the text (an encoded name
    /// never holds a zero byte, so padding sorts a shorter name first, as
    /// byte order does).
    prefix: u64,
}

impl Span {
    fn new(buf: &[u8], name: (usize, usize), value: (usize, usize), escaped: (bool, bool)) -> Span {
        let mut head = [0u8; 8];
        match buf[name.0..name.1].first_chunk::<8>() {
            Some(first) => head = *first,
            // Byte by byte: cheaper than a call to memcpy.
            None => head
                .iter_mut()
                .zip(&buf[name.0..name.1])
                .for_each(|(lane, &byte)| *lane = byte),
        }
        Span {
            start: name.0,
            name_end: name.1,
            value_start: value.0,
            end: value.1,
            escaped,
            prefix: u64::from_be_bytes(head),
        }
    }
}

impl EncodedParams {
    /// Room for `count` parameters of about `bytes` raw bytes in all.
    pub(crate) fn with_capacity(count: usize, bytes: usize) -> Self {
        EncodedParams {
            // Room for the worst case (every byte escaped): no regrowth.
            buf: Vec::with_capacity(bytes * 3 + 64),
            spans: Vec::with_capacity(count),
        }
    }

    /// Copies `text` (a query, form body or header) in whole, so parameters
    /// sent in RFC 5849 encoding can be pushed as spans of the copy.
    pub(crate) fn copy_source(&mut self, text: &[u8]) -> SourceCopy {
        let base = self.buf.len();
        self.buf.extend_from_slice(text);
        SourceCopy {
            base,
            address: text.as_ptr() as usize,
            len: text.len(),
        }
    }

    /// Appends `bytes` as they are; where they are.
    fn copy_in(&mut self, bytes: &[u8]) -> (usize, usize) {
        let start = self.buf.len();
        self.buf.extend_from_slice(bytes);
        (start, self.buf.len())
    }

    /// Appends `raw` encoded; where, and whether encoding changed it.
    fn encode_in(&mut self, raw: &[u8]) -> ((usize, usize), bool) {
        let start = self.buf.len();
        percent_encode_bytes(&mut self.buf, raw);
        let end = self.buf.len();
        // Encoding only ever lengthens what it escapes.
        ((start, end), end - start != raw.len())
    }

    /// Adds a raw (decoded) parameter, encoding it.
    pub(crate) fn push(&mut self, name: &[u8], value: &[u8]) {
        let (name, name_escaped) = self.encode_in(name);
        let (value, value_escaped) = self.encode_in(value);
        let span = Span::new(&self.buf, name, value, (name_escaped, value_escaped));
        self.spans.push(span);
    }

    /// Adds a parameter as it was sent: where it already is in RFC 5849
    /// §3.6 encoding (the usual case) and part of `source`, a span of that
    /// copy; otherwise copied, or decoded and encoded, into the buffer.
    pub(crate) fn push_sent(
        &mut self,
        source: &SourceCopy,
        name: &SentText<'_>,
        value: &SentText<'_>,
    ) {
        let (name, name_escaped) = self.place_sent(source, name);
        let (value, value_escaped) = self.place_sent(source, value);
        let span = Span::new(&self.buf, name, value, (name_escaped, value_escaped));
        self.spans.push(span);
    }

    /// Where `text` in RFC 5849 encoding is; whether that holds a `%`.
    #[inline(always)]
    fn place_sent(&mut self, source: &SourceCopy, text: &SentText<'_>) -> ((usize, usize), bool) {
        if !text.is_canonical() {
            return self.encode_in(&text.decoded());
        }
        let raw = text.raw().as_bytes();
        // Canonical text differs from its decoding only by escapes.
        let place = source.place(raw).unwrap_or_else(|| self.copy_in(raw));
        (place, text.is_escaped())
    }

    /// Adds a parameter whose name and value are already percent-encoded
    /// (the signer's own, encoded once per signer).
    #[cfg(test)]
    pub(crate) fn push_encoded(&mut self, name: &[u8], value: &[u8]) {
        self.push_encoded_known(name, value, (name.contains(&b'%'), value.contains(&b'%')));
    }

    /// [`push_encoded`](Self::push_encoded) when whether the name and the
    /// value hold a `%` is known already.
    pub(crate) fn push_encoded_known(&mut self, name: &[u8], value: &[u8], escaped: (bool, bool)) {
        let (name, value) = (self.copy_in(name), self.copy_in(value));
        let span = Span::new(&self.buf, name, value, escaped);
        self.spans.push(span);
    }

    /// Runs `work` with this thread's scratch parameters, emptied: signing
    /// and verifying allocate nothing for their parameters once it has grown
    /// to the usual size. (`work` must not call it again.)
    pub(crate) fn with_scratch<R>(work: impl FnOnce(&mut EncodedParams) -> R) -> R {
        thread_local! {
            static SCRATCH: std::cell::RefCell<EncodedParams> =
                std::cell::RefCell::new(EncodedParams::with_capacity(16, 256));
        }
        SCRATCH.with_borrow_mut(|params| {
            params.clear();
            work(params)
        })
    }

    /// Empties it for the next request, keeping its memory unless that grew
    /// large (a big form body): a scratch buffer per thread, not a cache.
    pub(crate) fn clear(&mut self) {
        if self.buf.capacity() > 64 << 10 {
            *self = EncodedParams::with_capacity(16, 256);
        }
        self.buf.clear();
        self.spans.clear();
    }

    /// How many parameters were pushed so far (where a presorted run starts).
    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    /// Visits the parameters in normalized order: those pushed before
    /// `sorted_from` are sorted and merged with those from `sorted_from` on,
    /// which are sorted too unless `tail_sorted` says they already are (a
    /// signer's own parameters, ordered once): fewer comparisons than
    /// sorting all.
    fn for_each_sorted(
        &mut self,
        (sorted_from, tail_sorted): (usize, bool),
        mut visit: impl FnMut(&[u8], &Span),
    ) {
        let text = self.buf.as_slice();
        let order = |a: &Span, b: &Span| {
            a.prefix.cmp(&b.prefix).then_with(|| {
                text[a.start..a.name_end]
                    .cmp(&text[b.start..b.name_end])
                    .then_with(|| text[a.value_start..a.end].cmp(&text[b.value_start..b.end]))
            })
        };
        let sorted_from = sorted_from.min(self.spans.len());
        let (head, tail) = self.spans.split_at_mut(sorted_from);
        head.sort_unstable_by(order);
        if !tail_sorted {
            // Two runs sorted apart and merged: a run that arrived in order
            // (a verifier's header parameters, usually) costs one pass.
            tail.sort_unstable_by(order);
        }
        debug_assert!(tail.is_sorted_by(|a, b| order(a, b).is_le()));
        let (mut i, mut j) = (0, 0);
        while i < head.len() && j < tail.len() {
            if order(&tail[j], &head[i]).is_lt() {
                visit(text, &tail[j]);
                j += 1;
            } else {
                visit(text, &head[i]);
                i += 1;
            }
        }
        for span in head[i..].iter().chain(&tail[j..]) {
            visit(text, span);
        }
    }

    /// The normalized parameter string: `name=value` joined with `&`.
    #[cfg(test)]
    pub(crate) fn normalized(mut self) -> String {
        let mut out = Vec::new();
        let all = self.spans.len();
        self.for_each_sorted((all, true), |text, span| {
            if !out.is_empty() {
                out.push(b'&');
            }
            out.extend_from_slice(&text[span.start..span.name_end]);
            out.push(b'=');
            out.extend_from_slice(&text[span.value_start..span.end]);
        });
        ascii_string(out)
    }

    /// The signature base string (§3.4.1.1): the method in upper case, the
    /// encoded base string URI and the encoded normalized parameters, joined
    /// by `&` — the parameters written encoded a second time directly, without
    /// building the normalized string first.
    #[cfg(test)]
    pub(crate) fn base_string(&mut self, method: &str, base_uri: &str) -> String {
        let all = self.spans.len();
        let base_uri = BaseUri::Whole(base_uri.into());
        ascii_string(self.base_string_presorted(method, &base_uri, (all, true)))
    }

    /// [`base_string`](Self::base_string) as bytes (ASCII), the parameters
    /// taken as two runs split at `sorted_from`, each sorted, then merged;
    /// with `tail_sorted` the second run is already in order (a signer's own
    /// parameters, ordered once).
    pub(crate) fn base_string_presorted(
        &mut self,
        method: &str,
        base_uri: &BaseUri<'_>,
        runs: (usize, bool),
    ) -> Vec<u8> {
        // Room for the worst case, so the encoders never grow it.
        let spans = self.spans.iter();
        let text_len: usize = spans
            .map(|s| (s.name_end - s.start) + (s.end - s.value_start))
            .sum();
        let mut out = Vec::with_capacity(
            method.len() + 3 * base_uri.len() + 2 * text_len + 6 * self.spans.len() + 2,
        );
        out.extend(method.bytes().map(|b| b.to_ascii_uppercase()));
        out.push(b'&');
        base_uri.encode_into(&mut out);
        out.push(b'&');
        let first = out.len();
        // Encoding the normalized string again: the joiners become `%3D` and
        // `%26`, each `%` of an escape `%25`, everything else stays.
        let again = |out: &mut Vec<u8>, part: &[u8], escaped: bool| {
            if escaped {
                escape_percents(out, part);
            } else {
                out.extend_from_slice(part);
            }
        };
        self.for_each_sorted(runs, |text, span| {
            if out.len() > first {
                out.extend_from_slice(b"%26");
            }
            again(&mut out, &text[span.start..span.name_end], span.escaped.0);
            out.extend_from_slice(b"%3D");
            again(&mut out, &text[span.value_start..span.end], span.escaped.1);
        });
        // The method is an RFC 9110 token (ASCII, checked by the caller).
        out
    }
}

/// Normalizes parameters per RFC 5849 §3.4.1.3.2: encode every name and value,
/// sort by encoded name then encoded value (byte order), join `name=value` with `&`.
#[cfg(test)]
pub(crate) fn normalize_parameters_with<N: AsRef<[u8]>, V: AsRef<[u8]>>(
    pairs: &[(N, V)],
    own: &[(String, String)],
) -> String {
    let mut params = EncodedParams::with_capacity(pairs.len() + own.len(), 0);
    for (name, value) in pairs {
        params.push(name.as_ref(), value.as_ref());
    }
    for (name, value) in own {
        params.push(name.as_bytes(), value.as_bytes());
    }
    params.normalized()
}

/// The signature base string (§3.4.1.1) from an already normalized parameter
/// string (the reference form the tests compare [`EncodedParams::base_string`] with).
#[cfg(test)]
pub(crate) fn base_string(method: &str, base_uri: &str, normalized_params: &str) -> String {
    let mut out = Vec::new();
    out.extend(method.bytes().map(|b| b.to_ascii_uppercase()));
    out.push(b'&');
    percent_encode_bytes(&mut out, base_uri.as_bytes());
    out.push(b'&');
    percent_encode_bytes(&mut out, normalized_params.as_bytes());
    ascii_string(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<crate::encoding::RawPair> {
        list.iter()
            .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn normalization_sorts_by_encoded_name_then_value() {
        let normalized = normalize_parameters_with(
            &pairs(&[
                ("b", "2"),
                ("a", "z"),
                ("a", "1"),
                ("a b", "x"),
                ("A", "0"),
                ("a", ""),
            ]),
            &[],
        );
        // "A" < "a" < "a%20b" in byte order; equal names sort by value.
        assert_eq!(normalized, "A=0&a=&a=1&a=z&a%20b=x&b=2");
    }

    #[test]
    fn normalization_compares_encoded_forms_not_raw_ones() {
        // Raw '~' (0x7E) sorts after raw '%', but encoded "%25" < "~" too, and
        // encoded space "%20" sorts before "+"'s "%2B".
        let normalized =
            normalize_parameters_with(&pairs(&[("k", "+"), ("k", " "), ("k", "~")]), &[]);
        assert_eq!(normalized, "k=%20&k=%2B&k=~");
    }

    #[test]
    fn the_direct_base_string_equals_encoding_the_normalized_string() {
        let raw = pairs(&[
            ("b", "2 %"),
            ("a", "z&y=x"),
            ("a", "1"),
            ("é", "~*+"),
            ("oauth_token", "t%k"),
        ]);
        let mut params = EncodedParams::with_capacity(raw.len(), 64);
        for (name, value) in &raw {
            params.push(name, value);
        }
        params.push_encoded(b"oauth_nonce", b"a%20b");
        let direct = params.base_string("post", "https://h.example/p q");
        let own = [("oauth_nonce".to_owned(), "a b".to_owned())];
        let reference = base_string(
            "post",
            "https://h.example/p q",
            &normalize_parameters_with(&raw, &own),
        );
        assert_eq!(direct, reference);
    }

    #[test]
    fn base_string_uppercases_method_and_encodes_both_parts() {
        assert_eq!(
            base_string("get", "http://h.example/a b", "x=1&y=%20"),
            "GET&http%3A%2F%2Fh.example%2Fa%20b&x%3D1%26y%3D%2520"
        );
    }
}
