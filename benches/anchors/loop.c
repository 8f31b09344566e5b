/* The "plain C loop" anchor: forward pass and input gradient of the benchmark's
 * 784-64-10 MLP, one image at a time, as a C programmer would write it, built with
 * gcc -O3 -march=native -ffast-math (which lets gcc reorder and vectorise every sum).
 *
 *   loop DIR [RUNS]
 *
 * DIR holds the files written by `cargo run --release -p nudge-benches --features anchors
 * --example anchor_inputs -- DIR`. Checks every gradient against the kernel's (within 1e-4 of the
 * image's largest |gradient|, like the criterion baselines), then times RUNS passes over
 * the 1,000 digits, two ways: `dense` (every row of W1 in the backward pass) and `skip`
 * (rows whose ReLU is off skipped, as nudge does). Prints the fastest and median pass. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { IN = 784, H = 64, OUT = 10, TARGET = 3, N = 1000 };

struct model {
    float w1[H][IN], b1[H], w2[OUT][H], b2[OUT];
};

static int read_floats(const char *dir, const char *name, float *out, size_t count) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "error: %s: cannot open (write it with the anchor_inputs example)\n", path);
        return -1;
    }
    size_t got = fread(out, sizeof(float), count, f);
    int extra = fgetc(f) != EOF;
    fclose(f);
    if (got != count || extra) {
        fprintf(stderr, "error: %s: expected %zu floats\n", path, count);
        return -1;
    }
    return 0;
}

/* log softmax(z)[TARGET] and its input gradient g. */
static float forward_input_grad(const struct model *m, const float *x, float *g, int skip) {
    float a[H], h[H], z[OUT], dz[OUT], da[H];
    for (int j = 0; j < H; j++) {
        float s = m->b1[j];
        for (int i = 0; i < IN; i++) s += m->w1[j][i] * x[i];
        a[j] = s;
        h[j] = s > 0.0f ? s : 0.0f;
    }
    float zmax = -INFINITY;
    for (int k = 0; k < OUT; k++) {
        float s = m->b2[k];
        for (int j = 0; j < H; j++) s += m->w2[k][j] * h[j];
        z[k] = s;
        if (s > zmax) zmax = s;
    }
    float sum = 0.0f;
    for (int k = 0; k < OUT; k++) sum += expf(z[k] - zmax);
    for (int k = 0; k < OUT; k++) dz[k] = (k == TARGET) - expf(z[k] - zmax) / sum;
    for (int j = 0; j < H; j++) {
        float s = 0.0f;
        for (int k = 0; k < OUT; k++) s += m->w2[k][j] * dz[k];
        da[j] = a[j] > 0.0f ? s : 0.0f;
    }
    memset(g, 0, IN * sizeof(float));
    for (int j = 0; j < H; j++) {
        if (skip && da[j] == 0.0f) continue;
        for (int i = 0; i < IN; i++) g[i] += da[j] * m->w1[j][i];
    }
    return z[TARGET] - zmax - logf(sum);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "error: usage: loop DIR [RUNS]\n");
        return 1;
    }
    int runs = argc == 3 ? atoi(argv[2]) : 100;
    if (runs <= 0) {
        fprintf(stderr, "error: RUNS must be a positive integer, not `%s`\n", argv[2]);
        return 1;
    }
    struct model *m = malloc(sizeof *m);
    float *xs = malloc(sizeof(float) * N * IN), *want = malloc(sizeof(float) * N * IN);
    float *grads = malloc(sizeof(float) * N * IN), want_logp[N];
    double *times = malloc(sizeof(double) * runs);
    if (!m || !xs || !want || !grads || !times) return 1;
    if (read_floats(argv[1], "model.f32", (float *)m, sizeof *m / sizeof(float)) ||
        read_floats(argv[1], "images.f32", xs, (size_t)N * IN) ||
        read_floats(argv[1], "grads.f32", want, (size_t)N * IN) ||
        read_floats(argv[1], "log_probs.f32", want_logp, N))
        return 1;

    for (int skip = 0; skip <= 1; skip++) {
        const char *name = skip ? "skip" : "dense";
        double worst = 0.0;
        for (int n = 0; n < N; n++) {
            float lp = forward_input_grad(m, xs + n * IN, grads + n * IN, skip);
            float max_abs = 0.0f, max_diff = 0.0f;
            for (int i = 0; i < IN; i++) {
                max_abs = fmaxf(max_abs, fabsf(want[n * IN + i]));
                max_diff = fmaxf(max_diff, fabsf(grads[n * IN + i] - want[n * IN + i]));
            }
            if (max_diff > 1e-4f * max_abs || fabsf(lp - want_logp[n]) > 1e-4f) {
                fprintf(stderr, "error: %s: image %d disagrees with the kernel (max |diff| %g, "
                        "max |grad| %g, log p %g vs %g)\n", name, n, max_diff, max_abs, lp,
                        want_logp[n]);
                return 1;
            }
            if (max_abs > 0.0f && max_diff / max_abs > worst) worst = max_diff / max_abs;
        }
        double checksum = 0.0;
        for (int r = 0; r < runs; r++) {
            double start = now();
            for (int n = 0; n < N; n++) forward_input_grad(m, xs + n * IN, grads + n * IN, skip);
            times[r] = now() - start;
        }
        for (int i = 0; i < N * IN; i++) checksum += grads[i];
        qsort(times, runs, sizeof *times, by_value);
        printf("c_%s one_by_one: fastest %.0f µs (%.0f images/s), median %.0f µs "
               "(agrees with the kernel within %.1e of max |grad|; checksum %.6e)\n",
               name, times[0] * 1e6, N / times[0], times[runs / 2] * 1e6, worst, checksum);
    }
    return 0;
}
