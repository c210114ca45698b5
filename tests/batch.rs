//! Batched rows: shapes, strides, temperature, errors and determinism, on
//! every available level.

mod common;

use common::*;
use softmax_simd::{Batch, Error, Kernels};

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

/// Shapes that take every path: sequential, grouped rows, one huge row
/// split across threads (>= 98304 columns, fewer rows than threads); from
/// outside a pool, where calls of up to 2^18 elements (argmax 2^19)
/// stay on the calling thread, both sides of those limits.
fn shapes() -> Vec<(usize, usize)> {
    let mut s = vec![
        (1, 1),
        (3, 7),
        (17, 100),
        (64, 1000),
        (700, 128),
        // Rows of 4096 to 16384 go in groups of 2^15 elements: 6 + 3 rows,
        // 2 + 2 + 1.
        (9, 5000),
        (5, 16_384),
        (2, 40_000),
    ];
    if !emulated() {
        s.extend([
            (1, 300_000),
            (3, 140_000),
            (9000, 5),
            (1, 200_000),
            (1500, 256),
            (2100, 256),
        ]);
    }
    s
}

/// The results of every batched call on `x`, as bits: softmax, log-softmax
/// (out of place and in place) and argmax.
fn batched(k: &Kernels, x: &[f32], cols: usize) -> Vec<Vec<u32>> {
    let mut y = vec![0.0; x.len()];
    let mut out = Vec::new();
    k.softmax_rows(x, &mut y, cols).unwrap();
    out.push(bits(&y));
    let mut z = x.to_vec();
    k.softmax_rows_in_place(&mut z, cols).unwrap();
    out.push(bits(&z));
    k.log_softmax_rows(x, &mut y, cols).unwrap();
    out.push(bits(&y));
    z.copy_from_slice(x);
    k.log_softmax_rows_in_place(&mut z, cols).unwrap();
    out.push(bits(&z));
    let mut am = vec![usize::MAX; x.len() / cols];
    k.argmax_rows(x, cols, &mut am).unwrap();
    out.push(am.iter().map(|&i| i as u32).collect());
    out
}

/// The same results, one row at a time through the one-row functions.
fn one_row_at_a_time(k: &Kernels, x: &[f32], cols: usize) -> Vec<Vec<u32>> {
    let mut s = vec![0.0; x.len()];
    let mut l = vec![0.0; x.len()];
    let mut am = Vec::new();
    for (i, row) in x.chunks(cols).enumerate() {
        k.softmax(row, &mut s[i * cols..(i + 1) * cols]).unwrap();
        k.log_softmax(row, &mut l[i * cols..(i + 1) * cols])
            .unwrap();
        am.push(k.argmax(row).unwrap() as u32);
    }
    vec![bits(&s), bits(&s), bits(&l), bits(&l), am]
}

#[test]
fn batched_rows_equal_one_row_results_bit_for_bit_at_any_thread_count() {
    let mut rng = Rng::new(20);
    let (one, many) = (pool(1), pool(4));
    for k in levels() {
        for (rows, cols) in shapes() {
            let mut x = rng.logits(rows * cols, 8.0);
            x[cols / 2] = f32::NEG_INFINITY;
            let want = one_row_at_a_time(&k, &x, cols);
            let got_one = one.install(|| batched(&k, &x, cols));
            let got_many = many.install(|| batched(&k, &x, cols));
            let got_global = batched(&k, &x, cols);
            for (what, got) in [
                ("1 thread", got_one),
                ("4 threads", got_many),
                ("global", got_global),
            ] {
                assert!(
                    got == want,
                    "{}: {rows}x{cols} {what} differs from one row at a time",
                    k.isa()
                );
            }
        }
    }
}

/// `argmax` of matrices of at least 2^15 elements (where the kernels take
/// the rows to come from memory, and the max pass prefetches the rows
/// ahead), rows packed and padded with NaN, one thread and four, with rows
/// set by hand: each expected index is written here, not computed.
#[test]
fn argmax_rows_from_memory_finds_the_first_nan_tie_and_infinity() {
    let (one, many) = (pool(1), pool(4));
    for k in levels() {
        for cols in [128, 130, 1000] {
            let rows = (1 << 15) / cols + 40;
            // Row r: -1 everywhere but 5 at column 7r mod cols...
            let mut want: Vec<usize> = (0..rows).map(|r| r * 7 % cols).collect();
            let mut x = vec![-1.0f32; rows * cols];
            for (r, &c) in want.iter().enumerate() {
                x[r * cols + c] = 5.0;
            }
            // ...but for these.
            let mut set = |r: usize, row: &[(usize, f32)], expect: usize| {
                x[r * cols..(r + 1) * cols].fill(-1.0);
                for &(c, v) in row {
                    x[r * cols + c] = v;
                }
                want[r] = expect;
            };
            set(3, &[(2, 5.0), (10, f32::NAN), (11, f32::NAN)], 10);
            set(4, &[(20, 5.0), (7, 5.0)], 7);
            set(5, &[], 0);
            set(6, &[(cols - 1, 5.0)], cols - 1);
            set(
                7,
                &[(cols - 2, f32::INFINITY), (cols - 1, f32::INFINITY)],
                cols - 2,
            );
            set(rows - 1, &[(0, 5.0)], 0);
            x[8 * cols..9 * cols].fill(f32::NEG_INFINITY);
            want[8] = 0;
            let xs = cols + 3;
            let mut padded = vec![f32::NAN; (rows - 1) * xs + cols];
            for r in 0..rows {
                padded[r * xs..r * xs + cols].copy_from_slice(&x[r * cols..(r + 1) * cols]);
            }
            // The first row that differs, and both indices.
            let check = |out: &[usize], how: &str| {
                let bad = (0..rows).find(|&r| out[r] != want[r]);
                let got = bad.map(|r| (r, out[r], want[r]));
                assert_eq!(
                    got,
                    None,
                    "{} {rows}x{cols} {how}: (row, got, want)",
                    k.isa()
                );
            };
            for p in [&one, &many] {
                p.install(|| {
                    let mut out = vec![usize::MAX; rows];
                    k.argmax_rows(&x, cols, &mut out).unwrap();
                    check(&out, "packed");
                    out.fill(usize::MAX);
                    let b = Batch::new(rows, cols).strides(xs, cols);
                    k.argmax_batch(&padded, &b, &mut out).unwrap();
                    check(&out, "strided");
                });
            }
        }
    }
}

#[test]
fn batched_results_are_within_the_bounds() {
    let mut rng = Rng::new(21);
    for k in levels() {
        for (rows, cols) in [(5usize, 333usize), (2, 140_000)] {
            let x = rng.logits(rows * cols, 20.0);
            let mut y = vec![0.0; x.len()];
            pool(3)
                .install(|| k.softmax_rows(&x, &mut y, cols))
                .unwrap();
            for (xr, yr) in x.chunks(cols).zip(y.chunks(cols)) {
                assert!(softmax_excess(xr, yr) <= 1.0, "{} {rows}x{cols}", k.isa());
            }
            pool(3)
                .install(|| k.log_softmax_rows(&x, &mut y, cols))
                .unwrap();
            for (xr, yr) in x.chunks(cols).zip(y.chunks(cols)) {
                assert!(
                    log_softmax_error(xr, yr) <= 2e-6,
                    "{} {rows}x{cols}",
                    k.isa()
                );
            }
        }
    }
}

#[test]
fn strided_rows_read_only_their_columns_and_write_only_their_columns() {
    let mut rng = Rng::new(22);
    for k in levels() {
        for (rows, cols, xs, ys) in [
            (4usize, 5usize, 8usize, 5usize),
            (3, 100, 100, 128),
            (50, 33, 40, 35),
            (7, 4100, 4200, 4150),
            // 36000 elements in one task (the one-thread pool below):
            // log-softmax's short rows copy `x` into `y`, and the `exp` pass
            // prefetches the rows ahead (`FROM_MEMORY_MIN`).
            (300, 120, 128, 130),
        ] {
            pool(1).install(|| {
                let packed = rng.logits(rows * cols, 4.0);
                // Input padding is NaN: any read of it would poison the row.
                let mut x = vec![f32::NAN; (rows - 1) * xs + cols];
                for r in 0..rows {
                    x[r * xs..r * xs + cols].copy_from_slice(&packed[r * cols..(r + 1) * cols]);
                }
                let mut want = vec![0.0; rows * cols];
                k.softmax_rows(&packed, &mut want, cols).unwrap();

                let b = Batch::new(rows, cols).strides(xs, ys);
                let mut y = vec![-7.0f32; (rows - 1) * ys + cols + 3];
                k.softmax_batch(&x, &mut y, &b).unwrap();
                for r in 0..rows {
                    assert_eq!(
                        bits(&y[r * ys..r * ys + cols]),
                        bits(&want[r * cols..(r + 1) * cols])
                    );
                    let pad_end = ((r + 1) * ys).min(y.len());
                    assert!(
                        y[r * ys + cols..pad_end].iter().all(|&v| v == -7.0),
                        "padding written"
                    );
                }
                assert!(y[(rows - 1) * ys + cols..].iter().all(|&v| v == -7.0));

                // In place, one stride.
                let b = Batch::new(rows, cols).strides(xs, xs);
                let mut z = x.clone();
                k.softmax_batch_in_place(&mut z, &b).unwrap();
                for r in 0..rows {
                    assert_eq!(
                        bits(&z[r * xs..r * xs + cols]),
                        bits(&want[r * cols..(r + 1) * cols])
                    );
                    assert!(
                        z[r * xs + cols..((r + 1) * xs).min(z.len())]
                            .iter()
                            .all(|v| v.is_nan())
                    );
                }

                // Log-softmax, out of place and in place.
                let mut want = vec![0.0; rows * cols];
                k.log_softmax_rows(&packed, &mut want, cols).unwrap();
                let strided = Batch::new(rows, cols).strides(xs, ys);
                let mut y = vec![-7.0f32; (rows - 1) * ys + cols + 3];
                k.log_softmax_batch(&x, &mut y, &strided).unwrap();
                let mut z = x.clone();
                k.log_softmax_batch_in_place(&mut z, &b).unwrap();
                for r in 0..rows {
                    let want = bits(&want[r * cols..(r + 1) * cols]);
                    assert_eq!(bits(&y[r * ys..r * ys + cols]), want);
                    assert_eq!(bits(&z[r * xs..r * xs + cols]), want);
                    let pad_end = ((r + 1) * ys).min(y.len());
                    assert!(y[r * ys + cols..pad_end].iter().all(|&v| v == -7.0));
                    assert!(
                        z[r * xs + cols..((r + 1) * xs).min(z.len())]
                            .iter()
                            .all(|v| v.is_nan())
                    );
                }

                let mut am = vec![0usize; rows];
                k.argmax_batch(&x, &b, &mut am).unwrap();
                for (r, &a) in am.iter().enumerate() {
                    assert_eq!(Some(a), k.argmax(&packed[r * cols..(r + 1) * cols]));
                }
            });
        }
    }
}

/// Batches of at least 2^22 elements for log-softmax (`batch::STREAM_MIN`)
/// and 6 x 2^20 for softmax (`SOFTMAX_STREAM_MIN`) stream the output of their
/// long rows past the caches on Avx2 and Avx512 (`Rows::stream_output`),
/// each row's read pass making the last pass of the row before: the same
/// bits as the one-row functions (at a temperature, as a batch of one row
/// on one thread), nothing written outside the rows, whatever the alignment
/// of each row (`y` one float off, odd strides) and the pool. Rows of
/// 4100 (a segment of 4 at the end), of 32768, and natively of 70001 at a
/// temperature (two chunks, the second short).
#[test]
fn large_batches_stream_with_the_one_row_bits() {
    type Row = fn(&Kernels, &[f32], &mut [f32]) -> Result<(), Error>;
    type Rows = fn(&Kernels, &[f32], &mut [f32], &Batch) -> Result<(), Error>;
    // Each with the elements it streams from.
    let ops: [(&str, Row, Rows, usize); 2] = [
        ("softmax", Kernels::softmax, Kernels::softmax_batch, 6 << 20),
        (
            "log-softmax",
            Kernels::log_softmax,
            Kernels::log_softmax_batch,
            1 << 22,
        ),
    ];
    let mut rng = Rng::new(26);
    // Columns, strides and temperature.
    let mut cases = vec![(4100usize, 4103usize, 4107usize, 1.0f32)];
    if !emulated() {
        cases.push((32_768, 32_768, 32_768, 1.0));
        cases.push((70_001, 70_003, 70_001, 0.7));
    }
    for k in levels() {
        for &(cols, xs, ys, t) in &cases {
            for (name, row, batch, min) in ops {
                let rows = min.div_ceil(cols);
                let x = rng.logits((rows - 1) * xs + cols, 8.0);
                let mut want = vec![0.0; rows * cols];
                for r in 0..rows {
                    let (x, y) = (
                        &x[r * xs..r * xs + cols],
                        &mut want[r * cols..(r + 1) * cols],
                    );
                    if t == 1.0 {
                        row(&k, x, y).unwrap();
                    } else {
                        let one = Batch::new(1, cols).temperature(t);
                        pool(1).install(|| batch(&k, x, y, &one)).unwrap();
                    }
                }
                let b = Batch::new(rows, cols).strides(xs, ys).temperature(t);
                for threads in [1, 2] {
                    // `y` one float past a 64-byte line, as a `Vec` may not be.
                    let mut buf = vec![-7.0f32; (rows - 1) * ys + cols + 1];
                    let y = &mut buf[1..];
                    pool(threads).install(|| batch(&k, &x, y, &b).unwrap());
                    for r in 0..rows {
                        assert!(
                            bits(&y[r * ys..r * ys + cols])
                                == bits(&want[r * cols..(r + 1) * cols]),
                            "{} {name}: {rows}x{cols} at t = {t}, row {r}, {threads} threads",
                            k.isa()
                        );
                        let pad_end = ((r + 1) * ys).min(y.len());
                        assert!(y[r * ys + cols..pad_end].iter().all(|&v| v == -7.0));
                    }
                    assert_eq!(buf[0], -7.0);
                }
            }
        }
    }
}

#[test]
fn temperature_is_softmax_of_x_over_t_within_the_bounds() {
    let mut rng = Rng::new(23);
    for k in levels() {
        for t in [0.05f32, 0.5, 0.7, 2.0, 13.0] {
            for (rows, cols) in [
                (3usize, 17usize),
                (4, 1000),
                // Two tasks of 2^15 on the two-thread pool, taken to come
                // from memory (`FROM_MEMORY_MIN`): log-softmax's short rows
                // copy `x` into `y`, and the `exp` pass prefetches.
                (2048, 128),
                (7, 5000),
                (1, 150_000),
            ] {
                let x = rng.logits(rows * cols, 5.0);
                let b = Batch::new(rows, cols).temperature(t);
                let mut y = vec![0.0; x.len()];
                pool(2).install(|| k.softmax_batch(&x, &mut y, &b)).unwrap();
                for (xr, yr) in x.chunks(cols).zip(y.chunks(cols)) {
                    let e = softmax_excess_t(xr, t as f64, yr);
                    assert!(
                        e <= 1.0,
                        "{} t={t} {rows}x{cols}: {e:.2}x the bound",
                        k.isa()
                    );
                }
                pool(2)
                    .install(|| k.log_softmax_batch(&x, &mut y, &b))
                    .unwrap();
                for (xr, yr) in x.chunks(cols).zip(y.chunks(cols)) {
                    let e = log_softmax_error_t(xr, t as f64, yr);
                    assert!(e <= 2e-6, "{} t={t} {rows}x{cols}: {e:.2e}", k.isa());
                }
                // In place gives the same bits.
                let mut z = x.clone();
                pool(2)
                    .install(|| k.log_softmax_batch_in_place(&mut z, &b))
                    .unwrap();
                assert_eq!(bits(&z), bits(&y));
            }
        }
        // t = 1 is exactly the plain path.
        let x = rng.logits(300, 3.0);
        let (mut a, mut b) = (vec![0.0; 300], vec![0.0; 300]);
        k.softmax_batch(&x, &mut a, &Batch::new(3, 100).temperature(1.0))
            .unwrap();
        k.softmax_rows(&x, &mut b, 100).unwrap();
        assert_eq!(bits(&a), bits(&b));
    }
}

const S: f32 = 42.5;

#[test]
fn bad_shapes_strides_and_temperatures_are_errors_and_write_nothing() {
    let k = Kernels::detect();
    let x = vec![1.0f32; 12];
    let mut y = vec![S; 12];
    let mut out = vec![usize::MAX; 4];
    let untouched = |y: &[f32]| y.iter().all(|&v| v == S);

    let e = k.softmax_rows(&x, &mut y, 0).unwrap_err();
    assert_eq!(e, Error::ZeroCols { x_len: 12 });
    assert!(e.to_string().contains("12"), "{e}");
    let e = k.log_softmax_rows(&x, &mut y, 5).unwrap_err();
    assert_eq!(e, Error::RaggedRows { x_len: 12, cols: 5 });
    assert!(
        e.to_string().contains("12") && e.to_string().contains('5'),
        "{e}"
    );
    let e = k.softmax_rows(&x, &mut y[..8], 4).unwrap_err();
    assert_eq!(
        e,
        Error::LengthMismatch {
            x_len: 12,
            y_len: 8
        }
    );
    let e = k.argmax_rows(&x, 4, &mut out).unwrap_err();
    assert_eq!(
        e,
        Error::RowCountMismatch {
            out_len: 4,
            rows: 3
        }
    );
    assert!(
        e.to_string().contains('4') && e.to_string().contains('3'),
        "{e}"
    );
    let mut xm = vec![S; 12];
    assert!(k.softmax_rows_in_place(&mut xm, 5).is_err());
    assert!(k.log_softmax_rows_in_place(&mut xm, 0).is_err());
    assert!(untouched(&xm));

    let cases: Vec<(Batch, Error)> = vec![
        (
            Batch::new(3, 4).temperature(0.0),
            Error::BadTemperature(0.0),
        ),
        (
            Batch::new(3, 4).temperature(-1.0),
            Error::BadTemperature(-1.0),
        ),
        (
            Batch::new(3, 4).temperature(f32::INFINITY),
            Error::BadTemperature(f32::INFINITY),
        ),
        (Batch::new(3, 0), Error::ZeroCols { x_len: 12 }),
        (
            Batch::new(3, 4).strides(3, 4),
            Error::StrideTooShort {
                name: "x_stride",
                stride: 3,
                cols: 4,
            },
        ),
        (
            Batch::new(3, 4).strides(4, 2),
            Error::StrideTooShort {
                name: "y_stride",
                stride: 2,
                cols: 4,
            },
        ),
        (
            Batch::new(3, 4).strides(5, 4),
            Error::TooShort {
                name: "x",
                len: 12,
                needed: 14,
                rows: 3,
                cols: 4,
                stride: 5,
            },
        ),
        (
            Batch::new(4, 3),
            Error::TooShort {
                name: "y",
                len: 11,
                needed: 12,
                rows: 4,
                cols: 3,
                stride: 3,
            },
        ),
    ];
    for (b, want) in cases {
        let mut y = vec![S; 11];
        let x12 = &x[..];
        let got = if matches!(want, Error::TooShort { name: "y", .. }) {
            k.softmax_batch(x12, &mut y, &b).unwrap_err()
        } else {
            k.softmax_batch(x12, &mut [S; 12], &b).unwrap_err()
        };
        assert_eq!(got, want);
        assert!(untouched(&y));
        let msg = got.to_string();
        assert!(!msg.is_empty());
        if let Error::TooShort { len, needed, .. } = want {
            assert!(
                msg.contains(&len.to_string()) && msg.contains(&needed.to_string()),
                "{msg}"
            );
        }
    }
    let e = k
        .softmax_batch(&x, &mut y, &Batch::new(3, 4).temperature(f32::NAN))
        .unwrap_err();
    assert!(matches!(e, Error::BadTemperature(t) if t.is_nan()));

    let mut z = vec![S; 12];
    let e = k
        .softmax_batch_in_place(&mut z, &Batch::new(3, 4).strides(4, 5))
        .unwrap_err();
    assert_eq!(
        e,
        Error::InPlaceStrides {
            x_stride: 4,
            y_stride: 5
        }
    );
    assert!(untouched(&z));
    assert!(untouched(&y));
    assert!(out.iter().all(|&o| o == usize::MAX));
}

#[test]
fn sizes_that_overflow_are_errors_not_panics() {
    let k = Kernels::detect();
    let x = vec![1.0f32; 16];
    let mut y = vec![S; 16];
    for b in [
        Batch::new(usize::MAX, 4),
        Batch::new(3, 4).strides(usize::MAX / 2, 4),
        Batch::new(2, usize::MAX),
    ] {
        let e = k.softmax_batch(&x, &mut y, &b).unwrap_err();
        assert!(matches!(e, Error::TooShort { .. }), "{e}");
        assert!(k.argmax_batch(&x, &b, &mut [0; 2]).is_err());
    }
    assert!(y.iter().all(|&v| v == S));
}

#[test]
fn empty_and_degenerate_batches() {
    for k in levels() {
        let mut y: Vec<f32> = vec![];
        k.softmax_rows(&[], &mut y, 0).unwrap();
        k.softmax_rows(&[], &mut y, 7).unwrap();
        k.argmax_rows(&[], 3, &mut []).unwrap();
        k.softmax_batch(&[], &mut y, &Batch::new(0, 5)).unwrap();
        // One column: every softmax is 1, every log-softmax 0.
        let x = [3.0f32, -1.0, 1e30];
        let mut y = [0.0; 3];
        k.softmax_rows(&x, &mut y, 1).unwrap();
        assert_eq!(y, [1.0; 3]);
        k.log_softmax_rows(&x, &mut y, 1).unwrap();
        assert_eq!(y, [0.0; 3]);
    }
}

#[test]
fn free_functions_match_the_detected_kernels() {
    let mut rng = Rng::new(24);
    let x = rng.logits(40 * 50, 3.0);
    let k = Kernels::detect();
    let (mut a, mut b) = (vec![0.0; x.len()], vec![0.0; x.len()]);
    softmax_simd::softmax_rows(&x, &mut a, 50).unwrap();
    k.softmax_rows(&x, &mut b, 50).unwrap();
    assert_eq!(bits(&a), bits(&b));
    softmax_simd::log_softmax_rows(&x, &mut a, 50).unwrap();
    k.log_softmax_rows(&x, &mut b, 50).unwrap();
    assert_eq!(bits(&a), bits(&b));
    let bt = Batch::new(40, 50).temperature(0.3);
    softmax_simd::softmax_batch(&x, &mut a, &bt).unwrap();
    k.softmax_batch(&x, &mut b, &bt).unwrap();
    assert_eq!(bits(&a), bits(&b));
    let mut z = x.clone();
    softmax_simd::softmax_batch_in_place(&mut z, &bt).unwrap();
    assert_eq!(bits(&z), bits(&b));
    softmax_simd::log_softmax_batch(&x, &mut a, &bt).unwrap();
    z.copy_from_slice(&x);
    softmax_simd::log_softmax_batch_in_place(&mut z, &bt).unwrap();
    assert_eq!(bits(&z), bits(&a));
    let mut z = x.clone();
    softmax_simd::softmax_rows_in_place(&mut z, 50).unwrap();
    k.softmax_rows(&x, &mut b, 50).unwrap();
    assert_eq!(bits(&z), bits(&b));
    z.copy_from_slice(&x);
    softmax_simd::log_softmax_rows_in_place(&mut z, 50).unwrap();
    k.log_softmax_rows(&x, &mut b, 50).unwrap();
    assert_eq!(bits(&z), bits(&b));
    let (mut o1, mut o2) = (vec![0; 40], vec![0; 40]);
    softmax_simd::argmax_rows(&x, 50, &mut o1).unwrap();
    softmax_simd::argmax_batch(&x, &Batch::new(40, 50), &mut o2).unwrap();
    assert_eq!(o1, o2);
}
