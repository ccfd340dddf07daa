"""Run a benchmark script as if bench.device() had found a GPU, on the CPU: the code that a GPU
run takes for --amp (float16 loss scaling, the GPU's rewrite, Keras's mixed_float16 policy) builds
and reports what it built. Used by tests/test_precision.py; nothing here is a measurement.

    python tests/pretend_gpu.py SCRIPT ARGS...
"""
import runpy
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
import bench  # noqa: E402



def device(gpus, logical_cpus=False):
    """One device, called "gpu" (for NUM_GPU 0 or 1 only)."""
    assert bench.run.args.num_gpu <= 1, "pretend_gpu runs one device"
    bench.run.device = "gpu"
    return "gpu"


bench.device = device
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
