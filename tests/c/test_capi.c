/* The C ABI against a plain C reference, and every status code.
 * Built and run by .ci/capi against the static and the shared library. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "softmax_simd.h"

static int passed, failed;

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        if (cond) {                                                       \
            passed++;                                                     \
        } else {                                                          \
            failed++;                                                     \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                   \
            printf(__VA_ARGS__);                                          \
            printf("\n");                                                 \
        }                                                                 \
    } while (0)

#define SENTINEL (-1234.5f)

static float lcg_state = 0.0f;
static uint32_t seed = 12345u;
static float rnd(void) {
    seed = seed * 1664525u + 1013904223u;
    lcg_state = (float)(seed >> 8) / 16777216.0f * 20.0f - 10.0f;
    return lcg_state;
}

/* The reference: softmax of x / t in double. */
static void ref_softmax(const float *x, double *r, size_t n, double t, int log_form) {
    double m = -INFINITY, s = 0.0;
    for (size_t i = 0; i < n; i++) m = fmax(m, (double)x[i]);
    for (size_t i = 0; i < n; i++) s += exp(((double)x[i] - m) / t);
    for (size_t i = 0; i < n; i++)
        r[i] = log_form ? ((double)x[i] - m) / t - log(s) : exp(((double)x[i] - m) / t) / s;
}

static double worst_error(const float *y, const double *r, size_t n, int log_form) {
    double w = 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = log_form ? fabs(y[i] - r[i]) / fmax(1.0, fabs(r[i]))
                            : fabs(y[i] - r[i]) / (r[i] + 1e-30);
        if (r[i] < 1e-30 && !log_form) e = fabs(y[i] - r[i]) < 1e-30 ? 0.0 : 1.0;
        w = fmax(w, e);
    }
    return w;
}

static int untouched(const float *y, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (y[i] != SENTINEL) return 0;
    return 1;
}

static void fill(float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = SENTINEL;
}

static void test_threads_first(void) {
    /* Before any matrix call: 0 is refused, 2 is taken, then it is too late. */
    CHECK(softmax_simd_set_threads(0) == SOFTMAX_SIMD_BAD_THREADS, "set_threads(0)");
    CHECK(softmax_simd_set_threads(2) == SOFTMAX_SIMD_OK, "set_threads(2) at start-up");
    CHECK(softmax_simd_set_threads(3) == SOFTMAX_SIMD_BAD_THREADS, "set_threads twice");
}

static void test_one_row(void) {
    static float x[1000], y[1000], z[1000];
    static double r[1000];
    const size_t sizes[] = {1, 7, 16, 100, 1000};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t n = sizes[k];
        for (size_t i = 0; i < n; i++) x[i] = rnd();
        CHECK(softmax_simd_softmax(x, y, n) == SOFTMAX_SIMD_OK, "softmax n=%zu", n);
        ref_softmax(x, r, n, 1.0, 0);
        CHECK(worst_error(y, r, n, 0) < 1e-5, "softmax n=%zu error %g", n, worst_error(y, r, n, 0));
        memcpy(z, x, n * sizeof *x);
        CHECK(softmax_simd_softmax(z, z, n) == SOFTMAX_SIMD_OK, "softmax in place");
        CHECK(memcmp(y, z, n * sizeof *y) == 0, "in place == out of place, n=%zu", n);

        CHECK(softmax_simd_log_softmax(x, y, n) == SOFTMAX_SIMD_OK, "log_softmax n=%zu", n);
        ref_softmax(x, r, n, 1.0, 1);
        CHECK(worst_error(y, r, n, 1) < 1e-5, "log_softmax n=%zu error %g", n, worst_error(y, r, n, 1));
        memcpy(z, x, n * sizeof *x);
        CHECK(softmax_simd_log_softmax(z, z, n) == SOFTMAX_SIMD_OK, "log_softmax in place");
        CHECK(memcmp(y, z, n * sizeof *y) == 0, "log in place == out of place, n=%zu", n);

        size_t best = 0, got = 12345;
        for (size_t i = 1; i < n; i++)
            if (x[i] > x[best]) best = i;
        CHECK(softmax_simd_argmax(x, n, &got) == SOFTMAX_SIMD_OK && got == best,
              "argmax n=%zu: %zu vs %zu", n, got, best);
    }
    float t[5] = {1.0f, 3.0f, NAN, 3.0f, NAN};
    size_t got = 0;
    CHECK(softmax_simd_argmax(t, 5, &got) == SOFTMAX_SIMD_OK && got == 2, "argmax: first NaN");
    CHECK(softmax_simd_softmax(x, y, 0) == SOFTMAX_SIMD_OK, "n == 0 writes nothing");
}

static void test_rows(void) {
    enum { ROWS = 3, COLS = 5, XS = 8, YS = 6 };
    static float x[(ROWS - 1) * XS + COLS], y[ROWS * YS], row[COLS];
    static double r[COLS];
    for (size_t i = 0; i < sizeof x / sizeof *x; i++) x[i] = (i % XS) < COLS ? rnd() : NAN;
    const float temps[] = {1.0f, 0.5f, 3.0f};
    for (size_t k = 0; k < 3; k++) {
        for (int log_form = 0; log_form < 2; log_form++) {
            fill(y, ROWS * YS);
            softmax_simd_status s =
                log_form ? softmax_simd_log_softmax_rows(x, XS, y, YS, ROWS, COLS, temps[k])
                         : softmax_simd_softmax_rows(x, XS, y, YS, ROWS, COLS, temps[k]);
            CHECK(s == SOFTMAX_SIMD_OK, "rows t=%g log=%d: status %d", temps[k], log_form, s);
            for (size_t i = 0; i < ROWS; i++) {
                ref_softmax(x + i * XS, r, COLS, temps[k], log_form);
                double e = worst_error(y + i * YS, r, COLS, log_form);
                CHECK(e < 1e-5, "row %zu t=%g log=%d error %g", i, temps[k], log_form, e);
                if (i + 1 < ROWS)
                    CHECK(untouched(y + i * YS + COLS, YS - COLS), "output padding untouched");
            }
        }
    }
    /* In place, one stride. */
    static float z[(ROWS - 1) * XS + COLS];
    memcpy(z, x, sizeof x);
    CHECK(softmax_simd_softmax_rows(z, XS, z, XS, ROWS, COLS, 1.0f) == SOFTMAX_SIMD_OK, "rows in place");
    for (size_t i = 0; i < ROWS; i++) {
        CHECK(softmax_simd_softmax(x + i * XS, row, COLS) == SOFTMAX_SIMD_OK, "one row");
        CHECK(memcmp(row, z + i * XS, sizeof row) == 0, "rows in place == one row, row %zu", i);
        if (i + 1 < ROWS) CHECK(isnan(z[i * XS + COLS]), "in-place padding untouched");
    }
    size_t out[ROWS];
    CHECK(softmax_simd_argmax_rows(x, XS, ROWS, COLS, out) == SOFTMAX_SIMD_OK, "argmax_rows");
    for (size_t i = 0; i < ROWS; i++) {
        size_t best = 0;
        for (size_t j = 1; j < COLS; j++)
            if (x[i * XS + j] > x[i * XS + best]) best = j;
        CHECK(out[i] == best, "argmax_rows row %zu: %zu vs %zu", i, out[i], best);
    }
}

static void test_statuses(void) {
    float x[16], y[16];
    size_t idx = 777, out[4] = {9, 9, 9, 9};
    for (int i = 0; i < 16; i++) x[i] = (float)i;

    fill(y, 16);
    CHECK(softmax_simd_softmax(NULL, y, 4) == SOFTMAX_SIMD_NULL_POINTER, "softmax NULL x");
    CHECK(softmax_simd_softmax(x, NULL, 4) == SOFTMAX_SIMD_NULL_POINTER, "softmax NULL y");
    CHECK(softmax_simd_log_softmax(NULL, y, 4) == SOFTMAX_SIMD_NULL_POINTER, "log NULL x");
    CHECK(softmax_simd_argmax(NULL, 4, &idx) == SOFTMAX_SIMD_NULL_POINTER, "argmax NULL x");
    CHECK(softmax_simd_argmax(x, 4, NULL) == SOFTMAX_SIMD_NULL_POINTER, "argmax NULL index");
    CHECK(softmax_simd_softmax_rows(NULL, 4, y, 4, 2, 4, 1.0f) == SOFTMAX_SIMD_NULL_POINTER, "rows NULL");
    CHECK(softmax_simd_log_softmax_rows(x, 4, NULL, 4, 2, 4, 1.0f) == SOFTMAX_SIMD_NULL_POINTER, "log rows NULL");
    CHECK(softmax_simd_argmax_rows(x, 4, 2, 4, NULL) == SOFTMAX_SIMD_NULL_POINTER, "argmax_rows NULL");

    CHECK(softmax_simd_argmax(x, 0, &idx) == SOFTMAX_SIMD_BAD_SHAPE && idx == 777, "argmax n=0");
    CHECK(softmax_simd_softmax_rows(x, 4, y, 4, 2, 0, 1.0f) == SOFTMAX_SIMD_BAD_SHAPE, "cols 0");
    CHECK(softmax_simd_softmax_rows(x, 3, y, 4, 2, 4, 1.0f) == SOFTMAX_SIMD_BAD_SHAPE, "x_stride < cols");
    CHECK(softmax_simd_softmax_rows(x, 4, y, 2, 2, 4, 1.0f) == SOFTMAX_SIMD_BAD_SHAPE, "y_stride < cols");
    CHECK(softmax_simd_softmax_rows(y, 4, y, 5, 2, 4, 1.0f) == SOFTMAX_SIMD_BAD_SHAPE, "two strides in place");
    CHECK(softmax_simd_softmax_rows(x, SIZE_MAX / 2, y, 4, 3, 4, 1.0f) == SOFTMAX_SIMD_BAD_SHAPE, "overflow");
    CHECK(softmax_simd_argmax_rows(x, 4, 2, 0, out) == SOFTMAX_SIMD_BAD_SHAPE && out[0] == 9, "argmax_rows cols 0");

    CHECK(softmax_simd_softmax(y, y + 1, 8) == SOFTMAX_SIMD_OVERLAP, "overlap one row");
    CHECK(softmax_simd_softmax_rows(y, 4, y + 2, 4, 2, 4, 1.0f) == SOFTMAX_SIMD_OVERLAP, "overlap rows");

    const float bad_t[] = {0.0f, -1.0f, NAN, INFINITY};
    for (int i = 0; i < 4; i++) {
        CHECK(softmax_simd_softmax_rows(x, 4, y, 4, 2, 4, bad_t[i]) == SOFTMAX_SIMD_BAD_TEMPERATURE,
              "temperature %g", bad_t[i]);
        CHECK(softmax_simd_log_softmax_rows(x, 4, y, 4, 2, 4, bad_t[i]) == SOFTMAX_SIMD_BAD_TEMPERATURE,
              "log temperature %g", bad_t[i]);
    }
    CHECK(untouched(y, 16), "nothing written on any error");
    CHECK(out[0] == 9 && out[1] == 9, "argmax_rows out untouched");

    const char *detected = softmax_simd_level();
    CHECK(detected && strlen(detected) > 0, "level name");
    char saved[16];
    snprintf(saved, sizeof saved, "%s", detected);
    CHECK(softmax_simd_force_level("avx9") == SOFTMAX_SIMD_UNKNOWN_LEVEL, "unknown level");
#if defined(__x86_64__)
    CHECK(softmax_simd_force_level("neon") == SOFTMAX_SIMD_UNAVAILABLE_LEVEL, "neon on x86-64");
#elif defined(__aarch64__)
    CHECK(softmax_simd_force_level("avx2") == SOFTMAX_SIMD_UNAVAILABLE_LEVEL, "avx2 on aarch64");
#endif
    CHECK(strcmp(softmax_simd_level(), saved) == 0, "a refused level changes nothing");
    CHECK(softmax_simd_force_level("scalar") == SOFTMAX_SIMD_OK, "force scalar");
    CHECK(strcmp(softmax_simd_level(), "scalar") == 0, "level is scalar");
    CHECK(softmax_simd_softmax(x, y, 16) == SOFTMAX_SIMD_OK, "softmax at scalar");
    CHECK(softmax_simd_force_level(NULL) == SOFTMAX_SIMD_OK, "back to detected");
    CHECK(strcmp(softmax_simd_level(), saved) == 0, "detected level again: %s", saved);

    for (int s = 0; s <= 8; s++) {
        const char *m = softmax_simd_status_str((softmax_simd_status)s);
        CHECK(m && strlen(m) > 0, "status_str(%d)", s);
    }
}

int main(void) {
    test_threads_first();
    test_one_row();
    test_rows();
    test_statuses();
    printf("C ABI (level %s): %d passed, %d failed\n", softmax_simd_level(), passed, failed);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
