//! A client-side rate limiter that finds the vendor's rate instead of being told it.
//!
//! [`RateLimiter`] is a token bucket whose fill rate follows CUBIC, as the AWS SDKs'
//! "adaptive" retry mode does: it is cut by [`BETA`] on every throttling answer (the vendor's
//! rate-limit code, or HTTP 429) and grows back along a cubic curve that probes above the last
//! rate that was throttled. Until the first throttle it lets everything through (or paces at
//! its ceiling, when one is set). Put one on a [`Transport`](crate::Transport) with
//! [`Transport::with_rate_limiter`](crate::Transport::with_rate_limiter): every attempt of
//! every call on that transport, the token managers' own calls included, waits for it and
//! reports what the vendor answered.
//!
//! The algorithm and its constants are ported from smithy-rs
//! (`aws-smithy-runtime/src/client/retries/client_rate_limiter.rs`, Apache-2.0), itself from
//! the AWS SDK for Go; the test table below is theirs. What counts as a throttle is ours.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The multiplicative decrease on a throttle (CUBIC's β).
pub const BETA: f64 = 0.7;
/// CUBIC's scaling constant C.
const SCALE_CONSTANT: f64 = 0.4;
/// The weight of the newest half-second in the measured send rate.
const SMOOTH: f64 = 0.8;
/// The least fill rate, in calls per second.
const MIN_FILL_RATE: f64 = 0.5;
/// The least bucket capacity.
const MIN_CAPACITY: f64 = 1.0;
/// How much of a second's calls may go at once (a burst), once pacing.
const BURST_SECONDS: f64 = 0.05;

/// An adaptive client-side rate limiter (see the [module docs](self)). Share one per vendor
/// and platform, behind an `Arc`.
#[derive(Debug)]
pub struct RateLimiter {
    ceiling: Option<f64>,
    started: Instant,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Calls per second the bucket refills with.
    fill_rate: f64,
    /// Most calls the bucket holds (the burst).
    max_capacity: f64,
    /// Calls available now; below zero when callers have reserved future slots.
    capacity: f64,
    /// When the bucket was last refilled (seconds since `started`).
    last_refill: f64,
    /// Pacing at all (after the first throttle, or from the start with a ceiling).
    enabled: bool,
    /// The smoothed send rate.
    measured_rate: f64,
    /// The half-second bucket the send rate is counted in.
    rate_bucket: f64,
    /// Calls sent in that bucket.
    sent_in_bucket: u64,
    /// The rate at the last throttle (CUBIC's W_max).
    last_max_rate: f64,
    /// When the last throttle came (seconds since `started`).
    last_throttle: f64,
    /// Throttles seen.
    throttles: u64,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl RateLimiter {
    /// A limiter with no ceiling: unlimited until the vendor first throttles, then adaptive.
    pub fn new() -> Self {
        Self::build(None)
    }

    /// A limiter that never sends faster than `per_second` calls a second and slows down
    /// below it when the vendor throttles. A ceiling that is not a positive number is none.
    pub fn with_ceiling(per_second: f64) -> Self {
        Self::build((per_second.is_finite() && per_second > 0.0).then_some(per_second))
    }

    fn build(ceiling: Option<f64>) -> Self {
        let rate = ceiling.unwrap_or(MIN_FILL_RATE);
        let capacity = (rate * BURST_SECONDS).max(MIN_CAPACITY);
        RateLimiter {
            ceiling,
            started: Instant::now(),
            state: Mutex::new(State {
                fill_rate: rate,
                max_capacity: capacity,
                capacity,
                last_refill: 0.0,
                enabled: ceiling.is_some(),
                measured_rate: 0.0,
                rate_bucket: 0.0,
                sent_in_bucket: 0,
                last_max_rate: rate,
                last_throttle: 0.0,
                throttles: 0,
            }),
        }
    }

    fn now(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for this call's slot and returns it (give it back to [`RateLimiter::record`] with
    /// the answer). Each caller reserves its own slot before sleeping, so concurrent callers
    /// are spaced out rather than woken together.
    pub async fn acquire(&self) -> Slot {
        let now = self.now();
        let wait = self.reserve(now);
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        Slot {
            at: now + wait.as_secs_f64(),
        }
    }

    /// Reserves one call's slot at `now` and says how long to wait for it.
    fn reserve(&self, now: f64) -> Duration {
        let mut s = self.state();
        if !s.enabled {
            return Duration::ZERO;
        }
        s.refill(now);
        s.capacity -= 1.0;
        if s.capacity >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-s.capacity / s.fill_rate)
        }
    }

    /// Records what the vendor answered the call sent in `slot`: `throttled` for its
    /// rate-limit answer. The rate is cut once per throttle episode: a throttle of a call sent
    /// before the last cut (one of a burst already in flight) does not cut it again.
    pub fn record(&self, slot: Slot, throttled: bool) {
        let now = self.now();
        let mut s = self.state();
        s.measure(now);
        if throttled && s.throttles > 0 && slot.at < s.last_throttle {
            return;
        }
        let new_rate = if throttled {
            let sending = s.send_rate(now);
            let rate = if s.enabled {
                sending.min(s.fill_rate)
            } else {
                sending
            };
            s.last_max_rate = rate;
            s.last_throttle = now;
            s.enabled = true;
            s.throttles += 1;
            rate * BETA
        } else {
            if !s.enabled {
                return;
            }
            s.cubic_success(now)
        };
        // Never more than twice what is being sent (so an idle spell does not let a burst
        // through), never above the ceiling, never below the floor.
        let mut rate = new_rate.min(2.0 * s.send_rate(now).max(MIN_FILL_RATE));
        if let Some(ceiling) = self.ceiling {
            rate = rate.min(ceiling);
        }
        let rate = rate.max(MIN_FILL_RATE);
        s.refill(now);
        s.fill_rate = rate;
        s.max_capacity = (rate * BURST_SECONDS).max(MIN_CAPACITY);
        s.capacity = s.capacity.min(s.max_capacity);
    }

    /// The rate calls are paced at now (calls per second), or `None` while nothing is paced
    /// (no ceiling and no throttle yet).
    pub fn current_rate(&self) -> Option<f64> {
        let s = self.state();
        s.enabled.then_some(s.fill_rate)
    }

    /// The send rate measured over the last seconds (calls per second).
    pub fn measured_rate(&self) -> f64 {
        self.state().measured_rate
    }

    /// How many throttling answers were recorded.
    pub fn throttles(&self) -> u64 {
        self.state().throttles
    }

    /// The ceiling, if one was set.
    pub fn ceiling(&self) -> Option<f64> {
        self.ceiling
    }
}

/// The slot a call was sent in, from [`RateLimiter::acquire`].
#[derive(Debug, Clone, Copy)]
pub struct Slot {
    /// When the slot was for (seconds since the limiter was made).
    at: f64,
}

impl State {
    /// The send rate: the smoothed measure, or within the first half-second what was sent so
    /// far (a throttle that early must not cut the rate to the floor).
    fn send_rate(&self, now: f64) -> f64 {
        if self.measured_rate > 0.0 {
            self.measured_rate
        } else {
            self.sent_in_bucket as f64 / (now - self.rate_bucket).max(0.1)
        }
    }

    fn refill(&mut self, now: f64) {
        let elapsed = (now - self.last_refill).max(0.0);
        self.capacity = (self.capacity + elapsed * self.fill_rate).min(self.max_capacity);
        self.last_refill = now;
    }

    /// Counts one sent call into the smoothed send rate (half-second buckets).
    fn measure(&mut self, now: f64) {
        let bucket = (now * 2.0).floor() / 2.0;
        self.sent_in_bucket += 1;
        if bucket > self.rate_bucket {
            let current = self.sent_in_bucket as f64 / (bucket - self.rate_bucket);
            self.measured_rate = current * SMOOTH + self.measured_rate * (1.0 - SMOOTH);
            self.sent_in_bucket = 0;
            self.rate_bucket = bucket;
        }
    }

    /// CUBIC's window after a success, `now - last_throttle` seconds past the last throttle.
    fn cubic_success(&self, now: f64) -> f64 {
        let k = ((self.last_max_rate * (1.0 - BETA)) / SCALE_CONSTANT).cbrt();
        SCALE_CONSTANT * (now - self.last_throttle - k).powi(3) + self.last_max_rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approx(a: f64, b: f64) -> bool {
        (a - b).abs() < 0.01
    }

    /// smithy-rs's table (from the Go SDK): last max rate 10, throttled at t = 5.
    #[test]
    fn cubic_follows_the_reference_table() {
        let mut s = RateLimiter::new().state.into_inner().unwrap();
        s.last_max_rate = 10.0;
        s.last_throttle = 5.0;
        // The throttle itself: 10 · β.
        assert!(approx(10.0 * BETA, 7.0));
        for (t, want) in [
            (6.0, 9.64893600966),
            (7.0, 10.000030849917364),
            (9.0, 13.408697022224185),
            (11.0, 36.425998516920465),
        ] {
            let got = s.cubic_success(t);
            assert!((got - want).abs() < 0.01, "t={t}: {got} vs {want}");
        }
    }

    #[test]
    fn unlimited_until_the_first_throttle_then_cut_by_beta() {
        let l = RateLimiter::new();
        assert_eq!(l.current_rate(), None);
        assert_eq!(l.reserve(0.1), Duration::ZERO);
        {
            let mut s = l.state();
            s.measured_rate = 100.0;
        }
        let sent = Slot { at: 0.0 };
        l.record(sent, true);
        let rate = l.current_rate().unwrap();
        assert!(rate <= 100.0 * BETA + 1e-9, "{rate}");
        // The rest of the burst sent before the cut does not cut again.
        l.record(sent, true);
        l.record(sent, true);
        assert_eq!(l.throttles(), 1);
        assert_eq!(l.current_rate().unwrap(), rate);
    }

    #[test]
    fn a_ceiling_paces_from_the_start_and_is_never_exceeded() {
        let l = RateLimiter::with_ceiling(100.0);
        assert_eq!(l.current_rate(), Some(100.0));
        // 5 slots of burst, then each further call waits 10 ms more than the one before.
        let waits: Vec<Duration> = (0..8).map(|_| l.reserve(0.0)).collect();
        assert_eq!(waits[4], Duration::ZERO);
        assert!(approx(waits[5].as_secs_f64(), 0.01), "{waits:?}");
        assert!(approx(waits[7].as_secs_f64(), 0.03), "{waits:?}");
        for _ in 0..1000 {
            l.record(Slot { at: 0.0 }, false);
        }
        assert!(l.current_rate().unwrap() <= 100.0);
        assert_eq!(RateLimiter::with_ceiling(0.0).ceiling(), None);
    }
}
