#!/usr/bin/env python3
"""Measure this machine's fp32 matrix-multiply peak with TensorFlow, as a hardware reference.

    tools/peak.py [--quick] [--cpu]

Times square float32 matmuls (n = 2048 and 4096 on the CPU, 4096 and 8192 on a GPU; --quick:
512 and 1024) and keeps the best repetition. Runs on the first GPU when one is visible, else on
the CPU (--cpu forces the CPU). TensorFlow's default matmul precision is used: on Ampere and newer
NVIDIA GPUs that default allows TF32, so the figure is a TF32-capable peak there (the output line
says tf32_allowed=1). Prints one logfmt line:

    peak device=<cpu|gpu> device_name=<...> tflops=<best> n=<size of the best> reps=<per size> ...
         onednn=<1|0>

It runs in the sweep's environment, so TensorFlow's oneDNN switch (TF_ENABLE_ONEDNN_OPTS, or the
CPU's default) is the same as the cells it serves; the line says which.

It takes under ~20 s on a 2-core CPU.
"""
import argparse
import os
import platform
import sys
import time

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--quick", action="store_true", help="small matrices, few repetitions")
p.add_argument("--cpu", action="store_true", help="measure the CPU even when a GPU is visible")
args = p.parse_args()
if args.cpu:
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import onednn  # noqa: E402  (oneDNN on or off: the same process-wide switch as the cells')


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


gpus = tf.config.list_physical_devices("GPU")
if gpus:
    device, dev = "gpu", "/GPU:0"
    details = tf.config.experimental.get_device_details(gpus[0])
    name = details.get("device_name", "GPU")
    cc = details.get("compute_capability")
    tf32 = int(bool(cc and cc[0] >= 8 and tf.config.experimental.tensor_float_32_execution_enabled()))
    sizes, reps = ((1024, 2048), 5) if args.quick else ((4096, 8192), 20)
else:
    device, dev, name, tf32 = "cpu", "/CPU:0", cpu_name(), 0
    sizes, reps = ((512, 1024), 3) if args.quick else ((2048, 4096), 4)


@tf.function
def mm(a, b):
    return tf.reduce_sum(tf.matmul(a, b)[:1, :1])  # fetching a scalar waits for the product


best = (0.0, 0)
with tf.device(dev):
    for n in sizes:
        a = tf.random.normal((n, n), dtype=tf.float32)
        b = tf.random.normal((n, n), dtype=tf.float32)
        mm(a, b).numpy()  # warm-up: tracing, allocation, kernel selection
        for _ in range(reps):
            t = time.perf_counter()
            mm(a, b).numpy()
            tflops = 2 * n ** 3 / (time.perf_counter() - t) / 1e12
            if tflops > best[0]:
                best = (tflops, n)

print("# fp32 matmul, TensorFlow's default precision"
      + ("; TF32 is allowed on this GPU (Ampere or newer)" if tf32 else ""))
print(f"peak device={device} device_name={name.replace(' ', '_') or 'unknown'} "
      f"tflops={best[0]:.4f} n={best[1]} reps={reps} sizes={','.join(map(str, sizes))} "
      f"dtype=float32 tf32_allowed={tf32} cores={os.cpu_count()} tf={tf.__version__} "
      f"onednn={int(onednn())}", flush=True)
