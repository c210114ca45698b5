//! Properties, on every available level.

mod common;

use common::*;
use proptest::prelude::*;

/// Logits that are multiples of 1/64 in [-100, 100]: `x + c` (for integer
/// `c` in [-100, 100]) and `x - max` are then exact in f32.
fn grid_logits() -> impl Strategy<Value = Vec<f32>> {
    prop::collection::vec(-6400i32..=6400, 1..300)
        .prop_map(|v| v.into_iter().map(|i| i as f32 / 64.0).collect())
}

fn logits() -> impl Strategy<Value = Vec<f32>> {
    prop::collection::vec(-200.0f32..200.0, 0..400)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if emulated() { 24 } else { 256 },
        ..ProptestConfig::default()
    })]

    #[test]
    fn outputs_lie_in_0_1_and_sum_to_1(x in logits()) {
        let m = max_f64(&x);
        let spread = x.iter().map(|&v| (v as f64 - m).abs()).fold(0.0, f64::max);
        for k in levels() {
            let mut y = vec![0.0; x.len()];
            k.softmax(&x, &mut y).unwrap();
            prop_assert!(y.iter().all(|v| (0.0..=1.0).contains(v)));
            if !x.is_empty() {
                let s: f64 = y.iter().map(|&v| v as f64).sum();
                let bound = 2e-6 + spread * 2f64.powi(-23) + x.len() as f64 * 1.2e-38;
                prop_assert!((s - 1.0).abs() <= bound, "{}: sum {s}", k.isa());
            }
        }
    }

    #[test]
    fn shift_invariance_is_exact(x in grid_logits(), c in -100i32..=100) {
        let shifted: Vec<f32> = x.iter().map(|&v| v + c as f32).collect();
        for k in levels() {
            let (mut a, mut b) = (vec![0.0; x.len()], vec![0.0; x.len()]);
            k.softmax(&x, &mut a).unwrap();
            k.softmax(&shifted, &mut b).unwrap();
            prop_assert_eq!(bits(&a), bits(&b), "{}: softmax", k.isa());
            k.log_softmax(&x, &mut a).unwrap();
            k.log_softmax(&shifted, &mut b).unwrap();
            prop_assert_eq!(bits(&a), bits(&b), "{}: log_softmax", k.isa());
        }
    }

    #[test]
    fn argmax_of_softmax_is_argmax(x in grid_logits()) {
        for k in levels() {
            let mut y = vec![0.0; x.len()];
            k.softmax(&x, &mut y).unwrap();
            prop_assert_eq!(k.argmax(&y), k.argmax(&x), "{}", k.isa());
        }
    }

    #[test]
    fn log_softmax_is_ln_of_softmax(x in logits()) {
        let m = max_f64(&x);
        for k in levels() {
            let (mut s, mut l) = (vec![0.0; x.len()], vec![0.0; x.len()]);
            k.softmax(&x, &mut s).unwrap();
            k.log_softmax(&x, &mut l).unwrap();
            for ((&xi, &si), &li) in x.iter().zip(&s).zip(&l) {
                if si < 1e-30 {
                    continue; // ln of an underflowed output says nothing
                }
                let r = (si as f64).ln();
                let bound = 2e-6 * r.abs().max(1.0) + 2.1e-6 + (xi as f64 - m).abs() * 2f64.powi(-23);
                prop_assert!((li as f64 - r).abs() <= bound, "{}: {li} vs ln {si}", k.isa());
            }
        }
    }

    #[test]
    fn in_place_equals_out_of_place_bit_for_bit(x in logits()) {
        for k in levels() {
            let mut y = vec![0.0; x.len()];
            let mut z = x.clone();
            k.softmax(&x, &mut y).unwrap();
            k.softmax_in_place(&mut z);
            prop_assert_eq!(bits(&y), bits(&z), "{}: softmax", k.isa());
            z.copy_from_slice(&x);
            k.log_softmax(&x, &mut y).unwrap();
            k.log_softmax_in_place(&mut z);
            prop_assert_eq!(bits(&y), bits(&z), "{}: log_softmax", k.isa());
            z.copy_from_slice(&x);
            k.exp(&x, &mut y).unwrap();
            k.exp_in_place(&mut z);
            prop_assert_eq!(bits(&y), bits(&z), "{}: exp", k.isa());
        }
    }

    #[test]
    fn free_functions_equal_the_detected_kernels(x in logits()) {
        let k = softmax_simd::Kernels::detect();
        let (mut a, mut b) = (vec![0.0; x.len()], vec![0.0; x.len()]);
        softmax_simd::softmax(&x, &mut a).unwrap();
        k.softmax(&x, &mut b).unwrap();
        prop_assert_eq!(bits(&a), bits(&b));
        prop_assert_eq!(softmax_simd::argmax(&x), k.argmax(&x));
        prop_assert_eq!(softmax_simd::max(&x).to_bits(), k.max(&x).to_bits());
        prop_assert_eq!(softmax_simd::sum(&x).to_bits(), k.sum(&x).to_bits());
    }
}

/// Output bits do not depend on where the data sits: the same row at every
/// offset from a 64-byte boundary (and the output at another) gives the
/// same bits from every operation (some passes start at the first
/// vector-aligned element, so this is not true by construction).
#[test]
fn results_do_not_depend_on_buffer_alignment() {
    let mut rng = common::Rng::new(30);
    for n in [1usize, 5, 17, 100, 1000, 4099, 70_000] {
        let data = rng.logits(n, 7.0);
        for k in levels() {
            let mut want: Option<Vec<Vec<u32>>> = None;
            for off in 0..17 {
                let mut xb = vec![0.0f32; n + 32];
                let mut yb = vec![0.0f32; n + 32];
                let x = &mut xb[off..off + n];
                x.copy_from_slice(&data);
                let y = &mut yb[(off * 7 + 3) % 16..(off * 7 + 3) % 16 + n];
                let mut got = Vec::new();
                k.softmax(x, y).unwrap();
                got.push(bits(y));
                k.log_softmax(x, y).unwrap();
                got.push(bits(y));
                k.exp(x, y).unwrap();
                got.push(bits(y));
                got.push(vec![
                    k.max(x).to_bits(),
                    k.sum(x).to_bits(),
                    k.argmax(x).unwrap() as u32,
                ]);
                let mut z = x.to_vec();
                k.softmax_in_place(x);
                got.push(bits(x));
                x.copy_from_slice(&z);
                k.log_softmax_in_place(x);
                got.push(bits(x));
                z.clear();
                match &want {
                    None => want = Some(got),
                    Some(w) => assert!(
                        *w == got,
                        "{} n={n}: offset {off} changed the bits",
                        k.isa()
                    ),
                }
            }
        }
    }
}
