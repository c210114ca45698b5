//! The scratch long softmax rows keep between their two passes, segment
//! maxima and, when they stream, `exp` values (`softmax_simd_kernels::
//! refs_len`, `rows_refs_len`): one buffer per thread, grown to the
//! longest row it has seen, so the kernels crate allocates nothing and a
//! call allocates at most once per thread. Rows too short to need it skip
//! the thread-local lookup.

use std::cell::RefCell;

use softmax_simd_kernels::{InOut, Level, Rows, refs_len, rows_refs_len};

thread_local! {
    static REFS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// `level.softmax` of one row, with its scratch.
pub(crate) fn softmax(level: Level, io: InOut<'_>, inv_t: Option<f32>) {
    match refs_len(io.len()) {
        0 => level.softmax(io, inv_t, &mut []),
        n => with_refs(n, |refs| level.softmax(io, inv_t, refs)),
    }
}

/// `level.softmax_rows`, with scratch for rows of its `cols`.
pub(crate) fn softmax_rows(level: Level, rows: Rows<'_>, inv_t: Option<f32>) {
    match rows_refs_len(&rows) {
        0 => level.softmax_rows(rows, inv_t, &mut []),
        n => with_refs(n, |refs| level.softmax_rows(rows, inv_t, refs)),
    }
}

/// Runs `f` with `n` values of this thread's scratch.
fn with_refs<R>(n: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    REFS.with(|cell| match cell.try_borrow_mut() {
        Ok(mut refs) => {
            if refs.len() < n {
                refs.resize(n, 0.0);
            }
            f(&mut refs[..n])
        }
        // Only if `f` ran softmax again on this thread inside itself, which
        // nothing does; a buffer of its own is still correct.
        Err(_) => f(&mut vec![0.0; n]),
    })
}
