#!/usr/bin/env python3
"""softmax-simd's C ABI side by side with ONNX Runtime's CPU Softmax and
LogSoftmax (MLAS kernels), on the same buffers, in one process, in turn.

    pip install onnxruntime onnx numpy
    cargo build --release -p softmax-simd-capi
    python3 benches/peers/softmax_peers.py --threads 2

Each shape is a rows x cols f32 matrix (values N(0, 4^2), 64-byte
aligned), softmax over the last axis. Both are called from this (Python)
thread: ours through `softmax_simd_*_rows` on a pool of `--threads` (set
once with `softmax_simd_set_threads`), ORT through `run_with_iobinding` on
buffers bound once, with `intra_op_num_threads = --threads`. A round times
each for `--secs` (median of batches of calls); the rounds take them in
turn. The table gives the median over rounds of each one's el/ns, the
median (and range) of the per-round ratio peer time / ours, and the
largest difference between a peer's output and ours. A Python call costs
about 1 us for ours and 2 us for ORT (the 1x1024 row is almost nothing
else), so compare shapes that take 100 us or more.

`peers` is a list so that others can join. OpenVINO 2026.4 (pip, CPU
plugin, f32) was tried and left out: 1-2 el/ns here, 3-8 times our time,
which looks like a setup that misses its fast path (not looked into); and
it crashed when set up after ORT in the same process."""
import argparse
import ctypes
import statistics
import time

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2, help="threads for both")
p.add_argument(
    "--shapes", default="256x32000,64x128256,4096x4096,16384x128,1x1048576,1x128256,1x1024"
)
p.add_argument("--rounds", type=int, default=5, help="rounds of the two in turn")
p.add_argument("--lib", default="target/release/libsoftmax_simd_c.so", help="the C ABI")
p.add_argument("--secs", type=float, default=0.3, help="seconds a measurement")
a = p.parse_args()

lib = ctypes.CDLL(a.lib)
lib.softmax_simd_level.restype = ctypes.c_char_p
assert lib.softmax_simd_set_threads(ctypes.c_size_t(a.threads)) == 0
F = ctypes.POINTER(ctypes.c_float)
S = ctypes.c_size_t
for f in (lib.softmax_simd_softmax_rows, lib.softmax_simd_log_softmax_rows):
    f.argtypes = [F, S, F, S, S, S, ctypes.c_float]
    f.restype = ctypes.c_int


def aligned(rows, cols):
    """A rows x cols f32 array whose data starts at a multiple of 64 bytes."""
    raw = np.empty(rows * cols + 16, np.float32)
    off = (-raw.ctypes.data % 64) // 4
    return raw[off:off + rows * cols].reshape(rows, cols)


def ort_call(op, x, y):
    """A call running ORT's `op` over the last axis of `x` into `y`."""
    rows, cols = x.shape
    xi = helper.make_tensor_value_info("x", TensorProto.FLOAT, [rows, cols])
    yi = helper.make_tensor_value_info("y", TensorProto.FLOAT, [rows, cols])
    g = helper.make_graph([helper.make_node(op, ["x"], ["y"], axis=-1)], "g", [xi], [yi])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    b = sess.io_binding()
    b.bind_input("x", "cpu", 0, np.float32, [rows, cols], x.ctypes.data)
    b.bind_output("y", "cpu", 0, np.float32, [rows, cols], y.ctypes.data)
    return lambda: sess.run_with_iobinding(b)


def time_per_call(f):
    """Nanoseconds a call of `f`: the median of batches over `--secs`."""
    f()
    t0 = time.perf_counter()
    n = 0
    while time.perf_counter() - t0 < 0.05:
        f()
        n += 1
    k = max(1, n // 5)
    samples = []
    t_end = time.perf_counter() + a.secs
    while time.perf_counter() < t_end or len(samples) < 5:
        t = time.perf_counter_ns()
        for _ in range(k):
            f()
        samples.append((time.perf_counter_ns() - t) / k)
    return statistics.median(samples)


peers = [("ORT", ort_call)]
versions = f"onnxruntime {ort.__version__}"
print(f"softmax-simd level {lib.softmax_simd_level().decode()}, {versions}, "
      f"{a.threads} threads, {a.rounds} rounds, medians over rounds")
cols_ = "".join(f" {n + ' el/ns':>10} {n + '/ours time':>20} {'max|diff|':>9}" for n, _ in peers)
print(f"{'shape':<11} {'op':<11} {'ours el/ns':>10}{cols_}")
for shape in a.shapes.split(","):
    rows, cols = map(int, shape.split("x"))
    rng = np.random.default_rng(0)
    x = aligned(rows, cols)
    x[:] = rng.standard_normal((rows, cols)) * 4
    y = aligned(rows, cols)
    xp, yp = x.ctypes.data_as(F), y.ctypes.data_as(F)
    for op, ours in (("Softmax", lib.softmax_simd_softmax_rows),
                     ("LogSoftmax", lib.softmax_simd_log_softmax_rows)):
        f_ours = lambda: ours(xp, cols, yp, cols, rows, cols, 1.0)
        assert f_ours() == 0
        calls, diffs = [f_ours], []
        for _, make in peers:
            z = aligned(rows, cols)
            f = make(op, x, z)
            f()
            calls.append(f)
            diffs.append(float(np.max(np.abs(y - z))))
        times = [[] for _ in calls]
        for _ in range(a.rounds):
            for t, f in zip(times, calls):
                t.append(time_per_call(f))
        n = rows * cols
        line = f"{shape:<11} {op:<11} {n / statistics.median(times[0]):>10.3f}"
        for t, d in zip(times[1:], diffs):
            r = sorted(p / o for o, p in zip(times[0], t))
            span = f"{statistics.median(r):.2f} ({r[0]:.2f}-{r[-1]:.2f})"
            line += f" {n / statistics.median(t):>10.3f} {span:>20} {d:>9.2e}"
        print(line)
