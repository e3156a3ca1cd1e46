//! When to retry and how long to wait: exponential backoff with jitter, a cap,
//! an optional explicit schedule and a caller hook. Pure: the driver passes the
//! attempt number and a random value.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// What a failed attempt looked like, for [`RetryPolicy::should_retry`] hooks.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct RetryContext<'a> {
    /// 1 for the first retry after a failure, counting only attempts without progress.
    pub attempt: u32,
    /// The failure.
    pub error: &'a crate::error::Error,
}

type Hook = Arc<dyn Fn(&RetryContext<'_>) -> bool + Send + Sync>;

/// How the client retries failed requests.
///
/// Connection errors, stall timeouts, 5xx, 423 and 429 are retried (a 429's or
/// 503's `Retry-After` is honoured, within `max_delay`); 409 re-syncs the offset
/// with a HEAD. A server's `Retry-After` wins over the backoff delay, up to
/// `max_retry_after` (default 5 minutes). The budget that spends this policy,
/// the same for uploads and for the Vimeo facade's API calls, is
/// [`crate::RetryBudget`]: `max_attempts` failures in a row without new
/// acknowledged bytes, and `max_failures` failures in one upload.
///
/// ```
/// use std::time::Duration;
/// let policy = tus::RetryPolicy::default()
///     .max_attempts(5)
///     .backoff(Duration::from_millis(100), Duration::from_secs(10));
/// assert_eq!(policy.delay(1, 0), Duration::from_millis(50));   // jitter draws from [d/2, d]
/// assert_eq!(policy.delay(3, u64::MAX), Duration::from_millis(400));
/// ```
#[derive(Clone)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_delay: Duration,
    max_delay: Duration,
    max_retry_after: Duration,
    schedule: Option<Vec<Duration>>,
    max_failures: Option<u32>,
    hook: Option<Hook>,
}

impl Default for RetryPolicy {
    /// 10 attempts, 250 ms doubling to at most 30 s, with jitter.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 10,
            initial_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(300),
            schedule: None,
            max_failures: None,
            hook: None,
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        RetryPolicy::default().max_attempts(0)
    }

    /// Consecutive failed attempts (without progress) before giving up.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Exponential backoff: `initial` doubling per attempt, capped at `max`.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_delay = initial;
        self.max_delay = max;
        self
    }

    /// The longest server-requested `Retry-After` wait honoured (default 5 min);
    /// longer requests are cut to this.
    pub fn max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// Failures allowed in one upload however much progress it makes
    /// (default `max_attempts × (chunks + 2)`).
    pub fn max_failures(mut self, failures: u32) -> Self {
        self.max_failures = Some(failures);
        self
    }

    /// The per-upload failure cap for an upload of `chunks` chunks.
    pub(crate) fn failure_cap(&self, chunks: u64) -> u32 {
        self.max_failures.unwrap_or_else(|| {
            let chunks = u32::try_from(chunks).unwrap_or(u32::MAX);
            self.max_attempts.saturating_mul(chunks.saturating_add(2))
        })
    }

    /// An explicit schedule of delays (the last one repeats); jitter still applies.
    pub fn schedule(mut self, delays: Vec<Duration>) -> Self {
        self.schedule = Some(delays);
        self
    }

    /// A hook that may veto a retry the policy would make.
    pub fn should_retry(
        mut self,
        hook: impl Fn(&RetryContext<'_>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.hook = Some(Arc::new(hook));
        self
    }

    /// The configured attempt limit.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The largest delay ever waited.
    pub fn max_delay(&self) -> Duration {
        self.max_delay
    }

    /// The delay before retry `attempt` (1-based). `random` picks the jitter:
    /// the delay is drawn uniformly from `[d/2, d]`, where `d` is the nominal delay.
    pub fn delay(&self, attempt: u32, random: u64) -> Duration {
        let nominal = match &self.schedule {
            Some(schedule) if !schedule.is_empty() => {
                let index = (attempt.max(1) as usize - 1).min(schedule.len() - 1);
                schedule[index]
            }
            _ => {
                let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(31));
                self.initial_delay.saturating_mul(factor)
            }
        }
        .min(self.max_delay);
        let half = nominal / 2;
        let spread = (nominal - half).as_nanos() as u64;
        let jitter = if spread == 0 {
            0
        } else {
            ((u128::from(random) * u128::from(spread)) / u128::from(u64::MAX)) as u64
        };
        half + Duration::from_nanos(jitter)
    }

    /// Whether the caller's veto hook lets this retry happen.
    pub(crate) fn permits(&self, context: &RetryContext<'_>) -> bool {
        self.hook.as_ref().is_none_or(|hook| hook(context))
    }

    /// The wait before the next attempt: the server's `Retry-After` if it gave
    /// one (capped at `max_retry_after`), otherwise the backoff delay.
    pub(crate) fn wait(
        &self,
        attempt: u32,
        random: u64,
        retry_after: Option<Duration>,
    ) -> Duration {
        match retry_after {
            Some(server) => server.min(self.max_retry_after),
            None => self.delay(attempt, random),
        }
    }
}

impl fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("max_attempts", &self.max_attempts)
            .field("initial_delay", &self.initial_delay)
            .field("max_delay", &self.max_delay)
            .field("max_retry_after", &self.max_retry_after)
            .field("schedule", &self.schedule)
            .field("max_failures", &self.max_failures)
            .field("hook", &self.hook.is_some())
            .finish()
    }
}

/// Statuses worth retrying: the server may succeed later. 460 (checksum
/// mismatch) means the chunk was damaged in transit and is re-sent.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 423 | 429 | 460) || (500..600).contains(&status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let policy =
            RetryPolicy::default().backoff(Duration::from_millis(100), Duration::from_secs(1));
        let max = |attempt| policy.delay(attempt, u64::MAX);
        assert_eq!(max(1), Duration::from_millis(100));
        assert_eq!(max(2), Duration::from_millis(200));
        assert_eq!(max(4), Duration::from_millis(800));
        assert_eq!(max(5), Duration::from_secs(1));
        assert_eq!(max(1000), Duration::from_secs(1));
        assert_eq!(policy.delay(1, 0), Duration::from_millis(50));
        let mid = policy.delay(1, u64::MAX / 2);
        assert!(
            mid > Duration::from_millis(74) && mid < Duration::from_millis(76),
            "{mid:?}"
        );
    }

    #[test]
    fn schedules_repeat_their_last_delay() {
        let policy =
            RetryPolicy::default().schedule(vec![Duration::from_secs(1), Duration::from_secs(4)]);
        assert_eq!(policy.delay(1, u64::MAX), Duration::from_secs(1));
        assert_eq!(policy.delay(2, u64::MAX), Duration::from_secs(4));
        assert_eq!(policy.delay(9, u64::MAX), Duration::from_secs(4));
    }

    #[test]
    fn retry_after_is_honoured_within_the_cap() {
        let policy = RetryPolicy::default()
            .backoff(Duration::from_millis(10), Duration::from_millis(50))
            .max_retry_after(Duration::from_secs(5));
        assert_eq!(
            policy.wait(1, 0, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(
            policy.wait(1, 0, Some(Duration::from_secs(60))),
            Duration::from_secs(5)
        );
        assert_eq!(policy.wait(1, u64::MAX, None), Duration::from_millis(10));
    }

    #[test]
    fn classifies_statuses() {
        for status in [408, 423, 429, 460, 500, 502, 503, 504] {
            assert!(is_retryable_status(status), "{status}");
        }
        for status in [200, 204, 400, 401, 403, 404, 409, 410, 412, 413, 415] {
            assert!(!is_retryable_status(status), "{status}");
        }
    }
}
