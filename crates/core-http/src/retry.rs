//! Retries: what is retried, how often, and what is never retried.
//!
//! Each failed attempt is classified ([`classify`]):
//! - the request never left (connect error): always safe to retry;
//! - the vendor refused it for its rate limit (its rate-limit code): not applied, safe to
//!   repeat after slowing down ([`Failure::Throttled`]);
//! - it may have reached the server (timeout after sending, connection lost, HTTP 5xx or 429,
//!   the vendor's "system busy" code): retried only for idempotent endpoints (reads, `set`/`get`),
//!   never for quota-limited writes (Baidu name/icon/signature/category changes, …) unless the
//!   caller opts in with [`RetryPolicy::retry_non_idempotent`];
//! - anything else (a vendor error, an undecodable answer, another 4xx, a redirect that was
//!   not followed): not retried.
//!
//! A `Retry-After` the server sends with 429 or 503 is a floor for the next backoff; a retry
//! that would start after [`RetryPolicy::total_budget`] is not made.
//!
//! Backoff is exponential with full jitter, bounded in attempts and in total time.

use std::time::Duration;

use crate::{Error, Vendor};

/// How a client retries. Set one per client ([`crate::Session::with_retry_policy`] on the
/// client's session or handles), or per call on a cloned handle.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = never retry).
    pub max_attempts: u32,
    /// Backoff before the first retry (doubled each time, with full jitter).
    pub initial_backoff: Duration,
    /// Upper bound of one backoff.
    pub max_backoff: Duration,
    /// No retry starts once this much time has passed since the first attempt.
    pub total_budget: Duration,
    /// Time limit of each attempt, overriding the transport's request timeout.
    pub attempt_timeout: Option<Duration>,
    /// Also retry quota-limited writes when the request may have reached the server. Off by
    /// default: a repeat may spend a limited attempt or apply a change twice.
    pub retry_non_idempotent: bool,
    /// Randomize each backoff between zero and its bound ("full jitter", the default), so a
    /// fleet does not retry in lockstep; off, each backoff is exactly its bound.
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            total_budget: Duration::from_secs(15),
            attempt_timeout: None,
            retry_non_idempotent: false,
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retries.
    pub fn never() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Default::default()
        }
    }

    /// The wait before retry number `retry` (1-based) of an operation `elapsed` into its
    /// first attempt, at least `floor` (a server's Retry-After); `None` when the attempts or
    /// the budget are spent.
    pub fn wait_before(
        &self,
        retry: u32,
        elapsed: Duration,
        floor: Option<Duration>,
    ) -> Option<Duration> {
        if retry >= self.max_attempts {
            return None;
        }
        let backoff = match floor {
            Some(asked) => self.backoff(retry).max(asked),
            None => self.backoff(retry),
        };
        (elapsed + backoff <= self.total_budget).then_some(backoff)
    }

    /// The jittered backoff before retry number `retry` (1-based).
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = self.initial_backoff.saturating_mul(
            1u32.checked_shl(retry.saturating_sub(1))
                .unwrap_or(u32::MAX),
        );
        let cap = exp.min(self.max_backoff);
        if self.jitter {
            cap.mul_f64(fastrand::f64())
        } else {
            cap
        }
    }
}

/// What a failed attempt says about retrying.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The request never reached the server.
    NotSent,
    /// The vendor answered its rate-limit code: the request was refused, not applied.
    Throttled,
    /// The request may have reached the server (timeout, lost connection, 5xx, busy code).
    MaybeReached,
    /// Not a transient failure.
    Permanent,
}

/// Whether an HTTP status says "try again later": 5xx, and 429 (too many requests).
pub fn is_transient_status(status: u16) -> bool {
    status >= 500 || status == 429
}

/// Classifies a failed attempt.
///
/// | failure | class |
/// |---|---|
/// | connect error | [`Failure::NotSent`] |
/// | a token refresh that may succeed later ([`Error::TokenRefresh`] `retryable`) | [`Failure::NotSent`] |
/// | timeout, connection lost, body cut | [`Failure::MaybeReached`] |
/// | HTTP 5xx or 429, any body but a known vendor code | [`Failure::MaybeReached`] |
/// | the vendor's rate-limit code | [`Failure::Throttled`] |
/// | the vendor's busy code | [`Failure::MaybeReached`] |
/// | other 4xx and 3xx, other vendor codes, undecodable 2xx | [`Failure::Permanent`] |
///
/// A token-invalid code is never retried here (the session refreshes the token instead).
pub fn classify(vendor: Vendor, error: &Error) -> Failure {
    match error {
        Error::Transport { source, .. } if source.is_connect() => Failure::NotSent,
        // The token could not be had: the call itself never left.
        Error::TokenRefresh {
            retryable: true, ..
        } => Failure::NotSent,
        Error::Transport { .. } => Failure::MaybeReached,
        Error::Http { status, .. } if is_transient_status(*status) => Failure::MaybeReached,
        Error::Vendor(v) if vendor.is_rate_limited(v.code) => Failure::Throttled,
        Error::Vendor(v) if vendor.is_busy(v.code) => Failure::MaybeReached,
        Error::Vendor(v)
            if is_transient_status(v.status)
                && v.documented.is_none()
                && !vendor.is_token_invalid(v.code) =>
        {
            Failure::MaybeReached
        }
        _ => Failure::Permanent,
    }
}

/// Whether trying again later may succeed: any failure [`classify`] does not call permanent
/// (classified by the vendor that answered, where one did).
pub fn is_transient(error: &Error) -> bool {
    let vendor = match error.vendor() {
        Some(v) => v.vendor,
        None => Vendor::ALL[0],
    };
    classify(vendor, error) != Failure::Permanent
}

/// Whether `error` is the vendor saying "too many calls": its rate-limit code, or HTTP 429.
/// What the [`crate::RateLimiter`] slows down on.
pub fn is_throttle(vendor: Vendor, error: &Error) -> bool {
    match error {
        Error::Http { status: 429, .. } => true,
        Error::Vendor(v) => v.status == 429 || vendor.is_rate_limited(v.code),
        _ => false,
    }
}

/// The delay the server asked for before a repeat (`Retry-After` of a 429 or 503 answer).
pub fn retry_after(error: &Error) -> Option<Duration> {
    match error {
        Error::Http { retry_after, .. } => *retry_after,
        _ => None,
    }
}

/// Whether to retry after `failure` of an endpoint that is (or is not) idempotent.
pub fn should_retry(policy: &RetryPolicy, failure: Failure, idempotent: bool) -> bool {
    match failure {
        Failure::NotSent | Failure::Throttled => true,
        Failure::MaybeReached => idempotent || policy.retry_non_idempotent,
        Failure::Permanent => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded_and_grows() {
        let p = RetryPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(250),
            ..Default::default()
        };
        for retry in 1..40 {
            let cap = Duration::from_millis(100)
                .saturating_mul(1 << (retry - 1).min(20))
                .min(Duration::from_millis(250));
            assert!(p.backoff(retry) <= cap, "retry {retry}");
        }
    }

    #[test]
    fn quota_limited_writes_are_not_retried_once_they_may_have_arrived() {
        let p = RetryPolicy::default();
        assert!(should_retry(&p, Failure::NotSent, false));
        assert!(!should_retry(&p, Failure::MaybeReached, false));
        assert!(should_retry(&p, Failure::MaybeReached, true));
        assert!(!should_retry(&p, Failure::Permanent, true));
        let opted_in = RetryPolicy {
            retry_non_idempotent: true,
            ..p
        };
        assert!(should_retry(&opted_in, Failure::MaybeReached, false));
    }
}
