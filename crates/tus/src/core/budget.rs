//! The retry budget: the one interpreter of a [`RetryPolicy`] for uploads and
//! for the Vimeo facade's API calls. Pure: the caller passes the failure, the
//! server's `Retry-After` and a random number for the jitter.
//!
//! The rule, which always ends:
//! - a failure is retried only if it is retryable (or the caller forces it, as
//!   a tus 409 re-sync does), the policy's veto hook agrees, and
//! - at most `max_attempts` failures in a row without *new* acknowledged bytes
//!   (bytes beyond the highest offset the server ever acknowledged: a server
//!   that forgets and re-acknowledges the same bytes makes no progress), and
//! - at most `max_failures` failures in the whole upload (default
//!   `max_attempts × (chunks + 2)`), where a PATCH the server acknowledged only
//!   in part also counts, so a server taking one byte per request cannot keep
//!   an upload going forever.

use std::time::Duration;

use crate::core::retry::{RetryContext, RetryPolicy};
use crate::error::Error;

/// Failures counted so far in one upload or one API call.
#[derive(Debug, Clone)]
pub struct RetryBudget {
    consecutive: u32,
    total: u32,
    cap: u32,
    high_water: u64,
}

/// What to do about a failure the budget allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Failures in a row without progress, this one included (1-based).
    pub attempt: u32,
    /// How long to wait before the next attempt.
    pub delay: Duration,
}

impl RetryBudget {
    /// A budget for one API call or one request without byte progress: at most
    /// `policy.attempts()` retries.
    ///
    /// ```
    /// use std::time::Duration;
    /// let policy = tus::RetryPolicy::default().max_attempts(2);
    /// let mut budget = tus::RetryBudget::for_call(&policy);
    /// let timeout = || tus::Error::Timeout { method: "GET".into(), url: "u".into(), after: Duration::ZERO };
    /// assert!(budget.failure(&policy, timeout(), None, 0, false).is_ok());
    /// assert!(budget.failure(&policy, timeout(), None, 0, false).is_ok());
    /// assert!(matches!(budget.failure(&policy, timeout(), None, 0, false),
    ///     Err(tus::Error::RetriesExhausted { attempts: 3, .. })));
    /// ```
    pub fn for_call(policy: &RetryPolicy) -> Self {
        RetryBudget::with_cap(policy.attempts())
    }

    /// A budget for an upload of `chunks` chunks (unknown: pass the chunks
    /// known so far); the per-upload cap is the policy's `max_failures` or
    /// `max_attempts × (chunks + 2)`.
    pub fn for_upload(policy: &RetryPolicy, chunks: u64) -> Self {
        RetryBudget::with_cap(policy.failure_cap(chunks))
    }

    fn with_cap(cap: u32) -> Self {
        RetryBudget {
            consecutive: 0,
            total: 0,
            cap,
            high_water: 0,
        }
    }

    /// Raises the per-upload cap when more chunks become known (streams).
    pub(crate) fn grow_cap(&mut self, policy: &RetryPolicy, chunks: u64) {
        self.cap = self.cap.max(policy.failure_cap(chunks));
    }

    /// The server acknowledged bytes up to `offset`. Returns whether that is
    /// new (beyond every earlier acknowledgement); only then does the count of
    /// failures in a row start again.
    pub fn acknowledged(&mut self, offset: u64) -> bool {
        if offset > self.high_water {
            self.high_water = offset;
            self.consecutive = 0;
            true
        } else {
            false
        }
    }

    /// A new upload replaces the old one (expiry): its bytes count as new
    /// again; failures already spent stay spent.
    pub(crate) fn restart(&mut self) {
        self.high_water = 0;
        self.consecutive = 0;
    }

    /// The highest offset ever acknowledged.
    pub fn high_water(&self) -> u64 {
        self.high_water
    }

    /// A request was answered but took less than was sent: not a failure, but
    /// it counts against the per-upload cap. Returns an error once it is spent.
    pub(crate) fn shortfall(&mut self, policy: &RetryPolicy, last: Error) -> Result<(), Error> {
        self.total += 1;
        if self.total > self.cap {
            return Err(self.exhausted(policy, last));
        }
        Ok(())
    }

    /// Failures counted against the per-upload cap so far.
    pub fn total(&self) -> u32 {
        self.total
    }

    /// A failure: `Ok` with the wait before retrying, or the error to return.
    /// `force` retries a failure that is not [`Error::is_retryable`] on its own
    /// (a tus 409 conflict, answered by a re-sync).
    pub fn failure(
        &mut self,
        policy: &RetryPolicy,
        error: Error,
        retry_after: Option<Duration>,
        random: u64,
        force: bool,
    ) -> Result<Retry, Error> {
        self.consecutive += 1;
        self.total += 1;
        let attempt = self.consecutive;
        if !(force || error.is_retryable()) {
            return Err(error);
        }
        if attempt > policy.attempts() || self.total > self.cap {
            return Err(self.exhausted(policy, error));
        }
        if !policy.permits(&RetryContext {
            attempt,
            error: &error,
        }) {
            return Err(if attempt > 1 {
                self.exhausted(policy, error)
            } else {
                error
            });
        }
        Ok(Retry {
            attempt,
            delay: policy.wait(attempt, random, retry_after),
        })
    }

    fn exhausted(&self, policy: &RetryPolicy, last: Error) -> Error {
        let attempts = if self.total > self.cap {
            self.total
        } else {
            self.consecutive.min(policy.attempts().saturating_add(1))
        };
        Error::RetriesExhausted {
            attempts,
            last: Box::new(last),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeout() -> Error {
        Error::Timeout {
            method: "PATCH".into(),
            url: "u".into(),
            after: Duration::ZERO,
        }
    }

    #[test]
    fn failures_without_new_bytes_run_out() {
        let policy = RetryPolicy::default().max_attempts(2);
        let mut budget = RetryBudget::for_upload(&policy, 100);
        assert!(budget.acknowledged(10));
        assert_eq!(
            budget
                .failure(&policy, timeout(), None, 0, false)
                .unwrap()
                .attempt,
            1
        );
        // The server forgets and re-acknowledges the same bytes: no progress.
        assert!(!budget.acknowledged(5));
        assert!(!budget.acknowledged(10));
        assert_eq!(
            budget
                .failure(&policy, timeout(), None, 0, false)
                .unwrap()
                .attempt,
            2
        );
        assert!(matches!(
            budget.failure(&policy, timeout(), None, 0, false),
            Err(Error::RetriesExhausted { attempts: 3, .. })
        ));
    }

    #[test]
    fn new_bytes_start_the_count_again_but_the_upload_cap_holds() {
        let policy = RetryPolicy::default().max_attempts(1).max_failures(3);
        let mut budget = RetryBudget::for_upload(&policy, 1000);
        for offset in 1..=3 {
            assert!(budget.failure(&policy, timeout(), None, 0, false).is_ok());
            assert!(budget.acknowledged(offset));
        }
        assert!(matches!(
            budget.failure(&policy, timeout(), None, 0, false),
            Err(Error::RetriesExhausted { attempts: 4, .. })
        ));
    }

    #[test]
    fn shortfalls_count_against_the_upload_cap() {
        let policy = RetryPolicy::default().max_attempts(5).max_failures(2);
        let mut budget = RetryBudget::for_upload(&policy, 1);
        assert!(budget.shortfall(&policy, timeout()).is_ok());
        assert!(budget.shortfall(&policy, timeout()).is_ok());
        assert!(budget.shortfall(&policy, timeout()).is_err());
    }

    #[test]
    fn fatal_errors_and_vetoes_are_not_retried() {
        let policy = RetryPolicy::default();
        let mut budget = RetryBudget::for_call(&policy);
        assert!(matches!(
            budget.failure(&policy, Error::Cancelled, None, 0, false),
            Err(Error::Cancelled)
        ));
        let vetoed = RetryPolicy::default().should_retry(|_| false);
        let mut budget = RetryBudget::for_call(&vetoed);
        assert!(matches!(
            budget.failure(&vetoed, timeout(), None, 0, false),
            Err(Error::Timeout { .. })
        ));
        // A forced failure (409) retries although a 409 is not retryable alone.
        let conflict = Error::Status(crate::StatusError {
            status: 409,
            method: "PATCH".into(),
            url: "u".into(),
            body_excerpt: String::new(),
        });
        let mut budget = RetryBudget::for_call(&policy);
        assert!(budget.failure(&policy, conflict, None, 0, true).is_ok());
    }

    #[test]
    fn retry_after_is_capped_by_the_policy() {
        let policy = RetryPolicy::default().max_retry_after(Duration::from_secs(2));
        let mut budget = RetryBudget::for_call(&policy);
        let retry = budget
            .failure(&policy, timeout(), Some(Duration::from_secs(600)), 0, false)
            .unwrap();
        assert_eq!(retry.delay, Duration::from_secs(2));
    }
}
