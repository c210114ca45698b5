//! `Level`: which implementation runs. The SIMD variants hold a pulp token,
//! which exists only when the running CPU has the instructions (or was made
//! with `unsafe`), so safe code cannot run a kernel the CPU lacks.

use core::marker::PhantomData;

use crate::lanes::{Lanes, One, Pulp, Wide};
use crate::pass::{InOut, Rows};
use crate::row;

/// An implementation level, holding the proof that this CPU can run it.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Level {
    /// Plain `f32` loops, one lane: the same algorithms, no SIMD.
    Scalar,
    /// `wide::f32x8` compiled for the target's baseline (SSE2 on x86-64,
    /// NEON on aarch64).
    Portable,
    /// AVX2 + FMA (x86-64-v3), 8 lanes.
    #[cfg(target_arch = "x86_64")]
    Avx2(pulp::x86::V3),
    /// AVX-512 F/BW/CD/DQ/VL (x86-64-v4), 16 lanes.
    #[cfg(target_arch = "x86_64")]
    Avx512(pulp::x86::V4),
    /// Advanced SIMD, 4 lanes.
    #[cfg(target_arch = "aarch64")]
    Neon(pulp::aarch64::Neon),
}

impl Level {
    /// `Avx2` when this CPU has AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    pub fn avx2() -> Option<Self> {
        pulp::x86::V3::try_new().map(Level::Avx2)
    }

    /// `Avx512` when this CPU has AVX-512 F/BW/CD/DQ/VL.
    #[cfg(target_arch = "x86_64")]
    pub fn avx512() -> Option<Self> {
        pulp::x86::V4::try_new().map(Level::Avx512)
    }

    /// `Neon` when this CPU has Advanced SIMD.
    #[cfg(target_arch = "aarch64")]
    pub fn neon() -> Option<Self> {
        pulp::aarch64::Neon::try_new().map(Level::Neon)
    }

    /// f32 lanes per vector.
    pub fn lanes(self) -> usize {
        struct Lanes_;
        impl Kernel for Lanes_ {
            type Output = usize;
            #[inline(always)]
            fn run<L: Lanes>(self, _: L) -> usize {
                L::N
            }
        }
        self.run(Lanes_)
    }

    /// Runs `k` with this level's `Lanes`, inside the `#[target_feature]`
    /// function pulp makes for the SIMD levels. The only dispatch point.
    #[inline(always)]
    fn run<K: Kernel>(self, k: K) -> K::Output {
        match self {
            Level::Scalar => k.run(One),
            Level::Portable => k.run(Wide),
            #[cfg(target_arch = "x86_64")]
            Level::Avx2(simd) => pulp::Simd::vectorize(simd, WithPulp(k)),
            #[cfg(target_arch = "x86_64")]
            Level::Avx512(simd) => pulp::Simd::vectorize(simd, WithPulp(k)),
            #[cfg(target_arch = "aarch64")]
            Level::Neon(simd) => pulp::Simd::vectorize(simd, WithPulp(k)),
        }
    }
}

/// A body generic over `Lanes`.
trait Kernel {
    type Output;
    fn run<L: Lanes>(self, l: L) -> Self::Output;
}

/// A `Kernel` as pulp's `WithSimd`.
struct WithPulp<K>(K);

impl<K: Kernel> pulp::WithSimd for WithPulp<K> {
    type Output = K::Output;
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) -> K::Output {
        self.0.run(Pulp(simd))
    }
}

/// Defines one `Level` method per body: a `Kernel` that carries the
/// arguments, run through `Level::run`.
macro_rules! kernels {
    ($(
        $(#[$doc:meta])*
        fn $method:ident($($arg:ident: $ty:ty),*) -> $out:ty = $body:path;
    )*) => {
        impl Level {
            $(
                $(#[$doc])*
                #[inline]
                pub fn $method<'a>(self, $($arg: $ty),*) -> $out {
                    struct K<'a>($($ty,)* PhantomData<&'a ()>);
                    impl<'a> Kernel for K<'a> {
                        type Output = $out;
                        #[inline(always)]
                        fn run<L: Lanes>(self, l: L) -> $out {
                            let K($($arg,)* _) = self;
                            $body(l, $($arg),*)
                        }
                    }
                    self.run(K($($arg,)* PhantomData))
                }
            )*
        }
    };
}

kernels! {
    /// Largest value of `x`; NaN if any is NaN; `-inf` when `x` is empty.
    fn max(x: &'a [f32]) -> f32 = row::max;
    /// Sum of `x` (f32 blocks added in f64); 0 when empty.
    fn sum(x: &'a [f32]) -> f32 = row::sum;
    /// Index of the first maximum, or of the first NaN; `None` when empty.
    fn argmax(x: &'a [f32]) -> Option<usize> = row::argmax;
    /// `exp` element-wise: at most 2 ulp where the result is normal.
    fn exp(io: InOut<'a>) -> () = row::exp_row;
    /// Softmax of one row, of `x * inv_t` (`None`: of `x`); `refs` is
    /// scratch of at least `refs_len(io.len())` values.
    ///
    /// # Panics
    /// If `refs` is shorter.
    fn softmax(io: InOut<'a>, inv_t: Option<f32>, refs: &'a mut [f32]) -> () = row::softmax;
    /// Log-softmax of one row, of `x * inv_t` (`None`: of `x`).
    fn log_softmax(io: InOut<'a>, inv_t: Option<f32>) -> () = row::log_softmax;
    /// Softmax of every row: one dispatch for many small rows; `refs` is
    /// scratch of at least `rows_refs_len(&rows)` values.
    ///
    /// # Panics
    /// If `refs` is shorter.
    fn softmax_rows(rows: Rows<'a>, inv_t: Option<f32>, refs: &'a mut [f32]) -> () = row::softmax_rows;
    /// Log-softmax of every row.
    fn log_softmax_rows(rows: Rows<'a>, inv_t: Option<f32>) -> () = row::log_softmax_rows;
    /// `out[i]` = argmax of row `i`, for `out.len()` rows of `cols` at
    /// `stride` (0 for an empty row).
    ///
    /// # Panics
    /// If `x` is shorter than `out.len()` rows need.
    fn argmax_rows(x: &'a [f32], cols: usize, stride: usize, out: &'a mut [usize]) -> () = row::argmax_rows;

    // The passes of one row, for splitting a huge row across threads at
    // multiples of `CHUNK` (the one-row kernels form their max and sum per
    // `CHUNK` and combine them with `MaxSum::then`, so the pieces give the
    // same bits).

    /// Softmax pass 1 on a piece of a row of at least `ONE_READ_MIN`: at most
    /// `CHUNK` values from a multiple of `CHUNK`; `refs` gets one value per
    /// `SEGMENT`. Combine the pieces in order with `MaxSum::then`.
    fn softmax_piece(io: InOut<'a>, inv_t: Option<f32>, refs: &'a mut [f32]) -> row::MaxSum = row::softmax_piece;
    /// Softmax pass 2 on the output of pieces from `softmax_piece` (from a
    /// multiple of `CHUNK`), with their `refs` and their combined total.
    fn softmax_scale(y: &'a mut [f32], refs: &'a [f32], total: row::MaxSum, inv_t: Option<f32>) -> () = row::softmax_scale;
    /// Log-softmax pass 1 on a piece of at most `CHUNK`: its max and sum,
    /// and out of place `y = x`; combine the pieces in order with
    /// `MaxSum::then`.
    fn max_exp_sum(io: InOut<'a>, inv_t: Option<f32>) -> row::MaxSum = row::max_exp_sum;
    /// Log-softmax pass 2 on a piece: `y = (x - max) * inv_t - log_sum`
    /// (for a long row, in place on the `y` pass 1 copied `x` into).
    fn sub_max_log_sum(io: InOut<'a>, max: f32, log_sum: f32, inv_t: Option<f32>) -> () = row::sub_max_log_sum;
}
