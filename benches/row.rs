//! One row, one thread: every level x {exp, max, sum, argmax, softmax,
//! log_softmax} x N, with rten-vecmath's runtime-dispatched `Softmax` /
//! `LogSoftmax` and a naive loop in the same groups, so that ratios come
//! from one run. `cargo bench --bench row [-- FILTER]`.

mod common;

use common::{Output, logits};
use std::hint::black_box;
use std::mem::MaybeUninit;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rten_simd::{SimdOp, SimdUnaryOp};
use softmax_simd::{Isa, Kernels};

const SIZES: [usize; 4] = [1024, 32000, 128256, 1 << 20];

/// max; `f32::exp` and sum; divide: what a straightforward loop does.
fn naive_softmax(x: &[f32], y: &mut [f32]) {
    let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut s = 0.0;
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi = (xi - m).exp();
        s += *yi;
    }
    for yi in y.iter_mut() {
        *yi /= s;
    }
}

fn naive_log_softmax(x: &[f32], y: &mut [f32]) {
    let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let s: f32 = x.iter().map(|&xi| (xi - m).exp()).sum();
    let ls = s.ln();
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi = xi - m - ls;
    }
}

fn levels() -> Vec<Kernels> {
    Isa::available()
        .into_iter()
        .map(|i| Kernels::new(i).unwrap())
        .collect()
}

fn bench(c: &mut Criterion) {
    for n in SIZES {
        let x = logits(n);
        let mut out = Output::like(&x);
        let y = out.get();
        let mut uninit = vec![MaybeUninit::<f32>::uninit(); n];

        let mut g = c.benchmark_group(format!("softmax/{n}"));
        g.throughput(Throughput::Elements(n as u64));
        for k in levels() {
            g.bench_function(BenchmarkId::from_parameter(k.isa()), |b| {
                b.iter(|| k.softmax(black_box(&x), black_box(&mut *y)).unwrap())
            });
        }
        g.bench_function("rten-vecmath", |b| {
            b.iter(|| {
                rten_vecmath::Softmax::new(black_box(&x), black_box(&mut uninit)).dispatch();
            })
        });
        g.bench_function("naive", |b| {
            b.iter(|| naive_softmax(black_box(&x), black_box(&mut *y)))
        });
        g.finish();

        let mut g = c.benchmark_group(format!("log_softmax/{n}"));
        g.throughput(Throughput::Elements(n as u64));
        for k in levels() {
            g.bench_function(BenchmarkId::from_parameter(k.isa()), |b| {
                b.iter(|| k.log_softmax(black_box(&x), black_box(&mut *y)).unwrap())
            });
        }
        g.bench_function("rten-vecmath", |b| {
            b.iter(|| {
                rten_vecmath::LogSoftmax::new(black_box(&x), black_box(&mut uninit)).dispatch();
            })
        });
        g.bench_function("naive", |b| {
            b.iter(|| naive_log_softmax(black_box(&x), black_box(&mut *y)))
        });
        g.finish();

        let mut g = c.benchmark_group(format!("exp/{n}"));
        g.throughput(Throughput::Elements(n as u64));
        for k in levels() {
            g.bench_function(BenchmarkId::from_parameter(k.isa()), |b| {
                b.iter(|| k.exp(black_box(&x), black_box(&mut *y)).unwrap())
            });
        }
        g.bench_function("rten-vecmath", |b| {
            b.iter(|| {
                rten_vecmath::Exp {}.map(black_box(&x), black_box(&mut uninit));
            })
        });
        g.finish();

        for (op, f) in [
            (
                "max",
                (|k: &Kernels, x: &[f32]| k.max(x)) as fn(&Kernels, &[f32]) -> f32,
            ),
            ("sum", |k, x| k.sum(x)),
            ("argmax", |k, x| k.argmax(x).unwrap_or(0) as f32),
        ] {
            let mut g = c.benchmark_group(format!("{op}/{n}"));
            g.throughput(Throughput::Elements(n as u64));
            for k in levels() {
                g.bench_function(BenchmarkId::from_parameter(k.isa()), |b| {
                    b.iter(|| f(&k, black_box(&x)))
                });
            }
            g.finish();
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(std::time::Duration::from_millis(300))
        .measurement_time(std::time::Duration::from_millis(1200));
    targets = bench
}
criterion_main!(benches);
