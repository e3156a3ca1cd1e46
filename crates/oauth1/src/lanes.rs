//! Telling bytes apart many at a time: which are RFC 5849 unreserved, which
//! printable, which equal a given byte — eight to a 64-bit word (SWAR), or
//! sixteen to a block the compiler compares with SIMD instructions. Every
//! scan of the signer and the verifier (encoding, headers, queries, URLs)
//! is built on these.

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

/// How many bytes [`block_lanes`] looks at together (SSE2's width).
pub(crate) const BLOCK: usize = 16;

/// The high bit of each lane (byte) of `block` for which `test` holds, lane
/// 0 lowest. With a `test` of plain arithmetic and comparisons (no branch),
/// the compiler turns this into SIMD compares of all sixteen lanes at once
/// (SSE2, part of every x86-64): twice the bytes of the eight-byte words in
/// fewer instructions, and no `unsafe`.
#[inline(always)]
pub(crate) fn block_lanes(block: &[u8; BLOCK], test: impl Fn(u8) -> bool) -> u128 {
    let mut lanes = [0u8; BLOCK];
    for (lane, &byte) in lanes.iter_mut().zip(block) {
        // All ones or all zeros, as a SIMD compare gives them: anything
        // else would be put together lane by lane.
        *lane = if test(byte) { 0xFF } else { 0 };
    }
    u128::from_le_bytes(lanes) & (u128::from(HIGHS) << 64 | u128::from(HIGHS))
}

/// The lanes of `block` that are not RFC 5849 unreserved (see [`block_lanes`]).
#[inline(always)]
pub(crate) fn reserved_block(block: &[u8; BLOCK]) -> u128 {
    block_lanes(block, |byte| {
        !(((byte | 0x20).wrapping_sub(b'a') < 26)
            | (byte.wrapping_sub(b'0') < 10)
            | (byte.wrapping_sub(b'-') < 2)
            | (byte == b'_')
            | (byte == b'~'))
    })
}

/// The reserved lanes of the bytes at the start of `bytes`, and how many
/// bytes that covers: a [`BLOCK`] while one remains, then eight at a time.
#[inline(always)]
pub(crate) fn reserved_lanes_at(bytes: &[u8]) -> (u128, usize) {
    if let Some(block) = bytes.first_chunk::<BLOCK>() {
        return (reserved_block(block), BLOCK);
    }
    let chunk = &bytes[..bytes.len().min(8)];
    // Padding lanes are zero bytes, reserved: only the real ones count.
    let real = u64::MAX >> (8 * (8 - chunk.len()));
    (
        u128::from(reserved_lanes(load_padded(chunk)) & real),
        chunk.len(),
    )
}

/// The positions of the bytes of `bytes` that are not RFC 5849 unreserved,
/// in order, found sixteen bytes at a time.
#[inline(always)]
pub(crate) fn reserved_bytes(bytes: &[u8]) -> ReservedBytes<'_> {
    ReservedBytes {
        bytes,
        next: 0,
        base: 0,
        lanes: 0,
    }
}

/// See [`reserved_bytes`].
pub(crate) struct ReservedBytes<'a> {
    bytes: &'a [u8],
    /// Where the bytes not yet looked at start.
    next: usize,
    /// Where the current lanes start.
    base: usize,
    /// The current lanes' reserved bytes not yet visited.
    lanes: u128,
}

impl Iterator for ReservedBytes<'_> {
    type Item = usize;

    #[inline(always)]
    fn next(&mut self) -> Option<usize> {
        while self.lanes == 0 {
            let rest = &self.bytes[self.next..];
            if rest.is_empty() {
                return None;
            }
            let (lanes, covered) = reserved_lanes_at(rest);
            (self.base, self.lanes) = (self.next, lanes);
            self.next += covered;
        }
        let at = self.base + self.lanes.trailing_zeros() as usize / 8;
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
pub(crate) fn all_unreserved(word: u64) -> bool {
    word & HIGHS == 0 && unreserved_lanes(word) == HIGHS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::UNRESERVED;

    fn is_unreserved(byte: u8) -> bool {
        UNRESERVED[usize::from(byte)]
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
    }

    #[test]
    fn the_sixteen_byte_block_agrees_with_the_table_on_every_byte_in_every_lane() {
        for byte in 0u8..=255 {
            for other in [b'a', b'~', b'%', 0x80] {
                for lane in 0..BLOCK {
                    let mut block = [other; BLOCK];
                    block[lane] = byte;
                    let expected = (0..BLOCK).fold(0u128, |mask, at| {
                        let reserved = !UNRESERVED[usize::from(block[at])];
                        mask | (u128::from(reserved) << (8 * at + 7))
                    });
                    assert_eq!(
                        reserved_block(&block),
                        expected,
                        "{byte:#04x} in lane {lane}"
                    );
                    // Where the scans start: a block while one remains.
                    let (lanes, covered) = reserved_lanes_at(&block);
                    assert_eq!((lanes, covered), (expected, BLOCK));
                }
            }
        }
        // Every length, so blocks, words and short tails all take part, with
        // one reserved byte in each position.
        for len in 0..=40 {
            for at in 0..len {
                let mut text = vec![b'k'; len];
                text[at] = b'=';
                assert_eq!(
                    reserved_bytes(&text).collect::<Vec<_>>(),
                    vec![at],
                    "{len} {at}"
                );
            }
            let all: Vec<u8> = (0..len)
                .map(|i| if i % 3 == 0 { b' ' } else { b'z' })
                .collect();
            let expected: Vec<usize> = (0..len).filter(|i| i % 3 == 0).collect();
            assert_eq!(reserved_bytes(&all).collect::<Vec<_>>(), expected, "{len}");
        }
    }
}
