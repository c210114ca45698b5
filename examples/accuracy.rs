//! The worst errors of every level on this CPU against an f64 oracle:
//! `exp` in ulp, softmax as a fraction of its bound and as a relative error,
//! log-softmax, and `sum`. The tests assert the bounds; this prints the
//! margins. `cargo run --release --example accuracy`
//!
//! Inputs: exp over 4M values spread over its whole range; softmax and
//! log-softmax over rows of 1000, 32000 and 2^20 logits at scales 0.1 to
//! 1000; sum over 2^20 and 2^22 non-negative values.

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;

fn main() {
    let mut rng = Rng::new(99);
    let mut xs: Vec<f32> = (0..1 << 21).map(|_| rng.range(-87.3, 88.7)).collect();
    let (lo, hi) = (1e-30f32.to_bits(), 88.7f32.to_bits());
    xs.extend((0..1 << 21).map(|_| {
        let b = lo + (rng.next_u64() % u64::from(hi - lo)) as u32;
        f32::from_bits(b | ((rng.next_u64() as u32) & 0x8000_0000))
    }));
    let rows: Vec<Vec<f32>> = [
        (1000usize, 0.1f32),
        (1000, 1000.0),
        (32000, 1.0),
        (32000, 100.0),
        (1 << 20, 10.0),
    ]
    .iter()
    .map(|&(n, s)| rng.logits(n, s))
    .collect();
    let sums: Vec<Vec<f32>> = [1usize << 20, 4 << 20]
        .iter()
        .map(|&n| (0..n).map(|_| rng.unit() as f32).collect())
        .collect();

    println!(
        "{:<9} {:>11} {:>15} {:>20} {:>15} {:>19} {:>11}",
        "level",
        "exp ulp",
        "softmax/bound",
        "(outputs > 1e-30)",
        "softmax rel",
        "log_softmax err",
        "sum rel"
    );
    for k in levels() {
        let mut y = vec![0.0; xs.len()];
        k.exp(&xs, &mut y).unwrap();
        let ulp = xs
            .iter()
            .zip(&y)
            .filter(|(x, _)| {
                let r = (**x as f64).exp();
                r >= f32::MIN_POSITIVE as f64 && r <= f32::MAX as f64
            })
            .map(|(&x, &y)| ulp_error(y, (x as f64).exp()))
            .fold(0.0, f64::max);
        let (mut excess, mut excess_normal, mut rel, mut log_err) =
            (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for x in &rows {
            let mut y = vec![0.0; x.len()];
            k.softmax(x, &mut y).unwrap();
            excess = excess.max(softmax_excess(x, &y));
            // Away from underflow, where flushing to 0 cannot dominate.
            let keep: Vec<usize> = softmax_f64(x)
                .iter()
                .enumerate()
                .filter(|(_, r)| **r > 1e-30)
                .map(|(i, _)| i)
                .collect();
            let m = max_f64(x);
            let r = softmax_f64(x);
            for &i in &keep {
                let bound = (2e-6 + (x[i] as f64 - m).abs() * 2f64.powi(-23)) * r[i];
                excess_normal = excess_normal.max((y[i] as f64 - r[i]).abs() / bound);
            }
            rel = rel.max(softmax_rel_error(x, &y));
            k.log_softmax(x, &mut y).unwrap();
            log_err = log_err.max(log_softmax_error(x, &y));
        }
        let sum_rel = sums
            .iter()
            .map(|x| {
                let r: f64 = x.iter().map(|&v| v as f64).sum();
                (k.sum(x) as f64 - r).abs() / r
            })
            .fold(0.0, f64::max);
        println!(
            "{:<9} {:>11.3} {:>15.3} {:>20.3} {:>15.2e} {:>19.2e} {:>11.2e}",
            k.isa().name(),
            ulp,
            excess,
            excess_normal,
            rel,
            log_err,
            sum_rel
        );
    }
    println!(
        "bounds: exp 2 ulp (normal results); softmax/bound <= 1 (near underflow the \
         bound's MIN_POSITIVE term dominates); log_softmax 2e-6; sum 1e-6. \
         softmax rel is over normal outputs and includes the |x - max| 2^-23 term."
    );
}
