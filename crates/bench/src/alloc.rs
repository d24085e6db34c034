//! A counting global allocator: live bytes, peak live bytes, number and volume of allocations.
//!
//! Install it in a binary with `#[global_allocator] static A: CountingAlloc = CountingAlloc;`;
//! without it every counter stays zero. Counting is off until [`set_counting`] turns it on
//! (off, an allocation costs one relaxed load more than `System`'s); on, it costs a few
//! relaxed atomic operations per allocation, so the load benchmark times its rounds with
//! counting off and counts in a separate pass. Threads that call [`exclude_this_thread`] (the
//! bench server) are never counted, so the figures are the client's alone.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};

static ENABLED: AtomicBool = AtomicBool::new(false);

static LIVE: AtomicI64 = AtomicI64::new(0);
static PEAK: AtomicI64 = AtomicI64::new(0);
static ALLOCS: AtomicU64 = AtomicU64::new(0);
static ALLOC_BYTES: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static EXCLUDED: Cell<bool> = const { Cell::new(false) };
}

/// Stops counting the allocations of the calling thread.
pub fn exclude_this_thread() {
    EXCLUDED.with(|e| e.set(true));
}

/// Turns counting on or off (off by default).
pub fn set_counting(on: bool) {
    ENABLED.store(on, Relaxed);
}

fn counted() -> bool {
    ENABLED.load(Relaxed) && !EXCLUDED.try_with(Cell::get).unwrap_or(true)
}

fn grew(by: i64) {
    let live = LIVE.fetch_add(by, Relaxed) + by;
    PEAK.fetch_max(live, Relaxed);
}

/// The counting allocator (over [`System`]).
pub struct CountingAlloc;

// SAFETY: every method forwards to `System` unchanged and only updates counters.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() && counted() {
            ALLOCS.fetch_add(1, Relaxed);
            ALLOC_BYTES.fetch_add(layout.size() as u64, Relaxed);
            grew(layout.size() as i64);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() && counted() {
            ALLOCS.fetch_add(1, Relaxed);
            ALLOC_BYTES.fetch_add(layout.size() as u64, Relaxed);
            grew(layout.size() as i64);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        if counted() {
            LIVE.fetch_sub(layout.size() as i64, Relaxed);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() && counted() {
            ALLOCS.fetch_add(1, Relaxed);
            ALLOC_BYTES.fetch_add(new_size as u64, Relaxed);
            grew(new_size as i64 - layout.size() as i64);
        }
        p
    }
}

/// The counters at one instant.
#[derive(Clone, Copy, Debug, Default)]
pub struct Snapshot {
    /// Bytes live now.
    pub live: i64,
    /// Highest live bytes since the last [`reset_peak`].
    pub peak: i64,
    /// Allocations (and reallocations) so far.
    pub allocs: u64,
    /// Bytes requested by them so far.
    pub bytes: u64,
}

/// Reads the counters.
pub fn snapshot() -> Snapshot {
    Snapshot {
        live: LIVE.load(Relaxed),
        peak: PEAK.load(Relaxed),
        allocs: ALLOCS.load(Relaxed),
        bytes: ALLOC_BYTES.load(Relaxed),
    }
}

/// Starts a new peak at the current live bytes.
pub fn reset_peak() {
    PEAK.store(LIVE.load(Relaxed), Relaxed);
}
