//! Shared by the integration tests: every available level, a seeded RNG, the
//! f64 oracle and the bounds of DESIGN.md.
#![allow(dead_code)]

use softmax_simd::{Isa, Kernels};

/// The kernels of every level this CPU runs.
pub fn levels() -> Vec<Kernels> {
    Isa::available()
        .into_iter()
        .map(|i| Kernels::new(i).unwrap())
        .collect()
}

/// True when the suite runs under emulation (set by .ci/run): the largest
/// cases are kept to a few.
pub fn emulated() -> bool {
    std::env::var_os("SOFTMAX_SIMD_EXPECT_ISA").is_some()
}

/// SplitMix64: seeded, so every failure reproduces.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        (lo as f64 + (hi as f64 - lo as f64) * self.unit()) as f32
    }
    /// `n` logits: standard-normal-like values times `scale`.
    pub fn logits(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n)
            .map(|_| {
                let s: f64 = (0..4).map(|_| self.unit()).sum::<f64>() - 2.0;
                (s * 1.7 * scale as f64) as f32
            })
            .collect()
    }
}

pub fn max_f64(x: &[f32]) -> f64 {
    x.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64))
}

/// The f64 softmax of the f32 inputs.
pub fn softmax_f64(x: &[f32]) -> Vec<f64> {
    softmax_f64_t(x, 1.0)
}

/// The f64 softmax of `x / t`.
pub fn softmax_f64_t(x: &[f32], t: f64) -> Vec<f64> {
    let m = max_f64(x);
    let e: Vec<f64> = x.iter().map(|&v| ((v as f64 - m) / t).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

/// The f64 log-softmax of the f32 inputs.
pub fn log_softmax_f64(x: &[f32]) -> Vec<f64> {
    log_softmax_f64_t(x, 1.0)
}

/// The f64 log-softmax of `x / t`.
pub fn log_softmax_f64_t(x: &[f32], t: f64) -> Vec<f64> {
    let m = max_f64(x);
    let s: f64 = x.iter().map(|&v| ((v as f64 - m) / t).exp()).sum();
    let ls = s.ln();
    x.iter().map(|&v| (v as f64 - m) / t - ls).collect()
}

/// How far `y` is from the softmax bound, as a fraction of it (<= 1 passes):
/// `|y - r| <= (2e-6 + |x - max| 2^-23) r + MIN_POSITIVE`.
pub fn softmax_excess(x: &[f32], y: &[f32]) -> f64 {
    softmax_excess_t(x, 1.0, y)
}

/// `softmax_excess` for the softmax of `x / t` (the inputs are `x / t`).
pub fn softmax_excess_t(x: &[f32], t: f64, y: &[f32]) -> f64 {
    let m = max_f64(x);
    let r = softmax_f64_t(x, t);
    x.iter()
        .zip(y)
        .zip(&r)
        .map(|((&xi, &yi), &ri)| {
            let spread = ((xi as f64 - m) / t).abs();
            let bound = (2e-6 + spread * 2f64.powi(-23)) * ri + f32::MIN_POSITIVE as f64;
            (yi as f64 - ri).abs() / bound
        })
        .fold(0.0, f64::max)
}

/// Worst relative error of softmax outputs whose true value is normal.
pub fn softmax_rel_error(x: &[f32], y: &[f32]) -> f64 {
    let r = softmax_f64(x);
    y.iter()
        .zip(&r)
        .filter(|(_, r)| **r >= f32::MIN_POSITIVE as f64)
        .map(|(&yi, &ri)| (yi as f64 - ri).abs() / ri)
        .fold(0.0, f64::max)
}

/// Worst `|y - r| / max(1, |r|)` of log-softmax (bound 2e-6).
pub fn log_softmax_error(x: &[f32], y: &[f32]) -> f64 {
    log_softmax_error_t(x, 1.0, y)
}

/// `log_softmax_error` for the log-softmax of `x / t`.
pub fn log_softmax_error_t(x: &[f32], t: f64, y: &[f32]) -> f64 {
    let r = log_softmax_f64_t(x, t);
    y.iter()
        .zip(&r)
        .map(|(&yi, &ri)| (yi as f64 - ri).abs() / ri.abs().max(1.0))
        .fold(0.0, f64::max)
}

/// Error of `y` in units in the last place of the f32 nearest `r` (for
/// normal `r`).
pub fn ulp_error(y: f32, r: f64) -> f64 {
    let e = r.abs().log2().floor() as i32;
    (y as f64 - r).abs() / 2f64.powi(e - 23)
}

/// Bits of a slice, for bit-for-bit comparisons that treat NaN as equal to
/// itself.
pub fn bits(x: &[f32]) -> Vec<u32> {
    x.iter().map(|v| v.to_bits()).collect()
}

/// Lengths around every vector width (1, 4, 8, 16), every block (64
/// vectors) and the chunk boundary, plus the sizes of DESIGN.md.
pub fn lengths() -> Vec<usize> {
    let mut n: Vec<usize> = (0..=70).collect();
    for w in [4usize, 8, 16] {
        for k in [1, 2, 3, 4, 5, 8, 16, 64] {
            n.extend([w * k - 1, w * k, w * k + 1]);
        }
    }
    for b in [64usize, 256, 512, 1024] {
        n.extend([b - 1, b, b + 1, 2 * b + 3]);
    }
    n.extend([1000, 32000, 65535, 65536, 65537, 128256]);
    n.sort_unstable();
    n.dedup();
    n
}
