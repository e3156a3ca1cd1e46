//! How the machine reads each answer: the resume HEAD, the creation, a
//! PATCH, a re-sync HEAD and the verifying HEAD. Split from `machine.rs` so
//! the state and the action side stay readable on their own.

use std::time::{Duration, Instant, SystemTime};

use http::HeaderMap;

use http::Uri;

use super::{Input, Machine, Start, Step, without_query};
use crate::core::headers::{parse_u64, resolve_location};
use crate::core::offsets;
use crate::error::{Error, ProtocolError};
use crate::progress::Event;

impl Machine {
    pub(super) fn on_resume_head(&mut self, now: Instant, input: Input) {
        let existing = matches!(self.config.start, Start::Existing(_));
        match input {
            Input::Answer { headers, wall, .. } => {
                let checked = head_status(&headers).and_then(|(offset, length, expires)| {
                    if !existing && expires.is_some_and(|at| at <= wall) {
                        return Err(ProtocolError::MissingHeader { name: "expired" });
                    }
                    offsets::check_head(offset, length, self.length.unwrap_or(0))
                });
                match checked {
                    Ok(offset) => {
                        self.offset = offset;
                        // Bytes an earlier run sent may still arrive after this
                        // HEAD (its process killed mid-PATCH, its data still in
                        // the sockets): later HEADs may report up to the length
                        // — the same trust this HEAD's offset was given
                        // (`check_head` kept it within the length).
                        self.sent_end = self.length.unwrap_or(offset);
                        self.resumed_from = offset;
                        self.budget.acknowledged(offset);
                        if offset > 0 || !existing {
                            self.events.push_back(Event::Resumed { offset });
                        }
                        self.step = Step::Transfer;
                    }
                    Err(error) if existing => self.protocol(error),
                    Err(_) => self.forget(),
                }
            }
            Input::Failed { error, .. }
                if !existing && matches!(status_of(&error), Some(403 | 404 | 410)) =>
            {
                self.forget();
            }
            Input::Failed { error, retry_after } => self.fail(now, error, retry_after, false),
            other => panic!("{other:?} does not answer a HEAD"),
        }
    }

    /// The stored upload cannot be resumed: forget it, create another.
    fn forget(&mut self) {
        self.gone = self.url.take();
        self.step = Step::Forget;
    }

    pub(super) fn on_create(&mut self, now: Instant, input: Input) {
        if let Input::Created { url } = input {
            return self.created(url, None);
        }
        match input {
            Input::Answer {
                status: 201,
                headers,
                ..
            } => {
                let endpoint = self
                    .config
                    .endpoint
                    .clone()
                    .expect("a POST went to an endpoint");
                let url = match headers
                    .get(http::header::LOCATION)
                    .ok_or(ProtocolError::MissingHeader { name: "Location" })
                    .and_then(|l| resolve_location(&endpoint, l.as_bytes()))
                {
                    Ok(url)
                        if endpoint.scheme_str() == Some("https")
                            && url.scheme_str() != Some("https") =>
                    {
                        return self.protocol(ProtocolError::InsecureLocation);
                    }
                    Ok(url) => url,
                    Err(error) => return self.protocol(error),
                };
                self.created(url, Some(&headers));
            }
            Input::Answer { status, .. } => self.protocol(ProtocolError::UnexpectedStatus {
                status,
                expected: "201 Created",
            }),
            Input::Failed { error, retry_after } => {
                if cannot_have_been_processed(&error) {
                    self.fail(now, error, retry_after, false);
                } else if error.is_retryable() {
                    self.error = Some(Error::CreationUncertain {
                        source: Box::new(error),
                    });
                } else {
                    self.error = Some(error);
                }
            }
            other => panic!("{other:?} does not answer a POST"),
        }
    }

    /// A new upload exists at `url`; `headers` are the creation answer's
    /// (none from an external creator).
    fn created(&mut self, url: Uri, headers: Option<&HeaderMap>) {
        let (_, body, _) = self.patch.take().unwrap_or_default();
        self.events.push_back(Event::Created {
            url: without_query(&url),
        });
        self.url = Some(url);
        self.step = if self.config.store {
            Step::StorePut
        } else {
            Step::Transfer
        };
        self.source_checked = false;
        if self.config.concat_final {
            self.offset = self.length.unwrap_or(0);
            self.sent_end = self.offset;
        } else if body > 0 {
            self.sent_end = body;
            match headers
                .and_then(|h| h.get("upload-offset"))
                .map(|v| parse_u64("Upload-Offset", v.as_bytes()))
            {
                Some(Ok(reported)) => match offsets::check_patch_offset(0, body, reported) {
                    Ok(reported) => self.acknowledge(0, body, reported),
                    Err(error) => self.protocol(error),
                },
                Some(Err(error)) => self.protocol(error),
                // No offset with the 201: ask the server before the next byte.
                None => self.resync_after_store = true,
            }
        }
    }

    pub(super) fn on_patch(&mut self, now: Instant, input: Input) {
        let (start, len, declaring) = self.patch.take().expect("a PATCH in flight");
        self.source_checked = false;
        self.sent_end = self.sent_end.max(start + len);
        match input {
            Input::Answer {
                status: 200 | 204,
                headers,
                ..
            } => {
                let reported = headers
                    .get("upload-offset")
                    .ok_or(ProtocolError::MissingHeader {
                        name: "Upload-Offset",
                    })
                    .and_then(|v| parse_u64("Upload-Offset", v.as_bytes()))
                    .and_then(|r| offsets::check_patch_offset(start, start + len, r));
                match reported {
                    Ok(reported) if reported > start || len == 0 => {
                        if declaring && reported == start + len {
                            self.length_declared = true;
                        }
                        self.acknowledge(start, start + len, reported);
                    }
                    Ok(reported) => {
                        // The server took nothing: a failure, so it is bounded.
                        let error = self.protocol_error(ProtocolError::OffsetBackwards {
                            before: start + len,
                            after: reported,
                        });
                        self.fail(now, error, None, true);
                        self.resync_unless_failed();
                    }
                    Err(error) => self.protocol(error),
                }
            }
            Input::Answer { status, .. } => self.protocol(ProtocolError::UnexpectedStatus {
                status,
                expected: "204 No Content",
            }),
            Input::Failed { error, retry_after } => {
                self.on_request_failure(now, error, retry_after)
            }
            other => panic!("{other:?} does not answer a PATCH"),
        }
    }

    /// A PATCH or HEAD failed: expiry, conflict, retry or give up.
    pub(super) fn on_request_failure(
        &mut self,
        now: Instant,
        error: Error,
        retry_after: Option<Duration>,
    ) {
        match status_of(&error) {
            Some(404 | 410) => self.expired(error),
            Some(409) => {
                self.fail(now, error, retry_after, true);
                self.resync_unless_failed();
            }
            _ => {
                self.fail(now, error, retry_after, false);
                self.resync_unless_failed();
            }
        }
    }

    fn resync_unless_failed(&mut self) {
        if self.error.is_none() {
            self.step = Step::Resync;
        }
    }

    fn acknowledge(&mut self, start: u64, end: u64, reported: u64) {
        self.offset = reported;
        self.budget.acknowledged(reported);
        self.events.push_back(Event::ChunkComplete {
            start,
            offset: reported,
        });
        if reported < end {
            let error = self.protocol_error(ProtocolError::OffsetBackwards {
                before: end,
                after: reported,
            });
            if let Err(error) = self.budget.shortfall(&self.policy, error) {
                self.error = Some(error);
            }
        }
    }

    pub(super) fn on_resync(&mut self, now: Instant, input: Input) {
        match input {
            Input::Answer { headers, .. } => match self.check_server_offset(&headers) {
                Ok((offset, _)) => {
                    self.offset = offset;
                    self.budget.acknowledged(offset);
                    self.step = Step::Transfer;
                }
                Err(error) => self.protocol(error),
            },
            Input::Failed { error, retry_after } => match status_of(&error) {
                Some(404 | 410) => self.expired(error),
                _ => self.fail(now, error, retry_after, false),
            },
            other => panic!("{other:?} does not answer a HEAD"),
        }
    }

    /// A HEAD's offset, checked against what was sent and what can be re-sent.
    fn check_server_offset(
        &mut self,
        headers: &HeaderMap,
    ) -> Result<(u64, Option<u64>), ProtocolError> {
        let (offset, length, _) = head_status(headers)?;
        match (self.length, length) {
            (Some(local), Some(server)) if local != server => {
                return Err(ProtocolError::LengthMismatch { server, local });
            }
            (None, Some(server)) if self.eof && server != self.available => {
                return Err(ProtocolError::LengthMismatch {
                    server,
                    local: self.available,
                });
            }
            _ => {}
        }
        if offset > self.sent_end {
            return Err(ProtocolError::OffsetTooLarge {
                offset,
                limit: self.sent_end,
            });
        }
        if offset < self.floor {
            // A stream's bytes before the buffered chunk are gone.
            return Err(ProtocolError::OffsetBackwards {
                before: self.floor,
                after: offset,
            });
        }
        Ok((offset, length))
    }

    pub(super) fn on_verify(&mut self, now: Instant, input: Input) {
        match input {
            Input::Answer { headers, .. } => {
                let (offset, server_length) = match self.check_server_offset(&headers) {
                    Ok(found) => found,
                    Err(error) => return self.protocol(error),
                };
                let length = self.length.expect("verified only once the length is known");
                if offset == length && server_length == Some(length) {
                    self.step = if self.config.store && self.config.remove_on_success {
                        Step::RemoveDone
                    } else {
                        Step::Done
                    };
                    return;
                }
                // Not provably complete: count it, then send (or declare) what is missing.
                let error = if offset == length {
                    // A stream declares its length again; a file just asks again.
                    self.length_declared = self.config.length.is_some();
                    ProtocolError::MissingHeader {
                        name: "Upload-Length",
                    }
                } else {
                    ProtocolError::Incomplete { offset, length }
                };
                let error = self.protocol_error(error);
                self.fail(now, error, None, true);
                self.offset = offset;
                self.step = Step::Transfer;
            }
            Input::Failed { error, retry_after } => match status_of(&error) {
                Some(404 | 410) => self.expired(error),
                _ => self.fail(now, error, retry_after, false),
            },
            other => panic!("{other:?} does not answer a HEAD"),
        }
    }
}

/// `Upload-Offset` (required), `Upload-Length` and `Upload-Expires` of a HEAD.
fn head_status(
    headers: &HeaderMap,
) -> Result<(u64, Option<u64>, Option<SystemTime>), ProtocolError> {
    let offset = headers
        .get("upload-offset")
        .ok_or(ProtocolError::MissingHeader {
            name: "Upload-Offset",
        })
        .and_then(|v| parse_u64("Upload-Offset", v.as_bytes()))?;
    let length = match headers.get("upload-length") {
        Some(v) => Some(parse_u64("Upload-Length", v.as_bytes())?),
        None => None,
    };
    // An unparsable date is ignored rather than fatal: it is advisory.
    let expires = headers
        .get("upload-expires")
        .and_then(|v| v.to_str().ok())
        .and_then(|text| httpdate::parse_http_date(text).ok());
    Ok((offset, length, expires))
}

pub(super) fn status_of(error: &Error) -> Option<u16> {
    match error {
        Error::Status(status) => Some(status.status),
        _ => None,
    }
}

/// Whether a failed creation request cannot have been processed: the
/// connection was never made, or the server said it did not take it (429, 503).
fn cannot_have_been_processed(error: &Error) -> bool {
    match error {
        Error::Transport { connect, .. } => *connect,
        Error::Status(status) => matches!(status.status, 429 | 503),
        _ => false,
    }
}
