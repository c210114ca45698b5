//! Batches of rows: the `Batch` description, its checks, and the rayon
//! driver that groups rows into tasks or splits one huge row.

use rayon::iter::Either;
use rayon::prelude::*;
use softmax_simd_kernels::{
    CHUNK, InOut, Level, MaxSum, Rows, SEGMENT, log_of_sum, output_streams, rows_len,
};

use crate::Error;
use crate::scratch;

/// A matrix of `rows` rows of `cols` values, row-major: input row `i`
/// starts at `x[i * x_stride]`, output row `i` at `y[i * y_stride]`; and a
/// temperature `t` (softmax of `x / t`).
///
/// ```
/// use softmax_simd::{Batch, Kernels};
/// // 2 rows of 3 logits, each padded to 4; outputs packed.
/// let x = [1.0, 2.0, 3.0, f32::NAN, 0.0, 0.0, 0.0, f32::NAN];
/// let mut y = [0.0f32; 6];
/// let batch = Batch::new(2, 3).strides(4, 3).temperature(0.5);
/// Kernels::detect().softmax_batch(&x, &mut y, &batch).unwrap();
/// assert!((y[3] - 1.0 / 3.0).abs() < 1e-6);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Batch {
    rows: usize,
    cols: usize,
    x_stride: usize,
    y_stride: usize,
    temperature: f32,
}

impl Batch {
    /// `rows` contiguous rows of `cols` values, temperature 1.
    pub fn new(rows: usize, cols: usize) -> Self {
        Batch {
            rows,
            cols,
            x_stride: cols,
            y_stride: cols,
            temperature: 1.0,
        }
    }

    /// Input rows start `x_stride` values apart, output rows `y_stride`
    /// apart; each at least `cols`. In place, the two must be equal.
    pub fn strides(self, x_stride: usize, y_stride: usize) -> Self {
        Batch {
            x_stride,
            y_stride,
            ..self
        }
    }

    /// Softmax of `x / t`; `t` must be finite and positive. Fused into the
    /// kernels: no extra pass over memory. Argmax ignores it.
    pub fn temperature(self, t: f32) -> Self {
        Batch {
            temperature: t,
            ..self
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Values per row.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// `1 / t`, or `None` for `t = 1` (the exact path, bit for bit the one-row
    /// functions).
    fn inv_t(&self) -> Option<f32> {
        (self.temperature != 1.0).then(|| 1.0 / self.temperature)
    }

    /// Every check of a call: `y_len` is `None` in place and for argmax.
    fn check(&self, x_len: usize, y_len: Option<usize>, in_place: bool) -> Result<(), Error> {
        let t = self.temperature;
        if !(t.is_finite() && t > 0.0) {
            return Err(Error::BadTemperature(t));
        }
        if self.rows == 0 {
            return Ok(());
        }
        if self.cols == 0 {
            return Err(Error::ZeroCols { x_len });
        }
        for (name, stride) in [("x_stride", self.x_stride), ("y_stride", self.y_stride)] {
            if stride < self.cols {
                return Err(Error::StrideTooShort {
                    name,
                    stride,
                    cols: self.cols,
                });
            }
        }
        if in_place && self.x_stride != self.y_stride {
            return Err(Error::InPlaceStrides {
                x_stride: self.x_stride,
                y_stride: self.y_stride,
            });
        }
        let lens = [("x", x_len, self.x_stride)]
            .into_iter()
            .chain(y_len.map(|l| ("y", l, self.y_stride)));
        for (name, len, stride) in lens {
            // Saturating: a size that overflows is too long, not a wrap.
            let needed = rows_len(self.rows, self.cols, stride);
            if len < needed {
                return Err(Error::TooShort {
                    name,
                    len,
                    needed,
                    rows: self.rows,
                    cols: self.cols,
                    stride,
                });
            }
        }
        Ok(())
    }

    /// The contiguous batch `x.len() / cols` rows of `cols`, checking that
    /// `x.len()` is a multiple of `cols`.
    pub(crate) fn contiguous(x_len: usize, cols: usize) -> Result<Self, Error> {
        match cols {
            0 if x_len == 0 => Ok(Batch::new(0, 0)),
            0 => Err(Error::ZeroCols { x_len }),
            // One row: no division (a 64-bit divide is a tenth of the time
            // a 1024-entry row takes).
            c if c == x_len => Ok(Batch::new(1, c)),
            c if !x_len.is_multiple_of(c) => Err(Error::RaggedRows { x_len, cols }),
            c => Ok(Batch::new(x_len / c, c)),
        }
    }
}

/// Up to this many elements a batch runs on the calling thread when that
/// thread is one of a pool's workers: waking the others costs more than it
/// saves.
pub(crate) const SEQUENTIAL_MAX: usize = 1 << 15;

/// `SEQUENTIAL_MAX` for softmax and log-softmax called from a thread
/// outside any pool (the C ABI, a program's main thread). Such a call hands
/// its work to the pool and sleeps until a worker wakes it: 5-30 us more
/// than the same call on a worker (AVX-512, Zen 5 2-core KVM, global pool
/// of 2). Time from outside over the same call in a 1-thread pool (each a
/// median of 3 or 5 rounds), softmax / log-softmax: 2^17 elements (32 x
/// 4096, 128 x 1024, 1 x 2^17) 1.4-2.3 / 1.0-1.9 in three runs; 2^18 (64 x
/// 4096, 256 x 1024, 1024 x 256, 1 x 2^18) 0.7-1.5 / 0.7-1.6, median
/// 1.06 / 0.95, in five; 3 x 2^17 (96 x 4096, 384 x 1024, 1536 x 256,
/// 1 x 3 x 2^17) 0.7-1.3 / 0.6-1.2, median 0.86 / 0.83, in five; 2^19
/// (128 x 4096, 512 x 1024, 2048 x 256, 1 x 2^19) 0.6-1.1 / 0.7-1.0 and
/// 2^20 (256 x 4096, 1024 x 1024) 0.6-0.8 / 0.6-0.8 in three. Measured on 2
/// cores only; with more, going parallel pays sooner.
pub(crate) const OUTSIDE_SEQUENTIAL_MAX: usize = 1 << 18;

/// `OUTSIDE_SEQUENTIAL_MAX` for argmax, which reads 2-3 times as fast.
/// Measured as above, five runs at 2^19 elements (128 x 4096, 512 x 1024,
/// 2048 x 256) 0.7-1.4, three at 3 x 2^18 (192 x 4096, 768 x 1024, 3072 x
/// 256) 0.6-0.9 and 2^20 (256 x 4096, 1024 x 1024, 4096 x 256) 0.6-1.0.
pub(crate) const ARGMAX_OUTSIDE_SEQUENTIAL_MAX: usize = 1 << 19;

/// How many threads a batch of `elements` takes: 1 up to `SEQUENTIAL_MAX` on
/// a pool's worker and up to `outside_max` on any other thread, else the
/// current pool's. Small work first: `current_num_threads` outside a pool
/// starts the global one (threads and allocations) if nothing has yet.
fn threads_for(elements: usize, outside_max: usize) -> usize {
    let on_worker = rayon::current_thread_index().is_some();
    let max = if on_worker {
        SEQUENTIAL_MAX
    } else {
        outside_max
    };
    if elements <= max {
        1
    } else {
        rayon::current_num_threads()
    }
}

/// Each task gets at least this many elements (many small rows per task).
/// The kernels take a call this large to read from memory
/// (`FROM_MEMORY_MIN` in `softmax_simd_kernels`: the `exp` pass of short
/// rows prefetches the rows ahead, and log-softmax copies `x` into `y`).
pub(crate) const TASK_MIN: usize = 1 << 15;
/// A row at least this long is split across threads (at `CHUNK`
/// boundaries) when there are fewer rows than threads: 1.5 chunks. Measured
/// on 2 cores, one row, best of 300, 2 threads over 1: 65536 (one chunk)
/// 0.84-1.00x, 98304 1.48x, 131072 1.66-1.74x, 2^20 1.91x; so a 128256-entry
/// vocabulary row splits (on a pool's worker; from other threads only
/// above `OUTSIDE_SEQUENTIAL_MAX`).
pub(crate) const SPLIT_MIN: usize = 3 * CHUNK / 2;

/// From this many elements up, a log-softmax batch's long rows write their
/// output past the caches (`Rows::stream_output`; out of place, on Avx2
/// and Avx512; softmax from `SOFTMAX_STREAM_MIN`): 16 MB of output, more
/// than a core's share of any L3 this crate was measured on. A caller that reads `y` right after the call
/// then reads it from memory; at this size that still came out ahead on
/// Zen 3 (AVX2, public API, log-softmax then `Kernels::sum` of `y`, the
/// two in turn, median of 31, one run, time streamed / not, 2 and 1
/// threads: rows of 4096 0.97, 0.94; 8192 0.95, 0.94; 32000 0.93, 0.92).
/// Smaller calls, whose `y` a caller may find in cache: not measured.
pub(crate) const STREAM_MIN: usize = 1 << 22;

/// `STREAM_MIN` for softmax, whose `exp` values wait in L2 scratch between
/// its passes when it streams (`Rows::stream_output`): 24 MB of output.
/// Measured as above (softmax, then the read, just over the size against
/// just under it), 2 / 1 threads, streamed / not. At 2^22 it did not pay:
/// rows of 4096, kernel alone 1.04 / 0.85 and 1.03 / 1.06, with the read
/// 1.06 / 0.89 and 1.06 / 1.07 (two runs). At this size, about even, with
/// the read: 4096 1.02 / 1.01, 8192 1.02 / 1.02, 32000 1.02 / 0.97, where
/// the control (2048, never streams) read 1.11 / 1.03 (one run). At 2^23,
/// with the read: 4096 0.96 / 1.00 and 0.92 / 0.94; 8192 0.94 / 0.98 and
/// 0.91 / 0.97; 32000 1.01 / 0.95 and 0.98 / 0.93 (control 0.99-1.04).
/// So the issue's 256 x 32000 and 64 x 128256 (just under 2^23) stream.
pub(crate) const SOFTMAX_STREAM_MIN: usize = 6 << 20;

/// Rows per task: at least `TASK_MIN` elements (so that the kernels take a
/// task of a large matrix to read from memory), and about 4 tasks a
/// thread, whichever is fewer.
/// Rows that stream their output (`streams`) take 4 tasks a thread whatever
/// their length: each makes the last pass of the row before during its
/// read pass (`Rows::stream_output`), which gains only within a task. AVX2
/// (Zen 2), two threads, `softmax-bench`, time over the copy, tasks of one
/// row (as `TASK_MIN` made them for 32000 and 128256 entries) against 32
/// and 8: softmax 256 x 32000 1.13-1.16 -> 1.01-1.02, 64 x 128256
/// 1.11-1.15 -> 1.05-1.06 (three runs each).
fn rows_per_task(rows: usize, cols: usize, threads: usize, streams: bool) -> usize {
    let most = rows.div_ceil(4 * threads).max(1);
    if streams {
        most
    } else {
        // Rounded up: `TASK_MIN / cols` gave rows of 1000 tasks of 32000
        // elements, which the kernels then took to be in cache.
        TASK_MIN.div_ceil(cols).clamp(1, most)
    }
}

/// Softmax or log-softmax.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Op {
    Softmax,
    LogSoftmax,
}

/// The first `cols` values of `io`.
fn first_row(io: InOut<'_>, cols: usize) -> InOut<'_> {
    match io {
        InOut::Split(x, y) => InOut::Split(&x[..cols], &mut y[..cols]),
        InOut::InPlace(xy) => InOut::InPlace(&mut xy[..cols]),
    }
}

impl Op {
    fn row(self, level: Level, io: InOut<'_>, inv_t: Option<f32>) {
        match self {
            Op::Softmax => scratch::softmax(level, io, inv_t),
            Op::LogSoftmax => level.log_softmax(io, inv_t),
        }
    }

    /// From how many elements a batch streams its output (`STREAM_MIN`).
    fn stream_min(self) -> usize {
        match self {
            Op::Softmax => SOFTMAX_STREAM_MIN,
            Op::LogSoftmax => STREAM_MIN,
        }
    }

    fn rows(self, level: Level, rows: Rows<'_>, inv_t: Option<f32>) {
        match self {
            Op::Softmax => scratch::softmax_rows(level, rows, inv_t),
            Op::LogSoftmax => level.log_softmax_rows(rows, inv_t),
        }
    }
}

/// Runs `op` over the contiguous rows of `cols` in `io`. `Batch::contiguous`
/// (and, out of place, `y.len() == x.len()`) leaves `Batch::check` nothing
/// to find: temperature 1, both strides `cols`, `x` and `y` exactly `rows`
/// rows long. So it is not run. One row of 1024 through `softmax_rows`
/// (callgrind, AVX2, instructions a call, `softmax` 4000): 4223 -> 4094.
pub(crate) fn run_contiguous(
    level: Level,
    op: Op,
    io: InOut<'_>,
    cols: usize,
) -> Result<(), Error> {
    let b = Batch::contiguous(io.len(), cols)?;
    let y_len = match &io {
        InOut::Split(x, y) => {
            crate::kernels::same_len(x, y)?;
            Some(y.len())
        }
        InOut::InPlace(_) => None,
    };
    debug_assert_eq!(b.check(io.len(), y_len, y_len.is_none()), Ok(()));
    run(level, op, io, &b);
    Ok(())
}

/// Runs `op` over a checked batch, in the current rayon pool.
pub(crate) fn run(level: Level, op: Op, io: InOut<'_>, b: &Batch) {
    let (rows, cols) = (b.rows, b.cols);
    if rows == 0 || cols == 0 {
        return;
    }
    let inv_t = b.inv_t();
    let (xs, ys) = (b.x_stride, b.y_stride);
    // One row too short to split asks nothing of rayon: the batched API
    // then costs what the one-row function does.
    let threads = if rows == 1 && cols < SPLIT_MIN {
        1
    } else {
        threads_for(rows * cols, OUTSIDE_SEQUENTIAL_MAX)
    };
    let stream = rows * cols >= op.stream_min();
    if threads == 1 {
        if rows == 1 {
            // The one-row kernel, nothing else: the same loop.
            op.row(level, first_row(io, cols), inv_t);
        } else {
            let rows = Rows::new(io, rows, cols, xs, ys).stream_output(stream);
            op.rows(level, rows, inv_t);
        }
        return;
    }
    if cols >= SPLIT_MIN && rows < threads {
        let mut all = Rows::new(io, rows, cols, xs, ys);
        // One entry into the pool for both passes of every row: called from
        // outside the pool, each parallel call hands its work over and
        // sleeps until it is done. AVX-512 (Zen 5, 2 threads), one row
        // from outside, time over the row on 1 thread, three runs:
        // 128256 entries 2.0-3.8 -> 0.9-2.0, 524288 0.8-1.2 -> 0.6-0.9.
        rayon::scope(|_| {
            for i in 0..rows {
                split_row(level, op, all.row(i), inv_t);
            }
        });
    } else {
        let streams = output_streams(stream, &io, cols);
        let per_task = rows_per_task(rows, cols, threads, streams);
        let task = |g: usize, io: InOut<'_>| {
            let n = per_task.min(rows - g * per_task);
            let rows = Rows::new(io, n, cols, xs, ys).stream_output(stream);
            op.rows(level, rows, inv_t);
        };
        match io {
            InOut::Split(x, y) => {
                let x = &x[..rows_len(rows, cols, xs)];
                let y = &mut y[..rows_len(rows, cols, ys)];
                x.par_chunks(per_task * xs)
                    .zip(y.par_chunks_mut(per_task * ys))
                    .enumerate()
                    .for_each(|(g, (x, y))| task(g, InOut::Split(x, y)));
            }
            InOut::InPlace(xy) => {
                xy[..rows_len(rows, cols, xs)]
                    .par_chunks_mut(per_task * xs)
                    .enumerate()
                    .for_each(|(g, xy)| task(g, InOut::InPlace(xy)));
            }
        }
    }
}

/// The pieces of one row at multiples of `CHUNK`, in parallel.
fn pieces<'a>(io: InOut<'a>) -> impl IndexedParallelIterator<Item = InOut<'a>> {
    match io {
        InOut::Split(x, y) => Either::Left(
            x.par_chunks(CHUNK)
                .zip(y.par_chunks_mut(CHUNK))
                .map(|(x, y)| InOut::Split(x, y)),
        ),
        InOut::InPlace(xy) => Either::Right(xy.par_chunks_mut(CHUNK).map(InOut::InPlace)),
    }
}

/// One row across threads, in pieces of `CHUNK`, with the same bits as the
/// one-row kernel, which forms its max and sum per `CHUNK` and combines them
/// in the same order (`MaxSum::then`). Softmax: each piece's `exp` stored
/// and its max and sum, then the scale, the pieces' segment maxima in a
/// buffer between the two. Log-softmax: each piece's max and sum (and out of
/// place `y = x`), then the last pass on `y`.
fn split_row(level: Level, op: Op, mut io: InOut<'_>, inv_t: Option<f32>) {
    let combine = |parts: Vec<MaxSum>| {
        parts
            .into_iter()
            .fold(MaxSum::EMPTY, |a, p| a.then(p, inv_t))
    };
    match op {
        Op::Softmax => {
            let per_piece = CHUNK / SEGMENT;
            let mut refs = vec![0.0f32; io.len().div_ceil(CHUNK) * per_piece];
            let total = combine(
                pieces(io.reborrow())
                    .zip(refs.par_chunks_mut(per_piece))
                    .map(|(p, r)| level.softmax_piece(p, inv_t, r))
                    .collect(),
            );
            io.output()
                .par_chunks_mut(CHUNK)
                .zip(refs.par_chunks(per_piece))
                .for_each(|(y, r)| level.softmax_scale(y, r, total, inv_t));
        }
        Op::LogSoftmax => {
            // Out of place, pass 1 copies x into y; pass 2 works on y.
            let total = combine(
                pieces(io.reborrow())
                    .map(|p| level.max_exp_sum(p, inv_t))
                    .collect(),
            );
            let log_sum = log_of_sum(total.sum);
            io.output()
                .par_chunks_mut(CHUNK)
                .for_each(|y| level.sub_max_log_sum(InOut::InPlace(y), total.max, log_sum, inv_t));
        }
    }
}

/// `out[i] = argmax(row i)`, rows grouped into tasks like `run`.
pub(crate) fn argmax(level: Level, x: &[f32], b: &Batch, out: &mut [usize]) {
    let (rows, cols, xs) = (b.rows, b.cols, b.x_stride);
    if rows == 0 {
        return;
    }
    let threads = if rows == 1 {
        1
    } else {
        threads_for(rows * cols, ARGMAX_OUTSIDE_SEQUENTIAL_MAX)
    };
    if threads == 1 {
        level.argmax_rows(x, cols, xs, out);
    } else {
        let per_task = rows_per_task(rows, cols, threads, false);
        x[..rows_len(rows, cols, xs)]
            .par_chunks(per_task * xs)
            .zip(out.par_chunks_mut(per_task))
            .for_each(|(x, out)| level.argmax_rows(x, cols, xs, out));
    }
}

/// Checks for the batched calls, shared by `Kernels`.
pub(crate) mod checks {
    use super::*;

    pub(crate) fn split(b: &Batch, x: &[f32], y: &[f32]) -> Result<(), Error> {
        b.check(x.len(), Some(y.len()), false)
    }

    pub(crate) fn in_place(b: &Batch, x: &[f32]) -> Result<(), Error> {
        b.check(x.len(), None, true)
    }

    pub(crate) fn argmax(b: &Batch, x: &[f32], out: &[usize]) -> Result<(), Error> {
        b.check(x.len(), None, false)?;
        if out.len() != b.rows {
            return Err(Error::RowCountMismatch {
                out_len: out.len(),
                rows: b.rows,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_have_task_min_elements_unless_that_leaves_under_4_a_thread() {
        for cols in [1, 100, 128, 1000, 3000, 4095, 32000] {
            for threads in [2, 3, 16] {
                let rows = 1 << 14;
                let n = rows_per_task(rows, cols, threads, false);
                let most = rows.div_ceil(4 * threads);
                assert!(n * cols >= TASK_MIN || n == most, "{cols} {threads}: {n}");
                assert!(n <= most, "{cols} {threads}: {n}");
                // No more rows than it takes to reach `TASK_MIN`.
                assert!((n - 1) * cols < TASK_MIN, "{cols} {threads}: {n}");
            }
        }
        // Streamed rows: 4 tasks a thread whatever their length.
        assert_eq!(rows_per_task(256, 32000, 2, true), 32);
    }
}
