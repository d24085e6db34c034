//! A client-side rate limiter that finds the vendor's rate instead of being told it.
//!
//! [`RateLimiter`] is a token bucket whose fill rate follows CUBIC, as the AWS SDKs'
//! "adaptive" retry mode does: it is cut on a throttling answer (the vendor's rate-limit code,
//! or HTTP 429) and grows back along a cubic curve that probes above the rate that was
//! throttled. Until the first throttle it lets everything through (or paces at its ceiling,
//! when one is set). Put one on a [`Transport`](crate::Transport) with
//! [`Transport::with_rate_limiter`](crate::Transport::with_rate_limiter): every attempt of
//! every call on that transport, the token managers' own calls included, waits for it and
//! reports what the vendor answered.
//!
//! The algorithm and its constants are ported from smithy-rs
//! (`aws-smithy-runtime/src/client/retries/client_rate_limiter.rs`, Apache-2.0), itself from
//! the AWS SDK for Go; the CUBIC test table below is theirs. Four changes fit vendors that
//! count calls per second rather than drain a bucket:
//! - **one cut per episode**: a throttle is counted once a second at most, and never for a
//!   call whose slot was taken before the last cut (the rest of a burst already in flight);
//! - **the cut keeps what the vendor accepted**: the new rate is the larger of β times the
//!   sending rate and 95 % of the calls the vendor answered (not throttled) over the last
//!   second, which is what it demonstrably takes (within the first second of answers, the
//!   answers so far per second: an early throttle must not read a fraction of a second's
//!   answers as a second's); CUBIC then climbs from there back to that rate and probes above
//!   it;
//! - no cap at twice the measured send rate (an idle spell between passes must not restart
//!   the job at a crawl); the bucket's small burst does that job;
//! - **a waiting call follows the rate**: it holds its place in the bucket, not a sleep of
//!   fixed length, and is woken when the rate rises by a quarter (a call that reserved its
//!   slot at 2 a second does not sleep half a minute after the rate went back to 300); the
//!   send rate counts a call when its slot is granted, so a throttle early in a burst sees
//!   the burst.
//!
//! What counts as a throttle is ours ([`crate::retry::is_throttle`]).
//!
//! Several processes calling one vendor for one job (workers) share one rate rather than find
//! one each: each reads what its limiter saw ([`RateLimiter::observe`]), a [`SharedCut`] kept
//! where they all read it (a database) holds the job's last cut, and each paces at its share
//! of the rate that cut gives ([`RateLimiter::follow`]).

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
/// At most one cut in this many seconds (vendors count calls per second).
const CUT_COOLDOWN: f64 = 1.0;
/// The share of the calls the vendor answered over the last second that a cut keeps.
const KEEP_ANSWERED: f64 = 0.95;
/// The answered calls are counted in this many buckets over the last second.
const ANSWERED_BUCKETS: usize = 10;

/// An adaptive client-side rate limiter (see the [module docs](self)). Share one per vendor
/// and platform, behind an `Arc`.
#[derive(Debug)]
pub struct RateLimiter {
    ceiling: Option<f64>,
    started: Instant,
    state: Mutex<State>,
    /// Wakes the calls waiting for a slot when the rate rose well above the one their waits
    /// were computed at (a wait computed at a low rate must not outlive it).
    faster: tokio::sync::Notify,
}

#[derive(Debug)]
struct State {
    /// Calls per second the bucket refills with.
    fill_rate: f64,
    /// Most calls the bucket holds (the burst).
    max_capacity: f64,
    /// Calls available now; below zero when callers have reserved future slots.
    capacity: f64,
    /// Slots reserved so far (a waiting call's ticket is this count when it reserved: its
    /// slot is free once `reserved + capacity` reaches it, whatever the rate did meanwhile).
    reserved: f64,
    /// The rate waiting calls were last woken at (or computed their waits at, if lower).
    woken_at_rate: f64,
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
    /// Calls answered (not throttled) per tenth of a second, over the last second: a ring
    /// indexed by the tenth, with the tenth each slot counts.
    answered: [(u64, u64); ANSWERED_BUCKETS],
    /// The rate at the last throttle (CUBIC's W_max).
    last_max_rate: f64,
    /// The rate the last cut set (CUBIC's curve starts there).
    rate_after_cut: f64,
    /// When the last throttle came (seconds since `started`).
    last_throttle: f64,
    /// Throttles counted (one per episode).
    throttles: u64,
    /// When the first call was answered (seconds since `started`), if one was.
    first_answered: Option<f64>,
    /// Throttles counted when [`RateLimiter::observe`] was last called.
    observed_throttles: u64,
    /// Pacing at a rate given by [`RateLimiter::follow`] (a share of a job's rate): an
    /// answer does not grow it; a throttle still cuts it until the next share.
    following: bool,
}

/// What a limiter saw, for a job's workers to find one rate together
/// ([`RateLimiter::observe`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    /// The calls sent per second lately (0 after an idle second).
    pub sending: f64,
    /// The calls the vendor answered (not throttled) per second, over the last second.
    pub answered: f64,
    /// Whether the vendor throttled since the last observation.
    pub throttled: bool,
    /// The rate this limiter paces at, if it paces.
    pub rate: Option<f64>,
}

/// A job's last cut, shared by the limiters of its workers: CUBIC's state, on a clock they
/// all read (seconds since the Unix epoch). The rate at any moment follows from it alone, so
/// it changes only on a throttle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SharedCut {
    /// The rate the vendor took when it throttled (CUBIC's W_max).
    pub last_max_rate: f64,
    /// The rate the cut set.
    pub rate_after_cut: f64,
    /// When the cut was made (seconds since the Unix epoch).
    pub at: f64,
}

impl SharedCut {
    /// The cut for a throttle at `at`, when the workers together were `sending` calls per
    /// second, the vendor `answered` per second of them, and the job paced at `rate`
    /// (`None`: not paced yet).
    pub fn after_throttle(rate: Option<f64>, sending: f64, answered: f64, at: f64) -> SharedCut {
        let sending = sending.max(answered);
        let rate = rate.map_or(sending, |r| r.min(sending));
        let (rate_after_cut, last_max_rate) = cut(rate, answered);
        SharedCut {
            last_max_rate,
            rate_after_cut,
            at,
        }
    }

    /// The job's rate at `now` (seconds since the Unix epoch), at least the least rate.
    pub fn rate_at(&self, now: f64) -> f64 {
        cubic(self.last_max_rate, self.rate_after_cut, now - self.at).max(MIN_FILL_RATE)
    }

    /// Whether a throttle at `now` is a new episode (the last cut is past the cooldown).
    pub fn may_cut_again(&self, now: f64) -> bool {
        now - self.at >= CUT_COOLDOWN
    }
}

/// A throttle's cut from the rate `rate` sent at, the vendor answering `accepted` a second:
/// (the new rate, CUBIC's W_max).
fn cut(rate: f64, accepted: f64) -> (f64, f64) {
    let new_rate = (rate * BETA).max(KEEP_ANSWERED * accepted).min(rate);
    let last_max = if accepted > 0.0 {
        accepted.min(rate)
    } else {
        rate
    };
    (new_rate, last_max)
}

/// CUBIC's rate `since` seconds past a cut that set `after_cut`, the vendor having taken
/// `last_max`: from the cut back to W_max, then above it.
fn cubic(last_max: f64, after_cut: f64, since: f64) -> f64 {
    let k = ((last_max - after_cut).max(0.0) / SCALE_CONSTANT).cbrt();
    SCALE_CONSTANT * (since - k).powi(3) + last_max
}

/// The slot a call was sent in, from [`RateLimiter::acquire`].
#[derive(Debug, Clone, Copy)]
pub struct Slot {
    /// When the slot was taken (seconds since the limiter was made).
    taken: f64,
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
                reserved: 0.0,
                woken_at_rate: rate,
                last_refill: 0.0,
                enabled: ceiling.is_some(),
                measured_rate: 0.0,
                rate_bucket: 0.0,
                sent_in_bucket: 0,
                answered: [(0, 0); ANSWERED_BUCKETS],
                last_max_rate: rate,
                rate_after_cut: rate * BETA,
                last_throttle: f64::NEG_INFINITY,
                throttles: 0,
                first_answered: None,
                observed_throttles: 0,
                following: false,
            }),
            faster: tokio::sync::Notify::new(),
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
    /// are spaced out rather than woken together. A waiting call follows the rate: when it
    /// rises (a share grew, CUBIC climbed back), the call is woken and goes at its slot under
    /// the new rate, not under the one it started waiting at.
    pub async fn acquire(&self) -> Slot {
        let (ticket, mut wait) = match self.reserve(self.now()) {
            Reservation::Free(slot) => return slot,
            Reservation::Wait { ticket, wait } => (ticket, wait),
        };
        loop {
            let faster = self.faster.notified();
            let mut faster = std::pin::pin!(faster);
            faster.as_mut().enable();
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = faster => {}
            }
            match self.wait_for(ticket, self.now()) {
                Reservation::Free(slot) => return slot,
                Reservation::Wait { wait: more, .. } => wait = more,
            }
        }
    }

    /// Reserves one call's slot at `now`: free now, or a ticket and how long to wait for it
    /// at the current rate.
    fn reserve(&self, now: f64) -> Reservation {
        let mut s = self.state();
        if !s.enabled {
            return s.grant(now);
        }
        s.refill(now);
        s.capacity -= 1.0;
        s.reserved += 1.0;
        if s.capacity >= 0.0 {
            return s.grant(now);
        }
        let ticket = s.reserved;
        s.woken_at_rate = s.woken_at_rate.min(s.fill_rate);
        Reservation::Wait {
            ticket,
            wait: Duration::from_secs_f64(-s.capacity / s.fill_rate),
        }
    }

    /// Whether the slot of `ticket` is free at `now`, or how long it still waits at the
    /// current rate.
    fn wait_for(&self, ticket: f64, now: f64) -> Reservation {
        let mut s = self.state();
        s.refill(now);
        let short = ticket - (s.reserved + s.capacity);
        if short <= 0.0 || !s.enabled {
            return s.grant(now);
        }
        Reservation::Wait {
            ticket,
            wait: Duration::from_secs_f64(short / s.fill_rate),
        }
    }

    /// Paces at `rate` from `now` (the burst follows it); wakes the waiting calls if it rose
    /// by a quarter or more above the rate they last computed their waits at.
    fn set_rate(&self, mut s: std::sync::MutexGuard<'_, State>, now: f64, rate: f64) {
        s.refill(now);
        s.fill_rate = rate;
        s.max_capacity = (rate * BURST_SECONDS).max(MIN_CAPACITY);
        s.capacity = s.capacity.min(s.max_capacity);
        let wake = rate > s.woken_at_rate * 1.25;
        if wake || rate < s.woken_at_rate {
            s.woken_at_rate = rate;
        }
        drop(s);
        if wake {
            self.faster.notify_waiters();
        }
    }

    /// Records what the vendor answered the call sent in `slot`: `throttled` for its
    /// rate-limit answer.
    pub fn record(&self, slot: Slot, throttled: bool) {
        self.record_at(self.now(), slot, throttled);
    }

    fn record_at(&self, now: f64, slot: Slot, throttled: bool) {
        let mut s = self.state();
        if !throttled {
            s.count_answered(now);
        }
        let new_rate = if throttled {
            // One cut per episode: not again within the cooldown, nor for a call whose slot
            // was taken before the last cut.
            if now - s.last_throttle < CUT_COOLDOWN || slot.taken < s.last_throttle {
                return;
            }
            let sending = s.send_rate(now);
            let rate = if s.enabled {
                sending.min(s.fill_rate)
            } else {
                sending
            };
            let accepted = s.answered_per_second(now);
            let (cut, last_max) = cut(rate, accepted);
            s.last_max_rate = last_max;
            s.rate_after_cut = cut;
            s.last_throttle = now;
            s.enabled = true;
            s.throttles += 1;
            tracing::debug!(
                rate = cut,
                sending,
                accepted,
                "throttled by the vendor: rate cut"
            );
            cut
        } else {
            if !s.enabled || s.following {
                return;
            }
            s.cubic_success(now)
        };
        let mut rate = new_rate;
        if let Some(ceiling) = self.ceiling {
            rate = rate.min(ceiling);
        }
        let rate = rate.max(MIN_FILL_RATE);
        self.set_rate(s, now, rate);
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

    /// How many throttling episodes were recorded (one cut each).
    pub fn throttles(&self) -> u64 {
        self.state().throttles
    }

    /// The ceiling, if one was set.
    pub fn ceiling(&self) -> Option<f64> {
        self.ceiling
    }

    /// What this limiter saw: the rates sent and answered lately, and whether the vendor
    /// throttled since the last call of this method.
    pub fn observe(&self) -> Observation {
        self.observe_at(self.now())
    }

    fn observe_at(&self, now: f64) -> Observation {
        let mut s = self.state();
        let throttled = s.throttles > s.observed_throttles;
        s.observed_throttles = s.throttles;
        let idle = now - s.rate_bucket > 1.0;
        Observation {
            sending: if idle { 0.0 } else { s.send_rate(now) },
            answered: s.answered_per_second(now),
            throttled,
            rate: s.enabled.then_some(s.fill_rate),
        }
    }

    /// Paces at `rate` (this worker's share of its job's rate), the ceiling kept: answers no
    /// longer grow it, a throttle still cuts it until the next share. `None` goes back to
    /// finding the rate alone, from the rate paced at now.
    pub fn follow(&self, rate: Option<f64>) {
        let now = self.now();
        let mut s = self.state();
        match rate {
            Some(rate) => {
                let rate = self
                    .ceiling
                    .map_or(rate, |c| rate.min(c))
                    .max(MIN_FILL_RATE);
                s.following = true;
                s.enabled = true;
                self.set_rate(s, now, rate);
            }
            None if s.following => {
                // CUBIC starts over from here: climbs above it from now on.
                s.following = false;
                s.last_max_rate = s.fill_rate;
                s.rate_after_cut = s.fill_rate;
                s.last_throttle = now;
            }
            None => {}
        }
    }
}

/// A slot asked for: free (the call goes), or reserved (the call waits).
enum Reservation {
    Free(Slot),
    Wait {
        /// The slot's place: free once the bucket's `reserved + capacity` reaches it.
        ticket: f64,
        /// How long that takes at the current rate.
        wait: Duration,
    },
}

impl State {
    /// Grants a slot at `now`, counting the call into the send rate (counted when it goes,
    /// not when it is answered: a throttle moments into a burst sees the burst).
    fn grant(&mut self, now: f64) -> Reservation {
        self.measure(now);
        Reservation::Free(Slot { taken: now })
    }

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
        // After an idle second or more (a job's start-up, a pause between passes), the
        // measure starts over: the idle time must not dilute the rate sent since.
        if bucket - self.rate_bucket > 1.0 {
            self.rate_bucket = now;
            self.sent_in_bucket = 0;
            self.measured_rate = 0.0;
        }
        self.sent_in_bucket += 1;
        if bucket > self.rate_bucket {
            let current = self.sent_in_bucket as f64 / (bucket - self.rate_bucket);
            self.measured_rate = current * SMOOTH + self.measured_rate * (1.0 - SMOOTH);
            self.sent_in_bucket = 0;
            self.rate_bucket = bucket;
        }
    }

    /// Counts one answered (not throttled) call in its tenth of a second.
    fn count_answered(&mut self, now: f64) {
        self.first_answered.get_or_insert(now);
        let tenth = (now * 10.0).floor().max(0.0) as u64;
        let slot = &mut self.answered[tenth as usize % ANSWERED_BUCKETS];
        if slot.0 != tenth {
            *slot = (tenth, 0);
        }
        slot.1 += 1;
    }

    /// Calls answered over the last second (the last ten tenths, this one included).
    fn answered_last_second(&self, now: f64) -> f64 {
        let tenth = (now * 10.0).floor().max(0.0) as u64;
        let oldest = tenth.saturating_sub(ANSWERED_BUCKETS as u64 - 1);
        self.answered
            .iter()
            .filter(|(t, _)| *t >= oldest && *t <= tenth)
            .map(|(_, n)| *n as f64)
            .sum()
    }

    /// The calls the vendor answered per second, over the last second or, within the first
    /// second of answers, over the time since the first one (a throttle 0.3 s into a job
    /// must not read 0.3 s of answers as a second's).
    fn answered_per_second(&self, now: f64) -> f64 {
        let span = self
            .first_answered
            .map_or(1.0, |first| (now - first).clamp(0.1, 1.0));
        self.answered_last_second(now) / span
    }

    /// CUBIC's rate after a success, `now - last_throttle` seconds past the last cut: from
    /// the rate the cut set back to W_max, then above it.
    fn cubic_success(&self, now: f64) -> f64 {
        cubic(
            self.last_max_rate,
            self.rate_after_cut,
            now - self.last_throttle,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approx(a: f64, b: f64) -> bool {
        (a - b).abs() < 0.01
    }

    /// How long a slot asked for waits (zero: free).
    fn wait(reservation: Reservation) -> Duration {
        match reservation {
            Reservation::Free(_) => Duration::ZERO,
            Reservation::Wait { wait, .. } => wait,
        }
    }

    /// smithy-rs's table (from the Go SDK): last max rate 10, throttled at t = 5, cut to 7.
    #[test]
    fn cubic_follows_the_reference_table() {
        let mut s = RateLimiter::new().state.into_inner().unwrap();
        s.last_max_rate = 10.0;
        s.rate_after_cut = 10.0 * BETA;
        s.last_throttle = 5.0;
        assert!(approx(s.cubic_success(5.0), 7.0));
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
    fn unlimited_until_the_first_throttle_then_cut_once_per_episode() {
        let l = RateLimiter::new();
        assert_eq!(l.current_rate(), None);
        assert_eq!(wait(l.reserve(0.1)), Duration::ZERO);
        l.state().measured_rate = 100.0;
        let early = Slot { taken: 0.0 };
        l.record_at(0.2, early, true);
        let rate = l.current_rate().unwrap();
        assert!(approx(rate, 100.0 * BETA), "{rate}");
        // The rest of the burst, and anything within the cooldown, does not cut again.
        l.record_at(0.25, early, true);
        l.record_at(0.9, Slot { taken: 0.5 }, true);
        assert_eq!(l.throttles(), 1);
        assert_eq!(l.current_rate().unwrap(), rate);
        // A throttle of a call sent after the cut, past the cooldown, does.
        l.record_at(1.5, Slot { taken: 1.4 }, true);
        assert_eq!(l.throttles(), 2);
        assert!(l.current_rate().unwrap() < rate);
    }

    /// A vendor that answers 60 a second and throttles the rest: the cut keeps what it
    /// answered, not β of what was sent.
    #[test]
    fn a_cut_keeps_what_the_vendor_answered() {
        let l = RateLimiter::new();
        for i in 0..60 {
            l.record_at(0.5 + i as f64 / 200.0, Slot { taken: 0.0 }, false);
        }
        l.state().measured_rate = 400.0;
        l.record_at(0.9, Slot { taken: 0.85 }, true);
        let rate = l.current_rate().unwrap();
        assert!(
            rate >= 400.0 * BETA - 1e-9,
            "β of the send rate at least: {rate}"
        );
        // (Answered for more than a second: the last second's 60 are the vendor's rate.)
        let l = RateLimiter::new();
        l.record_at(0.0, Slot { taken: 0.0 }, false);
        for i in 0..60 {
            l.record_at(1.0 + i as f64 / 200.0, Slot { taken: 0.9 }, false);
        }
        l.state().measured_rate = 70.0;
        l.record_at(1.4, Slot { taken: 1.35 }, true);
        let rate = l.current_rate().unwrap();
        assert!(approx(rate, 0.95 * 60.0), "95 % of the 60 answered: {rate}");
        // CUBIC climbs back to the 60 the vendor took, then probes above it.
        let s = l.state();
        assert!(approx(s.cubic_success(1.4), 57.0));
        let back = s.last_throttle + (3.0f64 / SCALE_CONSTANT).cbrt();
        assert!(approx(s.cubic_success(back), 60.0));
        assert!(s.cubic_success(back + 3.0) > 60.0);
    }

    /// A throttle 0.3 s into a job, after 300 calls answered in those 0.3 s: the cut keeps
    /// the 1,000 a second the vendor answered at, not the 300 it answered so far.
    #[test]
    fn an_early_throttle_keeps_the_rate_answered_so_far() {
        let l = RateLimiter::new();
        for i in 0..300 {
            l.record_at(i as f64 / 1000.0, Slot { taken: 0.0 }, false);
        }
        l.state().measured_rate = 1200.0;
        l.record_at(0.3, Slot { taken: 0.29 }, true);
        let rate = l.current_rate().unwrap();
        assert!(approx(rate, 0.95 * 1000.0), "{rate}");
    }

    /// A job that starts calling 3.6 s after its limiter was made (its planning first), 500
    /// calls in 0.25 s, then throttled: the send rate is the burst's, not diluted by the idle
    /// seconds before it.
    #[test]
    fn idle_time_before_a_burst_does_not_dilute_the_send_rate() {
        let l = RateLimiter::new();
        for i in 0..500 {
            let at = 3.6 + i as f64 / 2000.0;
            assert_eq!(wait(l.reserve(at)), Duration::ZERO, "unpaced");
            l.record_at(at, Slot { taken: at }, false);
        }
        let sending = l.state().send_rate(3.85);
        assert!(sending > 1500.0, "{sending}");
        l.record_at(3.85, Slot { taken: 3.84 }, true);
        let rate = l.current_rate().unwrap();
        assert!(rate > 1500.0, "{rate}");
    }

    /// Three workers sending 400/s each, the vendor answering 1,000/s in all: the job's cut
    /// keeps 95 % of the 1,000, CUBIC climbs back to it, and each worker follows its third
    /// (answers do not grow a share; a throttle still cuts it).
    #[test]
    fn workers_share_one_cut() {
        let cut = SharedCut::after_throttle(None, 1200.0, 1000.0, 100.0);
        assert!(approx(cut.rate_after_cut, 950.0), "{cut:?}");
        assert!(approx(cut.last_max_rate, 1000.0), "{cut:?}");
        assert!(approx(cut.rate_at(100.0), 950.0));
        let back = 100.0 + (50.0f64 / SCALE_CONSTANT).cbrt();
        assert!(approx(cut.rate_at(back), 1000.0));
        assert!(!cut.may_cut_again(100.5) && cut.may_cut_again(101.0));
        // Paced at 900 when throttled: the cut starts from the 900.
        let paced = SharedCut::after_throttle(Some(900.0), 1200.0, 500.0, 0.0);
        assert!(approx(paced.rate_after_cut, 900.0 * BETA), "{paced:?}");

        let l = RateLimiter::new();
        for i in 0..100 {
            l.record_at(0.5 + i as f64 / 200.0, Slot { taken: 0.0 }, false);
        }
        let seen = l.observe_at(1.0);
        assert!(!seen.throttled && seen.rate.is_none());
        assert!(approx(seen.answered, 200.0), "{seen:?}");
        l.record_at(1.0, Slot { taken: 0.9 }, true);
        assert!(l.observe_at(1.0).throttled);
        assert!(!l.observe_at(1.1).throttled, "said once");
        l.follow(Some(cut.rate_at(100.0) / 3.0));
        let share = l.current_rate().unwrap();
        assert!(approx(share, 950.0 / 3.0), "{share}");
        for i in 0..100 {
            l.record_at(5.0 + i as f64 / 100.0, Slot { taken: 4.0 }, false);
        }
        assert_eq!(l.current_rate(), Some(share), "answers do not grow a share");
        l.record_at(7.0, Slot { taken: 6.9 }, true);
        assert!(
            l.current_rate().unwrap() < share,
            "a throttle still cuts it"
        );
        // Alone again: it climbs from where it is.
        l.follow(None);
        let alone = l.current_rate().unwrap();
        l.record_at(l.now() + 5.0, Slot { taken: 7.5 }, false);
        assert!(l.current_rate().unwrap() > alone);
        assert_eq!(l.observe_at(20.0).sending, 0.0, "idle: sends nothing");
        // A ceiling caps a share.
        let capped = RateLimiter::with_ceiling(100.0);
        capped.follow(Some(500.0));
        assert_eq!(capped.current_rate(), Some(100.0));
    }

    /// Calls that reserved their slots at 1 a second, the rate then raised to 100: each goes
    /// at its place under the new rate (10 ms apart), not seconds later as its first wait
    /// said; a lowered rate makes a waiting call wait longer.
    #[test]
    fn a_waiting_call_follows_the_rate() {
        let l = RateLimiter::with_ceiling(1.0);
        assert_eq!(wait(l.reserve(0.0)), Duration::ZERO, "the burst's one slot");
        let tickets: Vec<f64> = (1..=3)
            .map(|n| match l.reserve(0.0) {
                Reservation::Wait { ticket, wait } => {
                    assert!(approx(wait.as_secs_f64(), n as f64), "{wait:?}");
                    ticket
                }
                Reservation::Free(_) => panic!("the bucket is empty"),
            })
            .collect();
        l.set_rate(l.state(), 0.0, 100.0);
        let at = |ticket, t| wait(l.wait_for(ticket, t)).as_secs_f64();
        assert!(approx(at(tickets[0], 0.0), 0.01), "{}", at(tickets[0], 0.0));
        assert!(approx(at(tickets[2], 0.0), 0.03));
        assert_eq!(at(tickets[1], 0.02), 0.0, "free at its place");
        l.set_rate(l.state(), 0.02, 10.0);
        assert!(
            approx(at(tickets[2], 0.02), 0.1),
            "{}",
            at(tickets[2], 0.02)
        );
    }

    /// A call asleep on a wait computed at 1 a second is woken when the rate rises and goes
    /// at once, instead of sleeping out its two seconds.
    #[tokio::test]
    async fn a_sleeping_call_is_woken_when_the_rate_rises() {
        let l = std::sync::Arc::new(RateLimiter::new());
        l.follow(Some(1.0));
        let _ = l.acquire().await;
        let _ = l.reserve(l.now());
        let third = tokio::spawn({
            let l = l.clone();
            async move { l.acquire().await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !third.is_finished(),
            "waits about two seconds at 1 a second"
        );
        l.follow(Some(1000.0));
        tokio::time::timeout(Duration::from_millis(500), third)
            .await
            .expect("woken by the faster rate")
            .unwrap();
    }

    #[test]
    fn a_ceiling_paces_from_the_start_and_is_never_exceeded() {
        let l = RateLimiter::with_ceiling(100.0);
        assert_eq!(l.current_rate(), Some(100.0));
        // 5 slots of burst, then each further call waits 10 ms more than the one before.
        let waits: Vec<Duration> = (0..8).map(|_| wait(l.reserve(0.0))).collect();
        assert_eq!(waits[4], Duration::ZERO);
        assert!(approx(waits[5].as_secs_f64(), 0.01), "{waits:?}");
        assert!(approx(waits[7].as_secs_f64(), 0.03), "{waits:?}");
        for i in 0..1000 {
            l.record_at(i as f64 / 100.0, Slot { taken: 0.0 }, false);
        }
        assert!(l.current_rate().unwrap() <= 100.0);
        assert_eq!(RateLimiter::with_ceiling(0.0).ceiling(), None);
    }
}
