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

/// An output buffer for `x`: `x.len()` zeros starting at the same offset
/// within a 4 KB page as `x`, so that every run meets the same relative
/// placement. Where `y` starts 4 to 16 bytes past `x` (mod 4 KB), a load
/// from `x` matches the low address bits of a store to `y` still in
/// flight, and on Zen 3 a copy then runs 4x slower (0.43 against 1.75-1.88
/// el/ns, 2^21 floats, one thread; the kernels ran as fast either way). Which
/// offset two `Vec`s got depended on what the allocator had freed before,
/// so the copy ceiling of a workload changed with the workloads before it.
pub struct Output {
    buf: Vec<f32>,
    start: usize,
    len: usize,
}

impl Output {
    /// Zeros for `x`, placed as above.
    pub fn like(x: &[f32]) -> Self {
        const PAGE_FLOATS: usize = 4096 / size_of::<f32>();
        let buf = vec![0.0f32; x.len() + PAGE_FLOATS];
        let gap = (x.as_ptr() as usize).wrapping_sub(buf.as_ptr() as usize) / size_of::<f32>();
        Output {
            buf,
            start: gap % PAGE_FLOATS,
            len: x.len(),
        }
    }

    /// The buffer.
    pub fn get(&mut self) -> &mut [f32] {
        &mut self.buf[self.start..self.start + self.len]
    }
}
