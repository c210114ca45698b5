//! Fast, accurate f32 softmax, log-softmax, argmax, `exp`, `max` and `sum`
//! for inference engines: AVX-512, AVX2 and NEON kernels picked at run time,
//! a portable and a scalar fallback, and rayon row-parallel versions over
//! row-major matrices.
//!
//! ```
//! let logits = [1.0f32, 2.0, 3.0, 4.0];
//! let mut probs = [0.0f32; 4];
//! softmax_simd::softmax(&logits, &mut probs).unwrap();
//! assert_eq!(softmax_simd::argmax(&probs), Some(3));
//! assert!((probs.iter().sum::<f32>() - 1.0).abs() < 1e-6);
//! ```
//!
//! [`Kernels::detect`] uses the best level this CPU has (lowered, never
//! raised, by the environment variable `SOFTMAX_SIMD_ISA`); [`Kernels::new`]
//! picks one and fails for a level the CPU lacks. The free functions use
//! `Kernels::detect()`.
//!
//! Shapes are checked before anything is written: a call that returns an
//! [`Error`] leaves its outputs untouched. No input value panics.
//!
//! # Threads
//!
//! Batched calls run in the caller's rayon pool inside
//! `ThreadPool::install`, else in the global one, and give the same bits
//! either way. Small work stays on the calling thread: up to 2^15 elements
//! on one of a pool's workers, and up to 2^18 (argmax 2^19) on any
//! other thread, which hands its work to the pool and sleeps until it is
//! done (5-30 us more on the 2-core machine measured). An engine that
//! wants smaller matrices spread over its threads calls from inside its
//! pool. One row of at least 98304 entries is split across threads when
//! there are fewer rows than threads and the call is not small.
//!
//! # Memory
//!
//! The kernels allocate nothing. What a call may allocate:
//! - Softmax of rows of at least 4096 entries keeps one f32 per 1024
//!   entries between its two passes, and a batched softmax that streams
//!   its output (out of place, at least `6 * 2^20` output elements) one
//!   f32 per column as well. That scratch is one buffer per thread that
//!   runs the call (the caller's thread or rayon's), allocated when first
//!   needed, grown to the largest need seen and kept for the thread's life:
//!   `n.div_ceil(1024)` floats for rows of `n`, plus `n` when they stream
//!   (1 MiB a thread for streamed rows of 262144).
//! - One row split across threads (see "Threads") collects a max and a
//!   sum per 65536 entries, and softmax one f32 per 1024 entries, for the
//!   call only.
#![deny(unsafe_code)]
#![warn(missing_docs)]

/// The README's examples, compiled and run as doc-tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod batch;
mod error;
mod isa;
mod kernels;
mod scratch;

pub use batch::Batch;
pub use error::Error;
pub use isa::{ISA_ENV, Isa};
pub use kernels::Kernels;

/// [`Kernels::softmax`] at the detected level.
pub fn softmax(x: &[f32], y: &mut [f32]) -> Result<(), Error> {
    Kernels::detect().softmax(x, y)
}

/// [`Kernels::softmax_in_place`] at the detected level.
pub fn softmax_in_place(x: &mut [f32]) {
    Kernels::detect().softmax_in_place(x)
}

/// [`Kernels::log_softmax`] at the detected level.
pub fn log_softmax(x: &[f32], y: &mut [f32]) -> Result<(), Error> {
    Kernels::detect().log_softmax(x, y)
}

/// [`Kernels::log_softmax_in_place`] at the detected level.
pub fn log_softmax_in_place(x: &mut [f32]) {
    Kernels::detect().log_softmax_in_place(x)
}

/// [`Kernels::argmax`] at the detected level.
pub fn argmax(x: &[f32]) -> Option<usize> {
    Kernels::detect().argmax(x)
}

/// [`Kernels::max`] at the detected level.
pub fn max(x: &[f32]) -> f32 {
    Kernels::detect().max(x)
}

/// [`Kernels::sum`] at the detected level.
pub fn sum(x: &[f32]) -> f32 {
    Kernels::detect().sum(x)
}

/// [`Kernels::exp`] at the detected level.
pub fn exp(x: &[f32], y: &mut [f32]) -> Result<(), Error> {
    Kernels::detect().exp(x, y)
}

/// [`Kernels::exp_in_place`] at the detected level.
pub fn exp_in_place(x: &mut [f32]) {
    Kernels::detect().exp_in_place(x)
}

/// [`Kernels::softmax_rows`] at the detected level.
pub fn softmax_rows(x: &[f32], y: &mut [f32], cols: usize) -> Result<(), Error> {
    Kernels::detect().softmax_rows(x, y, cols)
}

/// [`Kernels::softmax_rows_in_place`] at the detected level.
pub fn softmax_rows_in_place(x: &mut [f32], cols: usize) -> Result<(), Error> {
    Kernels::detect().softmax_rows_in_place(x, cols)
}

/// [`Kernels::log_softmax_rows`] at the detected level.
pub fn log_softmax_rows(x: &[f32], y: &mut [f32], cols: usize) -> Result<(), Error> {
    Kernels::detect().log_softmax_rows(x, y, cols)
}

/// [`Kernels::log_softmax_rows_in_place`] at the detected level.
pub fn log_softmax_rows_in_place(x: &mut [f32], cols: usize) -> Result<(), Error> {
    Kernels::detect().log_softmax_rows_in_place(x, cols)
}

/// [`Kernels::argmax_rows`] at the detected level.
pub fn argmax_rows(x: &[f32], cols: usize, out: &mut [usize]) -> Result<(), Error> {
    Kernels::detect().argmax_rows(x, cols, out)
}

/// [`Kernels::softmax_batch`] at the detected level.
pub fn softmax_batch(x: &[f32], y: &mut [f32], batch: &Batch) -> Result<(), Error> {
    Kernels::detect().softmax_batch(x, y, batch)
}

/// [`Kernels::softmax_batch_in_place`] at the detected level.
pub fn softmax_batch_in_place(x: &mut [f32], batch: &Batch) -> Result<(), Error> {
    Kernels::detect().softmax_batch_in_place(x, batch)
}

/// [`Kernels::log_softmax_batch`] at the detected level.
pub fn log_softmax_batch(x: &[f32], y: &mut [f32], batch: &Batch) -> Result<(), Error> {
    Kernels::detect().log_softmax_batch(x, y, batch)
}

/// [`Kernels::log_softmax_batch_in_place`] at the detected level.
pub fn log_softmax_batch_in_place(x: &mut [f32], batch: &Batch) -> Result<(), Error> {
    Kernels::detect().log_softmax_batch_in_place(x, batch)
}

/// [`Kernels::argmax_batch`] at the detected level.
pub fn argmax_batch(x: &[f32], batch: &Batch, out: &mut [usize]) -> Result<(), Error> {
    Kernels::detect().argmax_batch(x, batch, out)
}
