//! Checking what servers say about offsets and lengths.

use crate::error::ProtocolError;

/// Checks the `Upload-Offset` of a successful PATCH that sent bytes
/// `start..sent_end`: it may not go back, nor past what was sent.
pub(crate) fn check_patch_offset(
    start: u64,
    sent_end: u64,
    reported: u64,
) -> Result<u64, ProtocolError> {
    if reported < start {
        return Err(ProtocolError::OffsetBackwards {
            before: start,
            after: reported,
        });
    }
    if reported > sent_end {
        return Err(ProtocolError::OffsetTooLarge {
            offset: reported,
            limit: sent_end,
        });
    }
    Ok(reported)
}

/// Checks a HEAD answer against the local source length. A HEAD offset lower than
/// what the client believed is legal (the server lost unsynced bytes).
pub(crate) fn check_head(
    offset: u64,
    length: Option<u64>,
    local_len: u64,
) -> Result<u64, ProtocolError> {
    if let Some(length) = length
        && length != local_len
    {
        return Err(ProtocolError::LengthMismatch {
            server: length,
            local: local_len,
        });
    }
    if offset > local_len {
        return Err(ProtocolError::OffsetTooLarge {
            offset,
            limit: local_len,
        });
    }
    Ok(offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_offsets_must_stay_within_what_was_sent() {
        assert_eq!(check_patch_offset(100, 200, 200), Ok(200));
        assert_eq!(check_patch_offset(100, 200, 150), Ok(150));
        assert_eq!(check_patch_offset(100, 200, 100), Ok(100));
        assert_eq!(
            check_patch_offset(100, 200, 99),
            Err(ProtocolError::OffsetBackwards {
                before: 100,
                after: 99
            })
        );
        assert_eq!(
            check_patch_offset(100, 200, 201),
            Err(ProtocolError::OffsetTooLarge {
                offset: 201,
                limit: 200
            })
        );
    }

    #[test]
    fn head_answers_must_fit_the_source() {
        assert_eq!(check_head(0, Some(10), 10), Ok(0));
        assert_eq!(check_head(10, None, 10), Ok(10));
        assert_eq!(
            check_head(5, Some(11), 10),
            Err(ProtocolError::LengthMismatch {
                server: 11,
                local: 10
            })
        );
        assert_eq!(
            check_head(11, Some(10), 10),
            Err(ProtocolError::OffsetTooLarge {
                offset: 11,
                limit: 10
            })
        );
    }
}
