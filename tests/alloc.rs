//! What a call allocates (the crate docs, "Memory"), counted per thread by a
//! global allocator: nothing for the one-row operations and for batches,
//! except softmax's per-thread scratch, which a thread allocates once and
//! then reuses.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use softmax_simd::{Batch, Isa, Kernels};

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

/// `System`, counting the allocations (and reallocations) of each thread.
struct Counting;

// SAFETY: every method forwards to `System` with the caller's arguments, so
// `System`'s guarantees hold; the count touches no allocated memory (a
// const-initialised thread-local `Cell`, no destructor).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: `ptr` and `layout` come from this allocator, i.e. from
        // `System`, as `GlobalAlloc::realloc` requires.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn count() {
    // `try_with`: a thread being torn down may still allocate.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

/// Allocations `f` makes on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

fn row(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 7919 % 1000) as f32) * 0.01 - 5.0)
        .collect()
}

#[test]
fn one_row_operations_allocate_nothing_but_softmax_scratch_once() {
    let kernels: Vec<Kernels> = Isa::available()
        .into_iter()
        .map(|isa| Kernels::new(isa).unwrap())
        .collect();
    // 70000: long enough for softmax's scratch (4096), too short to split.
    let (short, long) = (row(1000), row(70000));
    let mut y = vec![0.0f32; long.len()];
    for k in &kernels {
        // A fresh thread, so that its scratch is not there yet.
        std::thread::scope(|s| {
            s.spawn(|| {
                let y = &mut y[..];
                let short_first = allocations(|| k.softmax(&short, &mut y[..1000]).unwrap());
                assert_eq!(short_first, 0, "{:?}: softmax of 1000", k.isa());
                let long_first = allocations(|| k.softmax(&long, y).unwrap());
                assert!(
                    long_first <= 1,
                    "{:?}: first long softmax: {long_first}",
                    k.isa()
                );
                let rest = allocations(|| {
                    for x in [&short, &long] {
                        let y = &mut y[..x.len()];
                        k.softmax(x, y).unwrap();
                        k.softmax_in_place(y);
                        k.log_softmax(x, y).unwrap();
                        k.log_softmax_in_place(y);
                        k.exp(x, y).unwrap();
                        k.exp_in_place(y);
                        std::hint::black_box((k.max(x), k.sum(x), k.argmax(x)));
                    }
                });
                assert_eq!(rest, 0, "{:?}: one-row operations after the first", k.isa());
            });
        });
    }
}

#[test]
fn batches_allocate_nothing_once_a_thread_has_its_scratch() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    // 16 x 40000: rows that keep softmax's scratch (rows of 4096 to 16384
    // go in groups, with theirs on the stack), more elements than the
    // sequential path takes, so the pool's thread runs them.
    let (rows, cols) = (16, 40000);
    let x = row(rows * cols);
    let mut y = vec![0.0f32; x.len()];
    let mut out = vec![0usize; rows];
    let b = Batch::new(rows, cols).temperature(0.7);
    let small = Batch::new(8, 1024);
    for isa in Isa::available() {
        let k = Kernels::new(isa).unwrap();
        pool.install(|| {
            k.softmax_batch(&x, &mut y, &b).unwrap();
            let n = allocations(|| {
                k.softmax_batch(&x, &mut y, &b).unwrap();
                k.softmax_batch_in_place(&mut y, &b).unwrap();
                k.log_softmax_batch(&x, &mut y, &b).unwrap();
                k.log_softmax_batch_in_place(&mut y, &b).unwrap();
                k.argmax_batch(&x, &b, &mut out).unwrap();
                k.softmax_rows(&x, &mut y, cols).unwrap();
            });
            assert_eq!(n, 0, "{isa:?}: batches on a one-thread pool");
        });
        // A small batch runs on the calling thread, and starts no pool: this
        // test binary never builds rayon's global one, which costs threads
        // and allocations (argmax once asked it for its thread count first).
        let n = allocations(|| {
            k.softmax_batch(&x[..8192], &mut y[..8192], &small).unwrap();
            k.log_softmax_batch(&x[..8192], &mut y[..8192], &small)
                .unwrap();
            k.argmax_batch(&x[..8192], &small, &mut out[..8]).unwrap();
        });
        assert_eq!(n, 0, "{isa:?}: an 8 x 1024 batch on the calling thread");
        // Called from outside any pool, batches of up to 2^18 elements
        // (argmax 2^19) stay on the calling thread too: one row of 2^18 is
        // not split, 256 x 1024 not grouped. Starting the pool would
        // allocate here. First this thread's scratch, for rows of 2^18.
        let (one, grid) = (Batch::new(1, 1 << 18), Batch::new(256, 1024));
        let (n1, n2) = (1 << 18, 256 * 1024);
        k.softmax(&x[..n1], &mut y[..n1]).unwrap();
        let mut indices = vec![0usize; 512];
        let n = allocations(|| {
            for (b, n) in [(&one, n1), (&grid, n2)] {
                k.softmax_batch(&x[..n], &mut y[..n], b).unwrap();
                k.log_softmax_batch_in_place(&mut y[..n], b).unwrap();
            }
            k.argmax_batch(&x[..1 << 19], &Batch::new(512, 1024), &mut indices)
                .unwrap();
        });
        assert_eq!(n, 0, "{isa:?}: batches up to 2^18 from outside a pool");
    }
}
