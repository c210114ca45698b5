//! `Kernels`: a level, the shape checks, and the calls into the kernels crate.

use std::sync::OnceLock;

use softmax_simd_kernels::{InOut, Level};

use crate::scratch;

use crate::batch::{self, Batch, Op, checks};
use crate::{Error, Isa};

/// The operations at one level. A level and nothing to free: `Copy`, `Send`,
/// `Sync`. Build one with [`Kernels::new`] (a chosen level) or
/// [`Kernels::detect`] (the best level, cached).
#[derive(Clone, Copy, Debug)]
pub struct Kernels {
    isa: Isa,
    level: Level,
}

/// `Err` unless `y` has `x`'s length.
pub(crate) fn same_len(x: &[f32], y: &[f32]) -> Result<(), Error> {
    if x.len() == y.len() {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            x_len: x.len(),
            y_len: y.len(),
        })
    }
}

impl Kernels {
    /// The kernels of `isa`; `Err(Error::Unavailable)` if this CPU cannot run it.
    pub fn new(isa: Isa) -> Result<Self, Error> {
        let level = isa.level().ok_or(Error::Unavailable(isa))?;
        Ok(Kernels { isa, level })
    }

    /// The kernels of [`Isa::detect`], built once and cached.
    pub fn detect() -> Self {
        static DETECTED: OnceLock<Kernels> = OnceLock::new();
        *DETECTED.get_or_init(|| {
            Kernels::new(Isa::detect()).expect("Isa::detect returns an available level")
        })
    }

    /// The level these kernels run.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// `y = softmax(x)`: `exp(x - max) / sum(exp(x - max))`. Nothing is
    /// written for an empty row.
    pub fn softmax(&self, x: &[f32], y: &mut [f32]) -> Result<(), Error> {
        same_len(x, y)?;
        scratch::softmax(self.level, InOut::Split(x, y), None);
        Ok(())
    }

    /// Softmax of `x`, in place.
    pub fn softmax_in_place(&self, x: &mut [f32]) {
        scratch::softmax(self.level, InOut::InPlace(x), None);
    }

    /// `y = log_softmax(x)`: `(x - max) - ln(sum(exp(x - max)))`.
    pub fn log_softmax(&self, x: &[f32], y: &mut [f32]) -> Result<(), Error> {
        same_len(x, y)?;
        self.level.log_softmax(InOut::Split(x, y), None);
        Ok(())
    }

    /// Log-softmax of `x`, in place.
    pub fn log_softmax_in_place(&self, x: &mut [f32]) {
        self.level.log_softmax(InOut::InPlace(x), None);
    }

    /// Index of the first maximum, or of the first NaN (NumPy's rule);
    /// `None` when `x` is empty.
    pub fn argmax(&self, x: &[f32]) -> Option<usize> {
        self.level.argmax(x)
    }

    /// Largest value; NaN if any value is NaN; `-inf` when `x` is empty.
    pub fn max(&self, x: &[f32]) -> f32 {
        self.level.max(x)
    }

    /// Sum of `x`, relative error at most 1e-6 for non-negative values up to
    /// 4M entries; 0 when empty.
    pub fn sum(&self, x: &[f32]) -> f32 {
        self.level.sum(x)
    }

    /// `y = exp(x)`: at most 2 ulp where the result is normal; overflow is
    /// `+inf`, results below `f32::MIN_POSITIVE` may be 0.
    pub fn exp(&self, x: &[f32], y: &mut [f32]) -> Result<(), Error> {
        same_len(x, y)?;
        self.level.exp(InOut::Split(x, y));
        Ok(())
    }

    /// `exp` of `x`, in place.
    pub fn exp_in_place(&self, x: &mut [f32]) {
        self.level.exp(InOut::InPlace(x));
    }

    /// Softmax of every row of a row-major matrix of `cols` columns, rows in
    /// parallel (in the caller's rayon pool inside `ThreadPool::install`,
    /// else the global one). Each row's bits equal [`Kernels::softmax`]'s.
    pub fn softmax_rows(&self, x: &[f32], y: &mut [f32], cols: usize) -> Result<(), Error> {
        batch::run_contiguous(self.level, Op::Softmax, InOut::Split(x, y), cols)
    }

    /// [`Kernels::softmax_rows`] in place.
    pub fn softmax_rows_in_place(&self, x: &mut [f32], cols: usize) -> Result<(), Error> {
        batch::run_contiguous(self.level, Op::Softmax, InOut::InPlace(x), cols)
    }

    /// Log-softmax of every row, like [`Kernels::softmax_rows`].
    pub fn log_softmax_rows(&self, x: &[f32], y: &mut [f32], cols: usize) -> Result<(), Error> {
        batch::run_contiguous(self.level, Op::LogSoftmax, InOut::Split(x, y), cols)
    }

    /// [`Kernels::log_softmax_rows`] in place.
    pub fn log_softmax_rows_in_place(&self, x: &mut [f32], cols: usize) -> Result<(), Error> {
        batch::run_contiguous(self.level, Op::LogSoftmax, InOut::InPlace(x), cols)
    }

    /// `out[i]` = [`Kernels::argmax`] of row `i`; `out.len()` must be the
    /// number of rows, `x.len() / cols`.
    pub fn argmax_rows(&self, x: &[f32], cols: usize, out: &mut [usize]) -> Result<(), Error> {
        let b = Batch::contiguous(x.len(), cols)?;
        self.argmax_batch(x, &b, out)
    }

    /// Softmax of the rows a [`Batch`] describes (strides, temperature).
    pub fn softmax_batch(&self, x: &[f32], y: &mut [f32], b: &Batch) -> Result<(), Error> {
        checks::split(b, x, y)?;
        batch::run(self.level, Op::Softmax, InOut::Split(x, y), b);
        Ok(())
    }

    /// [`Kernels::softmax_batch`] in place (one stride: `x_stride == y_stride`).
    pub fn softmax_batch_in_place(&self, x: &mut [f32], b: &Batch) -> Result<(), Error> {
        checks::in_place(b, x)?;
        batch::run(self.level, Op::Softmax, InOut::InPlace(x), b);
        Ok(())
    }

    /// Log-softmax of the rows a [`Batch`] describes.
    pub fn log_softmax_batch(&self, x: &[f32], y: &mut [f32], b: &Batch) -> Result<(), Error> {
        checks::split(b, x, y)?;
        batch::run(self.level, Op::LogSoftmax, InOut::Split(x, y), b);
        Ok(())
    }

    /// [`Kernels::log_softmax_batch`] in place.
    pub fn log_softmax_batch_in_place(&self, x: &mut [f32], b: &Batch) -> Result<(), Error> {
        checks::in_place(b, x)?;
        batch::run(self.level, Op::LogSoftmax, InOut::InPlace(x), b);
        Ok(())
    }

    /// `out[i]` = argmax of row `i` of a [`Batch`] (`out.len() == rows`; the
    /// temperature and `y_stride` play no part).
    pub fn argmax_batch(&self, x: &[f32], b: &Batch, out: &mut [usize]) -> Result<(), Error> {
        checks::argmax(b, x, out)?;
        batch::argmax(self.level, x, b, out);
        Ok(())
    }
}
