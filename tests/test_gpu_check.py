"""tools/peak.py: a matmul peak per precision.
"""
import os
import sys

import pytest
from conftest import REPO, assert_bad_input, run_script

sys.path.insert(0, str(REPO / "tools"))
import rules  # noqa: E402

BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_flags():
    with open("/proc/cpuinfo") as f:
        return next(line.split(":", 1)[1].split() for line in f if line.startswith("flags"))


def peak_lines(stdout):
    """[(the comment line before it, {key: value})] for each peak line, read by rules.parse_line
    as the collector reads it."""
    lines, out = stdout.splitlines(), []
    for i, line in enumerate(lines):
        p = rules.parse_line(line, kinds=("peak",))
        if p:
            out.append((lines[i - 1] if i else "", p[1]))
    return out


# ---- tools/peak.py ------------------------------------------------------------------------------
def test_peak_quick_cpu_measures_float32_and_bfloat16():
    run = run_script("tools/peak.py", "--quick", "--cpu", timeout=120)
    assert run.rc == 0, run
    peaks = peak_lines(run.stdout)
    assert [p["dtype"] for _, p in peaks] == ["float32", "bfloat16"], run
    native = [f for f in BF16_FLAGS if f in cpu_flags()]
    for comment, p in peaks:
        assert comment.startswith("#") and p["dtype"] in comment, run  # says which precision
        assert isinstance(p["tflops"], float) and p["tflops"] > 0, run
        assert p["device"] == "cpu" and p["onednn"] in (0, 1) and p["cores"] == os.cpu_count()
        assert p["bf16"] == ("native" if native else "emulated"), run
        assert str(p["cpu_flags_bf16"]) == (",".join(native) or "none"), run
        sizes = [int(n) for n in str(p["sizes"]).split(",")]
        assert p["n"] in sizes and p["reps"] == 3, run
        for key in ("device_name", "tf32_allowed", "tf"):
            assert key in p, run
    # bfloat16 without native instructions is emulated: smaller matrices
    assert str(peaks[1][1]["sizes"]) == ("512,1024" if native else "256,512"), run
    assert str(peaks[0][1]["sizes"]) == "512,1024", run


@pytest.mark.slow
def test_peak_dtypes_selects_precisions_in_the_order_given():
    run = run_script("tools/peak.py", "--quick", "--cpu", "--dtypes", "bfloat16,float32",
                     timeout=120)
    assert run.rc == 0, run
    assert [p["dtype"] for _, p in peak_lines(run.stdout)] == ["bfloat16", "float32"], run


@pytest.mark.parametrize("value", ["float64", "float32,float32", "float32,", "", "fp32"])
def test_peak_bad_dtypes_is_one_line_exit_2(value):
    run = run_script("tools/peak.py", "--quick", "--dtypes", value, timeout=60)
    error = assert_bad_input(run)
    assert "--dtypes" in error and run.stdout == "", run
