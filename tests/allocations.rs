//! The verify hot path allocates once: the buffer the token text is decoded into (issue 5).
//!
//! A counting global allocator wraps the system one. It counts only on the thread that asked
//! (the test harness's own threads may allocate at any time, e.g. under a loaded CI machine).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

#[cfg(feature = "caveats")]
use macaroon_mint::AuthContext;
use macaroon_mint::{Format, Macaroon, RootKey, Verifier};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // A const initializer: reading it never allocates, so the allocator may consult it.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn count_one() {
    if COUNTING.try_with(Cell::get).unwrap_or(false) {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
    }
}

// SAFETY: defers every call to the system allocator unchanged; it only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by this thread while `f` runs.
fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    COUNTING.set(true);
    f();
    COUNTING.set(false);
    ALLOCATIONS.load(Ordering::SeqCst) - before
}

#[test]
fn verifying_text_allocates_only_the_decode_buffer() {
    // The counter really moves (guards against a test that cannot fail).
    let count = allocations_during(|| {
        std::hint::black_box(vec![1u8; 10]);
    });
    assert_eq!(count, 1);

    let key = RootKey::new("0123456789abcdef0123456789abcdef");
    #[cfg(feature = "caveats")]
    let ctx = AuthContext::new();
    for n in [0usize, 3, 10, 16] {
        let predicates: Vec<String> = (0..n).map(|i| format!("account = {i:010}")).collect();
        let mut m = Macaroon::mint(&key, "https://auth.example.com/", "token-0001").unwrap();
        let mut verifier = Verifier::new().at_time(1_700_000_000);
        for p in &predicates {
            m = m.with_first_party(p).unwrap();
            verifier = verifier.satisfy_exact(p);
        }
        m = m.with_first_party("time < 1700003600").unwrap();
        for format in [Format::V1, Format::V2, Format::Onedata] {
            let token = m.serialize(format).unwrap();
            let mut result = None;
            let count = allocations_during(|| {
                result = Some(verifier.verify_token(&key, &token, &[]));
            });
            assert!(matches!(result, Some(Ok(_))), "{n} caveats, {format}");
            assert_eq!(count, 1, "{n} caveats + time, {format}: allocations");

            // Typed checking of `time <` against a context allocates nothing more.
            #[cfg(feature = "caveats")]
            {
                let mut typed = Verifier::new().at_time(1_700_000_000).with_context(&ctx);
                for p in &predicates {
                    typed = typed.satisfy_exact(p);
                }
                let count = allocations_during(|| {
                    result = Some(typed.verify_token(&key, &token, &[]));
                });
                assert!(
                    matches!(result, Some(Ok(_))),
                    "{n} caveats, {format}, typed"
                );
                assert_eq!(count, 1, "{n} caveats + typed time, {format}: allocations");
            }

            // Equal work, as the benchmark measures it: derive the key and build the verifier
            // per token too. The key costs nothing on the heap, the borrowed predicates one
            // vector, the token its decode buffer.
            let count = allocations_during(|| {
                let key = RootKey::new("0123456789abcdef0123456789abcdef");
                let verifier = Verifier::new()
                    .at_time(1_700_000_000)
                    .satisfy_exact_all(&predicates);
                result = Some(verifier.verify_token(&key, &token, &[]));
            });
            assert!(
                matches!(result, Some(Ok(_))),
                "{n} caveats, {format}, equal work"
            );
            let vector = usize::from(n > 0);
            assert_eq!(
                count,
                1 + vector,
                "{n} caveats, {format}, equal work: allocations"
            );
        }
    }
}
