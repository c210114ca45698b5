//! The one-row algorithms, each written once over `Lanes`.

use crate::exp::{exp, exp_nonpositive, exp_nonpositive_n};
use crate::lanes::Lanes;
use crate::pass::{
    InOut, Layout, Map, PerVector, Reduce, RowLayout, Rows, block_len, fold1, fold1_along, fold4,
    fold4_into, head_to_aligned, map, map_aligned, prefetch4,
};

/// Elements per chunk of a row. Softmax and log-softmax form their sum per
/// chunk and add the chunk sums in order, so a row split across threads at
/// chunk boundaries gives the same bits as the row in one piece.
pub const CHUNK: usize = 1 << 16;

/// Running max, and whether a NaN was seen (`max` may drop NaN).
#[derive(Clone, Copy)]
struct MaxNan;

impl<L: Lanes> Reduce<L> for MaxNan {
    type Acc = (L::V, L::M);
    const FILL: f32 = f32::NEG_INFINITY;
    #[inline(always)]
    fn init(self, l: L) -> Self::Acc {
        let ninf = l.splat(f32::NEG_INFINITY);
        (ninf, l.lt(ninf, ninf))
    }
    #[inline(always)]
    fn step(self, l: L, (m, nan): Self::Acc, x: L::V) -> Self::Acc {
        (l.max(m, x), l.or_mask(nan, l.is_nan(x)))
    }
}

/// Running max that never looks for NaN: the softmax pass. On x86 (and the
/// Scalar level) `max(x, acc)` keeps `acc` when `x` is NaN, so this is the
/// max of the non-NaN values; on NEON NaN propagates. Either way the result
/// does not depend on how the row is split, and a NaN input still makes
/// every softmax output NaN (through `exp(NaN - max)` in the sum).
#[derive(Clone, Copy)]
struct Max;

impl<L: Lanes> Reduce<L> for Max {
    type Acc = L::V;
    const FILL: f32 = f32::NEG_INFINITY;
    #[inline(always)]
    fn init(self, l: L) -> L::V {
        l.splat(f32::NEG_INFINITY)
    }
    #[inline(always)]
    fn step(self, l: L, acc: L::V, x: L::V) -> L::V {
        l.max(x, acc)
    }
}

/// Plain sum.
#[derive(Clone, Copy)]
struct Add;

impl<L: Lanes> Reduce<L> for Add {
    type Acc = L::V;
    const FILL: f32 = 0.0;
    #[inline(always)]
    fn init(self, l: L) -> L::V {
        l.splat(0.0)
    }
    #[inline(always)]
    fn step(self, l: L, acc: L::V, x: L::V) -> L::V {
        l.add(acc, x)
    }
}

/// `exp((x - sub) / t)` for `x <= sub`: what every softmax and log-softmax
/// pass exponentiates.
#[inline(always)]
fn exp_below<L: Lanes, S: Scale<L>>(l: L, scale: S, x: L::V, sub: L::V) -> L::V {
    exp_nonpositive(l, scale.apply(l, l.sub(x, sub)))
}

/// `exp_below` of four vectors, step by step across them
/// (`exp_nonpositive_n`), or across each pair in turn where
/// `Lanes::EXP_IN_PAIRS`: the same bits either way.
///
/// AVX2 spilled with four at once: the loop of a short row's `exp` pass
/// kept three of its `x - max` vectors and the max on the stack (91
/// instructions per four vectors, seven of them stack loads or stores; in
/// pairs 89 and three). Zen 2, the binaries before and after in turn,
/// `softmax-bench --shapes 16384x128,4096x4096,256x32000,64x128256,1024,32000
/// --levels avx2 --out-of-place-only`, six pairs, one thread, after /
/// before: rows of 4096 to 128256 0.98-1.06 (most 1.00-1.05), one row of
/// 32000 1.00-1.07, 16384 x 128 0.97-1.05 (three readings of 0.74-0.86
/// from runs the machine slowed left out), and one row of 1024 1.70-1.82: the binary before ran that
/// softmax at 1.2-1.3 el/ns in every run (README, "Zen 2"), after 2.13-2.22.
/// Two threads: within the machine's noise (0.76-1.6 in those runs). Four
/// single vectors in turn were slower (one row of 1024 in cache, another
/// program: 0.93-0.95 of four at once). The portable level (`wide`, two SSE
/// registers a vector) lost 3-6% on softmax in pairs, so only AVX2 takes
/// them.
#[inline(always)]
fn exp_below4<L: Lanes, S: Scale<L>>(l: L, scale: S, x: [L::V; 4], sub: L::V) -> [L::V; 4] {
    let mut d = x;
    for k in 0..4 {
        d[k] = scale.apply(l, l.sub(x[k], sub));
    }
    if L::EXP_IN_PAIRS {
        let [a, b] = exp_nonpositive_n(l, [d[0], d[1]]);
        let [c, e] = exp_nonpositive_n(l, [d[2], d[3]]);
        [a, b, c, e]
    } else {
        exp_nonpositive_n(l, d)
    }
}

/// Sum of `exp(s(x - max))`, for `x - max <= 0`.
#[derive(Clone, Copy)]
struct AddExpSub<L: Lanes, S>(L::V, S);

impl<L: Lanes, S: Scale<L>> Reduce<L> for AddExpSub<L, S> {
    type Acc = L::V;
    const FILL: f32 = f32::NEG_INFINITY;
    #[inline(always)]
    fn init(self, l: L) -> L::V {
        l.splat(0.0)
    }
    #[inline(always)]
    fn step(self, l: L, acc: L::V, x: L::V) -> L::V {
        l.add(acc, exp_below(l, self.1, x, self.0))
    }
    #[inline(always)]
    fn step4(self, l: L, mut acc: L::V, x: [L::V; 4]) -> L::V {
        for e in exp_below4(l, self.1, x, self.0) {
            acc = l.add(acc, e);
        }
        acc
    }
}

#[inline(always)]
fn add4<L: Lanes>(l: L, [a, b, c, d]: [L::V; 4]) -> f32 {
    l.reduce_sum(l.add(l.add(a, b), l.add(c, d)))
}

/// Block sums (f32) added in f64, per chunk, chunks in order.
#[derive(Clone, Copy, Default)]
struct ChunkedSum {
    total: f64,
    chunk: f64,
    blocks: usize,
}

impl ChunkedSum {
    #[inline(always)]
    fn add_block<L: Lanes>(&mut self, block_sum: f32) {
        self.chunk += f64::from(block_sum);
        self.blocks += 1;
        if self.blocks == CHUNK / block_len::<L>() {
            self.total += self.chunk;
            self.chunk = 0.0;
            self.blocks = 0;
        }
    }
    #[inline(always)]
    fn finish(self) -> f64 {
        self.total + self.chunk
    }
}

/// What softmax applies to `x - max` before `exp`: nothing, or `1 / t` for
/// a temperature `t`. A type, so that plain softmax pays no multiply.
pub(crate) trait Scale<L: Lanes>: Copy {
    fn apply(self, l: L, d: L::V) -> L::V;
}

/// No temperature.
#[derive(Clone, Copy)]
pub(crate) struct Unit;

impl<L: Lanes> Scale<L> for Unit {
    #[inline(always)]
    fn apply(self, _: L, d: L::V) -> L::V {
        d
    }
}

/// Multiply by `1 / t`.
#[derive(Clone, Copy)]
pub(crate) struct By<L: Lanes>(L::V);

impl<L: Lanes> Scale<L> for By<L> {
    #[inline(always)]
    fn apply(self, l: L, d: L::V) -> L::V {
        l.mul(d, self.0)
    }
}

/// Runs `$body` with `$s` bound to `Unit` (no temperature) or `By(1 / t)`.
macro_rules! with_scale {
    ($l:expr, $inv_t:expr, |$s:ident| $body:expr) => {
        match $inv_t {
            None => {
                let $s = Unit;
                $body
            }
            Some(inv_t) => {
                let $s = By($l.splat(inv_t));
                $body
            }
        }
    };
}

/// `fold4` from `x`'s first vector-aligned element, the head folded first
/// into accumulator 0, prefetching `ahead` elements ahead (`fold4_into`):
/// only for reductions whose result does not depend on the grouping (max).
#[inline(always)]
fn fold4_aligned<L: Lanes, R: Reduce<L>>(l: L, x: &[f32], r: R, ahead: usize) -> [R::Acc; 4] {
    let (head, rest) = x.split_at(head_to_aligned::<L>(x));
    let mut acc = [r.init(l); 4];
    if !head.is_empty() {
        acc[0] = r.step(l, acc[0], l.load_tail(head, R::FILL));
    }
    fold4_into(l, rest, r, &mut acc, ahead);
    acc
}

/// Max and whether `x` holds a NaN, prefetching `ahead` elements ahead.
/// `-inf` for an empty slice.
#[inline(always)]
fn max_nan<L: Lanes>(l: L, x: &[f32], ahead: usize) -> (f32, bool) {
    let [a, b, c, d] = fold4_aligned(l, x, MaxNan, ahead);
    let m = l.max(l.max(a.0, b.0), l.max(c.0, d.0));
    let nan = l.or_mask(l.or_mask(a.1, b.1), l.or_mask(c.1, d.1));
    (l.reduce_max(m), l.any(nan))
}

/// The max softmax subtracts (see `Max`); `-inf` when empty. `+ 0.0` makes
/// a zero max `+0` whichever zero the lanes met first, so the result does not
/// depend on how the row was grouped.
#[inline(always)]
pub(crate) fn softmax_max<L: Lanes>(l: L, x: &[f32]) -> f32 {
    let [a, b, c, d] = fold4_aligned(l, x, Max, 0);
    l.reduce_max(l.max(l.max(a, b), l.max(c, d))) + 0.0
}

/// Work done block by block alongside a pass over a row: nothing, or the
/// max of the next row (`NextMax`).
pub(crate) trait Alongside<L: Lanes> {
    fn block(&mut self, l: L);
}

impl<L: Lanes> Alongside<L> for () {
    #[inline(always)]
    fn block(&mut self, _: L) {}
}

/// `softmax_max` of the next row, one block per block of this row: its
/// reads from memory overlap this row's `exp` work instead of following it.
/// Max is exact, so the result is the same bits as `softmax_max`.
///
/// A block at a time, not a vector or four at a time inside the `exp` loop
/// (as `NextSegmentMax` does for the long rows), though a C model of 256
/// rows of 128 (gcc, a two-vector `exp` loop) ran with the max inside the
/// loop in 0.87-0.88 of the time: in the crate it did not gain. AVX2
/// (Zen 3), the kernels before and after in one
/// process, rounds in turn, median of 31 (11 from memory), time after /
/// before. One vector at a time (`NextSegmentMax` itself), one run:
/// softmax 256 x 128 1.03, 64 x 512 1.03, 32 x 256 1.04, log-softmax
/// 256 x 128 1.11. Four vectors at a time, one max of the four into one
/// accumulator, two runs: softmax in cache 0.95-0.99 (256 x 128, 64 x 512,
/// 32 x 256, 1024 x 128), from memory (16384 x 128, 8 sets in turn) 1.00;
/// log-softmax 256 x 128 1.02-1.05, 64 x 512 0.96, from memory 1.07.
pub(crate) struct NextMax<'x, L: Lanes> {
    rest: &'x [f32],
    acc: [L::V; 4],
}

impl<'x, L: Lanes> NextMax<'x, L> {
    #[inline(always)]
    fn new(l: L, x: &'x [f32]) -> Self {
        NextMax {
            rest: x,
            acc: [<Max as Reduce<L>>::init(Max, l); 4],
        }
    }

    #[inline(always)]
    fn finish(mut self, l: L) -> f32 {
        let rest = core::mem::take(&mut self.rest);
        fold4_into(l, rest, Max, &mut self.acc, 0);
        let [a, b, c, d] = self.acc;
        l.reduce_max(l.max(l.max(a, b), l.max(c, d))) + 0.0
    }
}

impl<L: Lanes> Alongside<L> for NextMax<'_, L> {
    #[inline(always)]
    fn block(&mut self, l: L) {
        let (blk, rest) = self.rest.split_at(block_len::<L>().min(self.rest.len()));
        fold4_into(l, blk, Max, &mut self.acc, 0);
        self.rest = rest;
    }
}

/// Largest value; NaN if any value is NaN; `-inf` when empty.
#[inline(always)]
pub(crate) fn max<L: Lanes>(l: L, x: &[f32]) -> f32 {
    match max_nan(l, x, 0) {
        (_, true) => f32::NAN,
        (m, false) => m,
    }
}

/// Sum: four f32 accumulators per block, blocks added in f64.
#[inline(always)]
pub(crate) fn sum<L: Lanes>(l: L, x: &[f32]) -> f32 {
    let mut total = 0.0f64;
    for blk in x.chunks(block_len::<L>()) {
        total += f64::from(add4(l, fold4(l, blk, Add)));
    }
    total as f32
}

/// Index of the first value of `x` equal to `target` (the first NaN when
/// `target` is NaN): a vector at a time, then the first lane set in the
/// vector that holds it.
#[inline(always)]
fn first_index_of<L: Lanes>(l: L, x: &[f32], target: f32) -> Option<usize> {
    let find_nan = target.is_nan();
    let t = l.splat(target);
    let hit = |v: &f32| if find_nan { v.is_nan() } else { *v == target };
    let mut vs = x.chunks_exact(L::N);
    for (i, v) in (&mut vs).enumerate() {
        let lv = l.load(v);
        let m = if find_nan { l.is_nan(lv) } else { l.eq(lv, t) };
        if l.any(m) {
            return Some(i * L::N + l.first_true(m));
        }
    }
    let done = x.len() - vs.remainder().len();
    vs.remainder().iter().position(hit).map(|k| done + k)
}

/// Index of the first maximum, or of the first NaN; `None` when empty.
#[inline(always)]
pub(crate) fn argmax<L: Lanes>(l: L, x: &[f32]) -> Option<usize> {
    argmax_ahead(l, x, 0)
}

/// `argmax`, its max pass prefetching `ahead` elements ahead
/// (`Map::prefetch_ahead`; 0 for none).
///
/// One pass over blocks keeps the first block whose max beats every earlier
/// block's; that block alone is then searched for the index. A row of at
/// most a block takes `argmax_one_pass` instead where `L::ARGMAX_ONE_PASS`.
#[inline(always)]
fn argmax_ahead<L: Lanes>(l: L, x: &[f32], ahead: usize) -> Option<usize> {
    if x.is_empty() {
        return None;
    }
    let b = block_len::<L>();
    if L::ARGMAX_ONE_PASS && x.len() <= b {
        return argmax_one_pass(l, x, ahead);
    }
    let (mut best, mut best_start) = (f32::NEG_INFINITY, 0);
    for (i, blk) in x.chunks(b).enumerate() {
        let (m, nan) = max_nan(l, blk, ahead);
        if nan {
            return first_index_of(l, blk, f32::NAN).map(|k| i * b + k);
        }
        if m > best {
            (best, best_start) = (m, i * b);
        }
    }
    let blk = &x[best_start..x.len().min(best_start + b)];
    Some(best_start + first_index_of(l, blk, best).unwrap_or(0))
}

/// Lane numbers, for `argmax_one_pass`.
const LANE: [f32; 16] = [
    0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0,
];

/// One step of `argmax_one_pass`: lane by lane, `v` replaces `best` where
/// it is larger, and `at` then records quad `q`.
#[inline(always)]
fn step_best<L: Lanes>(l: L, best: &mut L::V, at: &mut L::V, nan: &mut L::M, q: L::V, v: L::V) {
    let gt = l.gt(v, *best);
    *best = l.select(gt, v, *best);
    *at = l.select(gt, q, *at);
    *nan = l.or_mask(*nan, l.is_nan(v));
}

/// `argmax` of a short row in one pass: four accumulators keep each lane's
/// first maximum and the quad (four vectors) it was found in; the first
/// index is then the least among the lanes that hold the row's max. A NaN
/// is never kept (`gt` is false), so a row with one takes `first_index_of`.
/// Indices are held as f32, exact for a row of at most a block.
///
/// Against a max pass and a search, AVX2 (Zen 2), the kernels before and
/// after in one process, median of 21-31, two builds of that program
/// (the old kernel ran 15-20% faster in the second): in cache, rows of 128
/// 1.24-1.55x as fast, 256 1.30-1.48, 512 1.42-1.60; from memory (16384
/// rows, 5-14 sets in turn) 1.01-1.14. Beyond a block it lost (a throwaway
/// switch, an earlier build): 640 1.11, 1024 0.98, 2048 0.90, 4096 0.81.
/// On Portable (SSE2, `select` is three instructions) it ran 0.59-0.75x as
/// fast at 128-512.
#[inline(always)]
fn argmax_one_pass<L: Lanes>(l: L, x: &[f32], ahead: usize) -> Option<usize> {
    let ninf = l.splat(f32::NEG_INFINITY);
    let (mut best, mut at, mut nan) = ([ninf; 4], [l.splat(0.0); 4], l.lt(ninf, ninf));
    let (mut q, one) = (l.splat(0.0), l.splat(1.0));
    let mut quads = x.chunks_exact(4 * L::N);
    for quad in &mut quads {
        prefetch4(l, quad, ahead);
        for (k, v) in quad.chunks_exact(L::N).enumerate() {
            step_best(l, &mut best[k], &mut at[k], &mut nan, q, l.load(v));
        }
        q = l.add(q, one);
    }
    for (k, v) in quads.remainder().chunks(L::N).enumerate() {
        let v = if v.len() == L::N {
            l.load(v)
        } else {
            l.load_tail(v, f32::NEG_INFINITY)
        };
        step_best(l, &mut best[k], &mut at[k], &mut nan, q, v);
    }
    if l.any(nan) {
        return first_index_of(l, x, f32::NAN);
    }
    let m = l.splat(l.reduce_max(l.max(l.max(best[0], best[1]), l.max(best[2], best[3]))));
    let lane = l.load(&LANE[..L::N]);
    let mut neg_first = ninf;
    for k in 0..4 {
        let neg_index = l.sub(
            l.mul_add(
                at[k],
                l.splat(-((4 * L::N) as f32)),
                l.splat(-((k * L::N) as f32)),
            ),
            lane,
        );
        neg_first = l.max(neg_first, l.select(l.eq(best[k], m), neg_index, ninf));
    }
    Some(-l.reduce_max(neg_first) as usize)
}

struct Exp;

impl<L: Lanes> Map<L> for Exp {
    #[inline(always)]
    fn apply(&mut self, l: L, x: L::V) -> L::V {
        exp(l, x)
    }
}

/// `y = exp(x)`.
#[inline(always)]
pub(crate) fn exp_row<L: Lanes>(l: L, io: InOut<'_>) {
    map_aligned(l, io, &mut Exp);
}

/// `y = exp(s(x - max))` (with `COPY_X`, `y = x`), `exp` summed as it
/// is stored.
struct ExpSubStore<'a, L: Lanes, S, A, const COPY_X: bool> {
    max: L::V,
    scale: S,
    acc: L::V,
    sum: ChunkedSum,
    along: &'a mut A,
    /// `Map::prefetch_ahead`.
    ahead: usize,
}

impl<L: Lanes, S: Scale<L>, A: Alongside<L>, const COPY_X: bool> Map<L>
    for ExpSubStore<'_, L, S, A, COPY_X>
{
    const FILL: f32 = f32::NEG_INFINITY;
    #[inline(always)]
    fn prefetch_ahead(&self) -> usize {
        self.ahead
    }
    #[inline(always)]
    fn apply(&mut self, l: L, x: L::V) -> L::V {
        let e = exp_below(l, self.scale, x, self.max);
        self.acc = l.add(self.acc, e);
        if COPY_X { x } else { e }
    }
    #[inline(always)]
    fn apply4(&mut self, l: L, x: [L::V; 4]) -> [L::V; 4] {
        let e = exp_below4(l, self.scale, x, self.max);
        for v in e {
            self.acc = l.add(self.acc, v);
        }
        if COPY_X { x } else { e }
    }
    #[inline(always)]
    fn end_block(&mut self, l: L) {
        self.sum.add_block::<L>(l.reduce_sum(self.acc));
        self.acc = l.splat(0.0);
        self.along.block(l);
    }
}

/// Pass 2 of a short row: `y = exp((x - max) / t)` (softmax) or, with
/// `COPY_X`, `y = x` (log-softmax out of place, see `LogSoftmaxRow::first`),
/// doing `along` after every block and prefetching `ahead` elements ahead
/// (`Map::prefetch_ahead`); returns the sum of that `exp` in f64.
#[inline(always)]
fn exp_sub_store_sum_along<L: Lanes, A: Alongside<L>, const COPY_X: bool>(
    l: L,
    mut io: InOut<'_>,
    max: f32,
    inv_t: Option<f32>,
    along: &mut A,
    ahead: usize,
) -> f64 {
    with_scale!(l, inv_t, |scale| {
        let mut f = ExpSubStore::<L, _, A, COPY_X> {
            max: l.splat(max),
            scale,
            acc: l.splat(0.0),
            sum: ChunkedSum::default(),
            along: &mut *along,
            ahead,
        };
        map(l, &mut io, &mut f);
        f.sum.finish()
    })
}

/// `y = x * s`, streaming `y` (`Map::STREAM`) when `STREAM`.
struct MulBy<L: Lanes, const STREAM: bool>(L::V);

impl<L: Lanes, const STREAM: bool> Map<L> for MulBy<L, STREAM> {
    const STREAM: bool = STREAM;
    #[inline(always)]
    fn apply(&mut self, l: L, x: L::V) -> L::V {
        l.mul(x, self.0)
    }
}

/// The last pass of softmax: `y *= s`.
#[inline(always)]
fn scale<L: Lanes>(l: L, y: &mut [f32], s: f32) {
    map_aligned(l, InOut::InPlace(y), &mut MulBy::<L, false>(l.splat(s)));
}

/// The factor softmax multiplies by, from the sum of `exp(x - max)`.
#[inline(always)]
pub(crate) fn reciprocal(sum: f64) -> f32 {
    (1.0 / sum) as f32
}

/// Softmax or log-softmax of one row, in parts that `rows` can interleave
/// across rows: a short row (its max known) as `first`, `of_sum`, `last`; a
/// row of at least `ONE_READ_MIN` as `long_read`, `long_last`.
pub(crate) trait RowKind {
    /// The pass that reads the whole row (softmax also stores `exp` in
    /// `y`; log-softmax out of place, `from_memory`, stores `x` there),
    /// doing `along` after every block; returns the sum of
    /// `exp((x - max) / t)`. `from_memory`: the rows are taken to come
    /// from memory (`FROM_MEMORY_MIN`), and the pass prefetches the rows
    /// ahead (`prefetch_rows_ahead`).
    fn first<L: Lanes, A: Alongside<L>>(
        l: L,
        io: InOut<'_>,
        max: f32,
        inv_t: Option<f32>,
        along: &mut A,
        from_memory: bool,
    ) -> f64;
    /// What the last pass needs of the sum.
    fn of_sum(sum: f64) -> f32;
    /// The last pass, with `of_sum(sum)` and the `from_memory` `first` had.
    fn last<L: Lanes>(
        l: L,
        io: InOut<'_>,
        max: f32,
        of_sum: f32,
        inv_t: Option<f32>,
        from_memory: bool,
    );
    /// For a row of at least `ONE_READ_MIN`, the pass that reads `x`, with
    /// `refs_len(len)` values of `refs`, returning the row's max and sum...
    /// (`STREAM`: the last pass will stream `y` out of place, see
    /// `Rows::stream_output`; softmax then keeps `len` values in `exps`.
    /// With `STREAM`, `behind` is the row before, whose streamed last pass
    /// this pass makes a segment at a time, see `streamed_rows`; softmax's
    /// `refs` and `exps` then still hold that row's.)
    fn long_read<L: Lanes, const IN_CACHE: bool, const STREAM: bool>(
        l: L,
        io: InOut<'_>,
        inv_t: Option<f32>,
        refs: &mut [f32],
        exps: &mut [f32],
        behind: Option<Behind<'_>>,
    ) -> MaxSum;
    /// ...and the last pass, with the `STREAM`, `refs` and `exps`
    /// `long_read` had.
    fn long_last<L: Lanes, const STREAM: bool>(
        l: L,
        io: InOut<'_>,
        total: MaxSum,
        inv_t: Option<f32>,
        refs: &[f32],
        exps: &[f32],
    );
}

/// `y = exp((x - max) / t) / sum(...)`.
pub(crate) struct SoftmaxRow;

impl RowKind for SoftmaxRow {
    #[inline(always)]
    fn first<L: Lanes, A: Alongside<L>>(
        l: L,
        io: InOut<'_>,
        max: f32,
        inv_t: Option<f32>,
        along: &mut A,
        from_memory: bool,
    ) -> f64 {
        // Two instances, so that the loop in cache tests no distance.
        if from_memory {
            let ahead = prefetch_rows_ahead::<L>(io.len());
            exp_sub_store_sum_along::<L, A, false>(l, io, max, inv_t, along, ahead)
        } else {
            exp_sub_store_sum_along::<L, A, false>(l, io, max, inv_t, along, 0)
        }
    }
    #[inline(always)]
    fn of_sum(sum: f64) -> f32 {
        reciprocal(sum)
    }
    #[inline(always)]
    fn last<L: Lanes>(l: L, mut io: InOut<'_>, _: f32, of_sum: f32, _: Option<f32>, _: bool) {
        scale(l, io.output(), of_sum);
    }
    /// With `STREAM`, out of place, the `exp` values go to `exps`, not `y`
    /// (`long_last` then scales them into `y`, streamed): the same values.
    /// With `behind` too, each segment first scales the row before's `exp`
    /// values it is about to overwrite into that row's `y` (`ScaleTrail`),
    /// by the factor that `refs` holds for them (`to_factors`).
    #[inline(always)]
    fn long_read<L: Lanes, const IN_CACHE: bool, const STREAM: bool>(
        l: L,
        io: InOut<'_>,
        inv_t: Option<f32>,
        refs: &mut [f32],
        exps: &mut [f32],
        behind: Option<Behind<'_>>,
    ) -> MaxSum {
        let io = match io {
            InOut::Split(x, _) if STREAM => InOut::Split(x, &mut exps[..x.len()]),
            io => io,
        };
        match behind {
            Some(b) if STREAM => {
                to_factors(&mut refs[..b.y.len().div_ceil(SEGMENT)], b.total, inv_t);
                softmax_read::<L, _, IN_CACHE>(l, io, inv_t, refs, &mut ScaleTrail { y: b.y })
            }
            _ => softmax_read::<L, _, IN_CACHE>(l, io, inv_t, refs, &mut ()),
        }
    }
    /// From `exps` into `y` past the caches with `STREAM`, else on `y`.
    #[inline(always)]
    fn long_last<L: Lanes, const STREAM: bool>(
        l: L,
        mut io: InOut<'_>,
        total: MaxSum,
        inv_t: Option<f32>,
        refs: &[f32],
        exps: &[f32],
    ) {
        match io {
            InOut::Split(_, y) if STREAM => {
                let io = InOut::Split(&exps[..y.len()], y);
                softmax_scale_to::<L, true>(l, io, refs, total, inv_t);
            }
            _ => softmax_scale(l, io.output(), refs, total, inv_t),
        }
    }
}

/// `y = (x - max) / t - ln(sum(exp((x - max) / t)))`.
pub(crate) struct LogSoftmaxRow;

impl RowKind for LogSoftmaxRow {
    #[inline(always)]
    fn first<L: Lanes, A: Alongside<L>>(
        l: L,
        io: InOut<'_>,
        max: f32,
        inv_t: Option<f32>,
        along: &mut A,
        from_memory: bool,
    ) -> f64 {
        // From memory, out of place, `y = x` as the sum is formed, and
        // `last` works on `y` in place: the same values, so the same bits,
        // but `y`'s lines are fetched for writing here, behind the `exp`
        // work, instead of in the last pass (see `FROM_MEMORY_MIN`).
        // Separate instances, so that the loop in cache tests no distance.
        let ahead = prefetch_rows_ahead::<L>(io.len());
        match io {
            InOut::Split(..) if from_memory => {
                exp_sub_store_sum_along::<L, A, true>(l, io, max, inv_t, along, ahead)
            }
            _ if from_memory => exp_sub_sum_along(l, io.input(), max, inv_t, along, ahead),
            _ => exp_sub_sum_along(l, io.input(), max, inv_t, along, 0),
        }
    }
    #[inline(always)]
    fn of_sum(sum: f64) -> f32 {
        log_of_sum(sum)
    }
    /// From memory, `y` holds `x` by then (see `first`).
    #[inline(always)]
    fn last<L: Lanes>(
        l: L,
        mut io: InOut<'_>,
        max: f32,
        of_sum: f32,
        inv_t: Option<f32>,
        from_memory: bool,
    ) {
        let io = if from_memory {
            InOut::InPlace(io.output())
        } else {
            io
        };
        sub_max_log_sum(l, io, max, of_sum, inv_t);
    }
    /// With `behind` (and `STREAM`), each segment first writes the row
    /// before's outputs at its positions from that row's `x` (`SubTrail`).
    #[inline(always)]
    fn long_read<L: Lanes, const IN_CACHE: bool, const STREAM: bool>(
        l: L,
        io: InOut<'_>,
        inv_t: Option<f32>,
        _: &mut [f32],
        _: &mut [f32],
        behind: Option<Behind<'_>>,
    ) -> MaxSum {
        with_scale!(l, inv_t, |scale| match behind {
            Some(b) if STREAM => {
                let mut trail = SubTrail {
                    x: b.x,
                    y: b.y,
                    f: SubSub::<L, _, true> {
                        max: l.splat(b.total.max),
                        scale,
                        log_sum: l.splat(log_of_sum(b.total.sum)),
                    },
                };
                log_softmax_read::<L, _, _, IN_CACHE, STREAM>(l, io, inv_t, scale, &mut trail)
            }
            _ => log_softmax_read::<L, _, _, IN_CACHE, STREAM>(l, io, inv_t, scale, &mut ()),
        })
    }
    /// From `x` into `y` past the caches with `STREAM`, else on `y`, which
    /// holds `x` by then (see `max_exp_sum`).
    #[inline(always)]
    fn long_last<L: Lanes, const STREAM: bool>(
        l: L,
        mut io: InOut<'_>,
        total: MaxSum,
        inv_t: Option<f32>,
        _: &[f32],
        _: &[f32],
    ) {
        let log_sum = log_of_sum(total.sum);
        match io {
            InOut::Split(..) if STREAM => {
                sub_max_log_sum_to::<L, true>(l, io, total.max, log_sum, inv_t)
            }
            _ => sub_max_log_sum(l, InOut::InPlace(io.output()), total.max, log_sum, inv_t),
        }
    }
}

/// One row: its max, then `K`'s passes.
#[inline(always)]
fn one_row<L: Lanes, K: RowKind>(l: L, mut io: InOut<'_>, inv_t: Option<f32>, from_memory: bool) {
    if io.is_empty() {
        return;
    }
    let m = softmax_max(l, io.input());
    let sum = K::first(l, io.reborrow(), m, inv_t, &mut (), from_memory);
    K::last(l, io, m, K::of_sum(sum), inv_t, from_memory);
}

/// `y = softmax(x / t)`, with `inv_t = 1 / t` (`None` for `t = 1`).
///
/// A row shorter than `ONE_READ_MIN` takes its max, then `exp` and the sum,
/// then the scale. A longer row reads `x` once (`softmax_piece`, per chunk;
/// as a row in cache, see `fuse_next_max`) and scales `y` once
/// (`softmax_scale`); `refs` holds a value per segment in between, at least
/// `refs_len(io.len())` of them.
///
/// # Panics
/// If `refs` is shorter than that (before writing anything).
#[inline(always)]
pub(crate) fn softmax<L: Lanes>(l: L, io: InOut<'_>, inv_t: Option<f32>, refs: &mut [f32]) {
    assert!(refs.len() >= refs_len(io.len()), "softmax: refs too short");
    whole_row::<L, SoftmaxRow, true>(l, io, inv_t, refs, false);
}

/// One row of `K`: three passes below `ONE_READ_MIN` (`from_memory` as
/// `RowKind::first` takes it), else its read pass (`IN_CACHE` as `one_read`
/// takes it) and its last pass.
#[inline(always)]
fn whole_row<L: Lanes, K: RowKind, const IN_CACHE: bool>(
    l: L,
    mut io: InOut<'_>,
    inv_t: Option<f32>,
    refs: &mut [f32],
    from_memory: bool,
) {
    if io.len() < ONE_READ_MIN {
        one_row::<L, K>(l, io, inv_t, from_memory);
        return;
    }
    let total = K::long_read::<L, IN_CACHE, false>(l, io.reborrow(), inv_t, refs, &mut [], None);
    K::long_last::<L, false>(l, io, total, inv_t, refs, &[]);
}

/// Scratch `softmax` needs for a row of `n`: one f32 per `SEGMENT`, none
/// below `ONE_READ_MIN`.
pub const fn refs_len(n: usize) -> usize {
    if n < ONE_READ_MIN {
        0
    } else {
        n.div_ceil(SEGMENT)
    }
}

/// `exp((x - sub) / t)` summed in f32 lanes (one block at a time: no f64 in
/// the loop, where AVX2's 16 registers are all taken), storing that `exp`
/// (softmax) or, with `COPY_X`, `x` itself (log-softmax out of place).
struct ExpSum<L: Lanes, S, A, const COPY_X: bool> {
    sub: L::V,
    scale: S,
    acc: L::V,
    along: A,
    /// `Map::prefetch_ahead`.
    ahead: usize,
}

impl<L: Lanes, S: Scale<L>, A: PerVector<L>, const COPY_X: bool> ExpSum<L, S, A, COPY_X> {
    /// The block's lanes of the sum, after mapping it (`along` once per
    /// vector, prefetching `ahead` elements ahead), and `along`.
    #[inline(always)]
    fn block(l: L, blk: &mut InOut<'_>, sub: L::V, scale: S, along: A, ahead: usize) -> (L::V, A) {
        let mut f = ExpSum::<L, S, A, COPY_X> {
            sub,
            scale,
            acc: l.splat(0.0),
            along,
            ahead,
        };
        map(l, blk, &mut f);
        (f.acc, f.along)
    }
}

impl<L: Lanes, S: Scale<L>, A: PerVector<L>, const COPY_X: bool> Map<L>
    for ExpSum<L, S, A, COPY_X>
{
    const FILL: f32 = f32::NEG_INFINITY;
    #[inline(always)]
    fn prefetch_ahead(&self) -> usize {
        self.ahead
    }
    #[inline(always)]
    fn apply(&mut self, l: L, x: L::V) -> L::V {
        let e = exp_below(l, self.scale, x, self.sub);
        self.acc = l.add(self.acc, e);
        self.along.vector(l);
        if COPY_X { x } else { e }
    }
    #[inline(always)]
    fn apply4(&mut self, l: L, x: [L::V; 4]) -> [L::V; 4] {
        let e = exp_below4(l, self.scale, x, self.sub);
        for v in e {
            self.acc = l.add(self.acc, v);
            self.along.vector(l);
        }
        if COPY_X { x } else { e }
    }
}

/// `softmax_max` of the next segment, one vector per vector of this one:
/// its loads and max run beside the `exp` work instead of after it. Max is
/// exact, so this is the same value as `softmax_max`.
struct NextSegmentMax<'x, L: Lanes> {
    rest: &'x [f32],
    acc: L::V,
}

impl<'x, L: Lanes> NextSegmentMax<'x, L> {
    #[inline(always)]
    fn new(l: L, next: &'x [f32]) -> Self {
        NextSegmentMax {
            rest: next,
            acc: <Max as Reduce<L>>::init(Max, l),
        }
    }

    /// The max, with what this segment's vectors left over.
    #[inline(always)]
    fn finish(self, l: L) -> f32 {
        let acc = <Max as Reduce<L>>::step(Max, l, fold1(l, self.rest, Max), self.acc);
        l.reduce_max(acc) + 0.0
    }
}

impl<L: Lanes> PerVector<L> for NextSegmentMax<'_, L> {
    #[inline(always)]
    fn vector(&mut self, l: L) {
        if let Some((v, rest)) = self.rest.split_at_checked(L::N) {
            self.acc = <Max as Reduce<L>>::step(Max, l, self.acc, l.load(v));
            self.rest = rest;
        }
    }
}

/// Elements per segment: the one-read passes take a segment's max before
/// its `exp`, and softmax keeps one value per segment between its passes. A
/// multiple of every level's block (64 to 1024), so each level adds the same
/// number of blocks per segment whatever the alignment; one AVX-512 block.
pub const SEGMENT: usize = 1024;

/// Softmax pass 1 on a piece (at most one `CHUNK`, starting at a multiple
/// of it) of one row, by `one_read` as a row in cache: `y = exp((x -
/// running max) / t)`, and `refs[s]`
/// keeps the max segment `s` subtracted, for `softmax_scale`. Returns the
/// piece's max and sum below it.
///
/// # Panics
/// If `refs` has fewer values than the piece has segments.
#[inline(always)]
pub(crate) fn softmax_piece<L: Lanes>(
    l: L,
    io: InOut<'_>,
    inv_t: Option<f32>,
    refs: &mut [f32],
) -> MaxSum {
    softmax_read::<L, _, true>(l, io, inv_t, refs, &mut ())
}

/// `softmax_piece` of a row or a piece, a `CHUNK` at a time (`refs` as
/// `RowKind::long_read` has them), `IN_CACHE` as `one_read` takes it,
/// `trail` before each segment (see `Trail`).
#[inline(always)]
fn softmax_read<L: Lanes, T: Trail<L>, const IN_CACHE: bool>(
    l: L,
    io: InOut<'_>,
    inv_t: Option<f32>,
    refs: &mut [f32],
    trail: &mut T,
) -> MaxSum {
    with_scale!(l, inv_t, |scale| {
        // Not a closure over the chunks: it would not inline into the shim.
        let mut total = MaxSum::EMPTY;
        let mut rest = io;
        for r in refs.chunks_mut(CHUNK / SEGMENT) {
            if rest.is_empty() {
                break;
            }
            let n = CHUNK.min(rest.len());
            let (piece, tail) = rest.split_at(n);
            let mut w = StoreExp {
                scale,
                refs: r,
                ahead: prefetch_ahead::<L>(IN_CACHE),
                trail: &mut *trail,
            };
            total = total.then(one_read::<L, _, IN_CACHE>(l, piece, inv_t, &mut w), inv_t);
            rest = tail;
        }
        total
    })
}

/// What a one-read pass does with each segment: note the max it subtracts
/// (and first run its `Trail` on the segment, `seg` as it is before the
/// pass writes it), and per block store what it stores and return its
/// lanes of `exp((x - sub) / t)`.
trait SegmentWork<L: Lanes> {
    fn segment(&mut self, l: L, s: usize, max: f32, seg: &InOut<'_>);
    fn block<A: PerVector<L>>(&mut self, l: L, blk: InOut<'_>, sub: L::V, along: A) -> (L::V, A);
}

/// Softmax: `y = exp((x - sub) / t)`, the maxima into `refs`, each
/// segment's old output and old `refs` value first to `trail`.
struct StoreExp<'r, S, T> {
    scale: S,
    refs: &'r mut [f32],
    /// `prefetch_ahead`.
    ahead: usize,
    trail: &'r mut T,
}

impl<L: Lanes, S: Scale<L>, T: Trail<L>> SegmentWork<L> for StoreExp<'_, S, T> {
    #[inline(always)]
    fn segment(&mut self, l: L, s: usize, max: f32, seg: &InOut<'_>) {
        self.trail.segment(l, seg.written(), self.refs[s]);
        self.refs[s] = max;
    }
    #[inline(always)]
    fn block<A: PerVector<L>>(
        &mut self,
        l: L,
        mut blk: InOut<'_>,
        sub: L::V,
        along: A,
    ) -> (L::V, A) {
        ExpSum::<L, S, A, false>::block(l, &mut blk, sub, self.scale, along, self.ahead)
    }
}

/// Log-softmax: out of place, unless `STREAM`, `y = x` (see
/// `max_exp_sum`); each segment first to `trail`.
struct CopyX<'t, S, T, const STREAM: bool> {
    scale: S,
    /// `prefetch_ahead`.
    ahead: usize,
    trail: &'t mut T,
}

impl<L: Lanes, S: Scale<L>, T: Trail<L>, const STREAM: bool> SegmentWork<L>
    for CopyX<'_, S, T, STREAM>
{
    #[inline(always)]
    fn segment(&mut self, l: L, _: usize, _: f32, seg: &InOut<'_>) {
        self.trail.segment(l, seg.written(), 0.0);
    }
    #[inline(always)]
    fn block<A: PerVector<L>>(
        &mut self,
        l: L,
        mut blk: InOut<'_>,
        sub: L::V,
        along: A,
    ) -> (L::V, A) {
        match &mut blk {
            InOut::Split(..) if !STREAM => {
                ExpSum::<L, S, A, true>::block(l, &mut blk, sub, self.scale, along, self.ahead)
            }
            io => fold1_along(l, io.input(), AddExpSub(sub, self.scale), along, self.ahead),
        }
    }
}

/// The one-read pass over a piece (at most one `CHUNK`): per `SEGMENT` its
/// max first (the segment is then in L1), the running max raised and the sum
/// so far rescaled in f64 when the segment's is larger, then `w`'s work on
/// the segment's blocks below the running max, their f32 sums added in f64.
/// `IN_CACHE`: the caller expects the row in cache, not in memory; the
/// level then decides whether the max is taken alongside the previous
/// segment's `exp` (`fuse_next_max`); the same bits either way.
#[inline(always)]
fn one_read<L: Lanes, W: SegmentWork<L>, const IN_CACHE: bool>(
    l: L,
    io: InOut<'_>,
    inv_t: Option<f32>,
    w: &mut W,
) -> MaxSum {
    let fuse = fuse_next_max::<L>(IN_CACHE);
    let mut acc = MaxSum::EMPTY;
    let mut rest = io;
    let mut s = 0;
    // With `fuse`, the max of the segment to come (the first on its own).
    let mut next_max = if fuse {
        softmax_max(l, &rest.input()[..SEGMENT.min(rest.len())])
    } else {
        f32::NAN
    };
    while !rest.is_empty() {
        let n = SEGMENT.min(rest.len());
        let (mut seg, tail) = rest.split_at(n);
        rest = tail;
        let m = if fuse {
            next_max
        } else {
            softmax_max(l, seg.input())
        };
        if m > acc.max {
            acc = MaxSum {
                max: m,
                sum: acc.raised_to(m, inv_t),
            };
        }
        w.segment(l, s, acc.max, &seg);
        s += 1;
        let sub = l.splat(below(acc.max));
        // Two copies of the block loop: one generic over the `along` of
        // both was slower on AVX2 (3-5%, two constants left their
        // registers).
        if fuse {
            let next = rest.input();
            let mut along = NextSegmentMax::new(l, &next[..SEGMENT.min(next.len())]);
            while !seg.is_empty() {
                let n = block_len::<L>().min(seg.len());
                let (blk, tail) = seg.split_at(n);
                seg = tail;
                let (v, a) = w.block(l, blk, sub, along);
                along = a;
                acc.sum += f64::from(l.reduce_sum(v));
            }
            next_max = along.finish(l);
        } else {
            while !seg.is_empty() {
                let n = block_len::<L>().min(seg.len());
                let (blk, tail) = seg.split_at(n);
                seg = tail;
                acc.sum += f64::from(l.reduce_sum(w.block(l, blk, sub, ()).0));
            }
        }
    }
    acc
}

/// Whether `one_read` takes each segment's max during the previous
/// segment's `exp` (`NextSegmentMax`, one load and one max per `exp`
/// vector) instead of in a pass of its own, for a row the caller expects in
/// cache (`in_cache`: the one-row calls and the pieces of a split row; one
/// row is usually fresh from the layer that wrote it) or read from memory
/// (the rows of a matrix). The bits are the same either way (max is exact).
/// Measured per level on the machine where it is the best level, old and
/// new kernels in one process, rounds in turn:
///
/// - AVX-512 (Zen 4): in cache it gains, the `exp` loop leaving the loads
///   and the max room. One row in a loop, median of 200, new / old over four
///   runs: 4096 0.93-0.99, 8192 0.92-0.98, 32000 0.93-0.97, 128256
///   0.87-0.93 (`cargo bench --bench row`, binaries in turn: 32000 softmax
///   6945-7225 -> 6472-6526 ns); one 2^20 row through the batched API,
///   median of 600: one thread 228 -> 204-209 us, two threads (split)
///   120-134 -> 107-126 us. From memory it loses, one load per `exp` vector
///   keeping fewer misses in flight than a tight max loop (256 x 32000, one
///   thread, best of 15: 2-38% slower; prefetching the segment after next
///   made it worse).
/// - AVX2 (Zen 3): the other way round. In cache it loses (16 registers):
///   one row in a loop, median of 51, 4096-128256 entries 1.07-1.12 (8-15%
///   on Zen 4 too). From memory it gains, this core being compute-bound
///   there: the loads spread through the `exp` work instead of stalling a
///   max pass. The three matrices, softmax and log-softmax, median of 15,
///   new / old: one thread 0.84-0.91, two threads 0.87-0.95.
/// - NEON, Portable and Scalar do not fuse (not measured on hardware).
#[inline(always)]
const fn fuse_next_max<L: Lanes>(in_cache: bool) -> bool {
    if in_cache {
        L::FUSE_MAX_IN_CACHE
    } else {
        L::FUSE_MAX_FROM_MEMORY
    }
}

/// What the `exp` loops prefetch ahead (`Map::prefetch_ahead`):
/// `Lanes::PREFETCH_AHEAD` elements of `x` for rows from memory on a level that
/// asks for it (`Lanes::PREFETCH_FROM_MEMORY`), else nothing: at AVX2 4096 (16
/// KB, four segments of a long row), at AVX-512 2048 (8 KB). The bits are the
/// same either way. For the rows shorter than `ONE_READ_MIN`, see
/// `FROM_MEMORY_MIN`. For `one_read`, measured on AVX2 (Zen 3), where the `exp`
/// work leaves the hardware prefetcher behind: without and with, in one
/// process, 1 and 2 threads, median of 11 rounds, time with / without: 256 x
/// 32000, 64 x 128256 and 4096 x 4096, softmax and log-softmax, 0.87-0.98. The
/// distance, against the kernels before the four-vector loops (which did not
/// change matrices): 512 ahead 0.89-1.09, 2048 0.87-0.98, 4096 0.89-0.99, 8192
/// 0.83-0.98, none 0.96-1.07. The in-cache `exp` speedup of the four-vector
/// loops did not move these matrices; this did: they are bound by how busy the
/// loop keeps memory, not by its arithmetic. In place (the `map` and
/// `fold1_along` loops over `x` itself), the same three matrices, with /
/// without, median of 11, two runs:
/// one thread 0.73-0.80, two threads 0.69-0.86.
///
/// AVX-512 (Zen 4, family 25 model 17), out of place: bench binaries without
/// and with in turn (`softmax-bench --levels avx512,avx2 --out-of-place-only`,
/// the avx2 rows, the same code in both, as the in-run control), avx512 time
/// over avx2 time, median of 5 rounds, without -> with, 1 and 2 threads,
/// softmax and log-softmax: 256 x 32000 1.14-1.23 -> 0.79-0.89, 64 x 128256
/// 0.89-1.11 -> 0.76-0.84, 4096 x 4096 1.11-1.26 -> 0.85-0.96; time over the
/// copy's with 2 threads 1.53-1.94 -> 1.10-1.31. A second set of 5 rounds,
/// both with the `exp` of `exp_nonpositive_avx512`: 256 x 32000 1.12-1.27 ->
/// 0.82-0.89. In place, two rounds, avx512 time over avx2 time: one thread
/// 0.58-0.95 -> 0.76-0.94, two threads 0.73-1.08 -> 0.65-1.02. (Before this,
/// `prefetch` did nothing at AVX-512, so an earlier trial on Zen 5 that only
/// set the flag measured the same code twice.) The distance at AVX-512, the
/// same way (7 rounds, after the change at `prefetch_rows_ahead`), 4096 ->
/// 2048: 1024 x 2048 0.70-0.83 -> 0.70-0.76, 2048 x 1500 0.81-0.96 ->
/// 0.78-0.82, 256 x 32000 0.81-0.92 -> 0.75-0.86, 4096 x 4096 0.88-1.02 ->
/// 0.77-0.95, 64 x 128256 0.75-0.88 -> 0.75-0.82 (medians, over 1 and 2
/// threads x softmax and log-softmax; better in 16 of the 20, worse in 3, by
/// up to 0.06). A second run, 4 rounds, in place and out of place: in place
/// better in 12 of the 16, worse in 2 (1024 x 2048 one thread, 0.70-0.73 ->
/// 0.81-0.85); out of place better in 9, worse in 7, by up to 0.08. 1024
/// was worse than 2048 on 256 x 32000 and 4096 x 4096 (0.89-1.04), and 8192
/// (5 rounds) no better than 4096. The copy ratios did not move beyond the
/// noise: the matrices stay 1.1-1.4 x the copy with two threads here.
#[inline(always)]
const fn prefetch_ahead<L: Lanes>(in_cache: bool) -> usize {
    if !in_cache && L::PREFETCH_FROM_MEMORY {
        L::PREFETCH_AHEAD
    } else {
        0
    }
}

/// What the `exp` pass of rows of `cols` shorter than `ONE_READ_MIN`
/// prefetches ahead in calls taken to come from memory
/// (`FROM_MEMORY_MIN`): `Lanes::PREFETCH_AHEAD` on a level that asks for it,
/// else nothing. Rows longer than a block (`long_rows`, three passes) ask as
/// the long rows do (`Lanes::PREFETCH_FROM_MEMORY`), rows of a block or less
/// (`pipelined_rows`) by `Lanes::PREFETCH_SHORT_ROWS`. Its measurements on
/// AVX2 are at `FROM_MEMORY_MIN` and `argmax_rows`. On AVX-512 (Zen 4, bench
/// binaries in turn as for `prefetch_ahead`, median of 5, avx512 time over
/// avx2 time, without -> with), rows of a block or less lost: 16384 x 128
/// one thread 0.71-0.76 -> 0.81-0.86, two 0.82-0.85 -> 0.82-0.88, 4096 x 512
/// and 2048 x 1000 within noise; rows above a block won: 1024 x 2048, one
/// and two threads, softmax 1.01 -> 0.92 and 0.84 -> 0.78, log-softmax 0.91
/// -> 0.77 and 0.78 -> 0.70 (a second set: 0.81-0.92 -> 0.69-0.85).
#[inline(always)]
const fn prefetch_rows_ahead<L: Lanes>(cols: usize) -> usize {
    let wanted = if cols > block_len::<L>() {
        L::PREFETCH_FROM_MEMORY
    } else {
        L::PREFETCH_SHORT_ROWS
    };
    if wanted { L::PREFETCH_AHEAD } else { 0 }
}

/// What a segment subtracts below a running max `m`: `m`, or 0 while every
/// value so far is -inf (or NaN): -inf then gives 0 and NaN gives NaN, where
/// `-inf - -inf` would be NaN.
#[inline(always)]
fn below(m: f32) -> f32 {
    if m == f32::NEG_INFINITY { 0.0 } else { m }
}

/// Softmax pass 2 on `y` (a piece or the row, from a multiple of `CHUNK`):
/// segment `s` times `exp((refs[s] - total.max) / t) / total.sum`, that
/// factor formed in f64 once per run of segments with the same `refs`, each
/// run scaled from its first vector-aligned element.
#[inline(always)]
pub(crate) fn softmax_scale<L: Lanes>(
    l: L,
    y: &mut [f32],
    refs: &[f32],
    total: MaxSum,
    inv_t: Option<f32>,
) {
    softmax_scale_to::<L, false>(l, InOut::InPlace(y), refs, total, inv_t);
}

/// `softmax_scale` on `io`: out of place, `y` is the scaled `x`, streamed
/// (`Map::STREAM`) when `STREAM`.
#[inline(always)]
fn softmax_scale_to<L: Lanes, const STREAM: bool>(
    l: L,
    io: InOut<'_>,
    refs: &[f32],
    total: MaxSum,
    inv_t: Option<f32>,
) {
    let inv_sum = 1.0 / total.sum;
    let mut rest = io;
    let mut refs = &refs[..rest.len().div_ceil(SEGMENT)];
    while let Some(&r) = refs.first() {
        let run = refs.iter().take_while(|&&q| q == r).count();
        let n = (run * SEGMENT).min(rest.len());
        let (ys, tail) = rest.split_at(n);
        let factor = segment_factor(r, total, inv_sum, inv_t);
        map_aligned(l, ys, &mut MulBy::<L, STREAM>(l.splat(factor)));
        rest = tail;
        refs = &refs[run..];
    }
}

/// What softmax's last pass multiplies a segment by whose `exp` values were
/// taken below `r`: `exp((r - total.max) / t) / total.sum`, in f64
/// (`inv_sum = 1 / total.sum`).
#[inline(always)]
fn segment_factor(r: f32, total: MaxSum, inv_sum: f64, inv_t: Option<f32>) -> f32 {
    let factor = if r == total.max {
        inv_sum
    } else {
        let d = (f64::from(r) - f64::from(total.max)) * inv_t.map_or(1.0, f64::from);
        exp_f64_nonpositive(d) * inv_sum
    };
    factor as f32
}

/// `refs[s] = segment_factor(refs[s], ..)`: a row's segment maxima
/// turned into the factors of its last pass, one f64 `exp` per run of
/// equal maxima, as `softmax_scale_to` forms them.
#[inline(always)]
fn to_factors(refs: &mut [f32], total: MaxSum, inv_t: Option<f32>) {
    let inv_sum = 1.0 / total.sum;
    let mut last: Option<(f32, f32)> = None;
    for r in refs {
        let factor = match last {
            Some((q, f)) if q == *r => f,
            _ => segment_factor(*r, total, inv_sum, inv_t),
        };
        last = Some((*r, factor));
        *r = factor;
    }
}

/// `y = log_softmax(x / t)`, with `inv_t = 1 / t` (`None` for `t = 1`).
///
/// A row shorter than `ONE_READ_MIN` takes its max, then its sum. A longer
/// row reads `x` once for both (`max_exp_sum`; as a row in cache, see
/// `fuse_next_max`), then once more to write `y`.
#[inline(always)]
pub(crate) fn log_softmax<L: Lanes>(l: L, io: InOut<'_>, inv_t: Option<f32>) {
    whole_row::<L, LogSoftmaxRow, true>(l, io, inv_t, &mut [], false);
}

/// Rows at least this long read `x` once for its max, `exp` and sum, a
/// `SEGMENT` at a time (`max_exp_sum`, `softmax_piece`), then make one more
/// pass: two passes instead of three, and the read from memory overlaps the
/// `exp` work. Out of cache that pays. One thread, time over the copy of the
/// same bytes in the same run, three passes -> one read: log-softmax
/// (criterion medians) 256 x 32000 1.76 -> 1.21, 64 x 128256 1.93 -> 1.19,
/// 4096 x 4096 1.74 -> 1.24; softmax (AVX-512, median of 15, old and new
/// kernels in one process) 1.62 -> 1.13, 1.58 -> 1.19, 1.26 -> 1.11. A row in
/// cache gains nothing and pays a max and a branch per segment and an f64
/// `exp` when the max rises: one row in a loop, log-softmax 5-13% slower at
/// 1024 and 2048 entries (AVX2, AVX-512), so shorter rows keep three passes;
/// at 4096 to 128256, softmax on AVX-512 within 1% (4096: 6%), on AVX2 7%.
pub const ONE_READ_MIN: usize = 4096;

/// `exp(d)` for `d <= 0` in f64, inline: the rescales of the one-read
/// passes happen inside the SIMD kernels, where a call to libm's `exp` makes
/// the kernel save and reload its vector registers. fdlibm's reduction
/// `d = k ln2 + r` (ln 2 in two parts, `|r| <= ln2 / 2`), `e^r` by its Taylor
/// series to `r^11` (the next term is under 7e-15), then `2^k` in the
/// exponent bits. Below -700 (near f64's underflow), -inf and NaN go to
/// libm.
#[inline(always)]
fn exp_f64_nonpositive(d: f64) -> f64 {
    // fdlibm e_exp.c: ln2HI[0], ln2LO[0], and 1.5 * 2^52 to round.
    const LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76);
    const ROUND: f64 = 6_755_399_441_055_744.0;
    if d.is_nan() || d < -700.0 {
        return d.exp();
    }
    let k = (d * core::f64::consts::LOG2_E + ROUND) - ROUND;
    let r = (d - k * LN2_HI) - k * LN2_LO;
    let mut p = 1.0 / 39_916_800.0; // 1/11!
    for c in [
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = p * r + c;
    }
    // k is in [-1010, 0]: 2^k is a normal f64.
    p * f64::from_bits(((k as i64 + 1023) as u64) << 52)
}

/// The max of some values and the sum of `exp((x - max) / t)` over them, in
/// f64: what log-softmax needs of a row, formed chunk by chunk.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MaxSum {
    /// The max subtracted (`softmax_max`'s rule for NaN); `-inf` when empty.
    pub max: f32,
    /// The sum of `exp((x - max) / t)`.
    pub sum: f64,
}

impl MaxSum {
    /// No values.
    pub const EMPTY: MaxSum = MaxSum {
        max: f32::NEG_INFINITY,
        sum: 0.0,
    };

    /// The same sum below a max raised to `max >= self.max`.
    #[inline(always)]
    fn raised_to(self, max: f32, inv_t: Option<f32>) -> f64 {
        if max == self.max {
            // Also +-inf to itself, where the difference would be NaN.
            return self.sum;
        }
        let d = f64::from(self.max) - f64::from(max);
        self.sum * exp_f64_nonpositive(d * inv_t.map_or(1.0, f64::from))
    }

    /// The values of `self` followed by those of `next`. Deterministic: the
    /// same pieces combined in the same order give the same bits.
    #[inline]
    pub fn then(self, next: MaxSum, inv_t: Option<f32>) -> MaxSum {
        let max = if next.max > self.max {
            next.max
        } else {
            self.max
        };
        MaxSum {
            max,
            sum: self.raised_to(max, inv_t) + next.raised_to(max, inv_t),
        }
    }
}

/// `MaxSum` of `x` (at most one `CHUNK` of one row) in one read
/// (`one_read`, as a row in cache).
///
/// Out of place it also copies `x` into `y`, and the last pass then works on
/// `y` in place: the same values, so the same bits, but `y`'s lines are
/// fetched for writing here, behind the `exp` work, instead of in the last
/// pass, which has no work to hide them behind. Log-softmax time, copy over
/// no copy (old and new kernels in one process, two runs): out of cache
/// (median of 15), AVX-512 two threads 0.86-0.97, one thread 0.75-0.94; in
/// cache (one row in a loop, best of 200), AVX-512 0.87-0.93, AVX2
/// 0.98-1.08, Portable 0.99-1.00.
#[inline(always)]
pub(crate) fn max_exp_sum<L: Lanes>(l: L, io: InOut<'_>, inv_t: Option<f32>) -> MaxSum {
    with_scale!(l, inv_t, |scale| log_softmax_read::<L, _, _, true, false>(
        l,
        io,
        inv_t,
        scale,
        &mut ()
    ))
}

/// `max_exp_sum` of a row or a piece, a `CHUNK` at a time, at the scale
/// `scale` (of `inv_t`), `IN_CACHE` as `one_read` takes it, `trail` before
/// each segment (see `Trail`); with `STREAM`, `y` is not touched (the last
/// pass then reads `x` and streams `y`).
#[inline(always)]
fn log_softmax_read<
    L: Lanes,
    S: Scale<L>,
    T: Trail<L>,
    const IN_CACHE: bool,
    const STREAM: bool,
>(
    l: L,
    io: InOut<'_>,
    inv_t: Option<f32>,
    scale: S,
    trail: &mut T,
) -> MaxSum {
    let mut total = MaxSum::EMPTY;
    let mut rest = io;
    while !rest.is_empty() {
        let n = CHUNK.min(rest.len());
        let (piece, tail) = rest.split_at(n);
        let mut w = CopyX::<_, _, STREAM> {
            scale,
            ahead: prefetch_ahead::<L>(IN_CACHE),
            trail: &mut *trail,
        };
        total = total.then(one_read::<L, _, IN_CACHE>(l, piece, inv_t, &mut w), inv_t);
        rest = tail;
    }
    total
}

/// The sum of `exp((x - max) / t)` over a row (block sums added as
/// `ChunkedSum` adds them), doing `along` after every block and
/// prefetching `ahead` elements ahead (`Map::prefetch_ahead`).
#[inline(always)]
fn exp_sub_sum_along<L: Lanes, A: Alongside<L>>(
    l: L,
    x: &[f32],
    max: f32,
    inv_t: Option<f32>,
    along: &mut A,
    ahead: usize,
) -> f64 {
    with_scale!(l, inv_t, |scale| {
        let mut sum = ChunkedSum::default();
        for blk in x.chunks(block_len::<L>()) {
            let (acc, ()) = fold1_along(l, blk, AddExpSub(l.splat(max), scale), (), ahead);
            sum.add_block::<L>(l.reduce_sum(acc));
            along.block(l);
        }
        sum.finish()
    })
}

/// `ln(sum)` rounded to f32, the offset log-softmax subtracts after the max.
///
/// Inline for a positive normal `sum` (`ln_positive_normal`), so the bits
/// do not depend on the platform's libm, and no call sits in the row loop:
/// AVX2 (Zen 2), glibc's `log` and this in one process, median of 21-31,
/// log-softmax in cache rows of 128 1.04-1.08x as fast, 256 1.05x, 512
/// 1.02x; 16384 x 128 with 2 threads 1.00-1.05x. Any other `sum` (0, NaN,
/// infinite, subnormal, negative) takes `f64::ln`.
#[inline(always)]
pub fn log_of_sum(sum: f64) -> f32 {
    if (f64::MIN_POSITIVE..f64::INFINITY).contains(&sum) {
        return ln_positive_normal(sum);
    }
    sum.ln() as f32
}

/// `(1 / c, ln c)` for the 16 subintervals of `[0.699, 1.398)` in which
/// `ln_positive_normal` reduces its argument: Arm's
/// optimized-routines `logf` (`math/logf_data.c`, MIT; also musl's and
/// glibc's `logf`), its hexadecimal values written as decimals that read
/// back to the same f64.
const LOGF_TABLE: [(f64, f64); 16] = [
    (1.398907162146528, -0.33569133332882284),
    (1.3403141896637998, -0.2929040563774074),
    (1.286432210124115, -0.2518726580937369),
    (1.2367150214269895, -0.21245868807117255),
    (1.1906977166711752, -0.17453945183745634),
    (1.1479821020556429, -0.1380057072319758),
    (1.1082251448272158, -0.10275976698545139),
    (1.0711297413057381, -0.06871392447020525),
    (1.036437278977283, -0.0357891387398228),
    (1.0, 0.0),
    (0.9492859795739057, 0.05204517742929496),
    (0.8951049428609004, 0.11081431298787942),
    (0.8476821620351103, 0.1652495223695143),
    (0.8050314851692001, 0.21687389031699977),
    (0.7664671008843108, 0.2659635028121397),
    (0.731428603316328, 0.3127556664073557),
];

/// `ln(1 + r) - r` is `r^2 (A0 r^2 + A1 r + A2)` near 0 (the same source).
const LOGF_POLY: [f64; 3] = [-0.25089342214237154, 0.333456765744066, -0.4999997485802103];

/// `ln(x)` rounded to f32 for a positive normal f64, as `logf` forms it
/// (0.82 ulp there) but from all of `x`'s bits: `x = 2^k z`, `z` in
/// `[0.699, 1.398)`; `ln(x) = k ln 2 + ln c + ln(1 + (z / c - 1))` with
/// `c` from `z`'s top mantissa bits. Plain f64 operations (no `mul_add`),
/// so it gives the same bits inside a `#[target_feature]` shim and out.
#[inline(always)]
fn ln_positive_normal(x: f64) -> f32 {
    let ix = x.to_bits();
    // 0.69921875 (0x3f330000 as f32), the low end of `z`'s range.
    let tmp = ix.wrapping_sub(0x3FE6_6000_0000_0000);
    let (inv_c, ln_c) = LOGF_TABLE[((tmp >> 48) % 16) as usize];
    let k = ((tmp as i64) >> 52) as f64;
    let z = f64::from_bits(ix.wrapping_sub(tmp & 0xFFF0_0000_0000_0000));
    let r = z * inv_c - 1.0;
    let y0 = ln_c + k * core::f64::consts::LN_2;
    let r2 = r * r;
    let y = LOGF_POLY[1] * r + LOGF_POLY[2];
    let y = LOGF_POLY[0] * r2 + y;
    (y * r2 + (y0 + r)) as f32
}

struct SubSub<L: Lanes, S, const STREAM: bool> {
    max: L::V,
    scale: S,
    log_sum: L::V,
}

impl<L: Lanes, S: Scale<L>, const STREAM: bool> Map<L> for SubSub<L, S, STREAM> {
    const STREAM: bool = STREAM;
    #[inline(always)]
    fn apply(&mut self, l: L, x: L::V) -> L::V {
        l.sub(self.scale.apply(l, l.sub(x, self.max)), self.log_sum)
    }
}

/// The last pass of log-softmax: `y = (x - max) / t - log_sum`, in that order.
#[inline(always)]
pub(crate) fn sub_max_log_sum<L: Lanes>(
    l: L,
    io: InOut<'_>,
    max: f32,
    log_sum: f32,
    inv_t: Option<f32>,
) {
    sub_max_log_sum_to::<L, false>(l, io, max, log_sum, inv_t);
}

/// `sub_max_log_sum`, streaming `y` (`Map::STREAM`) when `STREAM`.
#[inline(always)]
fn sub_max_log_sum_to<L: Lanes, const STREAM: bool>(
    l: L,
    io: InOut<'_>,
    max: f32,
    log_sum: f32,
    inv_t: Option<f32>,
) {
    with_scale!(l, inv_t, |scale| {
        let mut f = SubSub::<L, _, STREAM> {
            max: l.splat(max),
            scale,
            log_sum: l.splat(log_sum),
        };
        map_aligned(l, io, &mut f);
    })
}

/// Rows of `ONE_READ_MIN` to half this many entries whose output does not
/// stream (`streamed_rows` does not group) go in groups of about
/// this many elements (128 KB of `y`, still in L2 at the end): each row's
/// read pass, then each row's last pass. Out of cache, a pass that only
/// touches cache between two rows' reads from memory costs far more than
/// its work (about a third of the time of a 4096-entry softmax row, one
/// thread); grouped, the reads follow each other. Old and new kernels in
/// one process, one thread, median of 15, time new / old: AVX-512
/// 4096 x 4096 softmax 0.75-0.82, log-softmax 0.78-0.80; 2048 x 8192
/// 0.88-0.90, 0.86-0.92; 1024 x 16384 0.95-0.96, 0.93-0.94; AVX2
/// 4096 x 4096 0.86-0.92, 0.79-0.83. Groups of 2^17 were slower from 8192
/// entries up; 32000-entry rows in pairs gained 1-3% on AVX-512 and lost
/// 2-6% on AVX2, so rows longer than 16384 are not grouped.
const GROUP_ELEMENTS: usize = 1 << 15;

/// Whether rows of `cols` go in groups.
const fn grouped(cols: usize) -> bool {
    ONE_READ_MIN <= cols && cols <= GROUP_ELEMENTS / 2
}

/// Scratch `softmax_rows` needs for `rows`: `refs_len(cols)`, none for
/// rows that go in groups (those keep theirs on the stack); and when rows
/// of at least `ONE_READ_MIN` stream (`Rows::streams`, `streamed_rows`,
/// which does not group), room for one row's `exp` values.
pub fn rows_refs_len(rows: &Rows<'_>) -> usize {
    let (refs, exps) = rows_scratch(rows);
    refs + exps
}

/// `rows_refs_len`'s two parts: the segment maxima, the `exp` values.
fn rows_scratch(rows: &Rows<'_>) -> (usize, usize) {
    let cols = rows.cols();
    let streamed = rows.streams();
    let refs = if grouped(cols) && !streamed {
        0
    } else {
        refs_len(cols)
    };
    let exps = if streamed { cols } else { 0 };
    (refs, exps)
}

/// Segment maxima a group keeps: `group * refs_len(cols)` is at most
/// `32768 / cols * (cols / 1024 + 1) <= 32 + 8`.
const GROUP_REFS: usize = GROUP_ELEMENTS / SEGMENT + GROUP_ELEMENTS / ONE_READ_MIN;

/// A call of rows shorter than `ONE_READ_MIN` with at least this many
/// elements is taken to read from memory; a smaller one, to be in cache.
/// (`argmax_rows` takes its calls of any row length the same way, for its
/// own prefetch.) From memory, two things change, neither of which changes
/// a bit:
///
/// - **Prefetch.** The `exp` pass prefetches `Lanes::PREFETCH_AHEAD` elements
///   ahead (`prefetch_rows_ahead`), on the levels that ask for it: the rows
///   after this one, which the max pass reads next. Without it that max pass
///   waited on memory with no work to hide behind it (the hardware prefetcher
///   falls behind the `exp` work, as for the long rows). AVX2 (Zen 2), with and
///   without in one process, rounds in turn with the copy of the same bytes,
///   median of 7-9, 8 sets of the matrix in turn (96 MB, so each call reads
///   from memory), el/ns with / without: one thread, softmax and log-softmax,
///   16384 x 128 1.25 and 1.17, 4096 x 512 1.53 and 1.53, 2048 x 1024 1.53 and
///   1.58, 1024 x 3000 1.39 and 1.40, 300 x 4095 1.32 and 1.40 (with, 0.81-0.95
///   of the copy's el/ns; without, 0.59-0.71); two threads 16384 x 128 1.20 and
///   1.18, 4096 x 512 1.26 and 1.32, 1024 x 2048 1.22 and 1.31; in place, one
///   thread, 16384 x 128 1.22 and 1.20, 1024 x 2048 1.68 and 1.65. In cache,
///   one set, median of 21-31: 2^15 elements (256 x 128, 64 x 512, 16 x 2048)
///   0.96-0.98, 2^16 0.98-1.01, 2^17 0.99-1.20, 2^18-2^20 (in L3) 1.01-1.14.
/// - **Log-softmax's copy.** Out of place, its `exp` pass stores `x` into
///   `y` and its last pass works on `y` in place (`RowKind::first`), as
///   the long rows do unless they stream (`max_exp_sum`): `y`'s lines are
///   fetched for writing behind the `exp` work. AVX2 (Zen 3), old and new
///   kernels in one process, rounds in turn, median of 11-15, log-softmax
///   time new / old, two runs: from memory, 16384 x 128 one thread 0.97,
///   0.90, two 0.88, 0.99; 4096 x 512 0.93, 0.93 and 0.87, 0.83;
///   2048 x 2048 0.95, 0.93 and 1.00, 0.94; 8192 x 1000 0.93, 0.94.
///   Copying at every size, in cache (one thread, median of 21): 64 x 128
///   1.10-1.12, 16 x 512 1.16-1.18, 1 x 4000 1.07; below this size (the
///   old code) 0.98-1.03. (Measured before the prefetch.)
///
/// The crate's rayon tasks (`batch::TASK_MIN`) are at least this large
/// only while a matrix has at least 4 x threads x 2^15 elements (about
/// four tasks a thread): on 32 threads a 16384 x 128 matrix runs in tasks
/// of 2^14 elements, taken to be in cache.
const FROM_MEMORY_MIN: usize = 1 << 15;

/// `K` on every row, at temperature `1 / inv_t`: the same bits as the
/// one-row functions. Rows of at most one block are software-pipelined:
/// row `i + 1`'s max is taken during row `i`'s first pass (see `NextMax`),
/// and row `i`'s last pass runs after row `i + 1`'s first, so the latency
/// of `ln(sum)` or `1 / sum` overlaps that work instead of stalling the
/// last pass. One thread, 16384 x 128: the max alongside took softmax
/// 2.79 -> 3.35 el/ns and log-softmax 2.31 -> 2.77 (best of 15); the last
/// pass after the next first pass took log-softmax 2.26-2.30 -> 2.72-2.82
/// and softmax 3.23-3.26 -> 3.10-3.46 (`cargo bench --bench rows`, old and
/// new binaries alternately, AVX-512; AVX2 softmax alone lost 3-6%). For
/// longer rows the max alongside was no faster or slower (4096 x 4096:
/// 2.43 -> 2.11), so they take the plain loop, or groups (`GROUP_ELEMENTS`).
#[inline(always)]
fn rows<L: Lanes, K: RowKind>(
    l: L,
    rows: Rows<'_>,
    inv_t: Option<f32>,
    refs: &mut [f32],
    exps: &mut [f32],
) {
    if rows.rows() == 0 || rows.cols() == 0 {
        return;
    }
    let cols = rows.cols();
    let from_memory = rows.rows() * cols >= FROM_MEMORY_MIN;
    if cols > block_len::<L>() {
        // The streaming loops are separate instances: a flag tested in the
        // loops cost grouped rows 3-28% in cache (AVX2, 8 x 4096).
        if rows.streams() {
            streamed_rows::<L, K>(l, rows, inv_t, refs, exps);
            // Once for the call's streamed stores (see `Map::STREAM`).
            l.stream_fence();
        } else {
            long_rows::<L, K>(l, rows, inv_t, refs, from_memory);
        }
        return;
    }
    match rows.layout() {
        Layout::Split(r) => pipelined_rows::<L, K, _>(l, r, inv_t, from_memory),
        Layout::InPlace(r) => pipelined_rows::<L, K, _>(l, r, inv_t, from_memory),
    }
}

/// The software-pipelined loop of `rows`, once per layout (`RowLayout`).
#[inline(always)]
fn pipelined_rows<L: Lanes, K: RowKind, R: RowLayout>(
    l: L,
    mut rows: R,
    inv_t: Option<f32>,
    from_memory: bool,
) {
    let mut max = softmax_max(l, rows.row(0).input());
    // A row whose last pass is still to come: its index, max and `of_sum`.
    let mut pending: Option<(usize, f32, f32)> = None;
    for i in 0..rows.rows() {
        let (io, next) = rows.row_and_next(i);
        let (sum, next_max) = match next {
            Some(next) => {
                let mut along = NextMax::new(l, next);
                let sum = K::first(l, io, max, inv_t, &mut along, from_memory);
                (sum, along.finish(l))
            }
            // The last row: no max to take, none read after the loop.
            None => (K::first(l, io, max, inv_t, &mut (), from_memory), f32::NAN),
        };
        if let Some((j, m, v)) = pending {
            K::last(l, rows.row(j), m, v, inv_t, from_memory);
        }
        pending = Some((i, max, K::of_sum(sum)));
        max = next_max;
    }
    if let Some((j, m, v)) = pending {
        K::last(l, rows.row(j), m, v, inv_t, from_memory);
    }
}

/// `rows` for rows longer than a block whose output does not stream: in
/// groups (`GROUP_ELEMENTS`) or one at a time.
#[inline(always)]
fn long_rows<L: Lanes, K: RowKind>(
    l: L,
    mut rows: Rows<'_>,
    inv_t: Option<f32>,
    refs: &mut [f32],
    from_memory: bool,
) {
    let cols = rows.cols();
    if grouped(cols) {
        // Groups of rows: every row's read pass, then every row's last pass
        // (the rows' y still in L2), the segment maxima on the stack.
        let (group, per_row) = (GROUP_ELEMENTS / cols, refs_len(cols));
        let mut refs = [0.0f32; GROUP_REFS];
        let mut totals = [MaxSum::EMPTY; GROUP_ELEMENTS / ONE_READ_MIN];
        for start in (0..rows.rows()).step_by(group) {
            let n = group.min(rows.rows() - start);
            for (j, r) in refs.chunks_mut(per_row).take(n).enumerate() {
                let io = rows.row(start + j);
                totals[j] = K::long_read::<L, false, false>(l, io, inv_t, r, &mut [], None);
            }
            for (j, r) in refs.chunks(per_row).take(n).enumerate() {
                K::long_last::<L, false>(l, rows.row(start + j), totals[j], inv_t, r, &[]);
            }
        }
        return;
    }
    for i in 0..rows.rows() {
        whole_row::<L, K, false>(l, rows.row(i), inv_t, refs, from_memory);
    }
}

/// Rows of at least `ONE_READ_MIN` whose output streams (`Rows::streams`):
/// `y` written past the caches, 8 bytes an element moved instead of 12 (no
/// read of `y` for ownership; softmax's `exp` values wait in `exps`, in L2).
/// Each row's read pass also makes the last pass of the row before, a
/// segment at a time (`Trail`), then the last row's last pass. So the
/// streamed stores of one row go out while the next row's `exp` work runs,
/// instead of in a pass of their own with nothing to hide them behind; one
/// row's scratch serves both (each segment of `exps` and `refs` is read for
/// the row before just before the row overwrites it). The same values are
/// stored, so the same bits. Rows are not grouped (`GROUP_ELEMENTS`): the
/// overlap does what grouping did, keep the reads from memory back to back.
///
/// AVX2 on Zen 2 (2 cores, 512 KB L2, 16 MB L3), `softmax-bench --shapes
/// 256x32000,64x128256,4096x4096 --levels avx2 --out-of-place-only`, the
/// binaries before and after in turn, three pairs, time over the copy of
/// the same bytes in the same run, before -> after. One thread: softmax
/// 256 x 32000 1.20-1.27 -> 1.08-1.12, 64 x 128256 1.23-1.27 -> 1.16,
/// 4096 x 4096 1.32 -> 1.14-1.17; log-softmax 1.17-1.22 -> 1.04-1.09,
/// 1.18-1.22 -> 1.11, 1.22-1.23 -> 1.01-1.02. Two threads (with tasks of
/// many rows, `batch::rows_per_task`): softmax 1.11-1.15 -> 0.99-1.02,
/// 1.16 -> 1.03-1.05, 1.18-1.20 -> 0.96-0.98; log-softmax 1.03-1.12 ->
/// 0.94-0.97, 1.05-1.14 -> 0.98-1.01, 1.13-1.14 -> 0.91-0.92. A C model
/// with a buffer for each of two rows had predicted 8-12%, and 5% lost on
/// 128256-entry rows (1 MB of scratch, over L2): hence the one buffer.
#[inline(always)]
fn streamed_rows<L: Lanes, K: RowKind>(
    l: L,
    mut rows: Rows<'_>,
    inv_t: Option<f32>,
    refs: &mut [f32],
    exps: &mut [f32],
) {
    let mut total = K::long_read::<L, false, true>(l, rows.row(0), inv_t, refs, exps, None);
    for i in 1..rows.rows() {
        let (io, prev) = rows.row_and_previous(i);
        let behind = prev.map(|(x, y)| Behind { x, y, total });
        total = K::long_read::<L, false, true>(l, io, inv_t, refs, exps, behind);
    }
    let last = rows.rows() - 1;
    K::long_last::<L, true>(l, rows.row(last), total, inv_t, refs, exps);
}

/// The row before in `streamed_rows`: its input, its output (to be
/// written) and its max and sum.
pub(crate) struct Behind<'a> {
    x: &'a [f32],
    y: &'a mut [f32],
    total: MaxSum,
}

/// The streamed last pass of the row before, made by a row's read pass one
/// segment at a time, before each segment (`streamed_rows`): nothing
/// (`()`), softmax's `ScaleTrail` or log-softmax's `SubTrail`.
pub(crate) trait Trail<L: Lanes> {
    /// Writes the row before's outputs at the positions of the segment to
    /// come; `old` is what that segment's output holds before the row
    /// overwrites it (softmax: the row before's `exp` values), `factor` what
    /// `refs` holds for it (softmax: the row before's, from `to_factors`).
    fn segment(&mut self, l: L, old: &[f32], factor: f32);
}

impl<L: Lanes> Trail<L> for () {
    #[inline(always)]
    fn segment(&mut self, _: L, _: &[f32], _: f32) {}
}

/// Softmax: `y = old * factor`, streamed, for the rest of the row before.
struct ScaleTrail<'y> {
    y: &'y mut [f32],
}

impl<L: Lanes> Trail<L> for ScaleTrail<'_> {
    #[inline(always)]
    fn segment(&mut self, l: L, old: &[f32], factor: f32) {
        let (y, rest) = core::mem::take(&mut self.y).split_at_mut(old.len());
        self.y = rest;
        map_aligned(
            l,
            InOut::Split(old, y),
            &mut MulBy::<L, true>(l.splat(factor)),
        );
    }
}

/// Log-softmax: `y = (x - max) / t - log_sum`, streamed, from the row
/// before's `x`, as many values as `old` has.
struct SubTrail<'a, L: Lanes, S> {
    x: &'a [f32],
    y: &'a mut [f32],
    f: SubSub<L, S, true>,
}

impl<L: Lanes, S: Scale<L>> Trail<L> for SubTrail<'_, L, S> {
    #[inline(always)]
    fn segment(&mut self, l: L, old: &[f32], _: f32) {
        let n = old.len();
        let (x, x_rest) = self.x.split_at(n);
        let (y, y_rest) = core::mem::take(&mut self.y).split_at_mut(n);
        (self.x, self.y) = (x_rest, y_rest);
        map_aligned(l, InOut::Split(x, y), &mut self.f);
    }
}

/// Softmax of every row.
///
/// # Panics
/// If `refs` is shorter than `rows_refs_len(&r)` (before writing anything).
#[inline(always)]
pub(crate) fn softmax_rows<L: Lanes>(l: L, r: Rows<'_>, inv_t: Option<f32>, refs: &mut [f32]) {
    let (n, e) = rows_scratch(&r);
    assert!(refs.len() >= n + e, "softmax_rows: refs too short");
    let (refs, exps) = refs.split_at_mut(n);
    rows::<L, SoftmaxRow>(l, r, inv_t, refs, exps);
}

/// Log-softmax of every row.
#[inline(always)]
pub(crate) fn log_softmax_rows<L: Lanes>(l: L, r: Rows<'_>, inv_t: Option<f32>) {
    rows::<L, LogSoftmaxRow>(l, r, inv_t, &mut [], &mut []);
}

/// `out[i] = argmax(row i)` for the `out.len()` rows of `cols` at `stride`.
/// From memory (`FROM_MEMORY_MIN`), the max pass prefetches the rows ahead on
/// the levels that ask for it (`Lanes::PREFETCH_SHORT_ROWS`), as softmax's
/// `exp` pass does for short rows: the second pass, which finds the index in a
/// block in L1, left the hardware prefetcher behind (0.74-0.84 of a plain
/// per-row `max` over the same bytes for rows of 128-2048, 0.95 at 32000). AVX2
/// (Zen 2), in one process, the same rows in calls of at least and of under
/// 2^15 elements, 5-14 sets of the matrix in turn (96 MB or more, so each call
/// reads from memory), median of 9, el/ns with / without: one thread 16384 x
/// 128 1.55, 4096 x 512 1.24, 1024 x 2048 1.25, 512 x 4096 1.12, 1024 x 8192
/// 1.08-1.09, 512 x 16384 1.08, 256 x 32000 0.97-1.01; two threads 1.42, 1.20,
/// 1.15, 1.09, 1.06-1.07, 1.02-1.04, 0.96-1.01. In cache, one set, median of
/// 31: 2^15 elements (256 x 128, 64 x 512, 16 x 2048) 0.95-1.05, 2^17 (1024 x
/// 128, 256 x 512) 0.98-1.05. At AVX-512 (Zen 4) it does not prefetch, at any
/// row length: with the prefetch for rows above a block (as
/// `prefetch_rows_ahead` has for softmax, 2048 ahead), a throwaway program over
/// 96 MB or more of the matrix in turn, two builds in turn, 7 rounds, avx512
/// time over avx2 time, median, without -> with, one and two threads: 1024 x
/// 2048 0.81 -> 1.03 and 0.89 -> 1.19, 512 x 4096 0.88 -> 1.02 and 0.99 ->
/// 1.24, 256 x 32000 1.00 -> 1.12 and 0.98 -> 1.10 (rows of a block or less,
/// the same code in both, moved by up to 0.2: noisy).
#[inline(always)]
pub(crate) fn argmax_rows<L: Lanes>(
    l: L,
    x: &[f32],
    cols: usize,
    stride: usize,
    out: &mut [usize],
) {
    // Two instances, so that the loop in cache tests no distance. Rows of
    // any length as short rows (`Lanes::PREFETCH_SHORT_ROWS`), see above.
    if out.len() * cols >= FROM_MEMORY_MIN && L::PREFETCH_SHORT_ROWS {
        argmax_each_row(l, x, cols, stride, out, L::PREFETCH_AHEAD);
    } else {
        argmax_each_row(l, x, cols, stride, out, 0);
    }
}

/// `argmax_rows`, prefetching `ahead` elements ahead.
#[inline(always)]
fn argmax_each_row<L: Lanes>(
    l: L,
    x: &[f32],
    cols: usize,
    stride: usize,
    out: &mut [usize],
    ahead: usize,
) {
    for (i, o) in out.iter_mut().enumerate() {
        *o = argmax_ahead(l, &x[i * stride..i * stride + cols], ahead).unwrap_or(0);
    }
}

#[cfg(test)]
mod tests {
    use super::{exp_f64_nonpositive, log_of_sum};

    /// Within one f32 ulp of the f64 `ln` (0.75 at most, measured) over
    /// the sums log-softmax forms (1 to 2^20) and over random positive
    /// doubles; `f64::ln`'s results outside the positive normals.
    #[test]
    fn log_of_sum_is_within_an_ulp_of_ln() {
        let ulp = |v: f32| f64::from(f32::from_bits(v.abs().to_bits() + 1) - v.abs());
        let mut worst = 0.0f64;
        let mut check = |x: f64| {
            let (got, want) = (log_of_sum(x), x.ln());
            if want == 0.0 {
                assert_eq!(got.to_bits(), 0, "ln({x}) = {got}");
            } else {
                worst = worst.max((f64::from(got) - want).abs() / ulp(want as f32));
            }
        };
        let mut s = 0x9E37_79B9_7F4A_7C15u64;
        for i in 0..2_000_000u64 {
            s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            check(1.0 + (i as f64) * 0.5242877);
            check(f64::from_bits((s >> 2) | 1 << 52));
        }
        for x in [
            1.0,
            2.0,
            0.5,
            core::f64::consts::E,
            1e300,
            f64::MIN_POSITIVE,
            f64::MAX,
        ] {
            check(x);
        }
        assert!(worst < 1.0, "worst error {worst} ulp");
        for x in [0.0, -0.0, -1.0, f64::INFINITY, f64::NEG_INFINITY, 1e-310] {
            assert_eq!(
                log_of_sum(x).to_bits(),
                (x.ln() as f32).to_bits(),
                "ln({x})"
            );
        }
        assert!(log_of_sum(f64::NAN).is_nan());
    }

    /// Against libm's `exp` across the whole range it serves, and the edges.
    #[test]
    fn exp_f64_nonpositive_matches_libm() {
        let mut worst = 0.0f64;
        for i in 0..=700_000 {
            for d in [-(i as f64) * 1e-3, -(i as f64) * 1e-3 - 3.7e-4] {
                let (got, want) = (exp_f64_nonpositive(d), d.exp());
                worst = worst.max((got - want).abs() / want);
            }
        }
        assert!(worst < 2e-14, "worst relative error {worst:e}");
        assert_eq!(exp_f64_nonpositive(0.0), 1.0);
        assert_eq!(exp_f64_nonpositive(-0.0), 1.0);
        assert_eq!(exp_f64_nonpositive(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp_f64_nonpositive(-1e300), 0.0);
        assert!(exp_f64_nonpositive(f64::NAN).is_nan());
    }
}
