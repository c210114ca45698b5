//! Per-row f32 microkernels for `softmax-simd`: `exp`, `max`, `sum`, `argmax`,
//! softmax and log-softmax, each written once over a small vector trait and
//! instantiated per level (Scalar, Portable, Avx2, Avx512, Neon).
//!
//! No threads, no allocation, no shape errors: callers (the `softmax-simd`
//! crate) check shapes; [`InOut::split`] panics on mismatched lengths.
//!
//! ```
//! use softmax_simd_kernels::{InOut, Level};
//! let x = [1.0f32, 2.0, 3.0];
//! let mut y = [0.0f32; 3];
//! Level::Portable.softmax(InOut::split(&x, &mut y), None, &mut []);
//! assert!((y.iter().sum::<f32>() - 1.0).abs() < 1e-6);
//! ```
// One exception, `Lanes::store_stream` (a non-temporal store has no safe
// wrapper): it carries its own `allow` and `// SAFETY:` lines.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod exp;
mod lanes;
mod level;
mod pass;
mod row;

pub use level::Level;
pub use pass::{InOut, Rows, output_streams, rows_len};
pub use row::{CHUNK, MaxSum, ONE_READ_MIN, SEGMENT, log_of_sum, refs_len, rows_refs_len};
