"""run_all.sh end to end on the CPU, on the CIFAR cells with generated data (--quick settings).

A failing cell is made with run_all.sh's RUN_ALL_EXTRA_ARGS_<cell> hook: extra arguments appended
to that one cell's command (an invalid `--epochs 0` makes the script exit 2 with an error line).
"""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CIFAR = ("cifar10-cnn.tensorpack.g0", "cifar10-cnn.keras.g0", "cifar10-cnn.tflearn.g0",
         "cifar10-cnn.keras-aa.g0")  # keras-aa: Keras's script again, the A/A run
RUN_LINE = re.compile(r"^run cell=(\S+) repeat=(\d+) start=\S+ load1=[\d.]+ cores=\d+ other_cpu=[\d.]+ "
                      r'timeout_s=\d+ mode=quick commit=\S+ data_generated=1 args="[^"]+" cmd="[^"]+"$',
                      re.M)


@pytest.fixture(scope="session")
def gen_cifar(tmp_path_factory):
    """Generated CIFAR-10-format data (tools/make_cifar_data.py, with its GENERATED marker)."""
    d = tmp_path_factory.mktemp("gen-cifar")
    subprocess.run([sys.executable, str(REPO / "tools" / "make_cifar_data.py"), str(d)], check=True,
                   capture_output=True)
    return d


QUICK_PEAK = 'run cell=peak mode=quick args="tools/peak.py --quick"\npeak device=cpu tflops=0.1 n=512 reps=1\n'


def env_for(tmp_path, **extra):
    env = dict(os.environ, RUN_ALL_NGPU="0", RUN_ALL_IDLE_SAMPLE_S="0.2",
               XDG_CACHE_HOME=str(tmp_path / "cache"), TF_CPP_MIN_LOG_LEVEL="1")
    env.update(extra)
    return env


def default_signals():
    """preexec_fn: the child starts with SIGINT, SIGHUP and SIGTERM at their defaults, as from a
    terminal, even when the suite runs in the background (`nohup ... &` starts it with SIGINT and
    SIGHUP ignored, and bash cannot trap a signal that was ignored when it started)."""
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)


def run_all(tmp_path, *args, timeout=300, **env):
    proc = subprocess.run(["./run_all.sh", *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, env=env_for(tmp_path, **env))
    proc.output = proc.stdout + proc.stderr
    return proc


def plan(out):
    return [tuple(l.split()) for l in (out / "plan.txt").read_text().splitlines()]


def runs(out):
    return {(r["cell"], r["repeat"]): r for r in json.loads((out / "results.json").read_text())["runs"]}


def md_row(out, label):
    md = (out / "results.md").read_text()
    part = md.split("## Single device", 1)[1].split("\n## ", 1)[0]
    return next([c.strip() for c in l.strip().strip("|").split(" | ")] for l in part.splitlines()
                if l.startswith(f"| {label}"))


@pytest.mark.slow
def test_sweep_failure_resume_and_repeats(tmp_path, gen_cifar):
    out = tmp_path / "sweep"
    common = ("--quick", "--only", "cifar10-cnn.*", "--out", out, "--cifar-data", gen_cifar)

    # 1. one repeat of the four CIFAR cells; the Keras cell is made to fail
    p = run_all(tmp_path, *common, RUN_ALL_EXTRA_ARGS_cifar10_cnn_keras_g0="--epochs 0")
    assert p.returncode == 1, p.output
    assert plan(out) == [("r1", c) for c in CIFAR]
    for i, cell in enumerate(CIFAR, 1):
        assert re.search(rf"^\[{i}/4\] {re.escape(cell)} r1  elapsed \d+:\d\d  ETA (\?|\d+:\d\d)$",
                         p.stdout, re.M), p.output
        log = (out / "logs" / f"{cell}.r1.log").read_text()
        m = RUN_LINE.search(log)
        assert m and m.groups() == (cell, "1"), log[:500]
        assert re.search(rf"^run_end cell={re.escape(cell)} repeat=1 rc=\d+ status=(ok|failed) "
                         r"load1=[\d.]+ other_cpu=[\d.]+ wall_s=[\d.]+", log, re.M), log[-500:]
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
    assert {c: (out / "logs" / f"{c}.r1.log").stat().st_mtime for c in kept} == kept
    assert [f.name.split(".r1.")[0] for f in (out / "logs" / "old").iterdir()] == [CIFAR[1]]
    assert all(v["status"] == "ok" for v in runs(out).values())

    # 3. a second repeat: only repeat 2 runs, its API order rotated by one
    p = run_all(tmp_path, *common, "--repeat", 2)
    assert p.returncode == 0, p.output
    assert plan(out) == [("r1", c) for c in CIFAR] + [("r2", c) for c in CIFAR[1:] + CIFAR[:1]]
    assert p.stdout.count("done already, kept") == 4 and p.stdout.count("    ok: ") == 4, p.output
    r = runs(out)
    assert len(r) == 8 and all(v["status"] == "ok" for v in r.values())
    row = md_row(out, "CIFAR CNN")
    assert len(row) == 5 and all("n=2 runs" in c for c in row[2:5]), row  # keras-aa: no column
    md = (out / "results.md").read_text()
    assert "- Runs: 8 (8 ok, 0 failed, 0 skipped)" in md
    assert md.count("2 pairs") == 2 and "2 A/A pairs" in md, md
    # a --quick sweep is a smoke test: it says so and names no winner
    assert "SMOKE TEST" in md and md.count("smoke test: no comparison") == 2
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
    p = run_all(tmp_path, "--quick", "--only", "cifar10-cnn.keras", "--out", out,
                RUN_ALL_CIFAR_URL="http://127.0.0.1:9/cifar-10-python.tar.gz", timeout=120)
    assert p.returncode == 0, p.output
    r = runs(out)[(CIFAR[1], 1)]
    assert r["status"] == "skipped"
    assert "--cifar-data" in r["reason"] and "make_cifar_data.py" in r["reason"]
    assert md_row(out, "CIFAR CNN")[3].startswith("SKIPPED: no CIFAR-10 data")


def test_plans(tmp_path):
    out = tmp_path / "plan"
    p = run_all(tmp_path, "--dry-run", "--out", out)  # CPU machine: every cell at g0, 3 repeats
    assert p.returncode == 0, p.output
    pl = plan(out)
    assert len(pl) == 48 and {c.rsplit(".", 1)[1] for _, c in pl} == {"g0"}
    apis = lambda rep, task: [c.split(".")[1] for r, c in pl if r == rep and c.startswith(task + ".")]
    # keras-aa sits opposite keras in the rotation: always two runs away from it
    assert apis("r1", "vgg16") == ["tensorpack", "keras", "tflearn", "keras-aa"]
    assert apis("r2", "vgg16") == ["keras", "tflearn", "keras-aa", "tensorpack"]
    assert apis("r3", "vgg16") == ["tflearn", "keras-aa", "tensorpack", "keras"]
    assert [c for _, c in pl[:16]] == [f"{t}.{a}.g0" for t in ("cifar10-cnn", "alexnet", "vgg16", "resnet50")
                                       for a in ("tensorpack", "keras", "tflearn", "keras-aa")]
    assert "r1 alexnet.keras-aa.g0: imagenet-keras.py 0 --model alexnet --image-size 128" in p.stdout

    p = run_all(tmp_path, "--dry-run", "--out", out, RUN_ALL_NGPU="6")  # GPU machine: 3 repeats too
    assert p.returncode == 0, p.output
    assert "repeats: 3" in p.stdout
    cells = [c for r, c in plan(out) if r == "r1"]
    assert {r for r, _ in plan(out)} == {"r1", "r2", "r3"}
    assert [c for c in cells if c.startswith("resnet50.")] == [
        "resnet50.tensorpack.g1", "resnet50.keras.g1", "resnet50.tflearn.g1", "resnet50.keras-aa.g1",
        "resnet50.tensorpack.g2", "resnet50.keras.g2", "resnet50.keras-aa.g2",
        "resnet50.tensorpack.g4", "resnet50.keras.g4", "resnet50.keras-aa.g4",
        "resnet50.tensorpack.g6", "resnet50.keras.g6", "resnet50.keras-aa.g6"]
    assert "r1 vgg16.keras.g2: imagenet-keras.py 2 --model vgg16  (time limit 3600s)" in p.stdout
    assert "r1 vgg16.keras-aa.g2: imagenet-keras.py 2 --model vgg16  (time limit 3600s)" in p.stdout
    assert "r1 cifar10-cnn.tflearn.g1: cifar10-cnn-tflearn.py 1 --epochs 4 --data" in p.stdout

    p = run_all(tmp_path, "--dry-run", "--out", out, "--quick", RUN_ALL_NGPU="6")  # quick: 1 repeat
    assert p.returncode == 0 and "repeats: 1" in p.stdout, p.output
    assert {r for r, _ in plan(out)} == {"r1"}

    p = run_all(tmp_path, "--dry-run", "--out", out, "--gpus", "1 2", "--only", "*.keras.*,tflearn",
                "--repeat", "2")
    assert p.returncode == 0, p.output
    assert [c for r, c in plan(out) if r == "r1" and c.startswith("alexnet")] == [
        "alexnet.keras.g1", "alexnet.tflearn.g1", "alexnet.keras.g2"]
    p = run_all(tmp_path, "--dry-run", "--out", out, "--only", "alexnet.keras")  # keras and keras-aa
    assert p.returncode == 0, p.output
    assert [c for r, c in plan(out) if r == "r2"] == ["alexnet.keras-aa.g0", "alexnet.keras.g0"]


@pytest.mark.parametrize("args,message", [
    (["--bogus"], "unknown option"),
    (["--repeat", "010"], "--repeat must be a decimal"),  # bash would read 010 as 8 (octal)
    (["--repeat", "08"], "--repeat must be a decimal"),   # ... and 08 as an arithmetic error
    (["--gpus", "0,0"], "device count 0 given twice"),
    (["--gpus", "1 01"], "--gpus: '01'"),
    (["--out", "/etc/hostname"], "not a folder"),
    (["--repeat", "x"], "--repeat"),
    (["--repeat", "0"], "--repeat"),
    (["--repeat"], "--repeat needs a value"),
    (["--only", "no-such-cell"], "matches no cell"),
    (["--gpus", "16"], "16 devices asked"),
    (["--gpus", "one"], "--gpus"),
    (["--cifar-data", "/nonexistent"], "cifar-10-batches-py"),
])
def test_bad_input(tmp_path, args, message):
    p = run_all(tmp_path, "--dry-run", "--out", tmp_path / "x", *args, RUN_ALL_NGPU="8", timeout=60)
    assert p.returncode == 2, p.output
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("run_all.sh: error: ") and message in lines[0]


@pytest.mark.parametrize("var,value", [
    ("RUN_ALL_TIMEOUT_S", "abc"), ("RUN_ALL_TIMEOUT_S", "0"), ("RUN_ALL_TIMEOUT_S", "010"),
    ("RUN_ALL_IDLE_SAMPLE_S", "abc"), ("RUN_ALL_IDLE_SAMPLE_S", "0"), ("RUN_ALL_IDLE_SAMPLE_S", ""),
    ("RUN_ALL_IDLE_SAMPLE_S", "60"), ("RUN_ALL_NGPU", "x"), ("RUN_ALL_NGPU", "08"),
    ("RUN_ALL_PYTHON", "/nonexistent/python")])
def test_bad_environment(tmp_path, var, value):
    p = run_all(tmp_path, "--dry-run", "--out", tmp_path / "x", timeout=60, **{var: value})
    assert p.returncode == 2, p.output
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"run_all.sh: error: {var} "), lines


def test_help():
    p = subprocess.run(["./run_all.sh", "--help"], cwd=REPO, capture_output=True, text=True)
    assert p.returncode == 0 and "cifar10-cnn.keras.g0" in p.stdout and "--repeat N" in p.stdout
    assert "keras-aa" in p.stdout and "default 3, with or without GPUs; 1 with --quick" in p.stdout


# ---- with the stand-in interpreter (tests/standin/python: contract lines in milliseconds) ----
STANDIN = REPO / "tests" / "standin" / "python"
ALEX = ("alexnet.tensorpack.g0", "alexnet.keras.g0", "alexnet.tflearn.g0", "alexnet.keras-aa.g0")


def standin(tmp_path, *args, **env):
    return run_all(tmp_path, "--repeat", 1, *args, RUN_ALL_PYTHON=str(STANDIN), timeout=120, **env)


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
}


@pytest.fixture(scope="module")
def faulty_sweep(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("faults")
    out = tmp_path / "sweep"
    hooks = {"RUN_ALL_EXTRA_ARGS_" + re.sub(r"[.-]", "_", cell): extra for cell, (extra, _) in FAULTS.items()}
    p = standin(tmp_path, "--only", "alexnet,vgg16,resnet50", "--out", out, **hooks)
    return p, out, runs(out)


def test_a_sweep_with_faults_exits_by_the_worst(faulty_sweep):
    p, _, r = faulty_sweep
    # replicas=2 also differs from the other APIs' replicas=1: a fairness mismatch (exit 3, over 1)
    assert p.returncode == 3, p.output
    clean = [c for c, _ in r if c not in FAULTS]  # resnet50's tflearn cell and the three keras-aa cells
    assert len(clean) == 4 and all(r[c, 1]["status"] == "ok" for c in clean), clean
    # keras-aa (Keras's script again) is ok, and its model line says framework=keras
    assert all(r[c, 1]["lines"]["model"]["framework"] == "keras" for c in clean if "keras-aa" in c)


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
    p = standin(tmp_path, "--only", "alexnet,vgg16,resnet50", "--out", out)
    # exit 0: every run ok and no fairness mismatch (the stand-in spells its model line as each
    # framework does: SGD/GradientDescent, channels_last/NHWC)
    assert p.returncode == 0 and p.stdout.count("done already, kept") == 4, p.output
    data = json.loads((out / "results.json").read_text())
    assert data["fairness_mismatches"] == [] and all(r["status"] == "ok" for r in data["runs"])


def test_spread_and_timed_epochs_come_from_the_throughput_lines(tmp_path):
    # the summary carries images_per_sec only; epochs 2 and 3 (200, 210) are the timed ones
    out = tmp_path / "sweep"
    p = standin(tmp_path, "--only", "alexnet.keras", "--out", out)
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


@pytest.mark.slow
def test_backslash_in_cifar_data_path_resumes(tmp_path):
    data = tmp_path / "da\\ta \"x\""
    (data / "cifar-10-batches-py").mkdir(parents=True)
    out = tmp_path / "sweep"
    p = standin(tmp_path, "--only", "cifar10-cnn.keras", "--out", out, "--cifar-data", data)
    assert p.returncode == 0, p.output
    p = standin(tmp_path, "--only", "cifar10-cnn.keras", "--out", out, "--cifar-data", data)
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
    proc = subprocess.Popen(
        ["./run_all.sh", "--repeat", "1", "--only", "alexnet.keras.g0", "--out", str(out), *args],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        preexec_fn=default_signals, env=env_for(tmp_path, RUN_ALL_PYTHON=str(STANDIN), STANDIN_PIDS=str(pids),
                    RUN_ALL_EXTRA_ARGS_alexnet_keras_g0="--fake-sleep 60", **env))
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
        ["./run_all.sh", "--repeat", "1", "--only", "alexnet", "--out", str(out)], cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=default_signals,
        env=env_for(tmp_path, RUN_ALL_PYTHON=str(STANDIN), RUN_ALL_IDLE_SAMPLE_S="10"))
    first = ""
    while not first.startswith("[1/4]"):  # tensorpack, keras, tflearn, keras-aa
        first = proc.stdout.readline()
        assert first or proc.poll() is None, "run_all.sh ended early"
    time.sleep(0.3)  # inside the 10 s idle sample before the first run
    t0 = time.time()
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, output
    assert time.time() - t0 < 3, output
    assert not (out / "logs" / f"{ALEX[0]}.r1.log").exists()  # the run never started
    assert "NOT RUN: alexnet.tensorpack.g0 repeat 1" in (out / "results.md").read_text()


def test_one_sweep_per_folder_and_a_stale_lock_is_taken_over(tmp_path):
    out = tmp_path / "sweep"
    first, children = start_sleeper(tmp_path, out)
    second = standin(tmp_path, "--only", "alexnet.keras.g0", "--out", out)
    assert second.returncode == 2, second.output
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and "is in use by another run_all.sh" in lines[0], lines
    assert second.stdout == "" and not (out / "logs" / "old").exists()
    assert "run_end" not in (out / "logs" / f"{ALEX[1]}.r1.log").read_text()  # left alone
    os.killpg(first.pid, signal.SIGKILL)  # the sweep killed hard: no trap, the lock stays behind
    for pid in children:
        os.kill(pid, signal.SIGKILL)
    first.communicate(timeout=60)
    third = standin(tmp_path, "--only", "alexnet.keras.g0", "--out", out)
    assert third.returncode == 0, third.output
    assert "taking over the lock" in third.stdout and runs(out)[(ALEX[1], 1)]["status"] == "ok"
