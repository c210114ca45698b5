//! The special-values table of DESIGN.md and the NaN rules of max and
//! argmax, on every available level, in place and out of place.

mod common;

use common::*;
use softmax_simd::Kernels;

const INF: f32 = f32::INFINITY;
const NINF: f32 = f32::NEG_INFINITY;

/// Lengths that put the special value in the body and in the masked tail.
const LENGTHS: [usize; 8] = [1, 3, 8, 17, 64, 100, 1025, 4099];

fn both(k: &Kernels, x: &[f32]) -> [Vec<f32>; 4] {
    let mut s = vec![0.5; x.len()];
    let mut l = vec![0.5; x.len()];
    k.softmax(x, &mut s).unwrap();
    k.log_softmax(x, &mut l).unwrap();
    let mut si = x.to_vec();
    let mut li = x.to_vec();
    k.softmax_in_place(&mut si);
    k.log_softmax_in_place(&mut li);
    [s, l, si, li]
}

fn all_nan(k: &Kernels, x: &[f32], why: &str) {
    for y in both(k, x) {
        assert!(
            y.iter().all(|v| v.is_nan()),
            "{}: {why}, n={}",
            k.isa(),
            x.len()
        );
    }
}

#[test]
fn any_nan_or_plus_inf_makes_every_output_nan() {
    let mut rng = Rng::new(10);
    for k in levels() {
        for n in LENGTHS {
            for at in [0, n / 2, n - 1] {
                for bad in [f32::NAN, -f32::NAN, INF] {
                    let mut x = rng.logits(n, 3.0);
                    x[at] = bad;
                    all_nan(&k, &x, &format!("{bad} at {at}"));
                }
            }
        }
    }
}

#[test]
fn every_entry_minus_inf_makes_every_output_nan() {
    for k in levels() {
        for n in LENGTHS {
            all_nan(&k, &vec![NINF; n], "all -inf");
        }
    }
}

#[test]
fn minus_inf_entries_give_zero_and_minus_inf() {
    for k in levels() {
        for n in LENGTHS.into_iter().filter(|&n| n > 1) {
            // One finite entry, the rest -inf: softmax is exactly one-hot.
            let mut x = vec![NINF; n];
            x[n / 2] = 3.5;
            let [s, l, si, li] = both(&k, &x);
            for i in 0..n {
                let (want_s, want_l) = if i == n / 2 { (1.0, 0.0) } else { (0.0, NINF) };
                assert_eq!((s[i], si[i]), (want_s, want_s), "{} n={n} i={i}", k.isa());
                assert_eq!((l[i], li[i]), (want_l, want_l), "{} n={n} i={i}", k.isa());
            }
        }
    }
}

#[test]
fn empty_rows_write_nothing_and_reductions_have_their_identities() {
    for k in levels() {
        let mut y: [f32; 0] = [];
        assert!(k.softmax(&[], &mut y).is_ok());
        assert!(k.log_softmax(&[], &mut y).is_ok());
        assert!(k.exp(&[], &mut y).is_ok());
        k.softmax_in_place(&mut y);
        k.log_softmax_in_place(&mut y);
        k.exp_in_place(&mut y);
        assert_eq!(k.max(&[]), NINF);
        assert_eq!(k.sum(&[]).to_bits(), 0.0f32.to_bits());
        assert_eq!(k.argmax(&[]), None);
    }
}

#[test]
fn max_propagates_nan_and_argmax_returns_the_first_nan() {
    let mut rng = Rng::new(11);
    for k in levels() {
        for n in LENGTHS {
            let mut x = rng.logits(n, 10.0);
            x[n - 1] = 1e9; // the maximum, after any NaN
            let first = n / 3;
            x[first] = f32::NAN;
            if first + 1 < n - 1 {
                x[first + 1] = f32::NAN;
            }
            assert!(k.max(&x).is_nan(), "{} n={n}", k.isa());
            assert_eq!(k.argmax(&x), Some(first), "{} n={n}", k.isa());
        }
    }
}

#[test]
fn argmax_ties_infinities_and_signed_zeros() {
    for k in levels() {
        for n in LENGTHS.into_iter().filter(|&n| n >= 3) {
            let mut x = vec![0.0f32; n];
            x[0] = -0.0;
            assert_eq!(k.argmax(&x), Some(0), "{}: -0.0 ties 0.0", k.isa());
            let x = vec![NINF; n];
            assert_eq!(k.argmax(&x), Some(0), "{}: all -inf", k.isa());
            assert_eq!(k.max(&x), NINF);
            let mut x = vec![1.0f32; n];
            x[n - 1] = INF;
            x[n - 2] = INF;
            assert_eq!(k.argmax(&x), Some(n - 2), "{}: first +inf", k.isa());
            assert_eq!(k.max(&x), INF);
            let mut x = vec![-5.0f32; n];
            x[n / 2] = 7.0;
            x[n - 1] = 7.0;
            assert_eq!(k.argmax(&x), Some(n / 2), "{}: first of a tie", k.isa());
        }
    }
}

/// The maximum, a NaN, or the one finite value among `-inf`s at every
/// position of rows up to a little over a block (512 on AVX-512 and AVX2,
/// whose one-pass argmax keeps an index per lane), with a tie or a larger
/// value after it: every lane, accumulator and tail position.
#[test]
fn argmax_finds_the_first_maximum_or_nan_at_every_position() {
    let mut ns: Vec<usize> = (1..=40).collect();
    ns.extend([63, 64, 65, 127, 128, 129, 255, 256, 257, 511, 512, 513]);
    for k in levels() {
        for &n in &ns {
            for p in 0..n {
                let mut x = vec![-3.0f32; n];
                x[p] = 2.0;
                x[n - 1] = 2.0;
                assert_eq!(k.argmax(&x), Some(p), "{}: n={n}, a tie", k.isa());
                let mut x = vec![-3.0f32; n];
                x[p] = f32::NAN;
                x[n - 1] = if p == n - 1 { f32::NAN } else { 1e9 };
                assert_eq!(k.argmax(&x), Some(p), "{}: n={n}, a NaN", k.isa());
                let mut x = vec![NINF; n];
                x[p] = -1e30;
                assert_eq!(k.argmax(&x), Some(p), "{}: n={n}, among -inf", k.isa());
            }
        }
    }
}

#[test]
fn exp_special_values() {
    for k in levels() {
        let x = [
            NINF,
            INF,
            f32::NAN,
            0.0,
            -0.0,
            89.0,
            1e30,
            -1e30,
            -104.0,
            f32::MAX,
            f32::MIN,
        ];
        let mut y = [0.5; 11];
        k.exp(&x, &mut y).unwrap();
        assert_eq!(y[0].to_bits(), 0, "{}: exp(-inf)", k.isa());
        assert_eq!(y[1], INF);
        assert!(y[2].is_nan());
        assert_eq!((y[3], y[4]), (1.0, 1.0));
        assert_eq!((y[5], y[6], y[9]), (INF, INF, INF), "{}: overflow", k.isa());
        assert_eq!(
            (y[7], y[8], y[10]),
            (0.0, 0.0, 0.0),
            "{}: underflow",
            k.isa()
        );
    }
}

#[test]
fn extreme_finite_values_follow_f32_arithmetic() {
    for k in levels() {
        let [s, l, ..] = both(&k, &[f32::MAX, f32::MAX]);
        assert_eq!(s, [0.5, 0.5]);
        assert!((l[0] + std::f32::consts::LN_2).abs() < 1e-6);
        // -MAX - MAX overflows to -inf in f32, as in NumPy and PyTorch.
        let [s, l, ..] = both(&k, &[f32::MAX, -f32::MAX]);
        assert_eq!(s, [1.0, 0.0]);
        assert_eq!(l, [0.0, NINF]);
    }
}

/// No input value makes any function panic: random bit patterns, NaNs,
/// infinities and subnormals included.
#[test]
fn no_bit_pattern_panics() {
    let mut rng = Rng::new(12);
    for k in levels() {
        for n in [1usize, 5, 16, 31, 300, 2000] {
            for _ in 0..20 {
                let x: Vec<f32> = (0..n)
                    .map(|_| f32::from_bits(rng.next_u64() as u32))
                    .collect();
                let mut y = vec![0.0; n];
                k.softmax(&x, &mut y).unwrap();
                k.log_softmax(&x, &mut y).unwrap();
                k.exp(&x, &mut y).unwrap();
                let m = k.max(&x);
                let i = k.argmax(&x).unwrap();
                assert!(i < n);
                assert!(m.is_nan() == x.iter().any(|v| v.is_nan()));
                let _ = k.sum(&x);
            }
        }
    }
}

/// Rows whose max comes late: long rows form their max and sum in one read,
/// raising the max segment by segment, so the sum so far is rescaled (and
/// softmax scales its segments by different factors), and segments that are
/// all -inf (or NaN) come before any finite value. Lengths of many
/// blocks and of two chunks; the results against the f64 oracle, in place
/// and out of place, and one row split across threads bit for bit.
#[test]
fn late_maxima_and_leading_minus_inf_blocks() {
    let mut rng = Rng::new(13);
    let mut lens = vec![1025usize, 4099, 70_000];
    if !emulated() {
        lens.push(140_000);
    }
    for k in levels() {
        for &n in &lens {
            // The max rises in every block, by 1 to 1e30 overall.
            let ascending: Vec<f32> = (0..n)
                .map(|i| -80.0 + 160.0 * i as f32 / n as f32)
                .collect();
            let steps: Vec<f32> = (0..n).map(|i| 1e30 * (i as f32 / n as f32 - 0.5)).collect();
            let mut late = rng.logits(n, 4.0);
            late[..n / 2].fill(NINF);
            let mut scaled = rng.logits(n, 30.0);
            scaled[n - 3] = 400.0;
            for x in [&ascending, &steps, &late, &scaled] {
                let [s, l, si, li] = both(&k, x);
                let what = format!("{} n={n}", k.isa());
                assert!(softmax_excess(x, &s) <= 1.0, "{what}");
                assert!(log_softmax_error(x, &l) <= 2e-6, "{what}");
                assert_eq!(bits(&s), bits(&si), "{what}");
                assert_eq!(bits(&l), bits(&li), "{what}");
                for i in 0..n / 2 {
                    if x[i] == NINF {
                        assert_eq!((s[i], l[i]), (0.0, NINF), "{what}");
                    }
                }
                let mut rows = vec![0.0; n];
                k.softmax_rows(x, &mut rows, n).unwrap();
                assert_eq!(bits(&rows), bits(&s), "{what}: split row");
                k.log_softmax_rows(x, &mut rows, n).unwrap();
                assert_eq!(bits(&rows), bits(&l), "{what}: split row");
            }
            // An all-NaN block before the finite values: still all NaN.
            let mut x = rng.logits(n, 4.0);
            x[..1024].fill(f32::NAN);
            all_nan(&k, &x, "a block of NaN first");
        }
    }
}
