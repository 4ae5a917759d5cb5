//! A counting global allocator for this binary. It counts per thread (the test harness runs each
//! test on its own thread), so tests running in parallel do not disturb each other's figures.

use macaroon_mint::{Error, Limits, Macaroon, Parsed};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

pub(crate) struct Counting;

thread_local! {
    // `const` thread-locals of `Cell`s need no lazy initialization or destructor, so touching
    // them from inside the allocator never allocates.
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static CURRENT: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
    static TOTAL: Cell<usize> = const { Cell::new(0) };
}

pub(crate) fn on_alloc(size: usize) {
    let _ = TRACKING.try_with(|t| {
        if t.get() {
            let now = CURRENT.with(|c| {
                c.set(c.get() + size);
                c.get()
            });
            PEAK.with(|p| p.set(p.get().max(now)));
            TOTAL.with(|t| t.set(t.get() + size));
        }
    });
}

pub(crate) fn on_dealloc(size: usize) {
    let _ = TRACKING.try_with(|t| {
        if t.get() {
            CURRENT.with(|c| c.set(c.get().saturating_sub(size)));
        }
    });
}

// SAFETY: defers every call to the system allocator unchanged; it only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        on_alloc(layout.size());
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        on_dealloc(layout.size());
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        on_dealloc(layout.size());
        on_alloc(new_size);
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
pub(crate) static GLOBAL: Counting = Counting;

/// Bytes allocated on this thread while `f` ran: the peak held at once (above what was held
/// before) and the total.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Usage {
    pub(crate) peak: usize,
    pub(crate) total: usize,
}

pub(crate) fn measure<T>(f: impl FnOnce() -> T) -> (T, Usage) {
    CURRENT.with(|c| c.set(0));
    PEAK.with(|p| p.set(0));
    TOTAL.with(|t| t.set(0));
    TRACKING.with(|t| t.set(true));
    let out = f();
    TRACKING.with(|t| t.set(false));
    let usage = Usage {
        peak: PEAK.with(Cell::get),
        total: TOTAL.with(Cell::get),
    };
    (out, usage)
}

/// What a decoder may hold for an input of `len` bytes: a decode buffer, a decoded string and
/// its copy (each at most the input's size; a 512 KiB `i64` field peaks at 3.0×), plus one more
/// for headroom and a constant for error text and bookkeeping. Nothing may scale with a length
/// the input merely declares.
pub(crate) fn bounded(len: usize) -> usize {
    4 * len + 16 * 1024
}

#[test]
pub(crate) fn the_counter_counts() {
    let ((), u) = measure(|| {
        std::hint::black_box(vec![0u8; 1000]);
    });
    assert_eq!((u.peak, u.total), (1000, 1000));
    let ((), u) = measure(|| {});
    assert_eq!((u.peak, u.total), (0, 0));
}

/// Reads `input` as raw v1 (when `v1`) or through detection, measuring memory.
pub(crate) fn read_measured(
    input: &[u8],
    l: &Limits,
    v1: bool,
) -> (Result<Macaroon, Error>, Usage) {
    measure(|| {
        if v1 {
            Parsed::from_bytes(input, l).map(|p| p.macaroon)
        } else {
            Parsed::from_bytes(input, l).map(|p| p.macaroon)
        }
    })
}

pub(crate) fn assert_bounded(u: Usage, len: usize, ctx: &str) {
    assert!(
        u.peak <= bounded(len),
        "[{ctx}] peak {} bytes for {len} bytes of input",
        u.peak
    );
    assert!(
        u.total <= 2 * bounded(len),
        "[{ctx}] {} bytes allocated in all for {len} bytes of input",
        u.total
    );
}
