//! The per-block scratch long softmax rows keep between their two passes
//! (`softmax_simd_kernels::refs_len`): one buffer per thread, grown to the
//! longest row it has seen, so the kernels crate allocates nothing and a
//! call allocates at most once per thread.

use std::cell::RefCell;

use softmax_simd_kernels::refs_len;

thread_local! {
    static REFS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with scratch for softmax rows of `cols`.
pub(crate) fn with_refs<R>(cols: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    let n = refs_len(cols);
    if n == 0 {
        return f(&mut []);
    }
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
