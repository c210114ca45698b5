//! Benchmark inputs, shared by the criterion benches and softmax-bench (which
//! includes this file by path), so every tool times the same data.

/// `n` logits in [-10, 10), from a fixed xorshift seed.
pub fn logits(n: usize) -> Vec<f32> {
    let mut s = 0x2545_F491_4F6C_DD1Du64;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 20.0
        })
        .collect()
}
