//! The upload state machine, sans-IO. Every decision of an upload lives here,
//! once: resume or create, what to PATCH next, what an answer means, when and
//! how long to wait, when to re-sync, when to start over after an expiry, who
//! gets the caller's headers, and when the upload counts as verified.
//!
//! The model is quinn-proto's `Connection`: the driver asks [`Machine::poll`]
//! for the next [`Action`] at `now`, performs it, and feeds the result back
//! with [`Machine::handle`]; [`Machine::poll_event`] yields the events to pass
//! on to the caller. Nothing here touches a socket, a file or the clock.
//!
//! Invariants (checked by the simulated-server property test in `sim`):
//! - the offset only ever comes from the server, and is checked: a PATCH may
//!   not acknowledge less than it started at nor more than was sent; a HEAD
//!   may not report more than was ever sent, nor less than what is still
//!   available to re-send (streams keep only the current chunk);
//! - after any failure a HEAD comes before the next byte, so an honest
//!   server never receives a byte below its acknowledged offset again;
//! - the retry budget ([`RetryBudget`]) always ends the upload, within
//!   [`Machine::request_bound`] requests;
//! - `Done` only after the source was checked unchanged after the last PATCH
//!   and a final HEAD reported offset = length = the source's length;
//! - caller headers go only to the trusted origins (the endpoint's, plus any
//!   the caller named); a `Location` from https to http is refused;
//! - a creation request that may have reached the server is not repeated.

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime};

use http::{HeaderMap, Uri};

use crate::core::budget::RetryBudget;
use crate::core::checksum::ChecksumAlgorithm;
use crate::core::retry::RetryPolicy;
use crate::error::{Error, ProtocolError, redact_url};
use crate::progress::Event;

mod answers;
use answers::status_of;

/// How an upload begins.
#[derive(Debug, Clone)]
pub(crate) enum Start {
    /// Create a new upload at the endpoint.
    Create,
    /// Try the stored URL first; create a new upload if it is gone or does not fit.
    Resume(Uri),
    /// Continue an upload the caller names (no creation possible).
    Existing(Uri),
}

/// What the machine knows before the first request.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// The source's length; `None` for a stream (creation-defer-length).
    pub(crate) length: Option<u64>,
    /// Bytes per PATCH (> 0).
    pub(crate) chunk_size: u64,
    /// The creation endpoint (`None` with [`Start::Existing`]).
    pub(crate) endpoint: Option<Uri>,
    pub(crate) start: Start,
    /// Send the bytes with the POST (offered, allowed, no checksum, one chunk).
    pub(crate) creation_with_upload: bool,
    /// `Upload-Checksum` on every PATCH.
    pub(crate) checksum: Option<ChecksumAlgorithm>,
    /// The server offers `expiration`: a vanished unfinished upload starts over once.
    pub(crate) restart_on_expiry: bool,
    /// `Tus-Max-Size`.
    pub(crate) max_size: Option<u64>,
    /// A URL store is configured (probe it before creating, keep the URL).
    pub(crate) store: bool,
    pub(crate) remove_on_success: bool,
    /// Origins (`scheme://host:port`) that get the caller's headers.
    pub(crate) trusted_origins: Vec<String>,
    /// A concatenation final upload: created complete, only verified.
    pub(crate) concat_final: bool,
    /// New uploads come from the caller's [`crate::Creator`] (no endpoint).
    pub(crate) external_creation: bool,
    /// Seeds the jitter.
    pub(crate) seed: u64,
}

/// The next thing the driver must do.
#[derive(Debug)]
pub(crate) enum Action {
    /// Check that the URL store is writable (before a creation could orphan an upload).
    ProbeStore,
    /// `HEAD url`.
    Head { url: Uri, credentials: bool },
    /// `POST` to the endpoint; `body` bytes from offset 0 ride along
    /// (creation-with-upload); `deferred` asks for `Upload-Defer-Length`.
    Create {
        url: Uri,
        body: u64,
        deferred: bool,
        length: Option<u64>,
        credentials: bool,
    },
    /// Ask the caller's creator for a new upload of `length` bytes; `gone`
    /// is the upload it replaces (answer with [`Input::Created`]).
    CreateElsewhere { length: u64, gone: Option<Uri> },
    /// `PATCH url` with bytes `offset..offset + len`; `declare_length` adds
    /// `Upload-Length` (a deferred upload's last chunk).
    Patch {
        url: Uri,
        offset: u64,
        len: u64,
        declare_length: Option<u64>,
        checksum: Option<ChecksumAlgorithm>,
        credentials: bool,
    },
    /// Read the next chunk of a stream (answer with [`Input::Chunk`]).
    ReadChunk { max: u64 },
    /// Check the source is unchanged (answer `Input::Ok` or a failure).
    CheckSource,
    /// Keep `url` in the store.
    StorePut { url: Uri },
    /// Forget the stored URL.
    StoreRemove,
    /// Sleep until then, then poll again.
    Wait { until: Instant },
    /// Verified complete.
    Done(Finished),
    /// Gave up; the upload stays resumable.
    Failed(Error),
}

/// A verified upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finished {
    pub(crate) url: Uri,
    pub(crate) length: u64,
    pub(crate) resumed_from: u64,
    pub(crate) retries: u32,
}

/// What happened to the last action.
#[derive(Debug)]
pub(crate) enum Input {
    /// A 2xx answer, with the wall-clock time (for `Upload-Expires`).
    Answer {
        status: u16,
        headers: HeaderMap,
        wall: SystemTime,
    },
    /// The request, check or store operation failed (non-2xx answers too).
    Failed {
        error: Error,
        retry_after: Option<Duration>,
    },
    /// A local action (probe, store, source check) succeeded.
    Ok,
    /// A stream chunk was read: `len` bytes, and whether the stream ended.
    Chunk { len: u64, eof: bool },
    /// The caller's creator made a new upload at `url`.
    Created { url: Uri },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    ResumeHead,
    Forget,
    Probe,
    Create,
    StorePut,
    Transfer,
    Resync,
    Verify,
    RemoveDone,
    Done,
    Failed,
}

/// One upload's state. See the module docs.
pub(crate) struct Machine {
    config: Config,
    policy: RetryPolicy,
    step: Step,
    /// The action whose result is awaited.
    in_flight: Option<Step>,
    /// What the in-flight PATCH covers.
    patch: Option<(u64, u64, bool)>,
    url: Option<Uri>,
    /// An upload given up on (vanished, or did not fit), for the creator.
    gone: Option<Uri>,
    /// Where the next PATCH starts: always the server's word.
    offset: u64,
    /// The furthest offset a HEAD may report: the end of what this run sent,
    /// or, for an upload resumed from an earlier run (whose last request may
    /// still be landing on the server), the upload's length.
    sent_end: u64,
    /// Bytes `floor..available` can be sent (files: 0..length; streams: the buffered chunk).
    floor: u64,
    available: u64,
    eof: bool,
    length: Option<u64>,
    length_declared: bool,
    source_checked: bool,
    /// Creation-with-upload answered without `Upload-Offset`: HEAD before PATCH.
    resync_after_store: bool,
    budget: RetryBudget,
    wait_until: Option<Instant>,
    restarted: bool,
    resumed_from: u64,
    retries: u32,
    rng: u64,
    events: VecDeque<Event>,
    error: Option<Error>,
}

impl Machine {
    pub(crate) fn new(config: Config, policy: RetryPolicy) -> Machine {
        let chunks = config.length.map_or(1, |l| chunks(l, config.chunk_size));
        let budget = RetryBudget::for_upload(&policy, chunks);
        let (step, url) = match &config.start {
            Start::Resume(url) => (Step::ResumeHead, Some(url.clone())),
            Start::Existing(url) => (Step::ResumeHead, Some(url.clone())),
            Start::Create if config.store => (Step::Probe, None),
            Start::Create => (Step::Create, None),
        };
        let available = config.length.unwrap_or(0);
        let error = match (config.length, config.max_size) {
            (Some(length), Some(max))
                if length > max && !matches!(config.start, Start::Existing(_)) =>
            {
                Some(Error::TooLarge { length, max })
            }
            _ => None,
        };
        Machine {
            rng: config.seed,
            length: config.length,
            length_declared: config.length.is_some(),
            eof: config.length.is_some(),
            available,
            config,
            policy,
            step,
            in_flight: None,
            patch: None,
            url,
            gone: None,
            offset: 0,
            sent_end: 0,
            floor: 0,
            source_checked: false,
            resync_after_store: false,
            budget,
            wait_until: None,
            restarted: false,
            resumed_from: 0,
            retries: 0,
            events: VecDeque::new(),
            error,
        }
    }

    /// The most requests this upload can make, whatever the server does:
    /// `6 + 2 × chunks + 3 × failure cap` (resume HEAD, two creations, the
    /// chunks twice (one restart), each counted failure with its re-sync
    /// HEAD and the PATCH it displaced, two final HEADs).
    pub(crate) fn request_bound(&self) -> u64 {
        let length = self.length.unwrap_or(self.available);
        let cap = u64::from(
            self.policy
                .failure_cap(chunks(length, self.config.chunk_size)),
        );
        6 + 2 * chunks(length, self.config.chunk_size) + 3 * cap
    }

    /// The next event for the caller, if any.
    pub(crate) fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The next action at `now`.
    pub(crate) fn poll(&mut self, now: Instant) -> Action {
        if let Some(error) = self.error.take() {
            self.step = Step::Failed;
            return Action::Failed(error);
        }
        if let Some(until) = self.wait_until {
            if now < until {
                return Action::Wait { until };
            }
            self.wait_until = None;
        }
        assert!(
            self.in_flight.is_none(),
            "poll before the last action's result"
        );
        let action = match self.step {
            Step::Transfer if self.resync_after_store => {
                self.resync_after_store = false;
                self.step = Step::Resync;
                self.head()
            }
            Step::ResumeHead | Step::Resync | Step::Verify => self.head(),
            Step::Forget | Step::RemoveDone => Action::StoreRemove,
            Step::Probe => Action::ProbeStore,
            Step::Create => self.create(),
            Step::StorePut => Action::StorePut {
                url: self.url.clone().expect("created"),
            },
            Step::Transfer => return self.transfer(),
            Step::Done => {
                return Action::Done(Finished {
                    url: self.url.clone().expect("verified"),
                    length: self.length.unwrap_or(self.offset),
                    resumed_from: self.resumed_from,
                    retries: self.retries,
                });
            }
            Step::Failed => panic!("poll after the upload failed"),
        };
        self.in_flight = Some(self.step);
        action
    }

    fn credentials(&self, url: &Uri) -> bool {
        let origin = origin(url);
        self.config.trusted_origins.contains(&origin)
    }

    fn head(&self) -> Action {
        let url = self.url.clone().expect("an upload URL before HEAD");
        Action::Head {
            credentials: self.credentials(&url),
            url,
        }
    }

    fn create(&mut self) -> Action {
        if self.config.external_creation {
            return Action::CreateElsewhere {
                length: self.length.expect("external creation needs a known length"),
                gone: self.gone.take(),
            };
        }
        let url = self
            .config
            .endpoint
            .clone()
            .expect("an endpoint to create at");
        let body = match self.length {
            Some(length)
                if self.config.creation_with_upload
                    && self.config.checksum.is_none()
                    && length > 0
                    && length <= self.config.chunk_size
                    && !self.config.concat_final =>
            {
                length
            }
            _ => 0,
        };
        self.patch = Some((0, body, false));
        Action::Create {
            credentials: self.credentials(&url),
            deferred: self.length.is_none(),
            length: self.length,
            url,
            body,
        }
    }

    fn transfer(&mut self) -> Action {
        if !self.source_checked {
            self.in_flight = Some(Step::Transfer);
            return Action::CheckSource;
        }
        if self.length.is_none() && self.offset == self.available && !self.eof {
            self.in_flight = Some(Step::Transfer);
            return Action::ReadChunk {
                max: self.config.chunk_size,
            };
        }
        let end = self.available;
        let declare = (!self.length_declared && self.eof).then_some(end);
        if self.offset < end || declare.is_some() {
            let len = (end - self.offset).min(self.config.chunk_size);
            let declare = declare.filter(|_| self.offset + len == end);
            let url = self.url.clone().expect("an upload URL before PATCH");
            self.patch = Some((self.offset, len, declare.is_some()));
            self.in_flight = Some(Step::Transfer);
            return Action::Patch {
                credentials: self.credentials(&url),
                url,
                offset: self.offset,
                len,
                declare_length: declare,
                checksum: self.config.checksum,
            };
        }
        self.step = Step::Verify;
        self.in_flight = Some(Step::Verify);
        self.head()
    }

    /// Feeds the result of the last action.
    pub(crate) fn handle(&mut self, now: Instant, input: Input) {
        let step = self.in_flight.take().expect("an action in flight");
        match (step, input) {
            (_, Input::Failed { error, .. }) if matches!(error, Error::Cancelled) => {
                self.error = Some(error);
            }
            (Step::ResumeHead, input) => self.on_resume_head(now, input),
            (Step::Forget, _) => {
                self.step = if self.config.store && !self.restarted {
                    Step::Probe
                } else {
                    Step::Create
                };
            }
            (Step::Probe, Input::Ok) => self.step = Step::Create,
            (Step::Create, input) => self.on_create(now, input),
            (Step::StorePut, Input::Ok) => self.step = Step::Transfer,
            (Step::Transfer, Input::Ok) => self.source_checked = true,
            // A source check or a stream read failed: nothing to retry.
            (Step::Transfer, Input::Failed { error, .. }) if self.patch.is_none() => {
                self.error = Some(error);
            }
            (Step::Transfer, Input::Chunk { len, eof }) => {
                self.floor = self.offset;
                self.available = self.offset + len;
                self.eof = eof;
                if eof {
                    self.length = Some(self.available);
                }
                let known = chunks(self.available, self.config.chunk_size);
                self.budget.grow_cap(&self.policy, known);
            }
            (Step::Transfer, input) => self.on_patch(now, input),
            (Step::Resync, input) => self.on_resync(now, input),
            (Step::Verify, input) => self.on_verify(now, input),
            (Step::RemoveDone, _) => self.step = Step::Done,
            (_, Input::Failed { error, .. }) => self.error = Some(error),
            (step, input) => panic!("{input:?} does not answer {step:?}"),
        }
    }

    /// The upload is gone from the server: start over once if the server
    /// offers expiration and every byte can be sent again.
    fn expired(&mut self, error: Error) {
        let can_restart = self.config.restart_on_expiry
            && !self.restarted
            && self.floor == 0
            && (self.config.endpoint.is_some() || self.config.external_creation)
            && !matches!(self.config.start, Start::Existing(_));
        if !can_restart {
            self.error = Some(error);
            return;
        }
        self.restarted = true;
        self.events.push_back(Event::Restarted {
            reason: format!(
                "the server answered {} for the unfinished upload (expired)",
                status_of(&error).unwrap_or(0)
            ),
        });
        self.gone = self.url.take();
        self.offset = 0;
        self.sent_end = 0;
        self.resumed_from = 0;
        self.budget.restart();
        self.step = if self.config.store {
            Step::Forget
        } else {
            Step::Create
        };
    }

    /// Spends the budget on a failure: wait and retry, or fail.
    fn fail(&mut self, now: Instant, error: Error, retry_after: Option<Duration>, force: bool) {
        let random = self.next_random();
        let reason = error.to_string();
        match self
            .budget
            .failure(&self.policy, error, retry_after, random, force)
        {
            Ok(retry) => {
                self.retries += 1;
                self.wait_until = Some(now + retry.delay);
                self.events.push_back(Event::Retrying {
                    attempt: retry.attempt,
                    delay: retry.delay,
                    reason,
                });
            }
            Err(error) => self.error = Some(error),
        }
    }

    fn protocol_error(&self, error: ProtocolError) -> Error {
        let url = self.url.as_ref().or(self.config.endpoint.as_ref());
        Error::Protocol {
            url: url.map(redact_url).unwrap_or_default(),
            error,
        }
    }

    fn protocol(&mut self, error: ProtocolError) {
        self.error = Some(self.protocol_error(error));
    }

    fn next_random(&mut self) -> u64 {
        // SplitMix64: jitter only, seeded from the OS by the driver.
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Chunks in `length` bytes (at least 1: an empty upload still takes a request).
pub(crate) fn chunks(length: u64, chunk_size: u64) -> u64 {
    length.div_ceil(chunk_size.max(1)).max(1)
}

/// `scheme://host:port`, with the scheme's default port filled in.
pub(crate) fn origin(url: &Uri) -> String {
    let scheme = url.scheme_str().unwrap_or("http").to_ascii_lowercase();
    let port = url
        .port_u16()
        .unwrap_or(if scheme == "https" { 443 } else { 80 });
    let host = url.host().unwrap_or("").to_ascii_lowercase();
    format!("{scheme}://{host}:{port}")
}

pub(super) fn without_query(url: &Uri) -> String {
    let port = url.port_u16().map(|p| format!(":{p}")).unwrap_or_default();
    format!(
        "{}://{}{port}{}",
        url.scheme_str().unwrap_or("http"),
        url.host().unwrap_or(""),
        url.path()
    )
}
