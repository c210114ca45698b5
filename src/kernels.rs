//! `Kernels`: a level, the shape checks, and the calls into the kernels crate.

use std::sync::OnceLock;

use softmax_simd_kernels::{InOut, Level};

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
        self.level.softmax(InOut::Split(x, y));
        Ok(())
    }

    /// Softmax of `x`, in place.
    pub fn softmax_in_place(&self, x: &mut [f32]) {
        self.level.softmax(InOut::InPlace(x));
    }

    /// `y = log_softmax(x)`: `(x - max) - ln(sum(exp(x - max)))`.
    pub fn log_softmax(&self, x: &[f32], y: &mut [f32]) -> Result<(), Error> {
        same_len(x, y)?;
        self.level.log_softmax(InOut::Split(x, y));
        Ok(())
    }

    /// Log-softmax of `x`, in place.
    pub fn log_softmax_in_place(&self, x: &mut [f32]) {
        self.level.log_softmax(InOut::InPlace(x));
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
}
