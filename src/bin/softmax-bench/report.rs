//! The JSON report: what was measured, on what machine, with which build.

use serde::{Deserialize, Serialize};

/// Bumped when a field changes meaning. Reports of other schemas still
/// compare on the fields they share.
pub const SCHEMA: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Report {
    pub schema: u32,
    pub tool: String,
    pub crate_version: String,
    /// UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub date: String,
    pub cpu: Cpu,
    pub detected_isa: String,
    pub build: Build,
    pub settings: Settings,
    pub measurements: Vec<Measurement>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Cpu {
    pub model: String,
    pub flags: Vec<String>,
    pub logical_cpus: usize,
    pub physical_cores: Option<usize>,
    /// `/proc/cpuinfo`, `cpuid`, or `none`.
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Build {
    pub target: String,
    pub rustc: String,
    pub profile: String,
    pub target_features: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Settings {
    pub quick: bool,
    /// Threads of the "all" rows.
    pub threads_all: usize,
    /// Time spent timing each measurement, after warm-up: a workload's
    /// measurements at one thread count take turns, `min_runs` rounds of
    /// `budget_ms / min_runs` each.
    pub budget_ms: f64,
    pub min_runs: usize,
}

/// One timed workload. `isa` is `"copy"` for the ceiling: a copy of the same
/// bytes with the same threads.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(default)]
pub struct Measurement {
    pub rows: usize,
    pub cols: usize,
    /// `softmax`, `log_softmax` or `copy`.
    pub op: String,
    /// `out_of_place` or `in_place`.
    pub mode: String,
    pub isa: String,
    /// `1` or `all`.
    pub threads: String,
    pub thread_count: usize,
    pub runs: usize,
    pub median_ns: f64,
    pub min_ns: f64,
    pub p25_ns: f64,
    pub p75_ns: f64,
    pub elements_per_ns: f64,
    /// At 8 bytes per element (one f32 read, one written).
    pub gb_per_s: f64,
    /// The copy's median time over this one's: 1.0 is the memory ceiling.
    pub copy_fraction: Option<f64>,
    /// Scalar's median time over this one's.
    pub speedup_vs_scalar: Option<f64>,
}

impl Measurement {
    /// `256x32000`.
    pub fn shape(&self) -> String {
        format!("{}x{}", self.rows, self.cols)
    }

    /// What identifies the same measurement in two reports (machines with
    /// different core counts compare their `all` rows).
    pub fn key(&self) -> (usize, usize, String, String, String, String) {
        (
            self.rows,
            self.cols,
            self.op.clone(),
            self.mode.clone(),
            self.isa.clone(),
            self.threads.clone(),
        )
    }

    /// Interquartile range over the median, in percent.
    pub fn spread_pct(&self) -> f64 {
        if self.median_ns > 0.0 {
            100.0 * (self.p75_ns - self.p25_ns) / self.median_ns
        } else {
            0.0
        }
    }
}

/// Reads and parses a report; errors name the file and the problem.
pub fn load(path: &str) -> Result<Report, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{path} is not JSON: {e}"))?;
    if value.get("measurements").is_none() || value.get("tool").is_none() {
        return Err(format!(
            "{path} is not a softmax-bench report (no \"tool\" or \"measurements\")"
        ));
    }
    serde_json::from_value(value).map_err(|e| format!("{path} is a malformed report: {e}"))
}

/// Writes `report` as pretty JSON.
pub fn save(report: &Report, path: &str) -> Result<(), String> {
    let text = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
    std::fs::write(path, text + "\n").map_err(|e| format!("cannot write {path}: {e}"))
}

/// The CPU this runs on: `/proc/cpuinfo` where it exists, else `cpuid`.
pub fn cpu() -> Cpu {
    let logical_cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if let Ok(text) = std::fs::read_to_string("/proc/cpuinfo") {
        let field = |names: &[&str]| {
            text.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                names.contains(&k.trim()).then(|| v.trim().to_owned())
            })
        };
        let mut cores: Vec<(String, String)> = Vec::new();
        let mut phys = String::new();
        for l in text.lines() {
            if let Some((k, v)) = l.split_once(':') {
                match k.trim() {
                    "physical id" => phys = v.trim().to_owned(),
                    "core id" => cores.push((phys.clone(), v.trim().to_owned())),
                    _ => {}
                }
            }
        }
        cores.sort();
        cores.dedup();
        return Cpu {
            model: field(&["model name", "Model", "Hardware", "CPU part"]).unwrap_or_default(),
            flags: field(&["flags", "Features"])
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            logical_cpus,
            physical_cores: (!cores.is_empty()).then_some(cores.len()),
            source: "/proc/cpuinfo".into(),
        };
    }
    cpuid(logical_cpus)
}

#[cfg(target_arch = "x86_64")]
fn cpuid(logical_cpus: usize) -> Cpu {
    let id = raw_cpuid::CpuId::new();
    let model = id
        .get_processor_brand_string()
        .map(|b| b.as_str().trim().to_owned())
        .unwrap_or_default();
    let mut flags = Vec::new();
    if let Some(f) = id.get_feature_info() {
        for (on, name) in [
            (f.has_sse2(), "sse2"),
            (f.has_avx(), "avx"),
            (f.has_fma(), "fma"),
        ] {
            if on {
                flags.push(name.to_owned());
            }
        }
    }
    if let Some(f) = id.get_extended_feature_info() {
        for (on, name) in [
            (f.has_avx2(), "avx2"),
            (f.has_avx512f(), "avx512f"),
            (f.has_avx512bw(), "avx512bw"),
            (f.has_avx512cd(), "avx512cd"),
            (f.has_avx512dq(), "avx512dq"),
            (f.has_avx512vl(), "avx512vl"),
        ] {
            if on {
                flags.push(name.to_owned());
            }
        }
    }
    Cpu {
        model,
        flags,
        logical_cpus,
        physical_cores: None,
        source: "cpuid".into(),
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn cpuid(logical_cpus: usize) -> Cpu {
    Cpu {
        logical_cpus,
        source: "none".into(),
        ..Cpu::default()
    }
}

/// The build facts `build.rs` recorded.
pub fn build() -> Build {
    Build {
        target: env!("SOFTMAX_SIMD_TARGET").into(),
        rustc: env!("SOFTMAX_SIMD_RUSTC").into(),
        profile: env!("SOFTMAX_SIMD_PROFILE").into(),
        target_features: env!("SOFTMAX_SIMD_TARGET_FEATURES")
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    }
}

/// Now, UTC, as `YYYY-MM-DDTHH:MM:SSZ` (civil-from-days, Howard Hinnant's
/// algorithm; no calendar crate needed for one timestamp).
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}
