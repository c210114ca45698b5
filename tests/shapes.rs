//! Bad shapes: an `Err` whose message names the lengths, and the output
//! left untouched.

mod common;

use common::*;
use softmax_simd::Error;

const SENTINEL: f32 = -1234.5;

#[test]
fn mismatched_output_length_is_an_error_that_names_both_lengths() {
    let x = [1.0f32, 2.0, 3.0, 4.0, 5.0];
    for k in levels() {
        for ylen in [0usize, 4, 6, 50] {
            let mut y = vec![SENTINEL; ylen];
            let calls: [(&str, Result<(), Error>); 3] = [
                ("softmax", k.softmax(&x, &mut y)),
                ("log_softmax", k.log_softmax(&x, &mut y)),
                ("exp", k.exp(&x, &mut y)),
            ];
            for (name, r) in calls {
                let e = r.expect_err(name);
                assert_eq!(
                    e,
                    Error::LengthMismatch {
                        x_len: 5,
                        y_len: ylen
                    }
                );
                let msg = e.to_string();
                assert!(
                    msg.contains('5') && msg.contains(&ylen.to_string()),
                    "{msg}"
                );
                assert!(msg.contains("x.len()") && msg.contains("y.len()"), "{msg}");
            }
            assert!(
                y.iter().all(|&v| v == SENTINEL),
                "{}: output written",
                k.isa()
            );
        }
    }
}

#[test]
fn free_functions_check_shapes_too() {
    let mut y = [SENTINEL; 2];
    assert!(softmax_simd::softmax(&[1.0; 3], &mut y).is_err());
    assert!(softmax_simd::log_softmax(&[1.0; 3], &mut y).is_err());
    assert!(softmax_simd::exp(&[1.0; 3], &mut y).is_err());
    assert_eq!(y, [SENTINEL; 2]);
}

#[test]
fn error_is_a_std_error_with_a_message() {
    let e: Box<dyn std::error::Error> = Box::new(Error::LengthMismatch { x_len: 3, y_len: 2 });
    assert_eq!(e.to_string(), "y.len() = 2 != x.len() = 3");
}
