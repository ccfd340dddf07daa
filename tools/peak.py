#!/usr/bin/env python3
"""Measure this machine's matrix-multiply peak per precision with TensorFlow, as a reference.

    tools/peak.py [--quick] [--cpu] [--dtypes LIST]

Times square matmuls in each precision and keeps each one's best repetition. Precisions (--dtypes,
a comma-separated list of float32, bfloat16, float16): by default float32 and bfloat16 on the CPU,
float32 and float16 on a GPU. Runs on the first GPU when one is visible, else on the CPU (--cpu
forces the CPU).

Sizes (n) and repetitions per size (reps), each line records them:
- GPU, every precision: n = 4096 and 8192, 20 reps (--quick: 1024 and 2048, 5 reps);
- CPU, float32, and bfloat16 on a CPU with native bfloat16 instructions: n = 2048 and 4096, 3 reps
  (--quick: 512 and 1024, 3 reps);
- CPU, bfloat16 without native instructions and float16: n = 1024 and 2048, 4 reps (--quick: 256
  and 512, 3 reps): the CPU emulates these, which can be many times slower than float32.

TensorFlow's default matmul precision is used: on Ampere and newer NVIDIA GPUs that default allows
TF32 for float32, so the float32 figure is a TF32-capable peak there (tf32_allowed=1 on every line:
the process's setting). Prints a comment line saying which precision, then one logfmt line, per
precision:

    peak device=<cpu|gpu> device_name=<...> tflops=<best> n=<size of the best> reps=<per size>
         sizes=<n,n> dtype=<float32|bfloat16|float16> tf32_allowed=<1|0> cores=<...> tf=<...>
         onednn=<1|0> [bf16=<native|emulated> cpu_flags_bf16=<flags,...|none>]

bf16= and cpu_flags_bf16= are on every CPU line: whether /proc/cpuinfo lists native bfloat16
instructions (avx512_bf16, amx_bf16) and which. They describe the CPU, not what TensorFlow ran:
onednn= says whether its oneDNN kernels were on (TensorFlow's Eigen kernels emulate bfloat16).

It runs in the sweep's environment, so TensorFlow's oneDNN switch (TF_ENABLE_ONEDNN_OPTS, or the
CPU's default) is the same as the cells it serves; the lines say which.

It takes ~20-25 s on an idle 2-core CPU, up to ~50 s on one shared with other work (--quick: ~8 s,
mostly TensorFlow's start-up).
Bad input (an unknown or repeated precision): one line on stderr, exit status 2.
"""
import argparse
import os
import platform
import sys
import time

DTYPES = ("float32", "bfloat16", "float16")
DEFAULT_DTYPES = {"cpu": ("float32", "bfloat16"), "gpu": ("float32", "float16")}
BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo's flags for native bfloat16 instructions


def fail(msg):
    """Bad input: one line on stderr, exit status 2."""
    print(f"peak.py: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(2)


def parse_dtypes(text):
    """The precisions of --dtypes, in the order given; fail() on a bad list."""
    names = [d.strip() for d in text.split(",")]
    for d in names:
        if d not in DTYPES:
            fail(f"--dtypes: unknown precision '{d}' (choose from {', '.join(DTYPES)})")
        if names.count(d) > 1:
            fail(f"--dtypes: precision '{d}' given twice")
    return names


p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.error = fail
p.add_argument("--quick", action="store_true", help="small matrices, few repetitions")
p.add_argument("--cpu", action="store_true", help="measure the CPU even when a GPU is visible")
p.add_argument("--dtypes", metavar="LIST", help="precisions to measure, comma-separated, of "
               f"{', '.join(DTYPES)} (default: float32,bfloat16 on the CPU, float32,float16 on a "
               "GPU)")
args = p.parse_args()
chosen = parse_dtypes(args.dtypes) if args.dtypes is not None else None
if args.cpu:
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# oneDNN on or off: the same process-wide switch as the cells'
from bench import cpu_flags, onednn  # noqa: E402


def cpuinfo(key):
    """The value of the first `key` line of /proc/cpuinfo, or None."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.split(":", 1)[0].strip() == key:
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_name():
    return cpuinfo("model name") or platform.processor() or platform.machine()


gpus = tf.config.list_physical_devices("GPU")
if gpus:
    device, dev = "gpu", "/GPU:0"
    details = tf.config.experimental.get_device_details(gpus[0])
    name = details.get("device_name", "GPU")
    cc = details.get("compute_capability")
    tf32 = int(bool(cc and cc[0] >= 8
                    and tf.config.experimental.tensor_float_32_execution_enabled()))
    extra = {}
else:
    device, dev, name, tf32 = "cpu", "/CPU:0", cpu_name(), 0
    have = cpu_flags()
    flags = [f for f in BF16_FLAGS if f in have]
    extra = {"bf16": "native" if flags else "emulated", "cpu_flags_bf16": ",".join(flags) or "none"}


def plan(dtype):
    """(sizes, reps) for a precision on this device."""
    if device == "gpu":
        return ((1024, 2048), 5) if args.quick else ((4096, 8192), 20)
    if dtype == "float32" or (dtype == "bfloat16" and extra["bf16"] == "native"):
        return ((512, 1024), 3) if args.quick else ((2048, 4096), 3)
    return ((256, 512), 3) if args.quick else ((1024, 2048), 4)  # emulated: smaller matrices


def comment(dtype):
    if dtype == "float32":
        return ("# float32 matmul, TensorFlow's default precision"
                + ("; TF32 is allowed on this GPU (Ampere or newer)" if tf32 else ""))
    if device == "gpu":
        return f"# {dtype} matmul on the GPU"
    if dtype == "bfloat16":
        how = (f"the CPU has native bfloat16 instructions ({extra['cpu_flags_bf16']})"
               if extra["bf16"] == "native" else
               "no native bfloat16 instructions on this CPU (no avx512_bf16 or amx_bf16): emulated")
        return f"# bfloat16 matmul on the CPU; {how}"
    return f"# {dtype} matmul on the CPU"


@tf.function
def mm(a, b):
    return tf.reduce_sum(tf.matmul(a, b)[:1, :1])  # fetching a scalar waits for the product


def measure(dtype, sizes, reps):
    """(best TFLOP/s, its n) over `reps` timed products per size, after one warm-up each."""
    best = (0.0, 0)
    with tf.device(dev):
        for n in sizes:
            a = tf.cast(tf.random.normal((n, n)), dtype)
            b = tf.cast(tf.random.normal((n, n)), dtype)
            mm(a, b).numpy()  # warm-up: tracing, allocation, kernel selection
            for _ in range(reps):
                t = time.perf_counter()
                mm(a, b).numpy()
                tflops = 2 * n ** 3 / (time.perf_counter() - t) / 1e12
                if tflops > best[0]:
                    best = (tflops, n)
    return best


for dtype in chosen or DEFAULT_DTYPES[device]:
    sizes, reps = plan(dtype)
    tflops, n = measure(dtype, sizes, reps)
    tail = "".join(f" {k}={v}" for k, v in extra.items())
    print(comment(dtype))
    print(f"peak device={device} device_name={name.replace(' ', '_') or 'unknown'} "
          f"tflops={tflops:.4f} n={n} reps={reps} sizes={','.join(map(str, sizes))} "
          f"dtype={dtype} tf32_allowed={tf32} cores={os.cpu_count()} tf={tf.__version__} "
          f"onednn={int(onednn())}{tail}", flush=True)
