"""tools/peak.py's peak per precision, and tools/gpu-check.sh, the prepared GPU run.

gpu-check.sh is tested without a GPU: its refusal (no nvidia-smi, or one that lists no GPU), its bad
input, its dry run (the sweep's plan, nothing written), and with a fake nvidia-smi listing two GPUs
and the stand-in interpreter (tests/standin/python) for a whole run in seconds.
"""
import os
import re
import shutil
import subprocess
import sys
import time

import pytest
from conftest import REPO, assert_bad_input, run_script

sys.path.insert(0, str(REPO / "tools"))
import rules  # noqa: E402

GPU_CHECK = REPO / "tools" / "gpu-check.sh"
STANDIN = REPO / "tests" / "standin" / "python"
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


# ---- tools/gpu-check.sh -------------------------------------------------------------------------
FAKE_SMI = """#!/bin/sh
# a fake nvidia-smi: -L lists $FAKE_NGPU GPUs (none: "No devices were found", exit 6)
n=${FAKE_NGPU:-0}
case "$1" in
  -L)
    [ "$n" -gt 0 ] || { echo "No devices were found"; exit 6; }
    i=0
    while [ "$i" -lt "$n" ]; do echo "GPU $i: NVIDIA Fake H1 (UUID: GPU-$i)"; i=$((i+1)); done ;;
  --query-gpu=*)
    case "$2" in *noheader*) ;; *) echo "name, driver_version, memory.total [MiB]" ;; esac
    i=0
    while [ "$i" -lt "$n" ]; do echo "NVIDIA Fake H1, 999.1, 81920 MiB"; i=$((i+1)); done ;;
esac
"""


def gpu_check(tmp_path, *args, ngpu=None, timeout=60, **env):
    """Run tools/gpu-check.sh from tmp_path. ngpu None: no nvidia-smi on PATH; else a fake one
    listing ngpu GPUs."""
    path = os.pathsep.join(os.path.dirname(shutil.which(t)) for t in ("bash", "git", "timeout"))
    if ngpu is None and shutil.which("nvidia-smi", path=path):
        pytest.skip("nvidia-smi is in the system's folders here: cannot hide it")
    if ngpu is not None:
        fake = tmp_path / "fake-bin"
        fake.mkdir(exist_ok=True)
        (fake / "nvidia-smi").write_text(FAKE_SMI)
        (fake / "nvidia-smi").chmod(0o755)
        path = f"{fake}{os.pathsep}{path}"
    base = {k: v for k, v in os.environ.items() if not k.startswith("RUN_ALL_")}
    proc = subprocess.run([str(GPU_CHECK), *map(str, args)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=timeout,
                          env={**base, "PATH": path, "FAKE_NGPU": str(ngpu or 0), **env})
    proc.rc = proc.returncode
    return proc


def one_error_line(proc):
    assert proc.rc == 2, (proc.stdout, proc.stderr)
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("gpu-check.sh: error: ")
    assert proc.stdout == ""
    return proc.stderr.strip()


@pytest.mark.parametrize("ngpu", [None, 0], ids=["no-nvidia-smi", "lists-none"])
def test_gpu_check_without_gpu_refuses_and_writes_nothing(tmp_path, ngpu):
    proc = gpu_check(tmp_path, tmp_path / "out", ngpu=ngpu)
    assert one_error_line(proc) == ("gpu-check.sh: error: no NVIDIA GPU found (nvidia-smi -L lists "
                                    "none); this check needs one")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args, says", [
    ((), "missing OUT"),
    (("--dry-run",), "missing OUT"),
    (("--bogus", "out"), "unknown option '--bogus'"),
    (("a", "b"), "one OUT folder only"),
    (("afile",), "exists and is not a folder"),
])
def test_gpu_check_bad_input_is_one_line_exit_2(tmp_path, args, says):
    (tmp_path / "afile").write_text("")
    error = one_error_line(gpu_check(tmp_path, *args, ngpu=1))
    assert says in error
    assert {p.name for p in tmp_path.iterdir()} == {"afile", "fake-bin"}  # nothing written


def test_gpu_check_help(tmp_path):
    proc = gpu_check(tmp_path, "--help")
    assert proc.rc == 0 and proc.stdout.startswith("usage: tools/gpu-check.sh [--dry-run] OUT")
    assert "--dry-run" in proc.stdout and proc.stderr == ""


def planned(stdout):
    """{cell: its command} from the sweep's dry-run plan lines (r1 CELL: COMMAND  (time limit))."""
    return dict(re.findall(r"^r1 (\S+): (.*?)  \(time limit 150s\)$", stdout, re.M))


def test_gpu_check_dry_run_without_gpu_plans_fp32_and_amp_on_one_gpu(tmp_path):
    out = tmp_path / "out"
    proc = gpu_check(tmp_path, "--dry-run", out)
    assert proc.rc == 0, (proc.stdout, proc.stderr)
    assert not out.exists() and sorted(tmp_path.iterdir()) == []  # nothing written
    assert "RUN_ALL_NGPU=1" in proc.stdout and "RUN_ALL_TIMEOUT_S=150" in proc.stdout
    plan = planned(proc.stdout)
    tasks, apis = ("cifar10-cnn", "resnet50"), ("tensorpack", "keras", "tflearn")
    assert sorted(plan) == sorted(f"{t}.{a}.g1{v}" for t in tasks for a in apis
                                  for v in ("", ".amp")), proc.stdout
    for cell, cmd in plan.items():
        words = cmd.split()
        assert ("--amp" in words) == cell.endswith(".amp"), cmd
        # the last --steps and --epochs win: short settings for every cell, more CIFAR steps
        steps = words[len(words) - 1 - words[::-1].index("--steps") + 1]
        epochs = words[len(words) - 1 - words[::-1].index("--epochs") + 1]
        assert (steps, epochs) == ("50" if cell.startswith("cifar") else "20", "3"), cmd
    assert f"--out {out}/sweep --gpus 1 --variants fp32,amp --repeat 1" in proc.stdout


def test_gpu_check_dry_run_with_two_gpus_adds_data_parallel_resnet50(tmp_path):
    proc = gpu_check(tmp_path, "--dry-run", tmp_path / "out", ngpu=2)
    assert proc.rc == 0, (proc.stdout, proc.stderr)
    assert "RUN_ALL_NGPU" not in proc.stdout and "2 GPU(s) found" in proc.stdout
    g2 = sorted(c for c in planned(proc.stdout) if ".g2" in c)
    assert g2 == ["resnet50.keras.g2", "resnet50.keras.g2.amp", "resnet50.tensorpack.g2",
                  "resnet50.tensorpack.g2.amp"], proc.stdout
    assert len(planned(proc.stdout)) == 16 and not (tmp_path / "out").exists()


def standin_env(tmp_path, **extra):
    """The stand-in for the benchmarks (milliseconds per run), with its pid file."""
    venv = REPO / ".venv"
    if not (venv / ".installed").exists() or (
            (REPO / "requirements.txt").stat().st_mtime > (venv / ".installed").stat().st_mtime):
        pytest.skip(".venv is not set up: gpu-check.sh would install it")
    return dict(RUN_ALL_PYTHON=str(STANDIN), RUN_ALL_IDLE_SAMPLE_S="0.05",
                XDG_CACHE_HOME=str(tmp_path / "cache"), STANDIN_PIDS=str(tmp_path / "pids"),
                **extra)


def last_line(proc, out):
    """(the sweep's exit status, the results path) from gpu-check.sh's last line."""
    m = re.fullmatch(r"gpu-check.sh: sweep exit status (\d+); results: (.*)",
                     proc.stdout.splitlines()[-1])
    assert m and m[2] == f"{out}/sweep/results.md", proc.stdout
    return int(m[1])


@pytest.mark.slow
def test_gpu_check_whole_run_with_a_fake_gpu_and_the_standin(tmp_path):
    """Two fake GPUs, the stand-in for the benchmarks, one run made to fail: everything lands
    under OUT, the log is teed, the last line names results.md and the exit status is the
    sweep's (1: a run failed)."""
    out = tmp_path / "out"
    proc = gpu_check(tmp_path, out, ngpu=2, timeout=300, **standin_env(
        tmp_path, RUN_ALL_EXTRA_ARGS_resnet50_keras_g2_amp="--fake-exit 3"))
    assert proc.rc == last_line(proc, out) == 1, proc.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "fake-bin", "out"]  # fonts
    assert (out / "gpu-check.log").read_text() == proc.stdout + proc.stderr
    env = (out / "env.txt").read_text()
    for what in ("GPU 1: NVIDIA Fake H1", "NVIDIA Fake H1, 999.1, 81920 MiB", "git commit: ",
                 "versions python="):
        assert what in env, env
    assert (out / "cifar-data" / "GENERATED").exists()
    assert "resnet50.keras.g2.amp" in (out / "sweep" / "results.md").read_text()
    logs = sorted(p.name for p in (out / "sweep" / "logs").glob("*.log"))
    assert len(logs) == 17 and "peak.log" in logs, logs  # 16 runs and the peak probe
    assert "resnet50.keras.g2.amp.r1.log" in logs and "cifar10-cnn.keras.g1.amp.r1.log" in logs
    run = rules.parse_line((out / "sweep" / "logs" / "cifar10-cnn.keras.g1.amp.r1.log")
                           .read_text().splitlines()[0])
    assert run[0] == "run" and run[1]["mode"] == "gpu", run
    assert run[1]["args"].endswith("--amp --steps 20 --epochs 3 --steps 50"), run


@pytest.mark.slow
def test_gpu_check_stops_the_sweep_at_its_time_limit(tmp_path):
    """GPU_CHECK_SWEEP_LIMIT_S: the sweep gets SIGTERM, ends the running benchmark, collects
    and exits 143, which is gpu-check.sh's status."""
    out = tmp_path / "out"
    t = time.monotonic()
    proc = gpu_check(tmp_path, out, ngpu=1, timeout=120, **standin_env(
        tmp_path, GPU_CHECK_SWEEP_LIMIT_S="8", RUN_ALL_EXTRA_ARGS_resnet50_tensorpack_g1=(
            "--fake-sleep 100")))
    assert time.monotonic() - t < 60, proc.stdout
    assert proc.rc == last_line(proc, out) == 143, proc.stdout
    log = (out / "sweep" / "logs" / "resnet50.tensorpack.g1.r1.log").read_text()
    assert "status=interrupted" in log, log
    assert (out / "sweep" / "results.md").exists()
    for pid in (tmp_path / "pids").read_text().split():  # the benchmark and its child are gone
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid), 0)
