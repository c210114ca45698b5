//! `exp` on one vector: two-step (Cody-Waite) range reduction and a degree-5
//! polynomial, "rr2_p5" in XNNPACK's naming.
//!
//! `exp(x) = 2^n * exp(t)` with `n = round(x / ln 2)` and `t = x - n ln 2` in
//! `[-ln 2 / 2, ln 2 / 2]`. `n` is rounded by adding a "magic bias"
//! (`1.5 * 2^23 + 127`), which leaves `n + 127` in the low mantissa bits, so a
//! shift by 23 builds `2^n` without a float-to-int conversion. `ln 2` is split
//! into a high part with trailing zero bits (so `n * LN2_HI` is exact) and a
//! low part. `exp(t) ~ 1 + t * (c1 + t * (c2 + t * (c3 + t * (c4 + t * c5))))`.
//!
//! Two polynomials share that reduction:
//! - `exp_nonpositive` (softmax, `x - max <= 0`): XNNPACK's degree-5 minimax,
//!   `src/math/f32-expminus-scalar-rr2-p5.c`
//!   (`xnn_math_f32_expminus__scalar_rr2_p5`); about 2 ulp, far inside
//!   softmax's 2e-6 budget, and the cheapest.
//! - `exp` (the public element-wise exp, bound 2 ulp): SLEEF's `xexpf`
//!   polynomial (`src/libm/sleefsimdsp.c`, its 1.0-ulp `expf`):
//!   `exp(t) ~ 1 + t + t^2 * u(t)`, degree 7 in all; the scale is applied as
//!   `fma(t + t^2 u, 2^n, 2^n)`, one rounding.
//!
//! Two levels take their own route to `exp_nonpositive`
//! (`Lanes::native_exp_nonpositive`): AVX-512 scales by `2^n` with
//! `vscalefps` (`exp_nonpositive_avx512`), and AVX2 reduces to
//! `[-ln 2 / 16, ln 2 / 16]` with a table of `2^(k/8)` held in one register
//! and a degree-3 polynomial, "rr1_lut8_p3" (`exp_nonpositive_avx2`).
//!
//! The bit patterns below are the published hex floats exactly; the overflow
//! cutoff is from XNNPACK's `src/math/f32-exp-avx2-rr2-p5.c`.

use crate::lanes::Lanes;

/// `0x1.715476p+0`, log2(e).
const LOG2E: f32 = f32::from_bits(0x3FB8_AA3B);
/// `0x1.8000FEp23`: ulp 1, and `== 127 mod 2^22`, so the low bits hold `n + 127`.
const MAGIC_BIAS: f32 = f32::from_bits(0x4B40_007F);
/// `0x1.8p23`: adding it rounds an f32 of magnitude below `2^22` to an integer
/// (ties to even), which subtracting it again leaves as a float.
#[cfg(target_arch = "x86_64")]
const ROUND_BIAS: f32 = f32::from_bits(0x4B40_0000);
/// `-0x1.62E400p-1`: -ln 2, high part (its low bits are zero).
const MINUS_LN2_HI: f32 = f32::from_bits(0xBF31_7200);
/// `-0x1.7F7D1Cp-20`: -ln 2, low part.
const MINUS_LN2_LO: f32 = f32::from_bits(0xB5BF_BE8E);
/// `-0x1.62E430p-1`: -ln 2 as one f32, for the one-step reduction (XNNPACK's
/// rr1 kernels, e.g. `f32-vsigmoid/avx512f-rr1-p5-scalef`).
const MINUS_LN2: f32 = f32::from_bits(0xBF31_7218);
const C5: f32 = f32::from_bits(0x3C07_CFCE); // 0x1.0F9F9Cp-7
const C4: f32 = f32::from_bits(0x3D2B_9D0D); // 0x1.573A1Ap-5
const C3: f32 = f32::from_bits(0x3E2A_AD40); // 0x1.555A80p-3
const C2: f32 = f32::from_bits(0x3EFF_FEE3); // 0x1.FFFDC6p-2
const C1: f32 = f32::from_bits(0x3F7F_FFFB); // 0x1.FFFFF6p-1
// SLEEF xexpf: u(t) = 1/2 + t/6 + ..., coefficients as SLEEF writes them
// (each rounds to the f32 SLEEF uses; kept verbatim so they can be checked).
const U0: f32 = 0.5;
#[allow(clippy::excessive_precision)]
const U1: f32 = 0.166_666_671_633_720_397_949_219;
#[allow(clippy::excessive_precision)]
const U2: f32 = 0.041_666_485_369_205_474_853_515_6;
#[allow(clippy::excessive_precision)]
const U3: f32 = 0.008_333_360_776_305_198_669_433_59;
#[allow(clippy::excessive_precision)]
const U4: f32 = 0.001_393_043_552_525_341_510_772_71;
#[allow(clippy::excessive_precision)]
const U5: f32 = 0.000_198_527_617_612_853_646_278_381;
/// `-0x1.5D589Ep6`: below this `exp(x)` is subnormal; the result is flushed to 0.
pub(crate) const DENORM_CUTOFF: f32 = f32::from_bits(0xC2AE_AC4F);
/// `0x1.62E42Ep6`: the largest x whose `exp(x)` is finite.
pub(crate) const INF_CUTOFF: f32 = f32::from_bits(0x42B1_7217);

/// `t = x - n ln 2` in two steps; `n` is the float `vn - MAGIC_BIAS`.
#[inline(always)]
fn reduce<L: Lanes>(l: L, x: L::V, vn: L::V) -> L::V {
    let n = l.sub(vn, l.splat(MAGIC_BIAS));
    let t = l.mul_add(n, l.splat(MINUS_LN2_HI), x);
    l.mul_add(n, l.splat(MINUS_LN2_LO), t)
}

/// `exp(x)` for `x <= 0` (and NaN): the softmax case, `x = input - max`.
/// Results below `f32::MIN_POSITIVE` are 0; `exp(-inf) = 0`; NaN stays NaN.
///
/// With FMA the reduction is one step (rr1): `t = fma(n, -ln2, x)` is off by
/// `|n| * 1.9e-9` (the rounding of ln 2 to f32), under 2.7e-9 per unit of
/// `|x|`, far inside softmax's `|x - max| * 2^-23` allowance, and it saves
/// one FMA per vector. Without FMA, `n * ln2` would round: two steps (rr2).
#[inline(always)]
pub(crate) fn exp_nonpositive<L: Lanes>(l: L, x: L::V) -> L::V {
    let [f] = exp_nonpositive_n(l, [x]);
    f
}

/// `exp_nonpositive` of `K` vectors, written step by step across them
/// (each step on every vector, then the next), as XNNPACK's unrolled
/// kernels are: each vector's result has the same bits as alone. LLVM
/// schedules the steps as it sees fit, but on Zen 3 (AVX2) this form of the
/// softmax loops (`pass::Map::apply4`) measured faster than four calls in a
/// row, which in turn were about as fast as the one-vector loop; the
/// measurements are at `Map::apply4`. Plain loops over `0..K`, not
/// closures, so that everything inlines into the level's shim.
#[inline(always)]
pub(crate) fn exp_nonpositive_n<L: Lanes, const K: usize>(l: L, x: [L::V; K]) -> [L::V; K] {
    if let Some(f) = l.native_exp_nonpositive(x) {
        return f;
    }
    let mut vn = x;
    for k in 0..K {
        vn[k] = l.mul_add(x[k], l.splat(LOG2E), l.splat(MAGIC_BIAS));
    }
    let mut s = x;
    for k in 0..K {
        s[k] = l.shl_exponent(vn[k]);
    }
    let mut t = x;
    for k in 0..K {
        t[k] = if L::FMA {
            let n = l.sub(vn[k], l.splat(MAGIC_BIAS));
            l.mul_add(n, l.splat(MINUS_LN2), x[k])
        } else {
            reduce(l, x[k], vn[k])
        };
    }
    // `exp(t) - 1 = t * p(t)`, then `s * exp(t) = s + (t * s) * p(t)`.
    let mut p = x;
    for k in 0..K {
        p[k] = l.mul_add(l.splat(C5), t[k], l.splat(C4));
    }
    for c in [C3, C2, C1] {
        for k in 0..K {
            p[k] = l.mul_add(p[k], t[k], l.splat(c));
        }
    }
    let mut f = x;
    for k in 0..K {
        f[k] = l.mul_add(l.mul(t[k], s[k]), p[k], s[k]);
    }
    for k in 0..K {
        f[k] = l.zero_where(l.lt(x[k], l.splat(DENORM_CUTOFF)), f[k]);
    }
    f
}

/// `exp(x)` for every x: overflow gives `+inf`, `exp(+inf) = +inf`,
/// `exp(-inf) = 0`, NaN stays NaN, subnormal results are flushed to 0.
///
/// `n` reaches 128 just below the overflow cutoff, and `2^128` has no f32
/// exponent, so for `x > 0` the scale is built as `2^(n-1)` and the result
/// doubled (exactly).
#[inline(always)]
pub(crate) fn exp<L: Lanes>(l: L, x: L::V) -> L::V {
    let zero = l.splat(0.0);
    let positive = l.gt(x, zero);
    let vn = l.mul_add(x, l.splat(LOG2E), l.splat(MAGIC_BIAS));
    let s = l.shl_exponent(l.sub(vn, l.select(positive, l.splat(1.0), zero)));
    let t = reduce(l, x, vn);
    let mut u = l.mul_add(l.splat(U5), t, l.splat(U4));
    u = l.mul_add(u, t, l.splat(U3));
    u = l.mul_add(u, t, l.splat(U2));
    u = l.mul_add(u, t, l.splat(U1));
    u = l.mul_add(u, t, l.splat(U0));
    let expm1 = l.mul_add(l.mul(t, t), u, t);
    let f = l.mul_add(expm1, s, s);
    let f = l.add(f, l.select(positive, f, zero));
    let f = l.zero_where(l.lt(x, l.splat(DENORM_CUTOFF)), f);
    l.select(l.gt(x, l.splat(INF_CUTOFF)), l.splat(f32::INFINITY), f)
}

/// `exp_nonpositive` with AVX-512's `vscalefps`, after XNNPACK's
/// `avx512f_rr1_p5_scalef` kernels (same reduction and polynomial as above):
/// `n = round(x log2 e)`, `t = x - n ln 2` (one FMA),
/// `p = 1 + t (c1 + ... + c5 t^4)`, then `p * 2^n` in one instruction that
/// needs no exponent bits built by hand. The zero-masked `vscalefps` also
/// flushes `x < DENORM_CUTOFF` (and `-inf`) to 0; the mask is "not less
/// than", true for NaN, so NaN stays NaN. 10 instructions where the generic
/// body takes 12; measured on one 32000-entry row in L2, the exp-store-sum
/// pass alone: 6.26 -> 7.17 el/ns.
///
/// `n` is rounded by adding and subtracting `ROUND_BIAS` (an FMA and a
/// subtraction, two uops) rather than by `vrndscaleps` after a multiply
/// (three, two of them on one port on Golden Cove). It rounds the exact
/// product where `vrndscaleps` rounded the rounded one, so `n` can differ by
/// one when `x log2 e` is within half an ulp of a half-integer; `t` then
/// lies a hair outside `[-ln 2 / 2, ln 2 / 2]`. The bound test (every 101st
/// f32, `exp_nonpositive_is_within_its_bound`) passes as before; it samples
/// such cases rather than seeking them out.
/// On an Intel Xeon (family 6 model 207), a plain C model of the three-pass
/// softmax (gcc -O3) went 4.09 -> 4.83 el/ns on a row of 4096 in cache, 3.25
/// -> 3.61 at 32000; this crate's bench, binaries in turn, avx512 time over
/// avx2 time, two rounds, one thread, before -> after: 1 x 4000 0.65, 0.64 ->
/// 0.59, 0.62; 1 x 4096 0.79, 0.75 -> 0.70, 0.67; 256 x 32000 0.85, 0.88 ->
/// 0.72, 0.84 (noisy: 32 x 32000 1.01, 0.91 -> 0.97, 1.04). On Zen 4 (family
/// 25 model 17), five rounds: no change beyond noise (1 x 32000 softmax median
/// 0.68 -> 0.68, log-softmax 0.64 -> 0.63).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn exp_nonpositive_avx512(
    v4: pulp::x86::V4,
    x: core::arch::x86_64::__m512,
) -> core::arch::x86_64::__m512 {
    use core::arch::x86_64::_CMP_NLT_UQ;
    let f = v4.avx512f;
    // A function, not a closure: a closure would not inherit the features.
    #[inline(always)]
    fn c(v: f32) -> core::arch::x86_64::__m512 {
        bytemuck::cast([v; 16])
    }
    let keep = f._mm512_cmp_ps_mask::<_CMP_NLT_UQ>(x, c(DENORM_CUTOFF));
    // `n = round(x log2 e)` by the bias (see above).
    let n = f._mm512_sub_ps(f._mm512_fmadd_ps(x, c(LOG2E), c(ROUND_BIAS)), c(ROUND_BIAS));
    let t = f._mm512_fmadd_ps(n, c(MINUS_LN2), x);
    let mut p = f._mm512_fmadd_ps(c(C5), t, c(C4));
    p = f._mm512_fmadd_ps(p, t, c(C3));
    p = f._mm512_fmadd_ps(p, t, c(C2));
    p = f._mm512_fmadd_ps(p, t, c(C1));
    p = f._mm512_fmadd_ps(p, t, c(1.0));
    f._mm512_maskz_scalef_ps(keep, p, n)
}

/// `exp_nonpositive` on AVX2, "rr1_lut8_p3" (XNNPACK's
/// `xnn_math_f32_exp__avx2_rr2_lut8_p3_perm` with the one-step reduction of
/// `exp_nonpositive`): `n = round(8 x log2 e)`, `t = x - n ln 2 / 8` in
/// `[-ln 2 / 16, ln 2 / 16]`, `exp(x) = 2^(n / 8) * exp(t)`. `2^(n / 8)` is
/// the table entry for `n mod 8`, picked by `vpermps` from one register (it
/// reads the low 3 bits of each lane of the biased `n`), plus `n << 20` as
/// an integer add, which puts `floor(n / 8)` in the exponent; then
/// `exp(t) ~ 1 + t + t^2 (c2 + c3 t)`. Six FMA-unit operations per vector
/// where the degree-5 body takes eight. `x < DENORM_CUTOFF` (and `-inf`)
/// give 0 as there; NaN stays NaN (the compare is false for it).
///
/// Measured on Zen 2 (`softmax-bench --levels avx2 --out-of-place-only`,
/// the binary with this body and the one before in turn, one thread, speed
/// after / before): single rows of 1024 to 128256 entries 1.02-1.16 (three
/// pairs); 256x32000, 64x128256 and 4096x4096 softmax 1.02-1.17,
/// log-softmax 1.04-1.20 (six pairs); 16384x128 0.97-1.07 where the
/// machine held steady (the README has the details). The error, every 101st f32 from -0 to the
/// cutoff (`exp_nonpositive_is_within_its_bound` in `level.rs`): at most
/// 2.46 ulp near 0 (the generic body on AVX2: 1.86) and 4.47 near -87,
/// where the one-step reduction's error dominates (the generic body: 4.58).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn exp_nonpositive_avx2<const K: usize>(
    v3: pulp::x86::V3,
    x: [core::arch::x86_64::__m256; K],
) -> [core::arch::x86_64::__m256; K] {
    use core::arch::x86_64::{__m256, _CMP_LT_OQ};
    /// XNNPACK's `xnn_table_exp2minus_k_over_8` (`src/tables/exp2minus-k-over-8.c`):
    /// `2^(k/8)` for k = 0..7, each with `k << 20` taken off its bits.
    const EXP2_MINUS_K_OVER_8: [f32; 8] = [
        f32::from_bits(0x3F80_0000), // 0x1.000000p+0
        f32::from_bits(0x3F7B_95C2), // 0x1.F72B84p-1
        f32::from_bits(0x3F78_37F0), // 0x1.F06FE0p-1
        f32::from_bits(0x3F75_FED7), // 0x1.EBFDAEp-1
        f32::from_bits(0x3F75_04F3), // 0x1.EA09E6p-1
        f32::from_bits(0x3F75_672A), // 0x1.EACE54p-1
        f32::from_bits(0x3F77_44FD), // 0x1.EE89FAp-1
        f32::from_bits(0x3F7A_C0C7), // 0x1.F5818Ep-1
    ];
    /// `0x1.715476p3`, 8 log2(e).
    const LOG2E_X8: f32 = f32::from_bits(0x4138_AA3B);
    /// `0x1.8p23`: ulp 1, so the low bits of `x * 8 log2 e + LUT_MAGIC_BIAS`
    /// hold `n = round(x * 8 log2 e)`.
    const LUT_MAGIC_BIAS: f32 = f32::from_bits(0x4B40_0000);
    /// `-0x1.62E430p-4`: `MINUS_LN2 / 8`, exactly.
    const MINUS_LN2_O8: f32 = f32::from_bits(0xBDB1_7218);
    /// `0x1.55559Ap-3`, `0x1.00021Ep-1`: XNNPACK's degree-3 polynomial for
    /// `exp(t)` on `[-ln 2 / 16, ln 2 / 16]` (`src/math/exp-avx2-rr2-lut8-p3-perm.c`).
    const LUT_C3: f32 = f32::from_bits(0x3E2A_AACD);
    const LUT_C2: f32 = f32::from_bits(0x3F00_010F);
    let (avx, avx2, fma) = (v3.avx, v3.avx2, v3.fma);
    // A function, not a closure: a closure would not inherit the features.
    #[inline(always)]
    fn c(v: f32) -> __m256 {
        bytemuck::cast([v; 8])
    }
    let table: __m256 = bytemuck::cast(EXP2_MINUS_K_OVER_8);
    let mut vn = x;
    for k in 0..K {
        vn[k] = fma._mm256_fmadd_ps(x[k], c(LOG2E_X8), c(LUT_MAGIC_BIAS));
    }
    let mut s = x;
    for k in 0..K {
        let bits = avx._mm256_castps_si256(vn[k]);
        let entry = avx._mm256_castps_si256(avx2._mm256_permutevar8x32_ps(table, bits));
        let exponent = avx2._mm256_slli_epi32::<20>(bits);
        s[k] = avx._mm256_castsi256_ps(avx2._mm256_add_epi32(entry, exponent));
    }
    let mut t = x;
    for k in 0..K {
        let n = avx._mm256_sub_ps(vn[k], c(LUT_MAGIC_BIAS));
        t[k] = fma._mm256_fmadd_ps(n, c(MINUS_LN2_O8), x[k]);
    }
    // `p = t + t^2 (c2 + c3 t)`, then `s * exp(t) = s + s * p`.
    let mut p = x;
    for k in 0..K {
        p[k] = fma._mm256_fmadd_ps(c(LUT_C3), t[k], c(LUT_C2));
    }
    for k in 0..K {
        p[k] = avx._mm256_mul_ps(p[k], t[k]);
    }
    for k in 0..K {
        p[k] = fma._mm256_fmadd_ps(p[k], t[k], t[k]);
    }
    let mut f = x;
    for k in 0..K {
        let below = avx._mm256_cmp_ps::<_CMP_LT_OQ>(x[k], c(DENORM_CUTOFF));
        f[k] = avx._mm256_andnot_ps(below, fma._mm256_fmadd_ps(s[k], p[k], s[k]));
    }
    f
}
