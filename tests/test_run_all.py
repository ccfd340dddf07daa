"""The sweep: ./run_all.sh (the entry point) and tools/sweep.py (plan, run, resume, collect).

Most tests run sweeps with the stand-in interpreter (tests/standin/python: the contract's lines in
milliseconds); the command line, the plan and the pieces of a run are tested in process. The real
sweeps (CIFAR cells on generated data, --quick settings) and the signal tests are slow (--all).
A failing cell is made with the RUN_ALL_EXTRA_ARGS_<cell> hook: extra arguments appended to that
one cell's command (an invalid `--epochs 0` makes the script exit 2 with an error line).
"""
import contextlib
import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
import collect  # noqa: E402  (tools/collect.py)
import rules  # noqa: E402
import sweep  # noqa: E402  (tools/sweep.py)

CIFAR = ("cifar10-cnn.tensorpack.g0", "cifar10-cnn.keras.g0", "cifar10-cnn.tflearn.g0",
         "cifar10-cnn.keras-aa.g0")  # keras-aa: Keras's script again, the A/A run
# The APIs of the tests written before the Keras backends and plain TF: most sweeps here run these
# four only (--only only(task, ...)), to stay fast; the new APIs have tests of their own.
OLD_APIS = ("tensorpack", "keras", "tflearn", "keras-aa")


def only(*tasks, apis=OLD_APIS):
    """An --only value selecting these APIs' cells of these tasks (every variant and count)."""
    return ",".join(f"{t}.{a}.g" for t in tasks for a in apis)


KERAS_AA = only("alexnet", apis=("keras", "keras-aa"))  # AlexNet's Keras and A/A cells
# what the sweep's run line records about what made the run (tools/sweep.py's wants())
MADE_BY = ("mode", "args", "script_sha", "bench_sha", "dirty", "python", "cpu", "cores")


@pytest.fixture(scope="session")
def gen_cifar(tmp_path_factory):
    """Generated CIFAR-10-format data (tools/make_cifar_data.py, with its GENERATED marker)."""
    d = tmp_path_factory.mktemp("gen-cifar")
    subprocess.run([sys.executable, str(REPO / "tools" / "make_cifar_data.py"), str(d)], check=True,
                   capture_output=True)
    return d


QUICK_PEAK = 'run cell=peak mode=quick args="tools/peak.py --quick"\npeak device=cpu tflops=0.1 n=512 reps=1\n'


def env_for(tmp_path, **extra):
    env = dict(os.environ, RUN_ALL_NGPU="0", RUN_ALL_IDLE_SAMPLE_S="0.05",
               XDG_CACHE_HOME=str(tmp_path / "cache"), TF_CPP_MIN_LOG_LEVEL="1")
    env.update(extra)
    return env


def default_signals():
    """preexec_fn: the child starts with SIGINT, SIGHUP and SIGTERM at their defaults, as from a
    terminal, even when the suite runs in the background (`nohup ... &` starts it with SIGINT and
    SIGHUP ignored)."""
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)


def run_all(tmp_path, *args, timeout=300, entry=REPO / "run_all.sh", **env):
    cmd = [str(entry)] if entry.suffix == ".sh" else [sys.executable, str(entry)]
    proc = subprocess.run([*cmd, *map(str, args)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=timeout, env=env_for(tmp_path, **env))
    proc.output = proc.stdout + proc.stderr
    return proc


def in_process(*args, **env):
    """tools/sweep.py's main() in this process, for what writes nothing (the dry run, bad
    input): (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = sweep.main([str(a) for a in args], {"RUN_ALL_NGPU": "0", **env})
        except SystemExit as e:  # --help
            rc = e.code
    return rc, out.getvalue(), err.getvalue()


def plan(out):
    return [tuple(l.split()) for l in (out / "plan.txt").read_text().splitlines()]


def dry_plan(stdout):
    """[(repeat, cell)] of a dry run's printed plan."""
    return [tuple(m) for m in re.findall(r"^(r\d+) (\S+): ", stdout, re.M)]


def runs(out):
    return {(r["cell"], r["repeat"]): r for r in json.loads((out / "results.json").read_text())["runs"]}


def md_row(out, label):
    md = (out / "results.md").read_text()
    part = md.split("## Single device", 1)[1].split("\n## ", 1)[0]
    return next([c.strip() for c in l.strip().strip("|").split(" | ")] for l in part.splitlines()
                if l.startswith(f"| {label}"))


def run_line(log):
    return rules.read_lines(log)[1]["run"]


@pytest.mark.slow
def test_sweep_failure_resume_and_repeats(tmp_path, gen_cifar):
    out = tmp_path / "sweep"
    common = ("--quick", "--only", only("cifar10-cnn"), "--out", out, "--cifar-data", gen_cifar)

    # 1. one repeat of the four CIFAR cells; the Keras cell is made to fail
    p = run_all(tmp_path, *common, RUN_ALL_EXTRA_ARGS_cifar10_cnn_keras_g0="--epochs 0")
    assert p.returncode == 1, p.output
    assert plan(out) == [("r1", c) for c in CIFAR]
    for i, cell in enumerate(CIFAR, 1):
        assert re.search(rf"^run {i} of 4: {re.escape(cell)} repeat 1  elapsed \d+:\d\d  "
                         r"left (\?|\d+:\d\d)$", p.stdout, re.M), p.output
        log = out / "logs" / f"{cell}.r1.log"
        run = run_line(log)
        assert (run["cell"], run["repeat"], run["mode"], run["data_generated"]) == (cell, 1, "quick", 1)
        assert set(MADE_BY) <= set(run) and run["python"] == sys.executable, run
        assert run["data"] == str(gen_cifar) and str(gen_cifar) in run["cmd"]
        assert re.search(rf"^run_end cell={re.escape(cell)} repeat=1 rc=\d+ status=(ok|failed) "
                         r"load1=[\d.]+ other_cpu=[\d.]+ wall_s=[\d.]+", log.read_text(), re.M)
    versions = rules.read_lines(out / "logs" / f"{CIFAR[0]}.r1.log")[1]["versions"]  # read in the run
    assert versions["tensorflow"] == "2.21.0" and versions["tensorpack"] == "0.11", versions
    assert "peak device=cpu" in (out / "logs" / "peak.log").read_text()
    for name in ("results.md", "results.csv", "results.json", "results.png"):
        assert (out / name).stat().st_size > 0, name
    r = runs(out)
    assert r[(CIFAR[0], 1)]["status"] == r[(CIFAR[2], 1)]["status"] == r[(CIFAR[3], 1)]["status"] == "ok"
    aa = r[(CIFAR[3], 1)]  # the same script and arguments as the keras cell, apart from the hook
    assert aa["api"] == "keras-aa" and aa["lines"]["model"]["framework"] == "keras"
    assert aa["lines"]["run"]["args"].startswith("cifar10-cnn-keras.py 0 ")
    assert r[(CIFAR[0], 1)]["images_per_sec"] > 0 and len(r[(CIFAR[0], 1)]["epochs"]) == 2
    keras = r[(CIFAR[1], 1)]
    assert keras["status"] == "failed" and "--epochs" in keras["reason"], keras["reason"]
    assert r[(CIFAR[0], 1)]["data"] == "generated CIFAR-format data"
    row = md_row(out, "CIFAR CNN (generated CIFAR-format data)")
    assert row[3].startswith("FAILED: ") and "--epochs" in row[3]
    ok_cell = r"[\d,.]+ \(n=1 run\)( ⚠ busy machine \(1 run\(s\)\))?"  # other work may be flagged
    assert re.fullmatch(ok_cell, row[2]) and re.fullmatch(ok_cell, row[4]), row
    assert "status=failed" in (out / "logs" / f"{CIFAR[1]}.r1.log").read_text()
    kept = {c: (out / "logs" / f"{c}.r1.log").stat().st_mtime for c in CIFAR if c != CIFAR[1]}

    # 2. rerun: only the failed cell runs again; the failed log is kept aside; no new peak
    p = run_all(tmp_path, *common)
    assert p.returncode == 0, p.output  # no fairness mismatch either: each script's own spelling
    assert p.stdout.count("done already, kept") == 3 and "measuring" not in p.stdout, p.output
    assert f"results: {out / 'results.md'}" in p.stdout
    assert {c: (out / "logs" / f"{c}.r1.log").stat().st_mtime for c in kept} == kept
    assert [f.name.split(".r1.")[0] for f in (out / "logs" / "old").iterdir()] == [CIFAR[1]]
    assert all(v["status"] == "ok" for v in runs(out).values())

    # a --quick sweep is a smoke test: it says so and names no winner (the collector's tests
    # prove it on logs that name one otherwise)
    assert_smoke_test(out)


def assert_smoke_test(out):
    """A --quick sweep's results say it is a smoke test and compare nothing: no ratio is called
    established or not (a run flagged busy may leave a ratio without pairs)."""
    md = (out / "results.md").read_text()
    table = md.split("## Ratios vs Keras", 1)[1].split("\n## ", 1)[0].split("\n| Task ", 1)[1]
    assert "SMOKE TEST" in md and ("smoke test: no comparison" in table or "busy run" in table), md
    assert "established" not in table and "faster" not in table, table
    assert "**" not in md.split("## Single device", 1)[1].split("## Hardware limit", 1)[0]


@pytest.mark.slow
def test_timeout_is_a_failure_with_its_reason(tmp_path, gen_cifar):
    out = tmp_path / "slow"
    p = run_all(tmp_path, "--quick", "--only", "cifar10-cnn.tensorpack", "--out", out,
                "--cifar-data", gen_cifar, RUN_ALL_TIMEOUT_S="6",
                RUN_ALL_EXTRA_ARGS_cifar10_cnn_tensorpack_g0="--steps 100000")
    assert p.returncode == 1, p.output
    r = runs(out)[(CIFAR[0], 1)]
    assert r["status"] == "failed" and r["reason"] == "timed out after 6s"
    assert r["rc"] == 124 and r["wall_s"] >= 6
    assert "FAILED: timed out after 6s" in (out / "results.md").read_text()


@pytest.mark.slow
def test_ctrl_c_keeps_logs_and_collects(tmp_path, gen_cifar):
    out = tmp_path / "interrupted"
    (out / "logs").mkdir(parents=True)
    (out / "logs" / "peak.log").write_text(QUICK_PEAK)  # skip the probe
    proc = subprocess.Popen(
        ["./run_all.sh", "--quick", "--only", "cifar10-cnn.tensorpack", "--out", str(out),
         "--cifar-data", str(gen_cifar)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, preexec_fn=default_signals, env=env_for(tmp_path, RUN_ALL_EXTRA_ARGS_cifar10_cnn_tensorpack_g0="--steps 100000"))
    log = out / "logs" / f"{CIFAR[0]}.r1.log"
    deadline = time.time() + 120
    while time.time() < deadline and not (log.exists() and "\nmodel " in log.read_text()):
        time.sleep(0.5)  # until the script trains (its 100000-step epoch lasts minutes)
    script = [pid for pid in os.listdir("/proc") if pid.isdigit() and alive(pid)
              and cmdline(pid)[1:2] == ["cifar10-cnn-tensorpack.py"]
              and str(gen_cifar) in cmdline(pid)]
    if len(script) != 1:
        proc.kill()
    assert len(script) == 1, script  # the benchmark script, training
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, output
    assert not alive(script[0]), "the benchmark script was left running"
    text = log.read_text()
    assert "status=interrupted" in text, text[-1000:]
    assert (out / "results.md").exists() and "interrupted" in output
    assert runs(out)[(CIFAR[0], 1)]["status"] == "failed"


@pytest.mark.slow
def test_missing_cifar_data_is_skipped_not_failed(tmp_path):
    out = tmp_path / "nodata"
    (out / "logs").mkdir(parents=True)
    (out / "logs" / "peak.log").write_text(QUICK_PEAK)
    p = run_all(tmp_path, "--quick", "--only", "cifar10-cnn.keras.g", "--out", out,
                RUN_ALL_CIFAR_URL="http://127.0.0.1:9/cifar-10-python.tar.gz", timeout=120)
    assert p.returncode == 0, p.output
    r = runs(out)[(CIFAR[1], 1)]
    assert r["status"] == "skipped"
    assert "--cifar-data" in r["reason"] and "make_cifar_data.py" in r["reason"]
    assert md_row(out, "CIFAR CNN")[3].startswith("SKIPPED: no CIFAR-10 data")


ALL_APIS = ("tensorpack", "keras", "tflearn", "keras-aa", "keras-xla", "keras-jax", "tf",
            "keras-torch")  # the default plan's API order (repeat 1)
DP_APIS = ("tensorpack", "keras", "keras-aa", "keras-xla", "keras-jax", "tf")  # data parallel


def test_plans(tmp_path):
    out = tmp_path / "plan"
    # CPU machine: every cell at g0, 3 repeats (the stand-in: jax and torch installed)
    rc, stdout, _ = in_process("--dry-run", "--out", out, RUN_ALL_PYTHON=str(STANDIN))
    assert rc == 0, stdout
    pl = dry_plan(stdout)
    assert len(pl) == 120 and {c.rsplit(".", 1)[1] for _, c in pl} == {"g0"}

    def apis(rep, task):
        return [c.split(".")[1] for r, c in pl if r == rep and c.startswith(task + ".")]
    # keras-aa two runs from keras (as far as the APIs whose ratio to Keras is shown), the order
    # rotated by one place per repeat
    assert apis("r1", "vgg16") == list(ALL_APIS)
    assert apis("r2", "vgg16") == list(ALL_APIS[1:] + ALL_APIS[:1])
    assert apis("r3", "vgg16") == list(ALL_APIS[2:] + ALL_APIS[:2])
    assert [c for _, c in pl[:40]] == [f"{t}.{a}.g0" for t in rules.TASKS for a in ALL_APIS]
    assert rules.TASKS[-1] == "tiny"
    assert "r1 alexnet.keras-aa.g0: imagenet-keras.py 0 --model alexnet --image-size 96" in stdout
    assert ("estimate: unknown (no earlier run in DIR); the time limits allow at most 40:00:00"
            in stdout)

    rc, stdout, _ = in_process("--dry-run", "--out", out, RUN_ALL_NGPU="6")  # GPU machine: 3 repeats too
    assert rc == 0 and "repeats: 3" in stdout, stdout
    cells = [c for r, c in dry_plan(stdout) if r == "r1"]
    assert {r for r, _ in dry_plan(stdout)} == {"r1", "r2", "r3"}
    # tflearn and keras-torch at one GPU only; keras-xla data parallel on GPUs
    assert [c for c in cells if c.startswith("resnet50.")] == [
        *[f"resnet50.{a}.g1" for a in ALL_APIS],
        *[f"resnet50.{a}.g{n}" for n in (2, 4, 6) for a in DP_APIS]]
    assert "r1 vgg16.keras.g2: imagenet-keras.py 2 --model vgg16  (time limit 3600s)" in stdout
    assert "r1 vgg16.keras-aa.g2: imagenet-keras.py 2 --model vgg16  (time limit 3600s)" in stdout
    assert "r1 cifar10-cnn.tflearn.g1: cifar10-cnn-tflearn.py 1 --epochs 4 --data <cifar-data>" in stdout

    rc, stdout, _ = in_process("--dry-run", "--out", out, "--quick", RUN_ALL_NGPU="6")  # quick: 1 repeat
    assert rc == 0 and "repeats: 1" in stdout and {r for r, _ in dry_plan(stdout)} == {"r1"}

    rc, stdout, _ = in_process("--dry-run", "--out", out, "--gpus", "1 2", "--only", "*.keras.*,tflearn",
                               "--repeat", "2")
    assert rc == 0, stdout
    assert [c for r, c in dry_plan(stdout) if r == "r1" and c.startswith("alexnet")] == [
        "alexnet.keras.g1", "alexnet.tflearn.g1", "alexnet.keras.g2"]
    rc, stdout, _ = in_process("--dry-run", "--out", out, "--only", KERAS_AA)
    assert [c for r, c in dry_plan(stdout) if r == "r2"] == ["alexnet.keras-aa.g0", "alexnet.keras.g0"]
    assert not out.exists()  # a dry run writes nothing


def tree(d):
    """Every file under d with its size and modification time."""
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(d.rglob("*"))}


def test_help_and_dry_run_write_nothing(tmp_path):
    """Through ./run_all.sh itself: --help and --dry-run read and plan, and change nothing on disk
    (here: a folder of an earlier sweep, whose run times the dry run's estimate uses)."""
    out = tmp_path / "sweep"
    p = standin(tmp_path, "--only", KERAS_AA, "--out", out)
    assert p.returncode == 0, p.output
    before = tree(tmp_path)
    p = run_all(tmp_path, "--help")
    assert p.returncode == 0 and "cifar10-cnn.keras.g0" in p.stdout and "--repeat N" in p.stdout, p.output
    assert "keras-aa" in p.stdout and "default 3, with or without GPUs; 1 with --quick" in " ".join(p.stdout.split())
    p = run_all(tmp_path, "--dry-run", "--only", KERAS_AA, "--out", out)
    assert p.returncode == 0, p.output
    assert re.search(r"^estimate: ~0:0\d \(from 2 earlier runs in DIR\); the time limits allow at most "
                     r"2:00:00$", p.stdout, re.M), p.stdout
    assert tree(tmp_path) == before


@pytest.mark.parametrize("args,message", [
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--repeat", "x"], "--repeat must be a decimal whole number from 1"),
    (["--repeat", "0"], "--repeat must be a decimal whole number from 1"),
    (["--repeat", "-1"], "--repeat must be a decimal whole number from 1"),
    (["--repeat", "１"], "--repeat must be a decimal"),  # a digit, but not an ASCII one
    (["--repeat"], "argument --repeat: expected one argument"),
    (["--gpus", "0,0"], "device count 0 given twice"),
    (["--gpus", "1 01"], "device count 1 given twice"),  # 01 is 1 (no octal in Python)
    (["--gpus", ""], "--gpus needs at least one device count"),
    (["--gpus", "one"], "--gpus: 'one' must be a decimal whole number"),
    (["--gpus", "16"], "16 devices asked, 8 GPU(s) found"),
    (["--out", "/etc/hostname"], "not a folder"),
    (["--out", "a\nb"], "--out must not hold a line break"),
    (["--only", "no-such-cell"], "matches no cell"),
    (["--cifar-data", "/nonexistent"], "cifar-10-batches-py"),
])
def test_bad_input(tmp_path, args, message):
    rc, stdout, stderr = in_process("--dry-run", "--out", tmp_path / "x", *args, RUN_ALL_NGPU="8")
    lines = stderr.strip().splitlines()
    assert rc == 2 and stdout == "", stderr
    assert len(lines) == 1 and lines[0].startswith("run_all.sh: error: ") and message in lines[0], lines


@pytest.mark.parametrize("var,value", [
    ("RUN_ALL_TIMEOUT_S", "abc"), ("RUN_ALL_TIMEOUT_S", "0"), ("RUN_ALL_TIMEOUT_S", "1.5"),
    ("RUN_ALL_IDLE_SAMPLE_S", "abc"), ("RUN_ALL_IDLE_SAMPLE_S", "0"), ("RUN_ALL_IDLE_SAMPLE_S", ""),
    ("RUN_ALL_IDLE_SAMPLE_S", "60"), ("RUN_ALL_IDLE_SAMPLE_S", "nan"), ("RUN_ALL_NGPU", "x"),
    ("RUN_ALL_NGPU", "-1"), ("RUN_ALL_PYTHON", "/nonexistent/python"), ("RUN_ALL_PYTHON", "/tmp"),
    ("RUN_ALL_EXTRA_ARGS_alexnet_keras_g0", "--steps 'unclosed"),
    ("RUN_ALL_EXTRA_ARGS", "--steps 'unclosed")])
def test_bad_environment(tmp_path, var, value):
    rc, stdout, stderr = in_process("--dry-run", "--out", tmp_path / "x", **{var: value})
    lines = stderr.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and lines[0].startswith(f"run_all.sh: error: {var} "), lines


def test_bad_input_through_the_entry_point(tmp_path):
    """./run_all.sh hands every argument to the sweep: the same one line and exit 2, no traceback."""
    p = run_all(tmp_path, "--repeat", "x", "--out", tmp_path / "x")
    assert p.returncode == 2 and p.stderr.startswith("run_all.sh: error: --repeat") and p.stdout == ""
    assert len(p.stderr.splitlines()) == 1 and not (tmp_path / "x").exists()


# ---- variants: cells of each --variants entry, planned in process ------------------------------
@pytest.mark.parametrize("value,message", [
    ("fp16", "--variants: 'fp16': unknown part 'fp16' (parts: amp, xla, onednn, nchw"),
    ("AMP", "unknown part 'AMP'"),
    ("fp32,,amp", "--variants: an empty entry in 'fp32,,amp'"),
    ("", "--variants: an empty entry in ''"),
    ("amp,", "an empty entry"),
    ("amp+", "'amp+': unknown part ''"),
    ("fp32+amp", "'fp32+amp': fp32 is the variant without parts, it joins no other"),
    ("amp+amp", "'amp+amp': part 'amp' given twice"),
    ("fp32,amp,fp32", "--variants: fp32 given twice"),
    ("amp+xla,xla+amp", "--variants: amp+xla given twice (as xla+amp)"),
])
def test_bad_variants(tmp_path, value, message):
    rc, stdout, stderr = in_process("--dry-run", "--out", tmp_path / "x", "--variants", value)
    lines = stderr.strip().splitlines()
    assert rc == 2 and stdout == "" and not (tmp_path / "x").exists(), stderr
    assert len(lines) == 1 and lines[0].startswith("run_all.sh: error: "), lines
    assert message in lines[0], lines


def test_variants_plan_names_and_order(tmp_path):
    """Each variant is a set of cells named <cell>.<variant> (canonical part order; fp32 keeps the
    plain name); within a repeat an API's variants run back to back, their order rotating like the
    APIs'; tflearn has no nchw cell; each part reaches the command (or, onednn, its environment)."""
    out = tmp_path / "plan"
    rc, stdout, _ = in_process("--dry-run", "--out", out, "--only", only("vgg16"), "--repeat", 2,
                               "--variants", "xla+amp,fp32,nchw")
    assert rc == 0, stdout
    assert "repeats: 2, variants: amp+xla,fp32,nchw)" in stdout
    pl = dry_plan(stdout)
    v = ("vgg16.{}.g0.amp+xla", "vgg16.{}.g0", "vgg16.{}.g0.nchw")
    assert [c for r, c in pl if r == "r1"] == [
        *[x.format("tensorpack") for x in v], *[x.format("keras") for x in v],
        *[x.format("tflearn") for x in v[:2]], *[x.format("keras-aa") for x in v]]
    assert [c for r, c in pl if r == "r2"] == [
        *[x.format("keras") for x in v[1:] + v[:1]], *[x.format("tflearn") for x in v[1::-1]],
        *[x.format("keras-aa") for x in v[1:] + v[:1]],
        *[x.format("tensorpack") for x in v[1:] + v[:1]]]
    assert not [c for _, c in pl if ".tflearn." in c and c.endswith(".nchw")]
    assert ("r1 vgg16.keras.g0.amp+xla: imagenet-keras.py 0 --model vgg16 --image-size 32 "
            "--steps 2 --epochs 3 --amp --xla  (time limit 1200s)") in stdout
    assert "r1 vgg16.tensorpack.g0.nchw: imagenet-tensorpack.py 0 --model vgg16 --image-size 32 " \
        "--steps 2 --epochs 3 --data-format channels_first  (time limit 1200s)" in stdout
    assert re.findall(r"^peak: .*$", stdout, re.M) == [
        "peak: tools/peak.py -> logs/peak.log  (time limit 180s)"]

    # --only matches the whole name; the global and per-cell extra arguments follow the variant's
    rc, stdout, _ = in_process("--dry-run", "--out", out, "--only", "*.keras.g0.amp+onednn",
                               "--variants", "fp32,onednn+amp,onednn", "--repeat", 1,
                               RUN_ALL_EXTRA_ARGS="--steps 20 --epochs 3",
                               RUN_ALL_EXTRA_ARGS_alexnet_keras_g0_amp_onednn="--batch 2")
    assert rc == 0, stdout
    assert [c for _, c in dry_plan(stdout)] == [f"{t}.keras.g0.amp+onednn" for t in rules.TASKS]
    assert ("r1 alexnet.keras.g0.amp+onednn: env TF_ENABLE_ONEDNN_OPTS=1 imagenet-keras.py 0 "
            "--model alexnet --image-size 96 --steps 6 --epochs 3 --amp --steps 20 --epochs 3 "
            "--batch 2  (time limit 1200s)") in stdout
    assert "vgg16.keras.g0.amp+onednn: env TF_ENABLE_ONEDNN_OPTS=1 imagenet-keras.py 0 --model " \
        "vgg16 --image-size 32 --steps 2 --epochs 3 --amp --steps 20 --epochs 3  (" in stdout
    assert re.findall(r"^peak: .* -> \S+", stdout, re.M) == [  # only onednn cells: one probe
        "peak: env TF_ENABLE_ONEDNN_OPTS=1 tools/peak.py -> logs/peak.onednn.log"]
    rc, stdout, _ = in_process("--dry-run", "--out", out, "--only", "alexnet.keras.g0",
                               "--variants", "fp32,onednn")
    assert re.findall(r"^peak: .* -> \S+", stdout, re.M) == [  # one probe for each setting
        "peak: tools/peak.py -> logs/peak.log",
        "peak: env TF_ENABLE_ONEDNN_OPTS=1 tools/peak.py -> logs/peak.onednn.log"]
    rc, stdout, stderr = in_process("--dry-run", "--out", out, "--only", "tflearn",
                                    "--variants", "nchw")
    assert rc == 2 and "--only 'tflearn' matches no cell of --variants nchw" in stderr, stderr
    rc, stdout, _ = in_process("--help")
    text = " ".join(stdout.split())
    assert rc == 0 and "--variants LIST" in text and "vgg16.keras.g0.amp+onednn" in text
    for part in ("amp --amp", "xla --xla", "onednn TF_ENABLE_ONEDNN_OPTS=1",
                 "nchw --data-format channels_first (not planned for tflearn", "Variant speed-ups",
                 "RUN_ALL_EXTRA_ARGS_vgg16_keras_g0_amp_onednn"):
        assert part in text, part
    assert not out.exists()


def test_plans_of_the_backends_xla_and_plain_tf(tmp_path, monkeypatch):
    """keras-xla, keras-jax, tf and keras-torch cells: their commands, their device counts (no
    keras-torch data parallel, no keras-xla replicas on the CPU), their variants, and cells
    SKIPPED when the interpreter lacks their backend."""
    out = tmp_path / "plan"
    rc, stdout, _ = in_process("--dry-run", "--out", out, "--gpus", "0 1 2", "--only", "alexnet",
                               "--repeat", 1, RUN_ALL_PYTHON=str(STANDIN))
    assert rc == 0, stdout
    assert [c for _, c in dry_plan(stdout)] == [
        *[f"alexnet.{a}.g{n}" for n in (0, 1) for a in ALL_APIS],
        *[f"alexnet.{a}.g2" for a in DP_APIS if a != "keras-xla"]]
    base = "0 --model alexnet --image-size 96 --steps 6 --epochs 3"
    for api, command in (("keras-xla", f"imagenet-keras.py {base} --xla"),
                         ("keras-jax", f"imagenet-keras.py {base} --backend jax"),
                         ("keras-torch", f"imagenet-keras.py {base} --backend torch"),
                         ("tf", f"imagenet-tf.py {base}")):
        assert f"r1 alexnet.{api}.g0: {command}  (time limit 1200s)" in stdout, api
    rc, stdout, _ = in_process("--dry-run", "--out", out, "--only", "tiny.keras-jax", "--repeat", 1,
                               RUN_ALL_PYTHON=str(STANDIN))
    assert stdout.splitlines()[1] == ("r1 tiny.keras-jax.g0: imagenet-keras.py 0 --model tiny "
                                      "--image-size 32 --steps 1000 --epochs 3 --backend jax  "
                                      "(time limit 1200s)")

    # each API's variants; Keras's --xla with replicas only on GPUs
    every = "fp32,amp,xla,onednn,nchw"
    rc, stdout, _ = in_process("--dry-run", "--out", out, "--only", "alexnet.keras-,alexnet.tf.g",
                               "--variants", every, "--repeat", 1, RUN_ALL_PYTHON=str(STANDIN))
    planned = {}
    for _, cell in dry_plan(stdout):
        planned.setdefault(rules.split_cell(cell)[1], []).append(rules.variant_of(cell))
    assert planned == {"keras-aa": every.split(","), "keras-xla": ["fp32", "amp", "onednn", "nchw"],
                       "keras-jax": ["fp32", "amp", "nchw"], "tf": every.split(","),
                       "keras-torch": ["fp32"]}
    rc, stdout, _ = in_process("--dry-run", "--out", out, "--gpus", "0 2", "--only",
                               "alexnet.keras.g", "--variants", "fp32,xla", "--repeat", 1)
    assert [c for _, c in dry_plan(stdout)] == ["alexnet.keras.g0", "alexnet.keras.g0.xla",
                                                "alexnet.keras.g2"]
    rc, stdout, _ = in_process("--dry-run", "--out", out, "--gpus", "2", "--only",
                               "alexnet.keras.g,alexnet.keras-xla", "--variants", "fp32,xla",
                               "--repeat", 1, RUN_ALL_NGPU="2")
    assert [c for _, c in dry_plan(stdout)] == ["alexnet.keras.g2", "alexnet.keras.g2.xla",
                                                "alexnet.keras-xla.g2"]

    # an interpreter without jax and torch: their cells are planned, and SKIPPED when run
    monkeypatch.setenv("STANDIN_MISSING", "torch jax")
    rc, stdout, _ = in_process("--dry-run", "--out", out, "--only", "alexnet", "--repeat", 1,
                               RUN_ALL_PYTHON=str(STANDIN))
    assert rc == 0, stdout
    for api, lib, req in (("keras-jax", "jax", "requirements.txt"),
                          ("keras-torch", "torch", "requirements-torch.txt")):
        assert (f"{api}: SKIPPED when run: {lib} not installed; to run these cells: {STANDIN} -m "
                f"pip install -r {req}") in stdout
        assert re.search(rf"^r1 alexnet\.{api}\.g0: .*  \(SKIPPED: not installed\)$", stdout, re.M)
    assert "the time limits allow at most 2:00:00" in stdout  # 6 runs of 1200 s, not 8
    venv = tmp_path / "env" / "bin"
    venv.mkdir(parents=True)
    (venv / "pip").write_text("")
    assert sweep.install_command(str(venv / "python"), "requirements-torch.txt") == (
        f"{venv / 'pip'} install -r requirements-torch.txt")
    if (REPO / ".venv" / "bin" / "pip").is_file():
        assert sweep.install_command(str(REPO / ".venv" / "bin" / "python"), "r.txt") == (
            ".venv/bin/pip install -r r.txt")
    assert not out.exists()


# ---- with the stand-in interpreter (tests/standin/python: contract lines in milliseconds) ----
STANDIN = REPO / "tests" / "standin" / "python"
ALEX = ("alexnet.tensorpack.g0", "alexnet.keras.g0", "alexnet.tflearn.g0", "alexnet.keras-aa.g0")


def standin(tmp_path, *args, **env):
    env.setdefault("RUN_ALL_PYTHON", str(STANDIN))
    return run_all(tmp_path, "--repeat", 1, *args, timeout=120, **env)


# each planned fault on a cell of its own, all in one stand-in sweep
FAULTS = {
    "alexnet.keras.g0": ("--fake-summary nan", "images_per_sec=nan is not a finite positive number"),
    "alexnet.tensorpack.g0": ("--fake-summary 0", "images_per_sec=0 is not a finite positive number"),
    "alexnet.tflearn.g0": ("--fake-summary empty", "images_per_sec=(empty) is not a finite positive number"),
    "vgg16.keras.g0": ("--fake-summary 20.5", "does not match its throughput lines"),
    "vgg16.tensorpack.g0": ("--fake-cut", "summary images_per_sec=2 does not match its throughput lines "
                            "(median 205.0 over 2 epochs)"),
    "vgg16.tflearn.g0": ("--fake-exit 139", "exit code 139 after its summary line"),
    "resnet50.keras.g0": ("--fake-task vgg16", "model line says task=vgg16"),
    "resnet50.tensorpack.g0": ("--fake-replicas 2", "trained 2 replicas, asked for 1 (gpus=0)"),
    "resnet50.tflearn.g0": ("--fake-summary-task vgg16", "summary line says task=vgg16, the cell "
                            "resnet50.tflearn.g0 needs task=resnet50"),
    "alexnet.keras-aa.g0": ("--fake-summary 1e400", "images_per_sec=1e400 is not a finite positive number"),
    "vgg16.keras-aa.g0": ("--fake-summary 205.000000000000000000001",
                          "images_per_sec=205.000000000000000000001 is not a finite positive number"),
}


@pytest.fixture(scope="module")
def faulty_sweep(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("faults")
    out = tmp_path / "sweep"
    hooks = {"RUN_ALL_EXTRA_ARGS_" + re.sub(r"[.-]", "_", cell): extra for cell, (extra, _) in FAULTS.items()}
    p = standin(tmp_path, "--only", only("alexnet", "vgg16", "resnet50"), "--out", out, **hooks)
    return p, out, runs(out)


def test_a_sweep_with_faults_exits_by_the_worst(faulty_sweep):
    p, out, r = faulty_sweep
    # replicas=2 also differs from the other APIs' replicas=1: a fairness mismatch (exit 3, over 1)
    assert p.returncode == 3, p.output
    clean = [c for c, _ in r if c not in FAULTS]
    assert clean == ["resnet50.keras-aa.g0"] and r[clean[0], 1]["status"] == "ok", clean
    # keras-aa (Keras's script again) is ok, and its model line says framework=keras
    assert r[clean[0], 1]["lines"]["model"]["framework"] == "keras"
    # progress a person can follow: run k of n, the cell, the repeat, elapsed time, time left
    for k, (rep, cell) in enumerate(plan(out), 1):
        assert re.search(rf"^run {k} of 12: {re.escape(cell)} repeat 1  elapsed \d+:\d\d  "
                         r"left (\?|\d+:\d\d)$", p.stdout, re.M), p.stdout
    assert f"results: {out / 'results.md'} (and results.csv, results.json, results.png)" in p.stdout


@pytest.mark.parametrize("cell", FAULTS)
def test_a_run_is_ok_only_by_the_one_rule(faulty_sweep, cell):
    _, out, r = faulty_sweep
    run = r[(cell, 1)]
    assert run["status"] == "failed" and FAULTS[cell][1] in run["reason"], run["reason"]
    assert "status=failed" in (out / "logs" / f"{cell}.r1.log").read_text()
    assert f"FAILED: {cell} repeat 1" in (out / "results.md").read_text()


def test_failed_runs_are_redone_and_ok_ones_kept(faulty_sweep, tmp_path):
    """After the checks above (pytest runs a module's tests in order): the next sweep redoes the
    failed runs and keeps the ok ones."""
    _, out, _ = faulty_sweep
    assert md_row(out, "AlexNet")[3].startswith("FAILED")
    p = standin(tmp_path, "--only", only("alexnet", "vgg16", "resnet50"), "--out", out)
    # exit 0: every run ok and no fairness mismatch (the stand-in spells its model line as each
    # framework does: SGD/GradientDescent, channels_last/NHWC)
    assert p.returncode == 0 and p.stdout.count("done already, kept") == 1, p.output
    assert len(list((out / "logs" / "old").glob("*.log"))) == len(FAULTS)  # the failed logs, kept aside
    data = json.loads((out / "results.json").read_text())
    assert data["fairness_mismatches"] == [] and all(r["status"] == "ok" for r in data["runs"])


def test_spread_and_timed_epochs_come_from_the_throughput_lines(tmp_path):
    # the summary carries images_per_sec only; epochs 2 and 3 (200, 210) are the timed ones
    out = tmp_path / "sweep"
    p = standin(tmp_path, "--only", KERAS_AA, "--out", out)
    assert p.returncode == 0, p.output
    r = runs(out)
    assert all(set(x["lines"]["summary"]) == {"framework", "task", "gpus", "images_per_sec"} for x in r.values())
    assert all((x["status"], x["epochs_timed"], x["spread_pct"]) == ("ok", 2, 4.9) for x in r.values())


def test_stale_runs_and_peak_of_another_plan_are_ignored(tmp_path):
    out = tmp_path / "sweep"
    p = standin(tmp_path, "--quick", "--only", "alexnet.keras.g0", "--out", out, "--repeat", 2)
    assert p.returncode == 0 and "measuring" in p.stdout, p.output
    assert "--quick" in (out / "logs" / "peak.log").read_text()
    p = standin(tmp_path, "--only", "alexnet.keras.g0", "--out", out)  # CPU settings, 1 repeat
    assert p.returncode == 0, p.output
    assert "done already, kept" not in p.stdout and "measuring" in p.stdout, p.output  # peak again
    assert "--quick" not in (out / "logs" / "peak.log").read_text()
    r = runs(out)
    assert list(r) == [(ALEX[1], 1)] and "--quick" not in r[(ALEX[1], 1)]["lines"]["run"]["args"]
    assert md_row(out, "AlexNet")[3].startswith("205 (n=1 run)")
    ignored = json.loads((out / "results.json").read_text())["ignored"]
    assert [(g["file"], g["reason"]) for g in ignored] == [
        (f"{ALEX[1]}.r2.log", "not in the current plan (plan.txt)")]
    assert f"stale: logs/{ALEX[1]}.r2.log: not in the current plan" in (out / "results.md").read_text()


def quiet(out):
    """Every log of a sweep as if made on a quiet machine: other work on this shared machine may
    flag a stand-in run busy, and a busy run takes no part in a ratio."""
    for log in (out / "logs").glob("*.log"):
        log.write_text(re.sub(r"other_cpu=[\d.]+", "other_cpu=0.01", log.read_text()))


def recollect(out):
    """tools/collect.py on a sweep's folder again, in process and without the chart: its exit
    status."""
    with mock.patch.object(collect, "write_png", lambda *a: None), \
            contextlib.redirect_stdout(io.StringIO()):
        return collect.main([str(out)])


def md_table(out, heading, table=0):
    """The rows (lists of cells) of the table-th table under a heading of results.md, up to the
    next heading of its level or above."""
    md = (out / "results.md").read_text()
    level = heading.split(" ", 1)[0]
    part = re.split(rf"\n#{{1,{len(level)}}} ", md.split(f"\n{heading}\n", 1)[1])[0]
    tables = re.findall(r"(?:^\|.*\n)+", part, re.M)
    return [[c.strip() for c in line.strip().strip("|").split(" | ")]
            for line in tables[table].splitlines()[2:]]


def test_a_variant_sweep_shows_each_variant_and_its_speed_up(tmp_path):
    """--variants amp,fp32: each variant's own tables, and amp's speed-up over fp32 paired by
    repeat (the stand-in trains twice as fast with --amp); the chart has a panel per variant."""
    out = tmp_path / "sweep"
    p = standin(tmp_path, "--only", KERAS_AA, "--variants", "amp,fp32", "--repeat", 2,
                "--out", out)
    assert p.returncode == 0, p.output
    amp, aa_amp = "alexnet.keras.g0.amp", "alexnet.keras-aa.g0.amp"
    assert plan(out) == ([("r1", c) for c in (amp, ALEX[1], aa_amp, ALEX[3])]
                         + [("r2", c) for c in (ALEX[3], aa_amp, ALEX[1], amp)])
    r = runs(out)
    assert run_line(out / "logs" / f"{amp}.r1.log")["args"].endswith(" --epochs 3 --amp")
    assert (r[amp, 1]["variant"], r[amp, 1]["lines"]["model"]["dtype"]) == ("amp", "bfloat16")
    fp32 = r[ALEX[1], 1]
    assert (fp32["variant"], fp32["lines"]["model"]["dtype"]) == ("fp32", "float32")
    data = json.loads((out / "results.json").read_text())
    assert data["variants"] == ["fp32", "amp"]
    with open(out / "results.csv") as f:
        assert {(row["cell"], row["variant"]) for row in csv.DictReader(f)} >= {(amp, "amp"),
                                                                               (ALEX[1], "fp32")}
    png = (out / "results.png").read_bytes()
    assert int.from_bytes(png[20:24], "big") >= 2 * 600  # two panels of 5.5 in at 110 dpi

    # repeat 2's fp32 Keras run at half speed: amp/fp32 is 2 in repeat 1, 4 in repeat 2
    log = out / "logs" / f"{ALEX[1]}.r2.log"
    text = log.read_text()
    for old, new in (("=100.0 ", "=50.0 "), ("=200.0 ", "=100.0 "), ("=210.0 ", "=105.0 "),
                     ("images_per_sec=205.0", "images_per_sec=102.5")):
        text = text.replace(old, new)
    log.write_text(text)
    quiet(out)
    assert recollect(out) == 0
    md = (out / "results.md").read_text()
    assert [h for h in re.findall(r"^#+ .*$", md, re.M) if "Variant" in h] == [
        "## Variant speed-ups", "## Variant `fp32`", "## Variant `amp`"]
    assert md.count("### Single device") == md.count("### Ratios vs Keras") == 2
    assert md_table(out, "## Variant speed-ups") == [
        ["AlexNet", "cpu", "Keras", "`amp` / `fp32`", "3.00× (2.00–4.00, 2 pairs)",
         "±0.0 % (amp); ±100.0 % (fp32)"]]
    alex = {v: next(row for row in md_table(out, f"## Variant `{v}`") if row[0] == "AlexNet")
            for v in ("fp32", "amp")}
    assert alex["amp"][3] == "410 (410–410, n=2 runs)"
    assert alex["fp32"][3] == "154 (102–205, n=2 runs)"
    # a run on a busy machine takes no part, as in every ratio
    log = out / "logs" / f"{amp}.r1.log"
    log.write_text(log.read_text().replace("other_cpu=0.01", "other_cpu=2.0", 1))
    assert recollect(out) == 0
    assert md_table(out, "## Variant speed-ups")[0][4] == (
        "4.00× (4.00–4.00, 1 pair of 2 repeats; 1 busy run left out)")
    rc, stdout, _ = in_process("--dry-run", "--only", KERAS_AA, "--variants", "amp,fp32",
                               "--repeat", 2, "--out", out)  # the estimate from these runs
    assert rc == 0 and re.search(r"^estimate per variant: amp ~0:\d\d, fp32 ~0:\d\d$", stdout,
                                 re.M), stdout


def test_onednn_env_global_args_and_a_variant_that_did_not_apply(tmp_path):
    """An onednn cell runs with TF_ENABLE_ONEDNN_OPTS=1 (its command and run line say so, resume
    compares it, the stand-in's model line shows it), the peak is measured under both settings,
    RUN_ALL_EXTRA_ARGS reaches every cell, and an amp run whose model line says float32 fails."""
    out = tmp_path / "sweep"
    common = ("--only", KERAS_AA, "--variants", "onednn,amp", "--out", out)
    aa_amp = "alexnet.keras-aa.g0.amp"
    p = standin(tmp_path, *common, RUN_ALL_EXTRA_ARGS="--steps 7",
                RUN_ALL_EXTRA_ARGS_alexnet_keras_aa_g0_amp="--fake-no-amp")
    assert p.returncode == 3, p.output  # the A/A run's dtype differs from Keras's too
    r = runs(out)
    cells = [c for _, c in plan(out)]
    assert cells == ["alexnet.keras.g0.onednn", "alexnet.keras.g0.amp",
                     "alexnet.keras-aa.g0.onednn", aa_amp]
    for cell in cells:
        run = run_line(out / "logs" / f"{cell}.r1.log")
        model = r[cell, 1]["lines"]["model"]
        assert " --steps 7" in run["cmd"] and run["args"].split(" --steps 7")[0].endswith(
            "--epochs 3" + (" --amp" if cell.endswith("amp") else "")), run
        if cell.endswith(".onednn"):
            assert run["env"] == "TF_ENABLE_ONEDNN_OPTS=1" and model["onednn"] == "True"
            assert run["cmd"].startswith("env TF_ENABLE_ONEDNN_OPTS=1 ")
        else:
            assert "env" not in run and model["onednn"] == "False"
    assert r[aa_amp, 1]["status"] == "failed" and r[aa_amp, 1]["reason"] == (
        "mixed precision did not apply (dtype=float32), the cell alexnet.keras-aa.g0.amp needs "
        "bfloat16 or float16")
    md = (out / "results.md").read_text()
    assert f"FAILED: {aa_amp} repeat 1" in md
    assert "- AlexNet (cpu, amp): `dtype` differs (Keras: bfloat16; Keras A/A: float32)" in md
    assert "No pair of variants to show" in md  # onednn and amp: neither under the other
    for name, on in (("peak.log", "0"), ("peak.onednn.log", "1")):
        lines = [l for l in (out / "logs" / name).read_text().splitlines()]
        assert ("env=" in lines[0]) == (on == "1"), lines[0]
        assert [re.search(r"dtype=(\S+) onednn=(\d)", l).groups() for l in lines[1:]] == [
            ("float32", on), ("bfloat16", on)]
    data = json.loads((out / "results.json").read_text())
    assert sorted((x["dtype"], x["onednn"]) for x in data["peaks"]) == [
        ("bfloat16", 0), ("bfloat16", 1), ("float32", 0), ("float32", 1)]
    held = {c: rules.peak_for(r[c, 1], data["peaks"]) for c in cells[:2]}  # each run's peak
    assert {c: (p["log"], p["dtype"]) for c, p in held.items()} == {
        cells[0]: ("peak.onednn.log", "float32"), cells[1]: ("peak.log", "bfloat16")}

    p = standin(tmp_path, *common, RUN_ALL_EXTRA_ARGS="--steps 7")  # the fault gone
    assert p.returncode == 0 and "4 runs planned (3 done already)" in p.stdout, p.output
    assert "measuring" not in p.stdout
    want = rules.read_plan(str(out))["cells"]["alexnet.keras.g0.onednn"]
    run = run_line(out / "logs" / "alexnet.keras.g0.onednn.r1.log")
    assert rules.made_otherwise({"run": run}, want) == ""
    del run["env"]  # a run made without it is not this cell's
    assert rules.made_otherwise({"run": run}, want).startswith(
        "made otherwise: env=(none) (current plan: TF_ENABLE_ONEDNN_OPTS=1)")


def test_a_set_aside_peak_log_is_taken_back_only_under_its_own_name(tmp_path):
    """logs/old/peak.onednn.<time>.log (measured under TF_ENABLE_ONEDNN_OPTS=1) never stands for
    logs/peak.log, though its name starts like that log's set-aside copies."""
    logs = tmp_path / "logs"
    (logs / "old").mkdir(parents=True)
    (logs / "old" / "peak.onednn.20260101T000000.log").write_text(
        'run cell=peak repeat=1 mode=cpu args=tools/peak.py env="TF_ENABLE_ONEDNN_OPTS=1"\n'
        "peak device=cpu tflops=0.1 dtype=float32 onednn=1\n")
    want = {"mode": "cpu", "args": "tools/peak.py"}
    assert sweep.kept(logs, "peak.log", want, None, is_peak=True) is None
    want["env"] = "TF_ENABLE_ONEDNN_OPTS=1"
    assert sweep.kept(logs, "peak.onednn.log", want, None, is_peak=True) == logs / "peak.onednn.log"


@pytest.mark.slow
def test_backslash_in_cifar_data_path_resumes(tmp_path):
    data = tmp_path / "da\\ta \"x\""
    (data / "cifar-10-batches-py").mkdir(parents=True)
    out = tmp_path / "sweep"
    p = standin(tmp_path, "--only", "cifar10-cnn.keras.g", "--out", out, "--cifar-data", data)
    assert p.returncode == 0, p.output
    p = standin(tmp_path, "--only", "cifar10-cnn.keras.g", "--out", out, "--cifar-data", data)
    assert p.returncode == 0 and "done already, kept" in p.stdout, p.output


def cmdline(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_text(errors="replace").split("\x00")
    except OSError:
        return []


def alive(pid):
    """Whether process `pid` exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def start_sleeper(tmp_path, out, *args, **env):
    """run_all.sh on alexnet.keras.g0 whose stand-in sleeps (with a grandchild) until stopped."""
    pids = tmp_path / f"pids-{out.name}"
    env.setdefault("RUN_ALL_EXTRA_ARGS_alexnet_keras_g0", "--fake-sleep 60")
    proc = subprocess.Popen(
        ["./run_all.sh", "--repeat", "1", "--only", "alexnet.keras.g0", "--out", str(out), *args],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        preexec_fn=default_signals, env=env_for(tmp_path, RUN_ALL_PYTHON=str(STANDIN),
                                                STANDIN_PIDS=str(pids), **env))
    deadline = time.time() + 60
    while time.time() < deadline and not (pids.exists() and pids.read_text().endswith("\n")):
        time.sleep(0.1)
    assert pids.exists(), proc.communicate(timeout=60)[0]
    return proc, [int(p) for p in pids.read_text().split()]


@pytest.mark.slow
@pytest.mark.parametrize("sig,rc", [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_signal_stops_the_whole_child_group(tmp_path, sig, rc):
    out = tmp_path / "sweep"
    proc, children = start_sleeper(tmp_path, out)
    assert all(alive(pid) for pid in children)
    t0 = time.time()
    proc.send_signal(sig)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == rc, output
    assert time.time() - t0 < 4, output  # the collector included
    assert not [pid for pid in children if alive(pid)], "a benchmark process was left running"
    text = (out / "logs" / f"{ALEX[1]}.r1.log").read_text()
    assert re.search(r"^run_end .* status=interrupted ", text, re.M), text
    assert runs(out)[(ALEX[1], 1)]["status"] == "failed" and (out / "results.md").exists()


@pytest.mark.slow
def test_interrupt_during_the_idle_sample(tmp_path):
    out = tmp_path / "sweep"
    proc = subprocess.Popen(
        ["./run_all.sh", "--repeat", "1", "--only", only("alexnet"), "--out", str(out)], cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=default_signals,
        env=env_for(tmp_path, RUN_ALL_PYTHON=str(STANDIN), RUN_ALL_IDLE_SAMPLE_S="10"))
    first = ""
    while not first.startswith("run 1 of 4"):  # tensorpack, keras, tflearn, keras-aa (only())
        first = proc.stdout.readline()
        assert first or proc.poll() is None, "run_all.sh ended early"
    time.sleep(0.3)  # inside the 10 s idle sample before the first run
    t0 = time.time()
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, output
    assert time.time() - t0 < 7, output  # not the 10 s of the sample (the collector's 1-3 s included)
    assert not (out / "logs" / f"{ALEX[0]}.r1.log").exists()  # the run never started
    assert "NOT RUN: alexnet.tensorpack.g0 repeat 1" in (out / "results.md").read_text()


def wait_dead(pid, seconds=10):
    deadline = time.time() + seconds
    while alive(pid) and time.time() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def test_one_sweep_per_folder_and_nothing_outlives_a_killed_sweep(tmp_path):
    out = tmp_path / "sweep"
    first, (child, grandchild) = start_sleeper(tmp_path, out)
    second = standin(tmp_path, "--only", "alexnet.keras.g0", "--out", out)
    assert second.returncode == 2, second.output
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and "is in use by another run_all.sh" in lines[0], lines
    assert second.stdout == "" and not (out / "logs" / "old").exists()
    assert "run_end" not in (out / "logs" / f"{ALEX[1]}.r1.log").read_text()  # left alone
    os.kill(first.pid, signal.SIGKILL)  # the sweep alone, killed hard: none of its handlers runs
    first.communicate(timeout=60)
    assert wait_dead(child), "the benchmark outlived the sweep"  # PR_SET_PDEATHSIG
    assert alive(grandchild)  # what the benchmark started is left in its process group ...
    third = standin(tmp_path, "--only", "alexnet.keras.g0", "--out", out)
    assert third.returncode == 0, third.output  # ... until the next sweep takes the lock over
    assert "taking over the lock of an earlier sweep that did not end" in third.stdout
    assert f"ending what its benchmark left running (process group {child}: 1 process)" in third.stdout
    assert wait_dead(grandchild) and runs(out)[(ALEX[1], 1)]["status"] == "ok"


def test_the_lock_is_held_while_any_benchmark_process_lives(tmp_path):
    """A benchmark process that holds the lock's descriptor (here a grandchild started with
    close_fds=False) keeps the folder locked after the sweep died: no second sweep runs beside it."""
    out = tmp_path / "sweep"
    first, (child, grandchild) = start_sleeper(
        tmp_path, out, RUN_ALL_EXTRA_ARGS_alexnet_keras_g0="--fake-sleep 60 --fake-keep-fds")
    os.kill(first.pid, signal.SIGKILL)
    first.communicate(timeout=60)
    assert wait_dead(child) and alive(grandchild)
    second = standin(tmp_path, "--only", "alexnet.keras.g0", "--out", out)
    assert second.returncode == 2 and "is in use by another run_all.sh" in second.stderr, second.output
    os.kill(grandchild, signal.SIGKILL)
    assert wait_dead(grandchild)
    third = standin(tmp_path, "--only", "alexnet.keras.g0", "--out", out)
    assert third.returncode == 0 and "taking over the lock" in third.stdout, third.output


# ---- the pieces of a run, in process ---------------------------------------------------------------
SPAWN = "import subprocess; print(subprocess.Popen(['sleep', '60']).pid, flush=True)"


def test_after_a_run_its_whole_process_group_is_ended(tmp_path):
    fd = os.open(tmp_path / "lock", os.O_RDWR | os.O_CREAT)
    log = tmp_path / "run.log"
    rc, timed_out = sweep.run_child([sys.executable, "-c", SPAWN], log, 60, fd)
    assert (rc, timed_out) == (0, False)
    assert wait_dead(int(log.read_text())), "a process the run left behind is still running"


def test_the_time_limit_ends_the_whole_group(tmp_path, monkeypatch):
    monkeypatch.setattr(sweep, "KILL_GRACE_S", 1)
    fd = os.open(tmp_path / "lock", os.O_RDWR | os.O_CREAT)
    log = tmp_path / "run.log"
    deaf = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); " + SPAWN + "; time.sleep(60)"
    t0 = time.time()
    rc, timed_out = sweep.run_child([sys.executable, "-c", deaf], log, 1, fd)
    assert (rc, timed_out) == (124, True) and time.time() - t0 < 10  # SIGTERM ignored: SIGKILL
    assert wait_dead(int(log.read_text()))


def test_a_failed_collector_marks_the_results_stale(tmp_path, monkeypatch):
    out = tmp_path / "sweep"
    assert standin(tmp_path, "--only", KERAS_AA, "--out", out).returncode == 0
    before = (out / "results.md").read_text()
    broken = tmp_path / "collect.py"
    broken.write_text("import sys\nsys.exit(4)\n")
    monkeypatch.setattr(sweep, "COLLECTOR", broken)
    for _ in range(2):  # marked once, however often it fails
        assert sweep.collect(out) == 4
    md = (out / "results.md").read_text()
    assert md.startswith("> **STALE: the collector failed (exit 4) at ") and md.count("STALE") == 1
    assert md.endswith(before) and "exit 0" not in md.split("\n\n", 1)[0]
    assert json.loads((out / "results.json").read_text())["stale"].startswith("the collector failed")


# ---- a run belongs to what made it -----------------------------------------------------------------
def copy_repo(tmp_path):
    """The files a sweep reads (the scripts, bench.py, tools/), in a folder of their own; plain
    TensorFlow's scripts as placeholders where this checkout has none yet (the stand-in runs
    none of them)."""
    repo = tmp_path / "repo"
    shutil.copytree(REPO / "tools", repo / "tools", ignore=shutil.ignore_patterns("__pycache__"))
    for f in [REPO / "bench.py", *REPO.glob("cifar10-cnn-*.py"), *REPO.glob("imagenet-*.py")]:
        shutil.copy(f, repo)
    for name in ("cifar10-cnn-tf.py", "imagenet-tf.py"):
        if not (repo / name).exists():
            (repo / name).write_text("# a placeholder for the stand-in\n")
    return repo


def test_a_sweep_of_every_api_with_torch_missing(tmp_path):
    """The tiny task with all eight APIs through the stand-in: keras-torch SKIPPED (torch not
    installed) with the install command, the backends and plain TF ok, no fairness mismatch
    (xla is keras-xla's and keras-jax's own), only the planned task in results.md; once torch is
    there, only the skipped cell runs."""
    repo, out = copy_repo(tmp_path), tmp_path / "sweep"

    def again(**env):
        return run_all(tmp_path, "--repeat", 1, "--only", "tiny", "--out", out,
                       entry=repo / "tools" / "sweep.py", RUN_ALL_PYTHON=str(STANDIN), **env)
    p = again(STANDIN_MISSING="torch")
    assert p.returncode == 0, p.output
    assert plan(out) == [("r1", f"tiny.{a}.g0") for a in ALL_APIS]
    why = (f"torch not installed; to run these cells: {STANDIN} -m pip install -r "
           "requirements-torch.txt")
    assert f"keras-torch cells SKIPPED: {why}" in p.stdout and f"    SKIPPED: {why}" in p.stdout
    r = runs(out)
    torch = r["tiny.keras-torch.g0", 1]
    assert (torch["status"], torch["reason"]) == ("skipped", why)
    assert all(x["status"] == "ok" for (c, _), x in r.items() if c != "tiny.keras-torch.g0")
    jax = r["tiny.keras-jax.g0", 1]
    assert jax["lines"]["run"]["args"].endswith(" --epochs 3 --backend jax")
    assert (jax["lines"]["model"]["backend"], jax["lines"]["model"]["xla"]) == ("jax", "on")
    assert r["tiny.keras-xla.g0", 1]["lines"]["model"]["xla"] == "True"
    assert r["tiny.keras.g0", 1]["lines"]["model"]["backend"] == "tensorflow"
    tf = r["tiny.tf.g0", 1]
    assert tf["lines"]["model"]["framework"] == "tf" and tf["lines"]["run"]["args"] == (
        "imagenet-tf.py 0 --model tiny --image-size 32 --steps 1000 --epochs 3")
    quiet(out)
    assert recollect(out) == 0
    md = (out / "results.md").read_text()
    assert "FAIRNESS" not in md and "| AlexNet" not in md and "| CIFAR CNN" not in md
    assert md_table(out, "## Single device") == [[
        "Tiny (per-step overhead)", "cpu", *["205 (n=1 run)"] * 4,
        "SKIPPED: " + collect.short(why, 90), "205 (n=1 run)", "205 (n=1 run)"]]
    overhead = {row[0]: row[1:] for row in md_table(out, "## Per-step overhead")}
    assert overhead["plain TF"] == ["39.02 ms (n=1 run)", "— (the floor)"]  # 1000 x 8 / 205
    assert overhead["Keras/JAX"][0] == "39.02 ms (n=1 run)"
    assert overhead["Keras/torch"][1] == "— (Keras/torch skipped)"
    assert "## Keras backends and XLA" in md and "## Fraction of the plain-TF floor" in md

    p = again()  # torch installed now: the skipped cell runs, the others are kept
    assert p.returncode == 0 and "8 runs planned (7 done already)" in p.stdout, p.output
    assert runs(out)["tiny.keras-torch.g0", 1]["status"] == "ok"


def test_a_run_belongs_to_what_made_it(tmp_path):
    """Resume keeps a run only if the same script, bench.py, interpreter, library versions and host
    made it; a run set aside is taken back when they match again."""
    repo, out = copy_repo(tmp_path), tmp_path / "sweep"

    def again(kept, **env):
        p = run_all(tmp_path, "--repeat", 1, "--only", KERAS_AA, "--out", out,
                    entry=repo / "tools" / "sweep.py", **{"RUN_ALL_PYTHON": str(STANDIN), **env})
        assert p.returncode == 0 and f"2 runs planned ({kept} done already)" in p.stdout, p.output
        return p
    again(0)
    script = repo / "imagenet-keras.py"
    original = script.read_text()
    script.write_text(original + "# an edit\n")
    again(0)  # the Keras script changed: both runs are made again
    script.write_text(original)
    again(2)  # as it was: the first runs are taken back from logs/old/
    assert len(list((out / "logs" / "old").glob("*.log"))) == 2
    bench = repo / "bench.py"
    bench.write_text(bench.read_text() + "# an edit\n")
    again(0)
    other = tmp_path / "other" / "python"  # the same stand-in at another path: another interpreter
    other.parent.mkdir()
    shutil.copy(STANDIN, other)
    again(0, RUN_ALL_PYTHON=str(other))
    again(0, STANDIN_TF="9.9")  # another TensorFlow version, read in the run
    assert "tensorflow 9.9" in (out / "results.md").read_text()
    again(2, STANDIN_TF="9.9")
    log = out / "logs" / "alexnet.keras.g0.r1.log"  # another host CPU
    log.write_text(re.sub(r'cpu="[^"]*"', 'cpu="Another CPU"', log.read_text(), count=1))
    again(1, STANDIN_TF="9.9")
    assert run_line(log)["cpu"] != "Another CPU" and runs(out)[(ALEX[1], 1)]["status"] == "ok"
    # an edit while the sweep runs (the Keras run edits the script that the A/A run runs next): each
    # run records the code it ran, and the A/A run does not count for the plan it was made under
    out = tmp_path / "edited"
    p = run_all(tmp_path, "--repeat", 1, "--only", KERAS_AA, "--out", out,
                entry=repo / "tools" / "sweep.py", RUN_ALL_PYTHON=str(STANDIN),
                RUN_ALL_EXTRA_ARGS_alexnet_keras_g0=f"--fake-edit {script}")
    assert p.returncode == 1 and "the script or bench.py changed since the sweep started" in p.stdout
    shas = {cell: run_line(out / "logs" / f"{cell}.r1.log")["script_sha"] for cell in ALEX[1::2]}
    assert shas[ALEX[1]] != shas[ALEX[3]], shas
    ignored = json.loads((out / "results.json").read_text())["ignored"]
    assert [(g["file"], g["reason"].split(":")[0]) for g in ignored] == [(f"{ALEX[3]}.r1.log", "made otherwise")]


def test_runs_of_another_machine_are_not_resumed(tmp_path):
    """A copy of a committed sweep made on another machine at another commit, resumed here: none of
    its runs is kept, and the results name the machine the runs were made on."""
    out = tmp_path / "cpu-2core"
    shutil.copytree(REPO / "results" / "cpu-2core", out)
    p = standin(tmp_path, "--only", only("alexnet"), "--repeat", 3, "--out", out)
    assert p.returncode == 0 and "12 runs planned (0 done already)" in p.stdout, p.output
    md = (out / "results.md").read_text()
    cpu = run_line(out / "logs" / "alexnet.keras.g0.r1.log")["cpu"]
    assert f"- Machine (recorded in the runs): {cpu}, {os.cpu_count()} cores" in md
    assert "Xeon" not in md.split("## ", 1)[0] and "MIXED" not in md
    assert len(list((out / "logs" / "old").glob("alexnet.*.log"))) == 12  # set aside, not lost


def test_a_skip_never_displaces_a_good_log(tmp_path):
    data = tmp_path / "data"
    (data / "cifar-10-batches-py").mkdir(parents=True)
    out = tmp_path / "sweep"
    nodata = {"RUN_ALL_CIFAR_URL": "http://127.0.0.1:9/cifar-10-python.tar.gz"}
    p = standin(tmp_path, "--only", "cifar10-cnn.keras.g0", "--out", out, "--cifar-data", data)
    assert p.returncode == 0, p.output
    p = standin(tmp_path, "--only", "cifar10-cnn.keras.g0", "--out", out, **nodata)  # data gone
    assert p.returncode == 0 and "1 done already" in p.stdout and "SKIPPED" in p.stdout, p.output
    assert not (out / "logs" / "old").exists() and runs(out)[(CIFAR[1], 1)]["status"] == "ok"
    (out / "logs" / f"{CIFAR[1]}.r1.log").unlink()
    p = standin(tmp_path, "--only", "cifar10-cnn.keras.g0", "--out", out, **nodata)
    assert p.returncode == 0 and runs(out)[(CIFAR[1], 1)]["status"] == "skipped", p.output


def test_a_quick_sweep_into_the_same_folder_leaves_the_default_runs_usable(tmp_path):
    out = tmp_path / "sweep"
    assert standin(tmp_path, "--only", KERAS_AA, "--out", out).returncode == 0
    p = standin(tmp_path, "--only", only("alexnet"), "--out", out, "--quick", "--repeat", 2)
    assert p.returncode == 0 and "8 runs planned (0 done already)" in p.stdout, p.output
    assert plan(out) == [("r1", c) for c in ALEX] + [("r2", c) for c in ALEX[1:] + ALEX[:1]]
    assert_smoke_test(out)
    p = standin(tmp_path, "--only", KERAS_AA, "--out", out)
    assert "2 runs planned (2 done already)" in p.stdout and "measuring" not in p.stdout, p.output
    assert "SMOKE TEST" not in (out / "results.md").read_text()
