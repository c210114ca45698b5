//! Every available level against the f64 oracle, with the bounds of DESIGN.md.

mod common;

use common::*;

/// exp: at most 2 ulp where the result is normal; subnormal results may be
/// flushed to 0; past the overflow cutoff, +inf.
#[test]
fn exp_within_2_ulp_over_its_whole_range() {
    let n = if emulated() { 1 << 16 } else { 1 << 21 };
    let mut rng = Rng::new(1);
    let mut x: Vec<f32> = (0..n).map(|_| rng.range(-110.0, 100.0)).collect();
    // Uniform in bits too, so that tiny |x| is covered as densely as large.
    let (lo, hi) = (1e-30f32.to_bits(), 100f32.to_bits());
    x.extend((0..n).map(|_| {
        let b = lo + (rng.next_u64() % u64::from(hi - lo)) as u32;
        f32::from_bits(b | ((rng.next_u64() as u32) & 0x8000_0000))
    }));
    // The edges: 0, the overflow and underflow cutoffs and their neighbours.
    x.extend([
        0.0,
        -0.0,
        f32::MIN_POSITIVE,
        -f32::MIN_POSITIVE,
        1e-45,
        -1e-45,
    ]);
    for edge in [
        88.72283f32,
        88.72284,
        -87.33654,
        -87.33655,
        -103.97,
        88.0,
        -88.0,
        1.0,
        -1.0,
    ] {
        let b = edge.to_bits();
        x.extend((0..64).map(|k| f32::from_bits(b + k - 32)));
    }
    for k in levels() {
        let mut y = vec![0.0; x.len()];
        k.exp(&x, &mut y).unwrap();
        let mut worst = 0.0f64;
        for (&xi, &yi) in x.iter().zip(&y) {
            let r = (xi as f64).exp();
            if r > f32::MAX as f64 {
                assert_eq!(yi, f32::INFINITY, "{}: exp({xi:e}) = {yi:e}", k.isa());
            } else if r >= f32::MIN_POSITIVE as f64 {
                let u = ulp_error(yi, r);
                assert!(u <= 2.0, "{}: exp({xi:e}) = {yi:e}, {u:.2} ulp", k.isa());
                worst = worst.max(u);
            } else {
                assert!(
                    (0.0..=f32::MIN_POSITIVE).contains(&yi),
                    "{}: exp({xi:e}) = {yi:e} should be subnormal or 0",
                    k.isa()
                );
            }
        }
        eprintln!(
            "{}: exp worst {worst:.3} ulp over {} inputs",
            k.isa(),
            x.len()
        );
    }
}

const SCALES: [f32; 5] = [0.1, 1.0, 10.0, 100.0, 1000.0];

/// Softmax and log-softmax within their bounds, at every length around the
/// vector widths, blocks and chunks, and input scales 0.1 to 1000.
#[test]
fn softmax_and_log_softmax_within_bounds_at_every_length_and_scale() {
    let mut rng = Rng::new(2);
    for k in levels() {
        for n in lengths() {
            for scale in SCALES {
                let x = rng.logits(n, scale);
                let mut y = vec![f32::NAN; n];
                k.softmax(&x, &mut y).unwrap();
                let e = softmax_excess(&x, &y);
                assert!(
                    e <= 1.0,
                    "{}: softmax n={n} scale={scale}: {e:.3}x the bound",
                    k.isa()
                );
                assert!(y.iter().all(|v| (0.0..=1.0).contains(v)));
                k.log_softmax(&x, &mut y).unwrap();
                let e = log_softmax_error(&x, &y);
                assert!(
                    e <= 2e-6,
                    "{}: log_softmax n={n} scale={scale}: {e:.2e}",
                    k.isa()
                );
            }
        }
    }
}

/// The largest rows: 2^20 and 2^22 entries.
#[test]
fn softmax_and_log_softmax_within_bounds_on_rows_of_millions() {
    let mut rng = Rng::new(3);
    let cases: &[(usize, f32)] = if emulated() {
        &[(1 << 20, 10.0)]
    } else {
        &[
            (1 << 20, 1.0),
            (1 << 20, 1000.0),
            (4 << 20, 0.1),
            (4 << 20, 10.0),
        ]
    };
    for &(n, scale) in cases {
        let x = rng.logits(n, scale);
        let mut y = vec![0.0; n];
        for k in levels() {
            k.softmax(&x, &mut y).unwrap();
            let e = softmax_excess(&x, &y);
            assert!(
                e <= 1.0,
                "{}: softmax n={n} scale={scale}: {e:.3}x the bound",
                k.isa()
            );
            let s: f64 = y.iter().map(|&v| v as f64).sum();
            assert!(
                (s - 1.0).abs() < 1e-5,
                "{}: softmax n={n} sums to {s}",
                k.isa()
            );
            k.log_softmax(&x, &mut y).unwrap();
            let e = log_softmax_error(&x, &y);
            assert!(
                e <= 2e-6,
                "{}: log_softmax n={n} scale={scale}: {e:.2e}",
                k.isa()
            );
        }
    }
}

/// Rows with -inf entries, and rows most of whose outputs underflow.
#[test]
fn rows_with_minus_inf_and_underflowing_outputs() {
    let mut rng = Rng::new(4);
    for k in levels() {
        for n in [1usize, 7, 33, 1000, 5000] {
            // A third of the entries -inf, at least one finite.
            let mut x = rng.logits(n, 5.0);
            for v in x.iter_mut().skip(1) {
                if rng.unit() < 0.33 {
                    *v = f32::NEG_INFINITY;
                }
            }
            let mut y = vec![f32::NAN; n];
            k.softmax(&x, &mut y).unwrap();
            assert!(softmax_excess(&x, &y) <= 1.0, "{} n={n}", k.isa());
            for (xi, yi) in x.iter().zip(&y) {
                if *xi == f32::NEG_INFINITY {
                    assert_eq!(yi.to_bits(), 0, "{}: softmax at -inf must be +0", k.isa());
                }
            }
            k.log_softmax(&x, &mut y).unwrap();
            for (xi, yi) in x.iter().zip(&y) {
                if *xi == f32::NEG_INFINITY {
                    assert_eq!(*yi, f32::NEG_INFINITY);
                }
            }
            assert!(
                x.iter()
                    .zip(&y)
                    .zip(&log_softmax_f64(&x))
                    .filter(|((x, _), _)| x.is_finite())
                    .all(|((_, &y), &r)| (y as f64 - r).abs() <= 2e-6 * r.abs().max(1.0))
            );

            // Spread over [-200, 0]: outputs from 1 down to far below
            // f32::MIN_POSITIVE.
            let x: Vec<f32> = (0..n).map(|_| rng.range(-200.0, 0.0)).collect();
            k.softmax(&x, &mut y).unwrap();
            assert!(softmax_excess(&x, &y) <= 1.0, "{} n={n} underflow", k.isa());
            k.log_softmax(&x, &mut y).unwrap();
            assert!(
                log_softmax_error(&x, &y) <= 2e-6,
                "{} n={n} underflow",
                k.isa()
            );
        }
    }
}

/// sum of non-negative values: relative error at most 1e-6 up to 4M entries.
#[test]
fn sum_of_non_negative_values_within_1e_6() {
    let mut rng = Rng::new(5);
    let mut sizes = lengths();
    sizes.extend(if emulated() {
        vec![1 << 20]
    } else {
        vec![1 << 20, 4 << 20]
    });
    for n in sizes {
        // Uniform values, and softmax-like values spanning many binades.
        let a: Vec<f32> = (0..n).map(|_| rng.unit() as f32).collect();
        let b: Vec<f32> = (0..n)
            .map(|_| (rng.range(-30.0, 0.0) as f64).exp() as f32)
            .collect();
        for x in [&a, &b] {
            let r: f64 = x.iter().map(|&v| v as f64).sum();
            for k in levels() {
                let s = k.sum(x) as f64;
                let err = if r == 0.0 { s.abs() } else { (s - r).abs() / r };
                assert!(
                    err <= 1e-6,
                    "{}: sum n={n}: relative error {err:.2e}",
                    k.isa()
                );
            }
        }
    }
}

/// max and argmax: exact, the first index of the maximum.
#[test]
fn max_and_argmax_are_exact() {
    let mut rng = Rng::new(6);
    for k in levels() {
        for n in lengths().into_iter().filter(|&n| n > 0) {
            // Few distinct values, so the maximum repeats and "first" matters.
            let x: Vec<f32> = (0..n).map(|_| (rng.range(-8.0, 8.0)).round()).collect();
            let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let first = x.iter().position(|&v| v == m).unwrap();
            assert_eq!(k.max(&x), m, "{} n={n}", k.isa());
            assert_eq!(k.argmax(&x), Some(first), "{} n={n}", k.isa());
            let x = rng.logits(n, 100.0);
            let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            assert_eq!(k.max(&x), m, "{} n={n}", k.isa());
            assert_eq!(
                k.argmax(&x),
                x.iter().position(|&v| v == m),
                "{} n={n}",
                k.isa()
            );
        }
    }
}
