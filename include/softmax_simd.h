/*
 * softmax_simd.h: the C ABI of softmax-simd.
 *
 * Link with libsoftmax_simd_c.a (plus -lpthread -ldl -lm) or
 * libsoftmax_simd_c.so; build both with
 *     cargo build --release -p softmax-simd-capi
 * (see README.md, "C and C++").
 *
 * Every function returns a status; on any status other than
 * SOFTMAX_SIMD_OK nothing has been written to any output. No Rust panic
 * crosses this boundary (one would be returned as SOFTMAX_SIMD_INTERNAL).
 * Pointers must be valid for the lengths given: `n` floats for one row,
 * `(rows - 1) * stride + cols` floats for a matrix. Output equal to input
 * (the same pointer, and for matrices the same stride) means in place; any
 * other overlap is SOFTMAX_SIMD_OVERLAP.
 */
#ifndef SOFTMAX_SIMD_H
#define SOFTMAX_SIMD_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum softmax_simd_status {
    SOFTMAX_SIMD_OK = 0,
    /* A required pointer is NULL. */
    SOFTMAX_SIMD_NULL_POINTER = 1,
    /* cols == 0 with rows > 0, a stride shorter than cols, n == 0 for
       argmax, two strides in place, or a size that overflows. */
    SOFTMAX_SIMD_BAD_SHAPE = 2,
    /* Output overlaps input without being the same (in-place) buffer. */
    SOFTMAX_SIMD_OVERLAP = 3,
    /* A temperature that is not finite and positive. */
    SOFTMAX_SIMD_BAD_TEMPERATURE = 4,
    /* A level name this library does not know. */
    SOFTMAX_SIMD_UNKNOWN_LEVEL = 5,
    /* A level this CPU cannot run. */
    SOFTMAX_SIMD_UNAVAILABLE_LEVEL = 6,
    /* softmax_simd_set_threads after the thread pool started, or 0 threads. */
    SOFTMAX_SIMD_BAD_THREADS = 7,
    /* A bug: a panic caught at the boundary. */
    SOFTMAX_SIMD_INTERNAL = 8
} softmax_simd_status;

/* A static, NUL-terminated description of a status. */
const char *softmax_simd_status_str(softmax_simd_status status);

/* The level every call uses: "avx512", "avx2", "neon", "portable" or
   "scalar" (static string). The best this CPU has, lowered by the
   SOFTMAX_SIMD_ISA environment variable, or the one forced. */
const char *softmax_simd_level(void);

/* Forces a level by name for every later call (NULL: back to the detected
   one). SOFTMAX_SIMD_UNKNOWN_LEVEL or SOFTMAX_SIMD_UNAVAILABLE_LEVEL leave
   the level as it was. */
softmax_simd_status softmax_simd_force_level(const char *name);

/* Sets the number of threads of the pool the matrix functions use. Call it
   once, at start-up, before the first matrix call: afterwards the pool
   exists and this returns SOFTMAX_SIMD_BAD_THREADS. Without it, the pool
   uses every logical CPU (or RAYON_NUM_THREADS). */
softmax_simd_status softmax_simd_set_threads(size_t threads);

/* One row of n values. y == x is in place. n == 0 writes nothing. */
softmax_simd_status softmax_simd_softmax(const float *x, float *y, size_t n);
softmax_simd_status softmax_simd_log_softmax(const float *x, float *y, size_t n);
/* The index of the first maximum, or of the first NaN; n must be > 0. */
softmax_simd_status softmax_simd_argmax(const float *x, size_t n, size_t *index);

/* rows x cols, row-major: input row i at x + i * x_stride, output row i at
   y + i * y_stride; the softmax of x / temperature (1.0 for plain softmax).
   Rows run in parallel on the library's thread pool; a call of up to
   2^18 elements (argmax: 2^19) runs on the calling thread, where
   handing it to the pool would cost more than it saves. */
softmax_simd_status softmax_simd_softmax_rows(const float *x, size_t x_stride, float *y,
                                              size_t y_stride, size_t rows, size_t cols,
                                              float temperature);
softmax_simd_status softmax_simd_log_softmax_rows(const float *x, size_t x_stride, float *y,
                                                  size_t y_stride, size_t rows, size_t cols,
                                                  float temperature);
/* out[i] = argmax of row i; out holds rows values. */
softmax_simd_status softmax_simd_argmax_rows(const float *x, size_t x_stride, size_t rows,
                                             size_t cols, size_t *out);

#ifdef __cplusplus
}
#endif

#endif /* SOFTMAX_SIMD_H */
