//! `Isa`: the levels by name, and the one place that detects the CPU.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};

use softmax_simd_kernels::Level;

use crate::Error;

/// An implementation level. Every level exists on every target as a name;
/// [`Isa::available`] says which of them this CPU runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    /// Plain loops, one lane; runs everywhere. Used only when asked for.
    Scalar,
    /// `wide` vectors for the target's baseline (SSE2 on x86-64, NEON on aarch64).
    Portable,
    /// AVX2 + FMA (x86-64-v3).
    Avx2,
    /// AVX-512 F/BW/CD/DQ/VL (x86-64-v4).
    Avx512,
    /// Advanced SIMD (aarch64).
    Neon,
}

/// The environment variable that lowers the detected level.
pub const ISA_ENV: &str = "SOFTMAX_SIMD_ISA";

impl Isa {
    /// Every level, best first.
    pub const ALL: [Isa; 5] = [
        Isa::Avx512,
        Isa::Avx2,
        Isa::Neon,
        Isa::Portable,
        Isa::Scalar,
    ];

    /// Lower-case name: `"scalar"`, `"portable"`, `"avx2"`, `"avx512"`, `"neon"`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Portable => "portable",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
            Isa::Neon => "neon",
        }
    }

    /// The level's implementation, if this CPU can run it. This is the only
    /// place that asks the CPU what it has (through pulp's tokens).
    pub(crate) fn level(self) -> Option<Level> {
        match self {
            Isa::Scalar => Some(Level::Scalar),
            Isa::Portable => Some(Level::Portable),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => Level::avx2(),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => Level::avx512(),
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => Level::neon(),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// True when this CPU can run the level.
    pub fn is_available(self) -> bool {
        self.level().is_some()
    }

    /// Every level this CPU runs, best first (always ends with `Portable`,
    /// `Scalar`).
    pub fn available() -> Vec<Isa> {
        Isa::ALL.into_iter().filter(|i| i.is_available()).collect()
    }

    /// The best level on this CPU, lowered by `SOFTMAX_SIMD_ISA` when that
    /// names another available level (it can never raise it). Detected once,
    /// then cached in an atomic.
    pub fn detect() -> Isa {
        static CACHE: AtomicU8 = AtomicU8::new(0);
        match CACHE.load(Ordering::Relaxed) {
            0 => {
                let isa = Isa::detect_uncached(std::env::var(ISA_ENV).ok().as_deref());
                CACHE.store(isa.index() + 1, Ordering::Relaxed);
                isa
            }
            i => Isa::ALL[usize::from(i - 1)],
        }
    }

    /// The level [`Isa::detect`] picks when `SOFTMAX_SIMD_ISA` is `env`.
    /// An unknown or unavailable name leaves the best level.
    pub fn detect_uncached(env: Option<&str>) -> Isa {
        let best = Isa::available()[0];
        match env.map(str::parse::<Isa>) {
            Some(Ok(asked)) if asked.is_available() => asked,
            _ => best,
        }
    }

    fn index(self) -> u8 {
        Isa::ALL.iter().position(|&i| i == self).unwrap_or(0) as u8
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Isa {
    type Err = Error;

    /// Parses a level's name, ignoring case and surrounding spaces.
    fn from_str(s: &str) -> Result<Self, Error> {
        let t = s.trim();
        Isa::ALL
            .into_iter()
            .find(|i| i.name().eq_ignore_ascii_case(t))
            .ok_or_else(|| Error::UnknownIsa(s.to_owned()))
    }
}
