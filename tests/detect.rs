//! Levels and detection: names, availability, the environment variable, and
//! (under emulation, where .ci/run sets SOFTMAX_SIMD_EXPECT_ISA) that real
//! detection picks the level that CPU model has.

use softmax_simd::{Error, Isa, Kernels};

#[test]
fn detection_picks_the_expected_level() {
    // .ci/run sets this for each leg: avx2 under `-cpu Haswell`, portable
    // under `-cpu qemu64`, neon under qemu-aarch64.
    if let Ok(want) = std::env::var("SOFTMAX_SIMD_EXPECT_ISA") {
        let want: Isa = want.parse().unwrap();
        assert_eq!(
            Isa::available()[0],
            want,
            "available: {:?}",
            Isa::available()
        );
        if std::env::var_os(softmax_simd::ISA_ENV).is_none() {
            assert_eq!(Isa::detect(), want);
            assert_eq!(Kernels::detect().isa(), want);
        }
    }
}

#[test]
fn detected_level_is_the_best_available_unless_lowered() {
    let best = Isa::available()[0];
    match std::env::var(softmax_simd::ISA_ENV) {
        Err(_) => assert_eq!(Isa::detect(), best),
        Ok(v) => assert_eq!(Isa::detect(), Isa::detect_uncached(Some(&v))),
    }
    assert_eq!(Kernels::detect().isa(), Isa::detect());
}

#[test]
fn the_environment_variable_only_lowers() {
    let best = Isa::available()[0];
    for isa in Isa::ALL {
        let got = Isa::detect_uncached(Some(isa.name()));
        if isa.is_available() {
            assert_eq!(got, isa);
        } else {
            assert_eq!(got, best, "asking for unavailable {isa} must not raise");
        }
    }
    assert_eq!(Isa::detect_uncached(Some(" Scalar ")), Isa::Scalar);
    assert_eq!(Isa::detect_uncached(Some("avx9000")), best);
    assert_eq!(Isa::detect_uncached(Some("")), best);
    assert_eq!(Isa::detect_uncached(None), best);
}

#[test]
fn every_level_not_available_is_an_error_and_every_available_one_runs() {
    let available = Isa::available();
    assert!(available.ends_with(&[Isa::Portable, Isa::Scalar]));
    for isa in Isa::ALL {
        match Kernels::new(isa) {
            Ok(k) => {
                assert!(available.contains(&isa));
                assert_eq!(k.isa(), isa);
                let mut y = [0.0; 3];
                k.softmax(&[1.0, 2.0, 3.0], &mut y).unwrap();
                assert!((y.iter().sum::<f32>() - 1.0).abs() < 1e-6);
            }
            Err(e) => {
                assert!(
                    !available.contains(&isa),
                    "{isa} is available but new failed"
                );
                assert_eq!(e, Error::Unavailable(isa));
                assert!(e.to_string().contains(isa.name()));
            }
        }
    }
}

#[test]
fn names_round_trip() {
    for isa in Isa::ALL {
        assert_eq!(isa.name().parse::<Isa>().unwrap(), isa);
        assert_eq!(isa.to_string(), isa.name());
        assert_eq!(isa.name().to_uppercase().parse::<Isa>().unwrap(), isa);
    }
    let e = "sse9".parse::<Isa>().unwrap_err();
    assert!(e.to_string().contains("sse9"));
}

#[test]
fn kernels_is_copy_send_sync() {
    fn check<T: Copy + Send + Sync + std::fmt::Debug>() {}
    check::<Kernels>();
    fn check_isa<T: Copy + Eq + std::hash::Hash + std::fmt::Debug>() {}
    check_isa::<Isa>();
}
