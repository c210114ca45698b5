//! `Lanes`: the few vector operations the kernel bodies use, and their three
//! implementations: pulp's `Simd` (Avx2, Avx512, Neon), `wide` (Portable) and
//! plain `f32` (Scalar).
//!
//! Every method is `#[inline(always)]`: a body must inline completely into the
//! `#[target_feature]` function that pulp's `vectorize` creates, or it runs as
//! baseline code with each intrinsic behind a call.

use pulp::Simd;

/// One vector of `N` f32 lanes and the operations the kernels need on it.
///
/// A mask `M` comes from a comparison and is consumed by `select`, `or_mask`
/// and `any`. `max` may return either operand when one is NaN; callers that
/// must propagate NaN track it with `is_nan`.
pub(crate) trait Lanes: Copy {
    /// Lanes per vector.
    const N: usize;
    /// True when `mul_add` is fused (one rounding).
    const FMA: bool;
    /// Whether the one-read pass over a row in cache takes each segment's
    /// max during the previous segment's `exp`: measured per level (see
    /// `row::fuse_next_max`).
    const FUSE_MAX_IN_CACHE: bool = false;
    /// The same for a row read from memory (the rows of a matrix).
    const FUSE_MAX_FROM_MEMORY: bool = false;
    /// Whether `row::exp_below4` takes its four vectors step by step in two
    /// pairs rather than all four together (`exp::exp_nonpositive_n`): the
    /// same bits, fewer registers live at once (see there).
    const EXP_IN_PAIRS: bool = false;
    /// Whether the `exp` pass over long rows from memory (`row::one_read`)
    /// prefetches `PREFETCH_AHEAD` elements ahead (see `row::prefetch_ahead`),
    /// and so does the one over rows longer than a block in a call taken to
    /// come from memory (`row::prefetch_rows_ahead`).
    const PREFETCH_FROM_MEMORY: bool = false;
    /// The same for rows of at most a block in a call taken to come from
    /// memory, and argmax's max pass there at any row length (see
    /// `row::FROM_MEMORY_MIN` and `row::argmax_rows`).
    const PREFETCH_SHORT_ROWS: bool = false;
    /// How far ahead (elements) the loops that prefetch do: measured per
    /// level (see `row::prefetch_ahead`).
    const PREFETCH_AHEAD: usize = 4096;
    /// Whether `argmax` of a row of at most a block takes one pass that
    /// keeps each lane's index (`row::argmax_one_pass`) rather than a max
    /// pass and a search: measured per level (see there).
    const ARGMAX_ONE_PASS: bool = false;
    /// Rows of at most this many elements are mapped from their first
    /// element, not from their first vector-aligned one (see
    /// `pass::map_aligned`).
    const MAP_UNALIGNED_MAX: usize = 0;
    type V: Copy;
    type M: Copy;

    fn splat(self, x: f32) -> Self::V;
    /// Reads `s[..N]`; `s` must hold at least `N` values.
    fn load(self, s: &[f32]) -> Self::V;
    /// Writes `s[..N]`; `s` must hold at least `N` values.
    fn store(self, s: &mut [f32], v: Self::V);
    /// Reads the `s.len() < N` values of `s` (masked where the ISA can); the
    /// other lanes hold `fill`.
    fn load_tail(self, s: &[f32], fill: f32) -> Self::V;
    /// Writes the first `s.len() < N` lanes of `v` to `s`, nothing beyond.
    fn store_tail(self, s: &mut [f32], v: Self::V);

    fn add(self, a: Self::V, b: Self::V) -> Self::V;
    fn sub(self, a: Self::V, b: Self::V) -> Self::V;
    fn mul(self, a: Self::V, b: Self::V) -> Self::V;
    /// `a * b + c`, fused where the level has FMA.
    fn mul_add(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    fn max(self, a: Self::V, b: Self::V) -> Self::V;

    fn lt(self, a: Self::V, b: Self::V) -> Self::M;
    fn gt(self, a: Self::V, b: Self::V) -> Self::M;
    fn eq(self, a: Self::V, b: Self::V) -> Self::M;
    fn is_nan(self, a: Self::V) -> Self::M;
    fn or_mask(self, a: Self::M, b: Self::M) -> Self::M;
    fn any(self, m: Self::M) -> bool;
    /// The first lane of `m` that is set; `N` when none is.
    fn first_true(self, m: Self::M) -> usize;
    /// `m ? a : b`, lane by lane.
    fn select(self, m: Self::M, a: Self::V, b: Self::V) -> Self::V;
    /// `m ? 0 : v`, lane by lane: `select(m, 0, v)`, where a level may do
    /// it in fewer instructions.
    #[inline(always)]
    fn zero_where(self, m: Self::M, v: Self::V) -> Self::V {
        self.select(m, self.splat(0.0), v)
    }

    /// Reinterprets the lanes as u32, shifts them left by 23 (into the f32
    /// exponent field) and reinterprets back.
    fn shl_exponent(self, v: Self::V) -> Self::V;

    fn reduce_sum(self, v: Self::V) -> f32;
    fn reduce_max(self, v: Self::V) -> f32;

    /// A hint to bring the cache line holding `p` into L1; no effect on
    /// any value, and harmless for any address (nothing is read). A no-op
    /// where the level has no prefetch instruction wired up.
    #[inline(always)]
    fn prefetch(self, _p: *const f32) {}

    /// `store`, but past the caches (a non-temporal store) where the level
    /// has one and `s` starts at a multiple of the vector's size; the same
    /// value lands either way. Only `stream_fence` orders these stores
    /// with later ones. Every level but Avx2 and Avx512 stores plainly.
    #[inline(always)]
    fn store_stream(self, s: &mut [f32], v: Self::V) {
        self.store(s, v);
    }
    /// Makes this thread's `store_stream` stores visible before any store
    /// after it (`sfence`): a call that streams ends with it, so whoever
    /// synchronises with the caller afterwards sees the values.
    #[inline(always)]
    fn stream_fence(self) {}

    /// The level's own route to `exp(x)` for `x <= 0`, on `K` vectors,
    /// where it has a shorter one than the generic body
    /// (`exp::exp_nonpositive_n`): AVX2 a table of `2^(k/8)`
    /// (`exp::exp_nonpositive_avx2`), AVX-512 `vscalefps`
    /// (`exp::exp_nonpositive_avx512`); `None` elsewhere.
    #[inline(always)]
    fn native_exp_nonpositive<const K: usize>(self, _x: [Self::V; K]) -> Option<[Self::V; K]> {
        None
    }
}

/// A pulp SIMD token as `Lanes`.
#[derive(Clone, Copy)]
pub(crate) struct Pulp<S>(pub S);

impl<S: Simd> Lanes for Pulp<S> {
    const N: usize = S::F32_LANES;
    // `mul_add_e` is the fused form; every pulp level used here has FMA.
    const FMA: bool = true;
    // AVX-512 (16 lanes) fuses rows in cache, AVX2 (8) rows from memory;
    // NEON (4) does not, unmeasured on hardware.
    const FUSE_MAX_IN_CACHE: bool = S::F32_LANES == 16;
    const FUSE_MAX_FROM_MEMORY: bool = S::F32_LANES == 8;
    // Rows longer than a block: AVX2 (Zen 3) and AVX-512 (Zen 4). Rows of
    // a block or less: AVX2 (Zen 2); on AVX-512 (Zen 4) rows of 128 lost
    // (`row::prefetch_rows_ahead`). 16 KB ahead at AVX2 (Zen 3), 8 KB at
    // AVX-512 (Zen 4): `row::prefetch_ahead`.
    const PREFETCH_FROM_MEMORY: bool = S::F32_LANES >= 8;
    const PREFETCH_SHORT_ROWS: bool = S::F32_LANES == 8;
    const PREFETCH_AHEAD: usize = if S::F32_LANES == 16 { 2048 } else { 4096 };
    // AVX2 only: its 16 registers cannot hold four vectors' `exp` steps
    // and the constants; measured there (Zen 2), see `row::exp_below4`.
    // AVX-512 takes `native_exp_nonpositive` one vector at a time anyway.
    const EXP_IN_PAIRS: bool = S::F32_LANES == 8;
    // AVX2 only (Zen 2, see `row::argmax_one_pass`); unmeasured on AVX-512
    // and NEON.
    const ARGMAX_ONE_PASS: bool = S::F32_LANES == 8;
    // A block (`pass::BLOCK_VECTORS`), on AVX2 only: pulp's AVX2 partial
    // loads and stores take an indirect jump each. Zen 3, `y` 16 bytes off
    // a 32-byte boundary (as from a large `Vec`), old and new kernels in one
    // process, median of 21 (11 from memory), time new / old: rows of 128
    // in cache softmax 0.92, log-softmax 0.93; 256: 0.95-0.98, 0.96-0.99;
    // 512: 1.00-1.01, 0.92-1.08; 16384 x 128 from memory, one thread 0.92,
    // 0.95, two 0.95, 1.00. With `y` aligned: 0.995, 1.01.
    const MAP_UNALIGNED_MAX: usize = if S::F32_LANES == 8 {
        crate::pass::BLOCK_VECTORS * 8
    } else {
        0
    };
    type V = S::f32s;
    type M = S::m32s;

    #[inline(always)]
    fn splat(self, x: f32) -> Self::V {
        self.0.splat_f32s(x)
    }
    #[inline(always)]
    fn load(self, s: &[f32]) -> Self::V {
        bytemuck::pod_read_unaligned(bytemuck::cast_slice(&s[..Self::N]))
    }
    #[inline(always)]
    fn store(self, s: &mut [f32], v: Self::V) {
        let s: &mut [f32] = &mut s[..Self::N];
        bytemuck::cast_slice_mut::<f32, u8>(s).copy_from_slice(bytemuck::bytes_of(&v));
    }
    #[inline(always)]
    fn load_tail(self, s: &[f32], fill: f32) -> Self::V {
        let mask = self.0.mask_between_m32s(0, s.len() as u32).mask();
        self.0
            .select_f32s(mask, self.0.partial_load_f32s(s), self.0.splat_f32s(fill))
    }
    #[inline(always)]
    fn store_tail(self, s: &mut [f32], v: Self::V) {
        self.0.partial_store_f32s(s, v)
    }
    #[inline(always)]
    fn add(self, a: Self::V, b: Self::V) -> Self::V {
        self.0.add_f32s(a, b)
    }
    #[inline(always)]
    fn sub(self, a: Self::V, b: Self::V) -> Self::V {
        self.0.sub_f32s(a, b)
    }
    #[inline(always)]
    fn mul(self, a: Self::V, b: Self::V) -> Self::V {
        self.0.mul_f32s(a, b)
    }
    #[inline(always)]
    fn mul_add(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V {
        self.0.mul_add_e_f32s(a, b, c)
    }
    #[inline(always)]
    fn max(self, a: Self::V, b: Self::V) -> Self::V {
        self.0.max_f32s(a, b)
    }
    #[inline(always)]
    fn lt(self, a: Self::V, b: Self::V) -> Self::M {
        self.0.less_than_f32s(a, b)
    }
    #[inline(always)]
    fn gt(self, a: Self::V, b: Self::V) -> Self::M {
        self.0.greater_than_f32s(a, b)
    }
    #[inline(always)]
    fn eq(self, a: Self::V, b: Self::V) -> Self::M {
        self.0.equal_f32s(a, b)
    }
    /// On AVX2 one `vcmpunordps`, not an equality compare and a `not`: in
    /// cache (Zen 2, the kernels before and after in one process, two
    /// builds of that program) `max` of rows of 128-32000 ran 1.08-1.23x as
    /// fast, and `argmax` of rows of 1000-32000 1.06-1.18x.
    #[inline(always)]
    fn is_nan(self, a: Self::V) -> Self::M {
        #[cfg(target_arch = "x86_64")]
        if let Some(&v3) = (&self.0 as &dyn core::any::Any).downcast_ref::<pulp::x86::V3>() {
            // `Self::M` is V3's `m32x8` here, so the downcast succeeds.
            let m = v3.is_nan_f32x8(bytemuck::cast(a));
            if let Some(&m) = (&m as &dyn core::any::Any).downcast_ref::<Self::M>() {
                return m;
            }
        }
        self.0.not_m32s(self.0.equal_f32s(a, a))
    }
    #[inline(always)]
    fn or_mask(self, a: Self::M, b: Self::M) -> Self::M {
        self.0.or_m32s(a, b)
    }
    #[inline(always)]
    fn any(self, m: Self::M) -> bool {
        self.0.first_true_m32s(m) < Self::N
    }
    /// On AVX2 a `vmovmskps` and a bit count, not pulp's lane-by-lane loop;
    /// on AVX-512 the trailing zeros of the bit mask (pulp 0.22's
    /// `first_true_m32s` takes its leading zeros, not the first lane).
    #[inline(always)]
    fn first_true(self, m: Self::M) -> usize {
        #[cfg(target_arch = "x86_64")]
        if let Some(&v3) = (&self.0 as &dyn core::any::Any).downcast_ref::<pulp::x86::V3>() {
            let bits = v3.avx._mm256_movemask_ps(bytemuck::cast(m)) as u32;
            return (bits | 1 << 8).trailing_zeros() as usize;
        }
        if core::mem::size_of::<Self::M>() == 2 {
            let bits = u32::from(bytemuck::cast::<Self::M, u16>(m));
            return (bits | 1 << 16).trailing_zeros() as usize;
        }
        self.0.first_true_m32s(m)
    }
    #[inline(always)]
    fn select(self, m: Self::M, a: Self::V, b: Self::V) -> Self::V {
        self.0.select_f32s(m, a, b)
    }
    /// On AVX2 one `vandnps`: pulp's `select_f32s` there compiles to a
    /// compare of the mask with zero before the `andnot`, an instruction
    /// more in the `exp` loop. Elsewhere `select` (AVX-512 masks are bits).
    #[inline(always)]
    fn zero_where(self, m: Self::M, v: Self::V) -> Self::V {
        // The token is a V3 only in the AVX2 instantiation (where the mask
        // is 8 lanes of all-ones or zeros, and `V` a `__m256`); elsewhere
        // the downcast is a constant `None` and the branch folds away.
        #[cfg(target_arch = "x86_64")]
        if let Some(&v3) = (&self.0 as &dyn core::any::Any).downcast_ref::<pulp::x86::V3>() {
            let r = v3
                .avx
                ._mm256_andnot_ps(bytemuck::cast(m), bytemuck::cast(v));
            return bytemuck::cast(r);
        }
        self.select(m, self.splat(0.0), v)
    }
    #[inline(always)]
    fn shl_exponent(self, v: Self::V) -> Self::V {
        let s = self.0;
        s.transmute_f32s_u32s(s.wrapping_dyn_shl_u32s(s.transmute_u32s_f32s(v), s.splat_u32s(23)))
    }
    #[inline(always)]
    fn reduce_sum(self, v: Self::V) -> f32 {
        self.0.reduce_sum_f32s(v)
    }
    #[inline(always)]
    fn reduce_max(self, v: Self::V) -> f32 {
        self.0.reduce_max_f32s(v)
    }
    /// `vmovntps` on Avx2 and Avx512, where `s` is aligned for it.
    #[inline(always)]
    #[allow(unsafe_code)]
    fn store_stream(self, s: &mut [f32], v: Self::V) {
        let s = &mut s[..Self::N];
        #[cfg(target_arch = "x86_64")]
        {
            let any = &self.0 as &dyn core::any::Any;
            let aligned = (s.as_ptr() as usize).is_multiple_of(Self::N * 4);
            if let (Some(&v3), true) = (any.downcast_ref::<pulp::x86::V3>(), aligned) {
                // SAFETY: the `V3` token proves AVX is present; `s` is a
                // live `&mut` of 8 f32 (32 bytes) starting on a 32-byte
                // boundary, as `_mm256_stream_ps` requires.
                unsafe { v3.avx._mm256_stream_ps(s.as_mut_ptr(), bytemuck::cast(v)) };
                return;
            }
            if let (Some(&v4), true) = (any.downcast_ref::<pulp::x86::V4>(), aligned) {
                // SAFETY: the `V4` token proves AVX-512F is present; `s` is
                // a live `&mut` of 16 f32 (64 bytes) starting on a 64-byte
                // boundary, as `_mm512_stream_ps` requires.
                unsafe {
                    v4.avx512f
                        ._mm512_stream_ps(s.as_mut_ptr(), bytemuck::cast(v))
                };
                return;
            }
        }
        self.store(s, v);
    }
    /// `sfence` on Avx2 and Avx512 (the levels that stream).
    #[inline(always)]
    fn stream_fence(self) {
        #[cfg(target_arch = "x86_64")]
        {
            let any = &self.0 as &dyn core::any::Any;
            if let Some(&v3) = any.downcast_ref::<pulp::x86::V3>() {
                v3.sse._mm_sfence();
            } else if let Some(&v4) = any.downcast_ref::<pulp::x86::V4>() {
                v4.sse._mm_sfence();
            }
        }
    }
    /// `prefetcht0` through pulp's safe wrapper, on AVX2 and AVX-512 (the
    /// levels that ask for it, `PREFETCH_FROM_MEMORY`); nothing elsewhere.
    #[inline(always)]
    fn prefetch(self, p: *const f32) {
        #[cfg(target_arch = "x86_64")]
        {
            use core::arch::x86_64::_MM_HINT_T0;
            let token = &self.0 as &dyn core::any::Any;
            if let Some(&v3) = token.downcast_ref::<pulp::x86::V3>() {
                v3.sse._mm_prefetch::<_MM_HINT_T0>(p.cast());
            } else if let Some(&v4) = token.downcast_ref::<pulp::x86::V4>() {
                v4.sse._mm_prefetch::<_MM_HINT_T0>(p.cast());
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = p;
    }
    #[inline(always)]
    fn native_exp_nonpositive<const K: usize>(self, x: [Self::V; K]) -> Option<[Self::V; K]> {
        // The token is a V3 only in the AVX2 instantiation and a V4 only in
        // the AVX-512 one; elsewhere each downcast is a constant `None` and
        // its branch folds away. `cast` cannot fail there: a V3 vector is 8
        // lanes, a `__m256`; a V4 vector 16, a `__m512`.
        #[cfg(target_arch = "x86_64")]
        {
            let token = &self.0 as &dyn core::any::Any;
            // Loops, not closures: a closure would not inherit the features.
            let mut f = x;
            if let Some(&v3) = token.downcast_ref::<pulp::x86::V3>() {
                let mut m = [v3.avx._mm256_setzero_ps(); K];
                for k in 0..K {
                    m[k] = bytemuck::cast(x[k]);
                }
                let e = crate::exp::exp_nonpositive_avx2(v3, m);
                for k in 0..K {
                    f[k] = bytemuck::cast(e[k]);
                }
                return Some(f);
            }
            if let Some(&v4) = token.downcast_ref::<pulp::x86::V4>() {
                for k in 0..K {
                    f[k] = bytemuck::cast(crate::exp::exp_nonpositive_avx512(
                        v4,
                        bytemuck::cast(x[k]),
                    ));
                }
                return Some(f);
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = x;
        None
    }
}

/// `wide::f32x8` at the target's baseline (two SSE2 registers on x86-64,
/// two NEON registers on aarch64).
#[derive(Clone, Copy)]
pub(crate) struct Wide;

impl Lanes for Wide {
    const N: usize = 8;
    // Fused only where the baseline has FMA (aarch64); assume not.
    const FMA: bool = false;
    type V = wide::f32x8;
    type M = wide::f32x8;

    #[inline(always)]
    fn splat(self, x: f32) -> Self::V {
        wide::f32x8::splat(x)
    }
    #[inline(always)]
    fn load(self, s: &[f32]) -> Self::V {
        let a: [f32; 8] = s[..8].try_into().unwrap();
        wide::f32x8::from(a)
    }
    #[inline(always)]
    fn store(self, s: &mut [f32], v: Self::V) {
        s[..8].copy_from_slice(&v.to_array());
    }
    #[inline(always)]
    fn load_tail(self, s: &[f32], fill: f32) -> Self::V {
        let mut a = [fill; 8];
        a[..s.len()].copy_from_slice(s);
        wide::f32x8::from(a)
    }
    #[inline(always)]
    fn store_tail(self, s: &mut [f32], v: Self::V) {
        let n = s.len();
        s.copy_from_slice(&v.to_array()[..n]);
    }
    #[inline(always)]
    fn add(self, a: Self::V, b: Self::V) -> Self::V {
        a + b
    }
    #[inline(always)]
    fn sub(self, a: Self::V, b: Self::V) -> Self::V {
        a - b
    }
    #[inline(always)]
    fn mul(self, a: Self::V, b: Self::V) -> Self::V {
        a * b
    }
    #[inline(always)]
    fn mul_add(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V {
        a.mul_add(b, c)
    }
    #[inline(always)]
    fn max(self, a: Self::V, b: Self::V) -> Self::V {
        a.fast_max(b)
    }
    #[inline(always)]
    fn lt(self, a: Self::V, b: Self::V) -> Self::M {
        a.simd_lt(b)
    }
    #[inline(always)]
    fn gt(self, a: Self::V, b: Self::V) -> Self::M {
        a.simd_gt(b)
    }
    #[inline(always)]
    fn eq(self, a: Self::V, b: Self::V) -> Self::M {
        a.simd_eq(b)
    }
    #[inline(always)]
    fn is_nan(self, a: Self::V) -> Self::M {
        a.is_nan()
    }
    #[inline(always)]
    fn or_mask(self, a: Self::M, b: Self::M) -> Self::M {
        a | b
    }
    #[inline(always)]
    fn any(self, m: Self::M) -> bool {
        m.any()
    }
    /// Lane by lane: `to_bitmask` (two `movmskps` on SSE2) ran 0.96-0.99x
    /// as fast in `argmax` of rows of 128 and 512 (Zen 2).
    #[inline(always)]
    fn first_true(self, m: Self::M) -> usize {
        m.to_array()
            .iter()
            .position(|v| v.to_bits() != 0)
            .unwrap_or(8)
    }
    #[inline(always)]
    fn select(self, m: Self::M, a: Self::V, b: Self::V) -> Self::V {
        wide::Select::select(m, a, b)
    }
    #[inline(always)]
    fn shl_exponent(self, v: Self::V) -> Self::V {
        let bits: wide::u32x8 = bytemuck::cast(v);
        bytemuck::cast(bits << 23)
    }
    #[inline(always)]
    fn reduce_sum(self, v: Self::V) -> f32 {
        v.reduce_add()
    }
    #[inline(always)]
    fn reduce_max(self, v: Self::V) -> f32 {
        let a = v.to_array();
        let lo = [
            a[0].max(a[4]),
            a[1].max(a[5]),
            a[2].max(a[6]),
            a[3].max(a[7]),
        ];
        lo[0].max(lo[2]).max(lo[1].max(lo[3]))
    }
}

/// One plain `f32`: the Scalar level. `mul_add` is unfused (`f32::mul_add`
/// without hardware FMA is a slow library call).
#[derive(Clone, Copy)]
pub(crate) struct One;

impl Lanes for One {
    const N: usize = 1;
    const FMA: bool = false;
    type V = f32;
    type M = bool;

    #[inline(always)]
    fn splat(self, x: f32) -> f32 {
        x
    }
    #[inline(always)]
    fn load(self, s: &[f32]) -> f32 {
        s[0]
    }
    #[inline(always)]
    fn store(self, s: &mut [f32], v: f32) {
        s[0] = v;
    }
    #[inline(always)]
    fn load_tail(self, s: &[f32], fill: f32) -> f32 {
        s.first().copied().unwrap_or(fill)
    }
    #[inline(always)]
    fn store_tail(self, s: &mut [f32], v: f32) {
        if let Some(y) = s.first_mut() {
            *y = v;
        }
    }
    #[inline(always)]
    fn add(self, a: f32, b: f32) -> f32 {
        a + b
    }
    #[inline(always)]
    fn sub(self, a: f32, b: f32) -> f32 {
        a - b
    }
    #[inline(always)]
    fn mul(self, a: f32, b: f32) -> f32 {
        a * b
    }
    #[inline(always)]
    fn mul_add(self, a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
    #[inline(always)]
    fn max(self, a: f32, b: f32) -> f32 {
        if a > b { a } else { b }
    }
    #[inline(always)]
    fn lt(self, a: f32, b: f32) -> bool {
        a < b
    }
    #[inline(always)]
    fn gt(self, a: f32, b: f32) -> bool {
        a > b
    }
    #[inline(always)]
    fn eq(self, a: f32, b: f32) -> bool {
        a == b
    }
    #[inline(always)]
    fn is_nan(self, a: f32) -> bool {
        a.is_nan()
    }
    #[inline(always)]
    fn or_mask(self, a: bool, b: bool) -> bool {
        a | b
    }
    #[inline(always)]
    fn any(self, m: bool) -> bool {
        m
    }
    #[inline(always)]
    fn first_true(self, m: bool) -> usize {
        usize::from(!m)
    }
    #[inline(always)]
    fn select(self, m: bool, a: f32, b: f32) -> f32 {
        if m { a } else { b }
    }
    #[inline(always)]
    fn shl_exponent(self, v: f32) -> f32 {
        f32::from_bits(v.to_bits() << 23)
    }
    #[inline(always)]
    fn reduce_sum(self, v: f32) -> f32 {
        v
    }
    #[inline(always)]
    fn reduce_max(self, v: f32) -> f32 {
        v
    }
}
