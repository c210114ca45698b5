//! Timing: warm-up, repeated runs, medians and quartiles; the copy of the
//! same bytes measured in the same run as the ceiling, in turn with the
//! kernels.

use std::hint::black_box;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use softmax_simd::{Batch, Isa, Kernels};

use crate::logits::{Output, logits};
use crate::report::Measurement;

/// The DESIGN.md workloads: four single rows, four matrices.
pub const WORKLOADS: [(usize, usize); 8] = [
    (1, 1024),
    (1, 32000),
    (1, 128256),
    (1, 1 << 20),
    (256, 32000),
    (64, 128256),
    (4096, 4096),
    (16384, 128),
];

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    Softmax,
    LogSoftmax,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Softmax => "softmax",
            Op::LogSoftmax => "log_softmax",
        }
    }
}

/// What to measure and for how long.
pub struct Plan {
    pub workloads: Vec<(usize, usize)>,
    pub isas: Vec<Isa>,
    pub ops: Vec<Op>,
    pub in_place: Vec<bool>,
    /// Thread counts with their labels (`1`, `all`).
    pub threads: Vec<(&'static str, usize)>,
    pub budget: Duration,
    pub min_runs: usize,
}

impl Plan {
    /// Timed measurements in this plan, copies included.
    pub fn count(&self) -> usize {
        let per_workload =
            self.threads.len() * (1 + self.isas.len() * self.ops.len() * self.in_place.len());
        self.workloads.len() * per_workload
    }
}

/// Times every variant of a group in turn, in `min_runs` rounds: per round
/// and variant, one untimed warm-up call (the caches and the pool's threads
/// as this variant leaves them, not as the one before left them), then timed
/// calls for `budget / min_runs` (at least one). Returns each variant's
/// sorted run times in ns. Round by round, so that a slow spell on a shared
/// machine slows the copy and the kernels alike, and the ratios hold.
fn time_in_turn(
    budget: Duration,
    min_runs: usize,
    variants: usize,
    mut f: impl FnMut(usize),
) -> Vec<Vec<f64>> {
    let rounds = min_runs.max(1);
    let slice = budget / rounds as u32;
    let cap = 100_000 / rounds;
    let mut runs = vec![Vec::new(); variants];
    for _ in 0..rounds {
        for (v, r) in runs.iter_mut().enumerate() {
            f(v);
            let start = Instant::now();
            for _ in 0..cap {
                let t = Instant::now();
                f(v);
                r.push(t.elapsed().as_secs_f64() * 1e9);
                if start.elapsed() >= slice {
                    break;
                }
            }
        }
    }
    for r in &mut runs {
        r.sort_by(f64::total_cmp);
    }
    runs
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i]
}

fn measurement(
    rows: usize,
    cols: usize,
    what: (&str, &str, &str),
    threads: (&str, usize),
    runs: &[f64],
) -> Measurement {
    let median = quantile(runs, 0.5);
    let n = (rows * cols) as f64;
    Measurement {
        rows,
        cols,
        op: what.0.into(),
        mode: what.1.into(),
        isa: what.2.into(),
        threads: threads.0.into(),
        thread_count: threads.1,
        runs: runs.len(),
        median_ns: median,
        min_ns: runs[0],
        p25_ns: quantile(runs, 0.25),
        p75_ns: quantile(runs, 0.75),
        elements_per_ns: n / median,
        gb_per_s: 8.0 * n / median,
        copy_fraction: None,
        speedup_vs_scalar: None,
    }
}

/// One timed thing in a group: the copy, or a level's op in one mode.
#[derive(Clone, Copy)]
enum Variant {
    Copy,
    Kernel(Kernels, Op, bool),
}

impl Variant {
    /// `(op, mode, isa)` as the report names them.
    fn names(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Variant::Copy => ("copy", "out_of_place", "copy"),
            Variant::Kernel(k, op, in_place) => (
                op.name(),
                if in_place { "in_place" } else { "out_of_place" },
                k.isa().name(),
            ),
        }
    }
}

/// Runs the plan: per workload and thread count, the copy and every level's
/// ops in turn (`time_in_turn`); `tick` is called after each measurement.
pub fn run(plan: &Plan, mut tick: impl FnMut(&Measurement)) -> Result<Vec<Measurement>, String> {
    let mut variants = vec![Variant::Copy];
    for &isa in &plan.isas {
        let k = Kernels::new(isa).map_err(|e| e.to_string())?;
        for &op in &plan.ops {
            for &in_place in &plan.in_place {
                variants.push(Variant::Kernel(k, op, in_place));
            }
        }
    }
    let mut out = Vec::new();
    for &(rows, cols) in &plan.workloads {
        let x = logits(rows * cols);
        let mut y_buf = Output::like(&x);
        let y = y_buf.get();
        let mut z = x.clone();
        let b = Batch::new(rows, cols);
        for &(label, count) in &plan.threads {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(count)
                .build()
                .map_err(|e| format!("cannot start {count} threads: {e}"))?;
            // The timing loop runs inside the pool: each call then runs on a
            // pool thread, as in an engine, not behind a cross-thread install.
            let runs = pool.install(|| {
                time_in_turn(plan.budget, plan.min_runs, variants.len(), |v| {
                    match variants[v] {
                        Variant::Copy => copy(black_box(&x), black_box(&mut *y)),
                        Variant::Kernel(k, op, in_place) => match (op, in_place) {
                            (Op::Softmax, false) => k.softmax_batch(&x, y, &b),
                            (Op::Softmax, true) => k.softmax_batch_in_place(&mut z, &b),
                            (Op::LogSoftmax, false) => k.log_softmax_batch(&x, y, &b),
                            (Op::LogSoftmax, true) => k.log_softmax_batch_in_place(&mut z, &b),
                        }
                        .expect("shapes are valid by construction"),
                    }
                    black_box(&mut *y);
                    black_box(&mut z);
                })
            });
            for (v, runs) in variants.iter().zip(&runs) {
                let m = measurement(rows, cols, v.names(), (label, count), runs);
                tick(&m);
                out.push(m);
            }
        }
    }
    derive_ratios(&mut out);
    Ok(out)
}

/// A copy of `x` into `y` with the current pool's threads, in 64 KB
/// pieces: the ceiling `benches/rows.rs` uses. Pieces that size are copied
/// with plain stores (glibc streams only much larger copies past the cache),
/// as the kernels store, so both move 12 bytes per element out of place.
fn copy(x: &[f32], y: &mut [f32]) {
    y.par_chunks_mut(1 << 14)
        .zip(x.par_chunks(1 << 14))
        .for_each(|(y, x)| y.copy_from_slice(x));
}

/// Fills `copy_fraction` and `speedup_vs_scalar` from the same run.
pub fn derive_ratios(ms: &mut [Measurement]) {
    let lookup =
        |ms: &[Measurement], rows, cols, op: &str, mode: &str, isa: &str, threads: &str| {
            ms.iter()
                .find(|m| {
                    (m.rows, m.cols) == (rows, cols)
                        && m.op == op
                        && m.mode == mode
                        && m.isa == isa
                        && m.threads == threads
                })
                .map(|m| m.median_ns)
        };
    let snapshot = ms.to_vec();
    for m in ms.iter_mut().filter(|m| m.isa != "copy") {
        m.copy_fraction = lookup(
            &snapshot,
            m.rows,
            m.cols,
            "copy",
            "out_of_place",
            "copy",
            &m.threads,
        )
        .map(|c| c / m.median_ns);
        m.speedup_vs_scalar = lookup(
            &snapshot, m.rows, m.cols, &m.op, &m.mode, "scalar", &m.threads,
        )
        .map(|s| s / m.median_ns);
    }
}
