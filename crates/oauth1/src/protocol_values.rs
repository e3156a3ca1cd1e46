//! What a verifier's one pass over a request's parameters finds (each
//! protocol parameter in its slot, where they were, the extensions), and the
//! protocol values a received request keeps afterwards.

use crate::base_string::{EncodedParams, SourceCopy};
use crate::error::Error;
use crate::sent::SentText;
use crate::sign::{PROTOCOL_PARAMS, SIGNATURE, protocol_index};
use crate::verify::Placement;

/// What one pass over a request's parameters finds.
#[derive(Default)]
pub(crate) struct Found<'a> {
    /// Each protocol parameter as sent (checked to decode to UTF-8).
    pub(crate) protocol: [Option<SentText<'a>>; PROTOCOL_PARAMS.len()],
    /// Where the protocol parameters were, and whether in more than one place.
    pub(crate) placement: Option<Placement>,
    pub(crate) mixed: bool,
    /// The first repeat or undecodable value, reported after the placement.
    pub(crate) problem: Option<Error>,
    /// `oauth_*` parameters this crate does not define, decoded.
    pub(crate) extensions: Vec<(String, String)>,
    /// The names of the header's other parameters, to refuse a repeat.
    header_others: Vec<SentText<'a>>,
}

impl<'a> Found<'a> {
    /// Takes one parameter from `from`: into the base string unless it is the
    /// signature, into its slot if it is a protocol parameter (a handful of
    /// names: no hashing).
    pub(crate) fn take(
        &mut self,
        from: Placement,
        name: &SentText<'a>,
        value: SentText<'a>,
        signed: &mut EncodedParams,
        copy: &SourceCopy,
    ) -> Result<(), Error> {
        let index = name.with_decoded(protocol_index);
        if index != Some(SIGNATURE) {
            signed.push_sent(copy, name, &value);
        }
        let Some(index) = index else {
            return self.take_other(from, name, &value);
        };
        self.mixed |= self.placement.is_some_and(|seen| seen != from);
        self.placement = Some(from);
        match value.check_text("protocol parameter (not UTF-8)") {
            Ok(()) if self.protocol[index].is_none() => self.protocol[index] = Some(value),
            Ok(_) => {
                self.problem.get_or_insert(Error::DuplicateParameter {
                    name: PROTOCOL_PARAMS[index].to_owned(),
                });
            }
            Err(error) => {
                self.problem.get_or_insert(error);
            }
        }
        Ok(())
    }

    /// A parameter that is not a protocol one: kept if an extension; in the
    /// header, refused if repeated (a query or form may repeat names).
    fn take_other(
        &mut self,
        from: Placement,
        name: &SentText<'a>,
        value: &SentText<'_>,
    ) -> Result<(), Error> {
        let decoded = name.decoded();
        if from == Placement::Header
            && self
                .header_others
                .iter()
                .any(|seen| seen.decodes_like(name))
        {
            return Err(Error::DuplicateParameter {
                name: String::from_utf8_lossy(&decoded).into_owned(),
            });
        }
        if decoded.starts_with(b"oauth_") {
            self.extensions.push((
                String::from_utf8_lossy(&decoded).into_owned(),
                String::from_utf8_lossy(&value.decoded()).into_owned(),
            ));
        }
        drop(decoded);
        if from == Placement::Header {
            self.header_others.push(name.clone());
        }
        Ok(())
    }
}

/// The protocol values a received request keeps, in one buffer: one
/// allocation, not one per value.
pub(crate) struct Kept {
    text: String,
    spans: [Option<(usize, usize)>; 6],
}

impl Kept {
    pub(crate) const CONSUMER_KEY: usize = 0;
    pub(crate) const TOKEN: usize = 1;
    pub(crate) const SIGNATURE: usize = 2;
    pub(crate) const NONCE: usize = 3;
    pub(crate) const CALLBACK: usize = 4;
    pub(crate) const VERIFIER: usize = 5;

    /// The values decoded into one buffer (each checked to be UTF-8).
    pub(crate) fn new(values: [Option<&SentText<'_>>; 6]) -> Kept {
        let mut text = Vec::with_capacity(values.iter().flatten().map(|v| v.raw().len()).sum());
        // A plain loop: `array::map` returned each span through memory, and
        // reading it back stalled on every value.
        let mut spans = [None; 6];
        for (span, value) in spans.iter_mut().zip(values) {
            if let Some(value) = value {
                let start = text.len();
                value.decode_into(&mut text);
                *span = Some((start, text.len()));
            }
        }
        // UTF-8 piece by piece, so the whole is; never lossy in fact.
        let text = String::from_utf8(text)
            .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned());
        Kept { text, spans }
    }

    pub(crate) fn get(&self, which: usize) -> Option<&str> {
        self.spans[which].and_then(|(start, end)| self.text.get(start..end))
    }
}
