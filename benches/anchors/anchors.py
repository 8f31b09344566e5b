"""The issue's NumPy and JAX anchors, on the benchmark's model and digits, on one thread.

    python3 anchors.py DIR [RUNS]

DIR holds the files written by
`cargo run --release -p nudge-benches --features anchors --example anchor_inputs -- DIR`.
For each way of computing `∇ₓ log softmax(z)[3]` of the 784-64-10 MLP for the 1,000
digits, checks every gradient against the kernel's (within 1e-4 of the image's largest
|gradient|, and log p within 1e-4, as the criterion baselines are checked), then times
RUNS passes and prints the fastest and the median, in the format of nudge's `best_of`
example:

- `numpy one_by_one`: the hand-written backward pass, one image per call;
- `numpy batch`: the same for all 1,000 at once (matrix products);
- `jax one_by_one`: `jax.grad` of the forward pass, jitted, looping over the images inside
  the compiled function (`lax.map`), so Python's per-call dispatch is not counted;
- `jax batch`: the same, vectorised over the 1,000 images (`vmap`).

One thread: the BLAS and XLA thread pools are limited to one thread before NumPy and JAX
are imported (run it under `taskset -c 0` as well, as `run.sh` does).
"""

import os
import sys

for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[name] = "1"
os.environ["XLA_FLAGS"] = (
    "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
)
os.environ["JAX_PLATFORMS"] = "cpu"

import time  # noqa: E402

import numpy as np  # noqa: E402

IN, H, OUT, TARGET, N = 784, 64, 10, 3, 1000


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def read_floats(directory, name, count):
    path = os.path.join(directory, name)
    try:
        values = np.fromfile(path, dtype="<f4")
    except OSError as e:
        fail(f"{path}: {e.strerror} (write it with the anchor_inputs example)")
    if values.size != count:
        fail(f"{path}: expected {count} floats, found {values.size}")
    return values


def load(directory):
    flat = read_floats(directory, "model.f32", H * IN + H + OUT * H + OUT)
    w1, rest = flat[: H * IN].reshape(H, IN), flat[H * IN :]
    b1, rest = rest[:H], rest[H:]
    w2, b2 = rest[: OUT * H].reshape(OUT, H), rest[OUT * H :]
    xs = read_floats(directory, "images.f32", N * IN).reshape(N, IN)
    grads = read_floats(directory, "grads.f32", N * IN).reshape(N, IN)
    log_probs = read_floats(directory, "log_probs.f32", N)
    return (w1, b1, w2, b2), xs, grads, log_probs


def numpy_one(params, x):
    """Forward pass and hand-written backward pass for one image."""
    w1, b1, w2, b2 = params
    a = w1 @ x + b1
    h = np.maximum(a, 0.0)
    z = w2 @ h + b2
    shifted = z - z.max()
    e = np.exp(shifted)
    total = e.sum()
    dz = -e / total
    dz[TARGET] += 1.0
    da = (w2.T @ dz) * (a > 0.0)
    return w1.T @ da, shifted[TARGET] - np.log(total)


def numpy_batch(params, xs):
    """The same for a batch, one matrix product per layer."""
    w1, b1, w2, b2 = params
    a = xs @ w1.T + b1
    h = np.maximum(a, 0.0)
    z = h @ w2.T + b2
    shifted = z - z.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    total = e.sum(axis=1, keepdims=True)
    dz = -e / total
    dz[:, TARGET] += 1.0
    da = (dz @ w2) * (a > 0.0)
    return da @ w1, shifted[:, TARGET] - np.log(total[:, 0])


def numpy_modes(params):
    def one_by_one(xs):
        pairs = [numpy_one(params, x) for x in xs]
        return np.stack([g for g, _ in pairs]), np.array([lp for _, lp in pairs])

    return {"one_by_one": one_by_one, "batch": lambda xs: numpy_batch(params, xs)}


def jax_modes(params):
    import jax
    import jax.numpy as jnp

    def log_prob(x, w1, b1, w2, b2):
        h = jnp.maximum(w1 @ x + b1, 0.0)
        return jax.nn.log_softmax(w2 @ h + b2)[TARGET]

    value_and_grad = jax.value_and_grad(log_prob)
    one = jax.jit(lambda xs, *p: jax.lax.map(lambda x: value_and_grad(x, *p), xs))
    batch = jax.jit(jax.vmap(value_and_grad, in_axes=(0, None, None, None, None)))
    device_params = [jnp.asarray(p) for p in params]

    def run(fn):
        def call(xs):
            lp, g = fn(xs, *device_params)
            g.block_until_ready()
            return np.asarray(g), np.asarray(lp)

        return call

    return {"one_by_one": run(one), "batch": run(batch)}


def check(name, got, want, got_lp, want_lp):
    max_abs = np.abs(want).max(axis=1)
    max_diff = np.abs(got - want).max(axis=1)
    bad = np.flatnonzero((max_diff > 1e-4 * max_abs) | (np.abs(got_lp - want_lp) > 1e-4))
    if bad.size:
        n = bad[0]
        fail(
            f"{name}: image {n} disagrees with the kernel "
            f"(max |diff| {max_diff[n]:g}, max |grad| {max_abs[n]:g})"
        )
    return float((max_diff / np.where(max_abs > 0, max_abs, 1.0)).max())


def main():
    if len(sys.argv) not in (2, 3):
        fail("usage: anchors.py DIR [RUNS]")
    try:
        runs = int(sys.argv[2]) if len(sys.argv) == 3 else 20
    except ValueError:
        runs = 0
    if runs <= 0:
        fail(f"RUNS must be a positive integer, not `{sys.argv[2]}`")
    params, xs, want, want_lp = load(sys.argv[1])
    libraries = {"numpy": numpy_modes(params), "jax": jax_modes(params)}
    for library, modes in libraries.items():
        for mode, fn in modes.items():
            grads, lps = fn(xs)  # also compiles, for JAX
            worst = check(f"{library} {mode}", grads, want, lps, want_lp)
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                fn(xs)
                times.append(time.perf_counter() - start)
            times.sort()
            fastest, median = times[0], times[len(times) // 2]
            print(
                f"{library} {mode}: fastest {fastest * 1e6:.0f} µs "
                f"({N / fastest:.0f} images/s), median {median * 1e6:.0f} µs "
                f"(agrees with the kernel within {worst:.1e} of max |grad|; "
                f"checksum {float(grads.astype(np.float64).sum()):.6e})"
            )


if __name__ == "__main__":
    main()
