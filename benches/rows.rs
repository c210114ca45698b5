//! Matrices on rayon, at the detected level: softmax and log-softmax of
//! the DESIGN.md workloads with 1 and 2 threads, next to a rayon-parallel
//! copy of the same bytes in the same pool (the memory ceiling: one read and
//! one write per element), all in one run, each timed inside its pool. Also
//! a 1 x 1024 matrix through the batched API against the one-row function
//! (the small-work overhead), and batches called from outside any pool
//! against the same in a 1- and a 2-thread pool.
//! `cargo bench --bench rows [-- FILTER]`.

mod common;

use common::{Output, logits};
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rayon::prelude::*;
use softmax_simd::Kernels;

const SHAPES: [(usize, usize); 5] = [
    (256, 32000),
    (64, 128256),
    (4096, 4096),
    (16384, 128),
    (1, 1 << 20),
];

/// A parallel copy of `x` into `y`: what moving the bytes alone costs.
fn par_copy(x: &[f32], y: &mut [f32]) {
    y.par_chunks_mut(1 << 14)
        .zip(x.par_chunks(1 << 14))
        .for_each(|(y, x)| y.copy_from_slice(x));
}

fn bench(c: &mut Criterion) {
    let k = Kernels::detect();
    for (rows, cols) in SHAPES {
        let x = logits(rows * cols);
        let mut out = Output::like(&x);
        let y = out.get();
        let mut g = c.benchmark_group(format!("rows/{rows}x{cols}"));
        g.throughput(Throughput::Elements(x.len() as u64));
        for threads in [1, 2] {
            let pool = pool(threads);
            // The timing loop runs inside the pool, as an engine calls from
            // its own pool: no cross-thread hand-off per iteration.
            g.bench_function(BenchmarkId::new("softmax", threads), |b| {
                pool.install(|| b.iter(|| k.softmax_rows(black_box(&x), black_box(&mut *y), cols)))
            });
            g.bench_function(BenchmarkId::new("log_softmax", threads), |b| {
                pool.install(|| {
                    b.iter(|| k.log_softmax_rows(black_box(&x), black_box(&mut *y), cols))
                })
            });
            g.bench_function(BenchmarkId::new("copy", threads), |b| {
                pool.install(|| b.iter(|| par_copy(black_box(&x), black_box(&mut *y))))
            });
        }
        g.finish();
    }

    let x = logits(1024);
    let mut y = vec![0.0f32; 1024];
    let mut g = c.benchmark_group("small/1x1024");
    g.throughput(Throughput::Elements(1024));
    g.bench_function("softmax", |b| {
        b.iter(|| k.softmax(black_box(&x), black_box(&mut *y)))
    });
    g.bench_function("softmax_rows", |b| {
        b.iter(|| k.softmax_rows(black_box(&x), black_box(&mut *y), 1024))
    });
    g.finish();

    // Calls from a thread outside any pool (a C caller, a main thread), into
    // the global pool, against the same call inside a 1-thread and a
    // 2-thread pool: what the hand-over to the pool costs, and where the
    // calling thread keeps small batches (`batch::OUTSIDE_SEQUENTIAL_MAX`).
    let (one, two) = (pool(1), pool(2));
    for (rows, cols) in [(1, 128256), (64, 4096), (512, 1024)] {
        let x = logits(rows * cols);
        let mut y = vec![0.0f32; x.len()];
        let mut g = c.benchmark_group(format!("outside/{rows}x{cols}"));
        g.throughput(Throughput::Elements(x.len() as u64));
        g.bench_function("global", |b| {
            b.iter(|| k.softmax_rows(black_box(&x), black_box(&mut *y), cols))
        });
        for (name, p) in [("pool1", &one), ("pool2", &two)] {
            g.bench_function(name, |b| {
                p.install(|| b.iter(|| k.softmax_rows(black_box(&x), black_box(&mut *y), cols)))
            });
        }
        g.finish();
    }
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
