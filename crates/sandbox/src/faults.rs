//! Deterministic fault injection: rules that fire on the n-th request of a method.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::Method;

/// Something the server does wrong, on purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer this status (with an optional `Retry-After` in seconds) without
    /// touching the upload.
    Status {
        /// The status code.
        status: u16,
        /// `Retry-After` seconds.
        retry_after: Option<u64>,
    },
    /// Store the first `bytes` of the body, then drop the connection without an
    /// answer. With `lose` > 0, the last `lose` of those bytes are then lost, as
    /// when a server crashes before syncing them.
    CutAfter {
        /// Body bytes stored before the cut.
        bytes: u64,
        /// Bytes lost again after the cut.
        lose: u64,
    },
    /// Wait this long before handling the request (past a client's stall timeout).
    Stall(Duration),
    /// Handle the request, but answer with this `Upload-Offset` text instead of
    /// the real one (malformed or backwards offsets).
    WrongOffset(String),
    /// Expire the upload addressed by this request before handling it (the
    /// expiration extension's 410 Gone, without waiting for a clock).
    Expire,
    /// Receive a checksummed PATCH, then discard it and answer 460 as if the
    /// bytes had been damaged in transit.
    ChecksumMismatch,
    /// Answer a redirect (`status` 301/302/307/308) to `location`, which may be
    /// on another host: a client must not carry credentials there.
    Redirect {
        /// The status code.
        status: u16,
        /// `Location`.
        location: String,
    },
    /// Handle the request, then set the JSON value at `pointer` (RFC 6901,
    /// e.g. `/upload/upload_link`) in the answer: an API that did the work
    /// but describes it wrongly. API only.
    RewriteJson {
        /// Where, as a JSON pointer.
        pointer: String,
        /// The value put there.
        value: serde_json::Value,
    },
    /// Answer with this status, content type and body (an HTML error page, say).
    Raw {
        /// The status code.
        status: u16,
        /// `Content-Type`.
        content_type: String,
        /// The body.
        body: String,
    },
}

#[derive(Debug, Clone)]
struct Rule {
    method: Method,
    nth: u64,
    fault: Fault,
}

/// The fault plan of one server, shared with tests. Rules fire once.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    inner: Arc<Mutex<FaultState>>,
}

#[derive(Debug, Default)]
struct FaultState {
    rules: Vec<Rule>,
    seen: Vec<(Method, u64)>,
    fired: u64,
}

impl Faults {
    fn state(&self) -> std::sync::MutexGuard<'_, FaultState> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Fires `fault` on the `nth` (1-based, counted from the server's start)
    /// request with `method`.
    pub fn inject(&self, method: Method, nth: u64, fault: Fault) {
        self.state().rules.push(Rule { method, nth, fault });
    }

    /// Fires `fault` on the next request with `method`.
    pub fn inject_next(&self, method: Method, fault: Fault) {
        self.inject_later(method, 1, fault);
    }

    /// Fires `fault` on the `later`-th request with `method` from now
    /// (1 = the next one). A campaign running uploads one after another on
    /// one server plans each upload's faults this way.
    pub fn inject_later(&self, method: Method, later: u64, fault: Fault) {
        let mut state = self.state();
        let seen = state
            .seen
            .iter()
            .find(|(m, _)| *m == method)
            .map_or(0, |(_, n)| *n);
        state.rules.push(Rule {
            method,
            nth: seen + later.max(1),
            fault,
        });
    }

    /// Drops the rules that have not fired.
    pub fn clear(&self) {
        self.state().rules.clear();
    }

    /// How many faults have fired.
    pub fn fired(&self) -> u64 {
        self.state().fired
    }

    /// Rules not yet fired.
    pub fn pending(&self) -> usize {
        self.state().rules.len()
    }

    /// Counts a request and returns the fault to apply to it, if any.
    pub(crate) fn on_request(&self, method: &Method) -> Option<Fault> {
        let mut state = self.state();
        let count = match state.seen.iter_mut().find(|(m, _)| m == method) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                state.seen.push((method.clone(), 1));
                1
            }
        };
        let index = state
            .rules
            .iter()
            .position(|r| r.method == *method && r.nth == count)?;
        state.fired += 1;
        Some(state.rules.remove(index).fault)
    }
}
