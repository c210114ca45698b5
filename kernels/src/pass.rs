//! One pass over a row: blocks of vectors, a masked tail, and where the
//! results go (`InOut`).

use crate::lanes::Lanes;
use crate::row::ONE_READ_MIN;

/// Vectors per block. Sums are formed per block in f32 lanes and added up in
/// f64 across blocks, so no f32 accumulator ever adds more than
/// `BLOCK_VECTORS / 4` values (4 accumulators) or `BLOCK_VECTORS` (1).
pub(crate) const BLOCK_VECTORS: usize = 64;

/// Elements per block at level `L`: 64 (Scalar) to 1024 (Avx512).
#[inline(always)]
pub(crate) const fn block_len<L: Lanes>() -> usize {
    BLOCK_VECTORS * L::N
}

/// Where an element-wise pass reads and writes: from `x` into `y` (same
/// length), or in place.
#[derive(Debug)]
pub enum InOut<'a> {
    /// Read the first slice, write the second; they have the same length.
    Split(&'a [f32], &'a mut [f32]),
    /// Read and write the same slice.
    InPlace(&'a mut [f32]),
}

impl<'a> InOut<'a> {
    /// Pairs `x` and `y`.
    ///
    /// # Panics
    /// If their lengths differ (the safe API checks this first and returns an
    /// error instead).
    #[inline]
    pub fn split(x: &'a [f32], y: &'a mut [f32]) -> Self {
        assert_eq!(x.len(), y.len(), "x.len() != y.len()");
        InOut::Split(x, y)
    }

    /// The values read.
    #[inline(always)]
    pub fn input(&self) -> &[f32] {
        match self {
            InOut::Split(x, _) => x,
            InOut::InPlace(xy) => xy,
        }
    }

    /// Number of elements.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.input().len()
    }

    /// True when there are no elements.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values written.
    #[inline(always)]
    pub fn output(&mut self) -> &mut [f32] {
        match self {
            InOut::Split(_, y) => y,
            InOut::InPlace(xy) => xy,
        }
    }

    /// The values written, as they are now (before a pass writes them).
    #[inline(always)]
    pub(crate) fn written(&self) -> &[f32] {
        match self {
            InOut::Split(_, y) => y,
            InOut::InPlace(xy) => xy,
        }
    }

    /// The first `mid` elements and the rest.
    ///
    /// # Panics
    /// If `mid > self.len()`.
    #[inline(always)]
    pub fn split_at(self, mid: usize) -> (InOut<'a>, InOut<'a>) {
        match self {
            InOut::Split(x, y) => {
                let (x0, x1) = x.split_at(mid);
                let (y0, y1) = y.split_at_mut(mid);
                (InOut::Split(x0, y0), InOut::Split(x1, y1))
            }
            InOut::InPlace(xy) => {
                let (a, b) = xy.split_at_mut(mid);
                (InOut::InPlace(a), InOut::InPlace(b))
            }
        }
    }

    /// The same slices for a shorter borrow.
    #[inline(always)]
    pub fn reborrow(&mut self) -> InOut<'_> {
        match self {
            InOut::Split(x, y) => InOut::Split(x, y),
            InOut::InPlace(xy) => InOut::InPlace(xy),
        }
    }
}

/// `rows` rows of `cols` values: input row `i` starts at `i * x_stride`,
/// output row `i` at `i * y_stride` (in place: one buffer, one stride).
#[derive(Debug)]
pub struct Rows<'a> {
    io: InOut<'a>,
    rows: usize,
    cols: usize,
    x_stride: usize,
    y_stride: usize,
    stream: bool,
}

/// A row's input and output, out of place.
pub(crate) type SplitRow<'a> = (&'a [f32], &'a mut [f32]);

/// Whether rows of `cols` write their output past the caches: when asked
/// (`Rows::stream_output`), out of place, and only rows of at least
/// `ONE_READ_MIN` (a shorter row's passes stay in cache). The one place
/// this rule is written: the kernels and the batch driver both ask it.
#[inline]
pub fn output_streams(asked: bool, io: &InOut<'_>, cols: usize) -> bool {
    asked && matches!(io, InOut::Split(..)) && cols >= ONE_READ_MIN
}

/// Elements a buffer needs for `rows` rows of `cols` at `stride`: the last
/// row needs no padding. Saturates at `usize::MAX` (no slice is that long),
/// so a size that overflows reads as too long, never as small.
#[inline]
pub fn rows_len(rows: usize, cols: usize, stride: usize) -> usize {
    match rows {
        0 => 0,
        r => (r - 1).saturating_mul(stride).saturating_add(cols),
    }
}

impl<'a> Rows<'a> {
    /// The rows of `io`. In place, `y_stride` must equal `x_stride`.
    ///
    /// # Panics
    /// If a stride is shorter than `cols`, a slice is shorter than
    /// [`rows_len`], or in place with two strides. (The safe API checks all
    /// of this first and returns an error instead.)
    pub fn new(io: InOut<'a>, rows: usize, cols: usize, x_stride: usize, y_stride: usize) -> Self {
        assert!(x_stride >= cols && y_stride >= cols, "stride < cols");
        assert!(
            io.input().len() >= rows_len(rows, cols, x_stride),
            "x too short"
        );
        match &io {
            InOut::Split(_, y) => assert!(y.len() >= rows_len(rows, cols, y_stride), "y too short"),
            InOut::InPlace(_) => assert_eq!(x_stride, y_stride, "in place needs one stride"),
        }
        Rows {
            io,
            rows,
            cols,
            x_stride,
            y_stride,
            stream: false,
        }
    }

    /// Out of place, whether long rows (at least `ONE_READ_MIN`) write
    /// their output past the caches (non-temporal stores), on the levels
    /// that can (Avx2, Avx512): for an output too large to stay in cache,
    /// it then is not read before it is written. The bits do not change.
    /// Off by default. Each such row then makes the last pass of the row
    /// before during its read pass; softmax needs more scratch
    /// (`rows_refs_len`).
    #[inline]
    pub fn stream_output(mut self, on: bool) -> Self {
        self.stream = on;
        self
    }

    /// Whether these rows write their output past the caches
    /// (`output_streams`).
    #[inline(always)]
    pub(crate) fn streams(&self) -> bool {
        output_streams(self.stream, &self.io, self.cols)
    }

    /// Number of rows.
    #[inline(always)]
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Values per row.
    #[inline(always)]
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// These rows as their layout, for a loop instantiated per layout
    /// (`RowLayout`).
    #[inline(always)]
    pub(crate) fn layout(self) -> Layout<'a> {
        let (rows, cols) = (self.rows, self.cols);
        match self.io {
            InOut::Split(x, y) => Layout::Split(SplitRows {
                x,
                y,
                rows,
                cols,
                x_stride: self.x_stride,
                y_stride: self.y_stride,
            }),
            InOut::InPlace(xy) => Layout::InPlace(InPlaceRows {
                xy,
                rows,
                cols,
                stride: self.x_stride,
            }),
        }
    }

    /// Row `i` (`1 <= i < rows`) and, out of place, row `i - 1`'s input
    /// and output.
    #[inline(always)]
    pub(crate) fn row_and_previous(&mut self, i: usize) -> (InOut<'_>, Option<SplitRow<'_>>) {
        let (xs, ys, n) = (i * self.x_stride, i * self.y_stride, self.cols);
        match &mut self.io {
            InOut::Split(x, y) => {
                let (before, this) = y.split_at_mut(ys);
                let prev = (
                    &x[xs - self.x_stride..][..n],
                    &mut before[ys - self.y_stride..][..n],
                );
                (InOut::Split(&x[xs..xs + n], &mut this[..n]), Some(prev))
            }
            InOut::InPlace(xy) => (InOut::InPlace(&mut xy[xs..xs + n]), None),
        }
    }

    /// Row `i` (< `rows`).
    #[inline(always)]
    pub fn row(&mut self, i: usize) -> InOut<'_> {
        let (xs, ys, n) = (i * self.x_stride, i * self.y_stride, self.cols);
        match &mut self.io {
            InOut::Split(x, y) => InOut::Split(&x[xs..xs + n], &mut y[ys..ys + n]),
            InOut::InPlace(xy) => InOut::InPlace(&mut xy[xs..xs + n]),
        }
    }
}

/// `Rows` out of place or in place (`Rows::layout`).
pub(crate) enum Layout<'a> {
    Split(SplitRows<'a>),
    InPlace(InPlaceRows<'a>),
}

/// Rows of one layout, so that a loop over rows written over this trait is
/// instantiated once per layout: no row then matches on `InOut`, and the
/// passes each row calls are given one `InOut` variant, so that only its
/// code is in the loop. The software-pipelined short rows (`row::rows`)
/// matched per row before. AVX2 (Zen 2), one thread, in cache, the kernels
/// before and after in turn, median of 11, el/ns after / before, two runs:
/// softmax 64 x 128 1.12-1.13, 32 x 256 1.04-1.05, 16 x 512 1.03, 128 x 100
/// 1.17-1.19; log-softmax 1.01-1.03, 16 x 512 0.98-1.00. `softmax-bench`,
/// the binaries before and after in turn (ten pairs over three commands),
/// 16384 x 128 with 2 threads: softmax 1.04-1.10, log-softmax 1.04-1.08 (one
/// thread 1.04-1.10); 8192 x 250 1.02-1.07; in place 1.00-1.08; 4096 x 512
/// and the long rows, whose loops did not change, within the noise
/// (0.92-1.07).
/// The Portable level lost 2-3% on rows of 128 and 250 (two pairs, 0.97-0.99,
/// 1 and 2 threads); Scalar did not move (1.00-1.01).
pub(crate) trait RowLayout {
    /// Number of rows.
    fn rows(&self) -> usize;
    /// Row `i` (< `rows`), and the input of row `i + 1` when there is one.
    fn row_and_next(&mut self, i: usize) -> (InOut<'_>, Option<&[f32]>);
    /// Row `i` (< `rows`).
    fn row(&mut self, i: usize) -> InOut<'_>;
}

/// Rows read from `x` and written to `y`.
pub(crate) struct SplitRows<'a> {
    x: &'a [f32],
    y: &'a mut [f32],
    rows: usize,
    cols: usize,
    x_stride: usize,
    y_stride: usize,
}

impl RowLayout for SplitRows<'_> {
    #[inline(always)]
    fn rows(&self) -> usize {
        self.rows
    }
    #[inline(always)]
    fn row_and_next(&mut self, i: usize) -> (InOut<'_>, Option<&[f32]>) {
        let (xs, ys, n) = (i * self.x_stride, i * self.y_stride, self.cols);
        let next = (i + 1 < self.rows).then(|| &self.x[xs + self.x_stride..][..n]);
        (
            InOut::Split(&self.x[xs..xs + n], &mut self.y[ys..ys + n]),
            next,
        )
    }
    #[inline(always)]
    fn row(&mut self, i: usize) -> InOut<'_> {
        let (xs, ys, n) = (i * self.x_stride, i * self.y_stride, self.cols);
        InOut::Split(&self.x[xs..xs + n], &mut self.y[ys..ys + n])
    }
}

/// Rows rewritten in place.
pub(crate) struct InPlaceRows<'a> {
    xy: &'a mut [f32],
    rows: usize,
    cols: usize,
    stride: usize,
}

impl RowLayout for InPlaceRows<'_> {
    #[inline(always)]
    fn rows(&self) -> usize {
        self.rows
    }
    #[inline(always)]
    fn row_and_next(&mut self, i: usize) -> (InOut<'_>, Option<&[f32]>) {
        let (xs, n) = (i * self.stride, self.cols);
        let next = xs + self.stride;
        let (this, rest) = self.xy.split_at_mut(next.min(self.xy.len()));
        let rest: &[f32] = rest;
        let next = (i + 1 < self.rows).then(|| &rest[..n]);
        (InOut::InPlace(&mut this[xs..xs + n]), next)
    }
    #[inline(always)]
    fn row(&mut self, i: usize) -> InOut<'_> {
        let (xs, n) = (i * self.stride, self.cols);
        InOut::InPlace(&mut self.xy[xs..xs + n])
    }
}

/// How many elements of `s` come before its first vector-aligned element
/// (at most `s.len()`). Passes whose result cannot depend on how elements
/// are grouped (max, and element-wise maps without a sum) start there: no
/// vector load or store of the rest then splits a cache line (AVX-512 on
/// Zen 4, N=32000: 26.0 vs 21.9 el/ns for max, 64-byte aligned vs 16).
/// Passes that sum must not: the lanes would group different elements.
#[inline(always)]
pub(crate) fn head_to_aligned<L: Lanes>(s: &[f32]) -> usize {
    let lane = (s.as_ptr() as usize / core::mem::size_of::<f32>()) % L::N;
    ((L::N - lane) % L::N).min(s.len())
}

/// `map` for element-wise functions without per-block state, from the
/// output's first vector-aligned element (the head as one masked vector).
/// A row of at most `L::MAP_UNALIGNED_MAX` elements starts at its first
/// element instead: in cache, its split lines cost less than a masked head.
#[inline(always)]
pub(crate) fn map_aligned<L: Lanes, F: Map<L>>(l: L, mut io: InOut<'_>, f: &mut F) {
    if io.len() <= L::MAP_UNALIGNED_MAX {
        map(l, &mut io, f);
        return;
    }
    let h = head_to_aligned::<L>(io.output());
    let (mut head, mut rest) = io.split_at(h);
    map(l, &mut head, f);
    map(l, &mut rest, f);
}

/// An element-wise function, with a hook at the end of every block.
pub(crate) trait Map<L: Lanes> {
    /// What the unused lanes of the tail vector hold.
    const FILL: f32 = 0.0;
    /// Whether `map` writes the whole vectors with `Lanes::store_stream`
    /// out of place. `map` does not fence: the call that streams ends with
    /// one `Lanes::stream_fence` (`row::rows`), however many rows and
    /// `map` calls it makes.
    const STREAM: bool = false;
    fn apply(&mut self, l: L, x: L::V) -> L::V;
    /// `apply` on four consecutive vectors, in order. The maps that take
    /// `exp` do the four step by step instead (`exp::exp_nonpositive_n`),
    /// with the same bits. AVX2 on Zen 3, one row in cache, old and new
    /// kernels in one process, median of 41-51 rounds, new / old over
    /// three runs: softmax 4096 0.88-0.94, 32000 0.92-1.02, 128256
    /// 0.93-1.03; log-softmax 4096 0.85-0.93, 32000 0.93-0.99, 128256
    /// 0.94-0.99. Four calls in a row instead (one run): 0.93-1.05.
    /// Matrices from memory did not change (0.94-1.03).
    #[inline(always)]
    fn apply4(&mut self, l: L, x: [L::V; 4]) -> [L::V; 4] {
        let mut y = x;
        for k in 0..4 {
            y[k] = self.apply(l, x[k]);
        }
        y
    }
    #[inline(always)]
    fn end_block(&mut self, _l: L) {}
    /// Elements ahead of each group of four vectors to prefetch (one
    /// `prefetch` per 64-byte line of the group); 0 for none.
    #[inline(always)]
    fn prefetch_ahead(&self) -> usize {
        0
    }
}

/// The four vectors of `q` (`4 * L::N` values).
#[inline(always)]
fn load4<L: Lanes>(l: L, q: &[f32]) -> [L::V; 4] {
    let (q01, q23) = q.split_at(2 * L::N);
    let (q0, q1) = q01.split_at(L::N);
    let (q2, q3) = q23.split_at(L::N);
    [l.load(q0), l.load(q1), l.load(q2), l.load(q3)]
}

/// Writes one vector to `q`, past the caches when `stream`
/// (`Lanes::store_stream`).
#[inline(always)]
fn store1<L: Lanes>(l: L, q: &mut [f32], v: L::V, stream: bool) {
    if stream {
        l.store_stream(q, v);
    } else {
        l.store(q, v);
    }
}

/// Writes four vectors to `q` (`4 * L::N` values), as `store1`.
#[inline(always)]
fn store4<L: Lanes>(l: L, q: &mut [f32], v: [L::V; 4], stream: bool) {
    let (q01, q23) = q.split_at_mut(2 * L::N);
    let (q0, q1) = q01.split_at_mut(L::N);
    let (q2, q3) = q23.split_at_mut(L::N);
    store1(l, q0, v[0], stream);
    store1(l, q1, v[1], stream);
    store1(l, q2, v[2], stream);
    store1(l, q3, v[3], stream);
}

/// Prefetches the lines `ahead` elements past the group of four vectors
/// `q` (one `prefetch` per 64-byte line); nothing when `ahead` is 0.
#[inline(always)]
pub(crate) fn prefetch4<L: Lanes>(l: L, q: &[f32], ahead: usize) {
    if ahead > 0 {
        // 16 floats a line. `wrapping_add`: the address may lie past the
        // slice (a prefetch reads nothing).
        for line in (0..4 * L::N).step_by(16) {
            l.prefetch(q.as_ptr().wrapping_add(ahead + line));
        }
    }
}

/// `y = f(x)` on one block whose length is a multiple of `L::N`, four
/// vectors at a time (`apply4`), then one at a time. (Two iterators walked
/// by hand: a `zip` of them was left out of line.)
#[inline(always)]
fn map_vectors<L: Lanes, F: Map<L>>(l: L, x: &[f32], y: &mut [f32], f: &mut F) {
    let mut xq = x.chunks_exact(4 * L::N);
    let mut yq = y.chunks_exact_mut(4 * L::N);
    let ahead = f.prefetch_ahead();
    while let (Some(xv), Some(yv)) = (xq.next(), yq.next()) {
        prefetch4(l, xv, ahead);
        store4(l, yv, f.apply4(l, load4(l, xv)), F::STREAM);
    }
    let mut xs = xq.remainder().chunks_exact(L::N);
    let mut ys = yq.into_remainder().chunks_exact_mut(L::N);
    while let (Some(xv), Some(yv)) = (xs.next(), ys.next()) {
        store1(l, yv, f.apply(l, l.load(xv)), F::STREAM);
    }
}

/// `y = f(x)` block by block, then `f.end_block()` after each block.
#[inline(always)]
pub(crate) fn map<L: Lanes, F: Map<L>>(l: L, io: &mut InOut<'_>, f: &mut F) {
    let b = block_len::<L>();
    match io {
        InOut::Split(x, y) => {
            // Offsets, not `x.chunks(b).zip(y.chunks_mut(b))`: that zip was
            // left out of line, and each call divided twice and made the
            // caller save its vector registers (one call per row).
            let n = x.len().min(y.len());
            let mut done = 0;
            while done < n {
                let len = b.min(n - done);
                let (xb, yb) = (&x[done..done + len], &mut y[done..done + len]);
                done += len;
                let whole = len - len % L::N;
                let (xv, xt) = xb.split_at(whole);
                let (yv, yt) = yb.split_at_mut(whole);
                map_vectors(l, xv, yv, f);
                if !xt.is_empty() {
                    l.store_tail(yt, f.apply(l, l.load_tail(xt, F::FILL)));
                }
                f.end_block(l);
            }
        }
        InOut::InPlace(xy) => {
            let ahead = f.prefetch_ahead();
            for blk in xy.chunks_mut(b) {
                let mut qs = blk.chunks_exact_mut(4 * L::N);
                for q in &mut qs {
                    prefetch4(l, q, ahead);
                    let r = f.apply4(l, load4(l, q));
                    store4(l, q, r, false);
                }
                let mut vs = qs.into_remainder().chunks_exact_mut(L::N);
                for v in &mut vs {
                    let r = f.apply(l, l.load(v));
                    l.store(v, r);
                }
                let t = vs.into_remainder();
                if !t.is_empty() {
                    let r = f.apply(l, l.load_tail(t, F::FILL));
                    l.store_tail(t, r);
                }
                f.end_block(l);
            }
        }
    }
}

/// A reduction: an accumulator and the step that folds one vector into it.
/// (A trait, not a closure: closures do not inherit the target features of
/// the function they are inlined into, and must never run as baseline code.)
pub(crate) trait Reduce<L: Lanes>: Copy {
    type Acc: Copy;
    /// What the unused lanes of the tail vector hold (the step's identity).
    const FILL: f32;
    fn init(self, l: L) -> Self::Acc;
    fn step(self, l: L, acc: Self::Acc, x: L::V) -> Self::Acc;
    /// `step` on four consecutive vectors, in order (see `Map::apply4`).
    #[inline(always)]
    fn step4(self, l: L, mut acc: Self::Acc, x: [L::V; 4]) -> Self::Acc {
        for v in x {
            acc = self.step(l, acc, v);
        }
        acc
    }
}

/// Folds every vector of `x` into one accumulator: for steps with enough work
/// of their own (an `exp`) that the add's latency is hidden, and where four
/// copies of the step would not fit the registers (AVX2 has 16).
#[inline(always)]
pub(crate) fn fold1<L: Lanes, R: Reduce<L>>(l: L, x: &[f32], r: R) -> R::Acc {
    fold1_along(l, x, r, (), 0).0
}

/// `fold1`, doing `along` once per vector and prefetching `ahead` elements
/// ahead (see `Map::prefetch_ahead`); returns `along` too.
#[inline(always)]
pub(crate) fn fold1_along<L: Lanes, R: Reduce<L>, A: PerVector<L>>(
    l: L,
    x: &[f32],
    r: R,
    mut along: A,
    ahead: usize,
) -> (R::Acc, A) {
    let mut acc = r.init(l);
    let mut qs = x.chunks_exact(4 * L::N);
    for q in &mut qs {
        prefetch4(l, q, ahead);
        acc = r.step4(l, acc, load4(l, q));
        for _ in 0..4 {
            along.vector(l);
        }
    }
    let mut vs = qs.remainder().chunks_exact(L::N);
    for v in &mut vs {
        acc = r.step(l, acc, l.load(v));
        along.vector(l);
    }
    let tail = vs.remainder();
    if !tail.is_empty() {
        acc = r.step(l, acc, l.load_tail(tail, R::FILL));
        along.vector(l);
    }
    (acc, along)
}

/// Work done once per vector alongside a pass: nothing, or the max of the
/// next segment (`row::NextSegmentMax`).
pub(crate) trait PerVector<L: Lanes> {
    fn vector(&mut self, l: L);
}

impl<L: Lanes> PerVector<L> for () {
    #[inline(always)]
    fn vector(&mut self, _: L) {}
}

/// Folds every vector of `x` into four independent accumulators, so that the
/// loop is bound by loads rather than by the latency of `step`.
#[inline(always)]
pub(crate) fn fold4<L: Lanes, R: Reduce<L>>(l: L, x: &[f32], r: R) -> [R::Acc; 4] {
    let mut acc = [r.init(l); 4];
    fold4_into(l, x, r, &mut acc, 0);
    acc
}

/// `fold4`, continuing from `acc`, prefetching `ahead` elements ahead (see
/// `Map::prefetch_ahead`).
#[inline(always)]
pub(crate) fn fold4_into<L: Lanes, R: Reduce<L>>(
    l: L,
    x: &[f32],
    r: R,
    acc: &mut [R::Acc; 4],
    ahead: usize,
) {
    let mut quads = x.chunks_exact(4 * L::N);
    for q in &mut quads {
        prefetch4(l, q, ahead);
        let (q0, rest) = q.split_at(L::N);
        let (q1, rest) = rest.split_at(L::N);
        let (q2, q3) = rest.split_at(L::N);
        acc[0] = r.step(l, acc[0], l.load(q0));
        acc[1] = r.step(l, acc[1], l.load(q1));
        acc[2] = r.step(l, acc[2], l.load(q2));
        acc[3] = r.step(l, acc[3], l.load(q3));
    }
    let mut singles = quads.remainder().chunks_exact(L::N);
    for (k, v) in (&mut singles).enumerate() {
        acc[k] = r.step(l, acc[k], l.load(v));
    }
    let tail = singles.remainder();
    if !tail.is_empty() {
        acc[3] = r.step(l, acc[3], l.load_tail(tail, R::FILL));
    }
}
