"""tools/collect.py and tools/flops.py on hand-written logs (tests/fixtures/logs/<scenario>/logs)."""
import csv
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "logs"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, REPO / "tools" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


flops = _load("flops")
collect = _load("collect")


def run_collector(tmp_path, scenario):
    """Copy a fixture sweep into tmp and run the collector on it as a user does."""
    d = tmp_path / scenario
    shutil.copytree(FIXTURES / scenario, d)
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "collect.py"), str(d)],
                          capture_output=True, text=True, timeout=120)
    md = (d / "results.md").read_text() if (d / "results.md").exists() else ""
    data = json.loads((d / "results.json").read_text()) if (d / "results.json").exists() else {}
    return proc, d, md, data


def run_of(data, cell, repeat=1):
    [r] = [r for r in data["runs"] if r["cell"] == cell and r["repeat"] == repeat]
    return r


def row(md, label, section="## Single device"):
    """The cells of the markdown table row whose first cell starts with `label` in `section`."""
    part = md.split(section, 1)[1].split("\n## ", 1)[0]
    for line in part.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if cells and cells[0].startswith(label):
            return cells
    raise AssertionError(f"no row {label!r} in {section}")


# ---- flops.py -------------------------------------------------------------------------------
@pytest.mark.parametrize("task,size,expected", [
    ("cifar10-cnn", 32, 1_250_858), ("vgg16", 224, 138_357_544), ("resnet50", 224, 25_557_032),
    # AlexNet at 224 px: 11x11/4 valid -> 54, pools 3/2 valid -> 26 -> 12 -> 5: 5x5x256 into fc6
    ("alexnet", 224, 49_566_504)])
def test_params(task, size, expected):
    assert flops.params(task, size) == expected


def test_flops_against_published_macs():
    assert flops.forward_macs("vgg16", 224) / 1e9 == pytest.approx(15.47, abs=0.01)
    assert flops.forward_macs("resnet50", 224) / 1e9 == pytest.approx(3.86, abs=0.01)  # v1
    # the CIFAR CNN by hand: 32x32x32x27 + 30x30x32x288 + 15x15x64x288 + 13x13x64x576 + 2304x512 + 5120
    assert flops.forward_macs("cifar10-cnn") == 884_736 + 8_294_400 + 4_147_200 + 6_230_016 + 1_179_648 + 5_120
    # training = 3 x forward, less the first conv's gradient w.r.t. the images (never computed)
    assert flops.train_flops("cifar10-cnn") == 6 * flops.forward_macs("cifar10-cnn") - 2 * 884_736
    first = {"alexnet": 30 * 30 * 64 * 11 * 11 * 3, "vgg16": 64 * 64 * 64 * 3 * 3 * 3,
             "resnet50": 32 * 32 * 64 * 7 * 7 * 3}  # at 128 px (AlexNet) and 64 px
    for task, size in (("alexnet", 128), ("vgg16", 64), ("resnet50", 64)):
        assert flops.train_flops(task, size) == 6 * flops.forward_macs(task, size) - 2 * first[task]
        assert flops.train_flops(task, size) < 3 * flops.forward_flops(task, size)


def test_flops_image_size_limits():
    assert flops.params("alexnet", 96) > 0 and flops.params("alexnet", 128) > 0
    with pytest.raises(ValueError):
        flops.params("alexnet", 64)  # the third pool has no window left
    assert flops.params("resnet50", 64) == flops.params("resnet50", 224)  # global pooling


# ---- parsing --------------------------------------------------------------------------------
def test_parse_line():
    assert collect.parse_line("summary framework=keras images_per_sec=12.5 epochs_timed=3") == (
        "summary", {"framework": "keras", "images_per_sec": 12.5, "epochs_timed": 3})
    kind, kv = collect.parse_line('run_end cell=a.b.g0 rc=1 reason="Bad \\"thing\\" happened"')
    assert kv["reason"] == 'Bad "thing" happened' and kv["rc"] == 1
    assert collect.parse_line("\x1b[2K\rthroughput framework=tflearn epoch=1")[1]["epoch"] == 1
    assert collect.parse_line("Epoch 1/3 summary of things") is None  # not first token
    assert collect.parse_line("summary of the run") is None  # no key=value pairs
    assert collect.parse_line("INFO model framework=keras") is None


# ---- scenarios ------------------------------------------------------------------------------
def test_complete_missing_and_crashed_runs(tmp_path):
    proc, d, md, data = run_collector(tmp_path, "basic")
    assert proc.returncode == 1, proc.stderr  # a run failed
    for name in ("results.md", "results.csv", "results.json", "results.png"):
        assert (d / name).stat().st_size > 0
    assert (d / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    tp = run_of(data, "cifar10-cnn.tensorpack.g0")
    assert tp["status"] == "ok" and tp["images_per_sec"] == 1450.0
    assert tp["epochs_images_per_sec"] == [400.0, 1500.0, 1400.0, 1450.0]
    assert tp["lines"]["model"]["params"] == 1250858 and tp["lines"]["run"]["commit"] == "abc1234"
    assert tp["data"] == "generated CIFAR-format data"
    # TFLOP/s = 1450 img/s x 0.124 GFLOP/img; % of the 0.5 TFLOP/s peak
    assert tp["tflops"] == pytest.approx(1450 * flops.train_flops("cifar10-cnn", 32) / 1e12)
    assert tp["pct_of_peak"] == pytest.approx(100 * tp["tflops"] / 0.5)

    nosum = run_of(data, "alexnet.keras.g0")
    assert nosum["status"] == "failed" and "no summary line" in nosum["reason"]
    crash = run_of(data, "alexnet.tflearn.g0")
    assert crash["status"] == "failed"
    assert crash["reason"].startswith("tensorflow.python.framework.errors_impl.ResourceExhaustedError: OOM")

    cells = row(md, "CIFAR CNN (generated CIFAR-format data)")
    assert cells[2:5] == ["1,450 (n=1 run)", "1,050 (n=1 run)", "850 (n=1 run)"]
    alex = row(md, "AlexNet")
    assert alex[2] == "101 (n=1 run)" and alex[3].startswith("FAILED: no summary line")
    assert alex[4].startswith("FAILED: tensorflow.python.framework.errors_impl.ResourceExhaustedError")
    assert row(md, "VGG16")[2:5] == ["—", "—", "—"]
    assert "FAIRNESS MISMATCH" not in md
    # one pair only: never a winner
    assert row(md, "CIFAR CNN", "## Ratios vs Keras")[1] == "1.38× (1.38–1.38, 1 pair): not established"
    assert "**" not in row(md, "CIFAR CNN")[2]

    with open(d / "results.csv") as f:
        rows = {r["cell"]: r for r in csv.DictReader(f)}
    assert rows["cifar10-cnn.keras.g0"]["images_per_sec"] == "1050.0"
    assert rows["cifar10-cnn.keras.g0"]["epochs_images_per_sec"] == "300.0;1000.0;1100.0;1050.0"
    assert rows["alexnet.tflearn.g0"]["status"] == "failed"
    assert data["exit_status"] == 1 and data["peak"]["tflops"] == 0.5


def test_fairness_mismatch_flagged(tmp_path):
    proc, d, md, data = run_collector(tmp_path, "mismatch")
    assert proc.returncode == 3, proc.stderr
    section = md.split("## FAIRNESS MISMATCH", 1)[1].split("\n## ", 1)[0]
    assert "`batch` differs (Keras: 32; tensorpack: 64; tflearn: 32)" in section
    assert "`optimizer` differs (Keras: momentum; tensorpack: sgd; tflearn: sgd)" in section
    assert "`lr`" not in section  # 0.01, 1e-2 and 0.010 are the same number
    assert {(f["task"], f["key"]) for f in data["fairness_mismatches"]} == {
        ("vgg16", "batch"), ("vgg16", "optimizer")}


def test_data_parallel_efficiency(tmp_path):
    proc, d, md, data = run_collector(tmp_path, "dataparallel")
    assert proc.returncode == 0, proc.stderr
    part = md.split("## Data parallel", 1)[1].split("\n## ", 1)[0]
    assert "| API | model | 1 dev | 2 dev | 4 dev |" in part
    assert "| tensorpack | ResNet50 | 1,000 (eff 1.00) | 1,900 (eff 0.95) | 3,600 (eff 0.90) |" in part
    assert "| Keras | ResNet50 | 800 (eff 1.00) | 1,500 (eff 0.94) | — |" in part
    assert "tflearn" not in part  # no data-parallel runs
    # single device on a GPU machine = gpus=1
    assert row(md, "ResNet50")[1:5] == ["gpu×1", "1,000 (n=1 run)", "800 (n=1 run)", "700 (n=1 run)"]
    # % of peak counts every GPU: 3600 img/s x FLOPs / (4 x 10 TFLOP/s)
    r = run_of(data, "resnet50.tensorpack.g4")
    assert r["pct_of_peak"] == pytest.approx(
        100 * 3600 * flops.train_flops("resnet50", 64) / 1e12 / 40)


def test_repeats_medians_spreads_and_paired_ratios(tmp_path):
    proc, d, md, data = run_collector(tmp_path, "repeats")
    assert proc.returncode == 0, proc.stderr
    cifar = row(md, "CIFAR CNN")
    assert cifar[2] == "**1,200** (1,100–1,300, n=3 runs)"  # established winner: bold
    assert cifar[3].startswith("1,000 (1,000–1,000, n=3 runs) ⚠ busy machine (1 run(s))")
    assert cifar[4] == "1,010 (950–1,050, n=3 runs)"
    ratios = row(md, "CIFAR CNN", "## Ratios vs Keras")
    # tensorpack/keras per repeat: 1.2, 1.1, 1.3; tflearn/keras: 0.95, 1.05, 1.01 (straddles 1)
    assert ratios[1] == "**1.20×** (1.10–1.30, 3 pairs): **tensorpack faster**"
    assert ratios[2] == "1.01× (0.95–1.05, 3 pairs): not established"
    # AlexNet: keras repeat 2 missing -> 2 pairs (200/100, 190/120) of 3 repeats
    alex = row(md, "AlexNet")
    assert alex[2] == "**200** (190–210, n=3 runs)" and alex[3] == "110 (100–120, n=2 runs)"
    assert row(md, "AlexNet", "## Ratios vs Keras")[1] == \
        "**1.79×** (1.58–2.00, 2 pairs of 3 repeats): **tensorpack faster**"
    pr = collect.pair_ratio(collect.read_all(str(d))[0], "alexnet", "tensorpack", "keras", 0)
    assert [rep for rep, _ in pr["pairs"]] == [1, 3]
    assert pr["median"] == pytest.approx((2.0 + 190 / 120) / 2)
    assert "not established" in md.split("## Ratios vs Keras", 1)[1].split("|", 1)[0]
    warned = [r["cell"] + f".r{r['repeat']}" for r in data["runs"] if r["load_warning"]]
    assert warned == ["cifar10-cnn.keras.g0.r2"]


def test_usage_errors(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "collect.py"), str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "no logs/ folder" in proc.stderr


# ---- which logs count, and the rule for "ok" ------------------------------------------------
OK_LOG = (FIXTURES / "basic" / "logs" / "cifar10-cnn.keras.g0.r1.log").read_text()
KERAS = "cifar10-cnn.keras.g0"


def collect_basic(tmp_path, edit=None, files=None, plan=None, settings=None):
    """The `basic` fixture with the Keras CIFAR log edited (edit: text -> text), extra files in
    logs/ (name -> text, or None for a folder), and optionally a plan.txt and settings.txt."""
    d = tmp_path / "sweep"
    shutil.copytree(FIXTURES / "basic", d)
    logs = d / "logs"
    if edit:
        (logs / f"{KERAS}.r1.log").write_text(edit(OK_LOG))
    for name, text in (files or {}).items():
        (logs / name).mkdir() if text is None else (logs / name).write_text(text)
    if plan is not None:
        (d / "plan.txt").write_text(plan)
    if settings is not None:
        (d / "settings.txt").write_text(settings)
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "collect.py"), str(d)],
                          capture_output=True, text=True, timeout=120)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc, (d / "results.md").read_text(), json.loads((d / "results.json").read_text())


def summary_value(v):
    return lambda t: t.replace("summary framework=keras task=cifar10-cnn gpus=0 images_per_sec=1050.0",
                               f"summary framework=keras task=cifar10-cnn gpus=0 images_per_sec={v}")


@pytest.mark.parametrize("edit,reason", [
    (summary_value("nan"), "images_per_sec=nan is not a finite positive number"),
    (summary_value("inf"), "images_per_sec=inf is not a finite positive number"),
    (summary_value("0"), "images_per_sec=0 is not a finite positive number"),
    (summary_value("-5"), "images_per_sec=-5 is not a finite positive number"),
    (summary_value(""), "images_per_sec=(empty) is not a finite positive number"),
    (summary_value("10"), "does not match its throughput lines"),  # cut mid-number
    (lambda t: t.replace("images_per_sec=1050.0 spread_pct=9.5 epochs_timed=3", "images_per_sec=1050.0"),
     "summary line without epochs_timed (cut short?)"),
    (lambda t: t.replace("epochs_timed=3", "epochs_timed=2"), "does not match its throughput lines"),
    (lambda t: t.replace("images_per_sec=1100.0", "images_per_sec=nan"), "throughput lines"),
    (lambda t: "\n".join(l for l in t.splitlines() if not l.startswith("throughput")), "throughput lines"),
    (lambda t: t.replace("rc=0 status=ok", "rc=139 status=ok"), "exit code 139 after its summary line"),
    (lambda t: t.replace("rc=0 status=ok", "rc=1 status=failed reason=\"killed\""), "killed"),
    (lambda t: t.split("run_end")[0], "no run_end line"),
    (lambda t: "\n".join(l for l in t.splitlines() if not l.startswith("model")), "no model line"),
    (lambda t: t.replace("model framework=keras task=cifar10-cnn", "model framework=keras task=vgg16"),
     "model line says task=vgg16"),
    (lambda t: t.replace("model framework=keras", "model framework=kerass"), "model line says framework=kerass"),
    (lambda t: t.replace("model framework=keras task=cifar10-cnn params=1250858 gpus=0",
                         "model framework=keras task=cifar10-cnn params=1250858 gpus=1"), "gpus=1"),
])
def test_every_way_a_run_is_not_ok(tmp_path, edit, reason):
    proc, md, data = collect_basic(tmp_path, edit)
    assert proc.returncode == 1, proc.stderr
    r = run_of(data, KERAS)
    assert r["status"] == "failed" and reason in r["reason"] and r["images_per_sec"] is None, r["reason"]
    assert row(md, "CIFAR CNN")[3].startswith("FAILED: ")
    assert f"- FAILED: {KERAS} repeat 1" in md and "nan" not in row(md, "CIFAR CNN", "## Ratios vs Keras")[1]
    assert row(md, "CIFAR CNN", "## Ratios vs Keras")[1] == "— (no pair of ok runs)"


def test_keras_aa_runs_name_framework_keras(tmp_path):
    aa = OK_LOG.replace(f"cell={KERAS}", "cell=cifar10-cnn.keras-aa.g0")
    proc, md, data = collect_basic(tmp_path, files={"cifar10-cnn.keras-aa.g0.r1.log": aa})
    assert run_of(data, "cifar10-cnn.keras-aa.g0")["status"] == "ok"
    wrong = aa.replace("model framework=keras ", "model framework=tensorpack ")
    proc, md, data = collect_basic(tmp_path / "2", files={"cifar10-cnn.keras-aa.g0.r1.log": wrong})
    assert run_of(data, "cifar10-cnn.keras-aa.g0")["status"] == "failed"


PLAN = "".join(f"r1 {t}.{a}.g0\n" for t in ("cifar10-cnn", "alexnet") for a in ("tensorpack", "keras", "tflearn"))
SETTINGS = ('peak_probe mode=cpu args="tools/peak.py"\n'
            + "".join(f'cell cell=cifar10-cnn.{a}.g0 mode=cpu args="cifar10-cnn-{a}.py 0"\n'
                      for a in ("tensorpack", "keras", "tflearn")))


def with_settings(text, mode="cpu", args=None):
    """A basic-fixture log given the run line run_all.sh writes now (mode= and args=)."""
    first, rest = text.split("\n", 1)
    return f"{first} mode={mode} args=\"{args}\"\n{rest}"


def test_runs_of_another_plan_or_other_settings_are_ignored(tmp_path):
    d = tmp_path / "x"
    shutil.copytree(FIXTURES / "basic", d)
    logs = d / "logs"
    for a in ("tensorpack", "keras", "tflearn"):
        f = logs / f"cifar10-cnn.{a}.g0.r1.log"
        f.write_text(with_settings(f.read_text(), args=f"cifar10-cnn-{a}.py 0"))
    (logs / "peak.log").write_text('run cell=peak mode=quick args="tools/peak.py --quick"\n'
                                   + (logs / "peak.log").read_text())
    f = logs / "cifar10-cnn.keras.g0.r1.log"
    f.write_text(f.read_text().replace('mode=cpu args="cifar10-cnn-keras.py 0"',
                                       'mode=quick args="cifar10-cnn-keras.py 0 --steps 3"'))
    (logs / "cifar10-cnn.keras.g0.r2.log").write_text(
        with_settings(OK_LOG, args="cifar10-cnn-keras.py 0").replace("repeat=1", "repeat=2"))
    (d / "plan.txt").write_text(PLAN)
    (d / "settings.txt").write_text(SETTINGS)
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "collect.py"), str(d)],
                          capture_output=True, text=True, timeout=120)
    md, data = (d / "results.md").read_text(), json.loads((d / "results.json").read_text())
    assert proc.returncode == 1  # the alexnet runs fail as before; keras r1 is not run now
    assert {(r["cell"], r["repeat"]) for r in data["runs"]} == {
        ("cifar10-cnn.tensorpack.g0", 1), ("cifar10-cnn.tflearn.g0", 1), ("alexnet.tensorpack.g0", 1),
        ("alexnet.keras.g0", 1), ("alexnet.tflearn.g0", 1)}
    ignored = {g["file"]: g["reason"] for g in data["ignored"]}
    assert ignored["cifar10-cnn.keras.g0.r2.log"] == "not in the current plan (plan.txt)"
    assert ignored["cifar10-cnn.keras.g0.r1.log"].startswith("made with other settings: mode=quick")
    assert ignored["peak.log"].startswith("made with other settings") and data["peak"] is None
    assert row(md, "CIFAR CNN")[3] == "—" and "n=2" not in md
    assert f"- NOT RUN: {KERAS} repeat 1" in md and "## Ignored logs" in md
    assert data["missing"] == [{"cell": KERAS, "repeat": 1}]


def test_strays_duplicates_and_unknown_names_are_reported(tmp_path):
    files = {
        "cifar10-cnn.keras.g0.r01.log": OK_LOG,  # a copy: same cell and repeat as r1
        "cifar10-cnn.keras.g0.r2.log": OK_LOG,  # a copy whose run line says repeat 1
        "vgg16.keras.g0.r1.log": OK_LOG.replace("run cell=cifar10-cnn.keras.g0", "run cell=vgg16.keras.g0"),
        "cifar10-cnn.mxnet.g0.r1.log": OK_LOG.replace(KERAS, "cifar10-cnn.mxnet.g0"),
        "lenet.keras.g0.r1.log": OK_LOG.replace(KERAS, "lenet.keras.g0"),
        "notes.r1.log": OK_LOG.replace(KERAS, "notes"),
    }
    proc, md, data = collect_basic(tmp_path, files=files)
    assert proc.returncode == 1
    ignored = {g["file"]: g for g in data["ignored"]}
    # the VGG16 log holds a CIFAR run: it stays in its own cell, failed, and moves to no other row
    vgg = run_of(data, "vgg16.keras.g0")
    assert vgg["status"] == "failed" and "model line says task=cifar10-cnn" in vgg["reason"]
    assert row(md, "VGG16")[3].startswith("FAILED: model line says task=cifar10-cnn")
    del files["vgg16.keras.g0.r1.log"]
    assert set(ignored) == set(files) | {f"{KERAS}.r1.log"} and all(g["problem"] for g in ignored.values())
    assert ignored[f"{KERAS}.r1.log"]["reason"].startswith("duplicate: 2 logs of cifar10-cnn.keras.g0 repeat 1")
    assert ignored["cifar10-cnn.keras.g0.r2.log"]["reason"].startswith("stray: its run line says")
    assert "unknown API mxnet" in ignored["cifar10-cnn.mxnet.g0.r1.log"]["reason"]
    assert "unknown task lenet" in ignored["lenet.keras.g0.r1.log"]["reason"]
    assert "unknown cell name notes" in ignored["notes.r1.log"]["reason"]
    assert row(md, "CIFAR CNN")[3] == "—"  # nothing merged
    assert all(r["cell"] != KERAS for r in data["runs"])
    for name in files:
        assert f"PROBLEM: logs/{name}" in md


def test_junk_in_logs_is_skipped_with_a_warning(tmp_path):
    proc, md, data = collect_basic(tmp_path, files={"x.log": None, "empty.log": "", "notes.log": "hello\n"})
    assert proc.returncode == 1  # the fixture's failed alexnet runs, nothing more
    assert [j["file"] for j in data["junk"]] == ["empty.log", "notes.log", "x.log"]
    for name in ("empty.log", "notes.log", "x.log"):
        assert f"warning: skipped logs/{name}" in proc.stderr and f"skipped: logs/{name}" in md
    assert run_of(data, KERAS)["status"] == "ok"


def test_device_mismatch_is_a_fairness_finding(tmp_path):
    proc, md, data = collect_basic(tmp_path, lambda t: t.replace("device=cpu", "device=gpu"))
    assert proc.returncode == 3
    assert [(f["task"], f["key"]) for f in data["fairness_mismatches"]] == [("cifar10-cnn", "device (gpus=0)")]
    assert "`device (gpus=0)` differs (Keras: gpu; tensorpack: cpu; tflearn: cpu)" in md


def test_device_label_comes_from_the_model_lines(tmp_path):
    """--gpus "0 1" on a CPU-only machine: the gpus=1 runs trained on the CPU (device=cpu)."""
    g1 = {f"cifar10-cnn.{a}.g1.r1.log": (FIXTURES / "basic" / "logs" / f"cifar10-cnn.{a}.g0.r1.log")
          .read_text().replace(".g0", ".g1").replace("gpus=0", "gpus=1").replace("1450.0", "1450.0")
          for a in ("tensorpack", "keras", "tflearn")}
    proc, md, data = collect_basic(tmp_path, files=g1)
    assert row(md, "CIFAR CNN")[1] == "cpu" and "gpu×1" not in md
    part = md.split("## Data parallel")[1] if "## Data parallel" in md else ""
    assert "gpu" not in part
    assert collect.device_label(data["runs"], "cifar10-cnn", 1) == "cpu (1 replica)"
    dp = collect.read_all(str(FIXTURES / "dataparallel"))[0]
    assert collect.device_label(dp, "resnet50", 2) == "gpu×2"
