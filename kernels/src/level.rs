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

#[cfg(test)]
mod tests {
    use super::{Kernel, Level};
    use crate::exp::{DENORM_CUTOFF, exp_nonpositive};
    use crate::lanes::Lanes;

    /// `y = exp_nonpositive(x)`, `x.len()` a multiple of the lanes.
    struct ExpNonpositive<'a>(&'a [f32], &'a mut [f32]);

    impl Kernel for ExpNonpositive<'_> {
        type Output = ();
        #[inline(always)]
        fn run<L: Lanes>(self, l: L) {
            for (x, y) in self.0.chunks_exact(L::N).zip(self.1.chunks_exact_mut(L::N)) {
                l.store(y, exp_nonpositive(l, l.load(x)));
            }
        }
    }

    fn levels() -> Vec<Level> {
        let mut v = vec![Level::Scalar, Level::Portable];
        #[cfg(target_arch = "x86_64")]
        v.extend(Level::avx2().into_iter().chain(Level::avx512()));
        #[cfg(target_arch = "aarch64")]
        v.extend(Level::neon());
        v
    }

    /// Softmax's `exp` (`x - max <= 0`) on every level, against the f64
    /// result for every 101st f32 (1009th emulated) from -0 down to the
    /// cutoff, and each one near the cutoff and near 0: within
    /// `3 + |x| / 20` ulp. The second term is the one-step reduction's
    /// (`exp_nonpositive`: the rounding of ln 2 to f32 costs `|x| * 2.7e-9`
    /// relative, 1/22 ulp per unit of `|x|`); levels without FMA reduce in
    /// two steps. Exactly 1 at 0, exactly 0 below the cutoff and at `-inf`,
    /// NaN for NaN. Measured (Zen 2): scalar and portable 2.19 ulp at most,
    /// AVX2 2.46 near 0 and 4.47 near -87 (`exp::exp_nonpositive_avx2`).
    #[test]
    fn exp_nonpositive_is_within_its_bound() {
        let (zero, cutoff) = ((-0.0f32).to_bits(), DENORM_CUTOFF.to_bits());
        // Every 1009th under emulation (CI's qemu legs), which is slow.
        let step = if std::env::var_os("SOFTMAX_SIMD_EXPECT_ISA").is_some() {
            1009
        } else {
            101
        };
        let mut x: Vec<f32> = (zero..=cutoff).step_by(step).map(f32::from_bits).collect();
        x.extend(
            (zero..zero + 4096)
                .chain(cutoff - 4096..=cutoff)
                .map(f32::from_bits),
        );
        let below = [
            f32::NEG_INFINITY,
            -1e30,
            -104.0,
            -88.0,
            f32::from_bits(cutoff + 1),
        ];
        let special = [0.0, -0.0, f32::NAN];
        x.extend(below.iter().chain(&special));
        x.resize(x.len().next_multiple_of(64), -1.0);
        for level in levels() {
            let mut y = vec![0.0; x.len()];
            level.run(ExpNonpositive(&x, &mut y));
            // The largest error over its bound, with its error and x.
            let mut worst = (f64::NEG_INFINITY, 0.0f64, 0.0f32);
            for (&xi, &yi) in x.iter().zip(&y) {
                if xi.is_nan() {
                    assert!(yi.is_nan(), "{level:?}: exp({xi}) = {yi}");
                } else if xi < DENORM_CUTOFF {
                    assert_eq!(yi.to_bits(), 0, "{level:?}: exp({xi:e}) = {yi:e}");
                } else {
                    let r = f64::from(xi).exp();
                    let ulp = 2f64.powi(r.log2().floor() as i32 - 23);
                    let err = (f64::from(yi) - r).abs() / ulp;
                    let over = err - (3.0 + f64::from(xi).abs() / 20.0);
                    if over > worst.0 {
                        worst = (over, err, xi);
                    }
                }
            }
            let (_, err, at) = worst;
            assert!(worst.0 <= 0.0, "{level:?}: {err:.2} ulp at x = {at:e}");
        }
        let mut y = [0.0f32; 64];
        let one = [0.0f32; 64];
        for level in levels() {
            level.run(ExpNonpositive(&one, &mut y));
            assert!(y.iter().all(|&v| v == 1.0), "{level:?}: exp(0) = {y:?}");
        }
    }
}
