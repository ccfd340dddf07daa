"""tools/collect.py and tools/flops.py on hand-written logs (tests/fixtures/logs/<scenario>/logs)."""
import csv
import importlib.util
import itertools
import json
import math
import random
import re
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
    for task in flops.TASKS:  # the convention: training = 3 x forward = 6 x MACs
        assert flops.train_flops(task) == 3 * flops.forward_flops(task) == 6 * flops.forward_macs(task)
    # the CIFAR CNN by hand: 32x32x32x27 + 30x30x32x288 + 15x15x64x288 + 13x13x64x576 + 2304x512 + 5120
    assert flops.forward_macs("cifar10-cnn") == 884_736 + 8_294_400 + 4_147_200 + 6_230_016 + 1_179_648 + 5_120


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
    # one pair only, and no A/A run: never a winner
    ratios = row(md, "CIFAR CNN", "## Ratios vs Keras")
    assert ratios[1] == "1.38× (1.38–1.38, 1 pair): not established (only 1 pair, 2 needed)"
    assert ratios[3] == "— (no A/A pair)"
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
    assert "- VGG16 (cpu): `batch` differs (Keras: 32; tensorpack: 64; tflearn: 32)" in section
    assert "`optimizer` differs (Keras: momentum; tensorpack: sgd; tflearn: sgd)" in section
    assert "`lr`" not in section  # 0.01, 1e-2 and 0.010 are the same number
    assert {(f["task"], f["gpus"], f["key"]) for f in data["fairness_mismatches"]} == {
        ("vgg16", 0, "batch"), ("vgg16", 0, "optimizer")}


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
    # tensorpack/keras per repeat: 1.2, 1.1, 1.3; tflearn/keras: 0.95, 1.05, 1.01 (straddles 1);
    # keras-aa/keras: 1.03, 0.98, 1.04 -> band ±4.0 %; tensorpack/tflearn: 1.26, 1.048, 1.29
    assert ratios[1] == "**1.20×** (1.10–1.30, 3 pairs): **tensorpack faster**"
    assert ratios[2] == "1.01× (0.95–1.05, 3 pairs): not established (pairs on both sides of 1.0)"
    assert ratios[3] == "±4.0 % (0.98–1.04, 3 A/A pairs)"
    # AlexNet: keras repeat 2 missing -> 2 pairs (200/100, 190/120) of 3 repeats, and 2 A/A pairs:
    # every pair is far beyond the band, but 2 + 2 pairs are too few for the 5 % level
    alex = row(md, "AlexNet")
    assert alex[2] == "200 (190–210, n=3 runs)" and alex[3] == "110 (100–120, n=2 runs)"
    assert row(md, "AlexNet", "## Ratios vs Keras")[1] == (
        "1.79× (1.58–2.00, 2 pairs of 3 repeats): not established (too few pairs: 2 pairs and "
        "2 A/A pairs leave a 8.3 % chance of this by noise alone)")
    pr = collect.pair_ratio(collect.read_all(str(d))[0], "alexnet", "tensorpack", "keras", 0)
    assert [rep for rep, _ in pr["pairs"]] == [1, 3] and [rep for rep, _ in pr["aa_pairs"]] == [1, 3]
    assert pr["median"] == pytest.approx((2.0 + 190 / 120) / 2)
    assert pr["band"] == pytest.approx(0.04) and pr["chance"] == pytest.approx(1 / 12)
    assert "not established" in md.split("## Ratios vs Keras", 1)[1].split("|", 1)[0]
    warned = [r["cell"] + f".r{r['repeat']}" for r in data["runs"] if r["load_warning"]]
    assert warned == ["cifar10-cnn.keras.g0.r2"]


def test_usage_errors(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "collect.py"), str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "no logs/ folder" in proc.stderr


def test_keras_aa_is_the_noise_band_not_a_column(tmp_path):
    proc, d, md, data = run_collector(tmp_path, "repeats")
    aa = run_of(data, "cifar10-cnn.keras-aa.g0", 2)
    assert aa["api"] == "keras-aa" and aa["lines"]["model"]["framework"] == "keras"
    assert aa["status"] == "ok" and aa["images_per_sec"] == 980.0
    assert "- Runs: 20 (20 ok, 0 failed, 0 skipped)" in md  # the 6 keras-aa runs count
    header = md.split("## Single device", 1)[1].split("\n## ", 1)[0]
    assert "| Task | device | tensorpack | Keras | tflearn |" in header and "A/A" not in header
    assert row(md, "CIFAR CNN")[3].startswith("1,000 (1,000–1,000, n=3 runs)")  # Keras alone
    assert "| API | model |" not in md  # no data-parallel section from keras-aa runs


# ---- the winner rule ------------------------------------------------------------------------
@pytest.mark.parametrize("ratios,aa,established,why", [
    ([1.10, 1.12, 1.15], [1.02, 0.97, 1.04], True, ""),
    ([0.80, 0.85, 0.90], [1.02, 0.97, 1.04], True, ""),
    ([1.10, 1.03, 1.15], [1.02, 0.97, 1.04], False, "within noise band ±4.0 %"),
    ([1.10, 1.12, 0.99], [1.02, 0.97, 1.04], False, "pairs on both sides of 1.0"),
    ([1.10, 1.12, 1.15], [], False, "no A/A pair (keras-aa runs missing or failed): noise band unknown"),
    ([1.50], [1.01], False, "only 1 pair, 2 needed"),
    ([1.50, 1.40], [1.01, 0.99], False,  # 2 + 2: chance 1/6 x 1/2
     "too few pairs: 2 pairs and 2 A/A pairs leave a 8.3 % chance of this by noise alone"),
    ([1.50, 1.40, 1.45], [1.01], False,  # 3 + 1: 1/4 x 1/4
     "too few pairs: 3 pairs and 1 A/A pair leave a 6.2 % chance of this by noise alone"),
    ([1.50, 1.40], [1.01, 0.99, 1.02], True, ""),  # 2 + 3: 1/10 x 1/2 = 5 %
])
def test_decide(ratios, aa, established, why):
    v = collect.decide(ratios, aa)
    assert (v["established"], v["why"]) == (established, why)


def test_false_winner_chance():
    assert collect.false_winner_chance(3, 3) == pytest.approx(1 / 20 / 4)  # 1.25 %
    assert collect.false_winner_chance(2, 3) == pytest.approx(0.05)
    assert collect.false_winner_chance(5, 5) < collect.false_winner_chance(3, 3)


# Per-run noise of the committed CPU sweep (results/cpu-2core/: 3 repeats, 2-core EPYC): the
# standard deviation of log(API_a / API_b) about each API pair's mean over the repeats, pooled over
# the pairs, divided by sqrt(2) (a ratio carries two runs' noise). Recomputed from the sweep's logs
# by test_noise_model_is_the_committed_sweeps.
SIGMA = {
    "steady": 0.026,  # AlexNet and VGG16
    "resnet50": 0.056,
    "all": 0.107,  # all four tasks: CIFAR's Keras runs spread from 969 to 1,973 images/sec
    "heavy": 0.18,  # heavier than anything measured
}
SIMS = 2000


def winner_rate(sigma, speedup, repeats=3, outliers=0.0, sims=SIMS, seed=8):
    """Share of simulated sweeps in which decide() names a winner between X and Keras.

    Each sweep: per repeat a machine speed common to the repeat's runs (it cancels in a ratio, as
    the pairing intends), then three runs with independent lognormal noise: Keras, Keras again
    (keras-aa) and X, which is `speedup` times as fast as Keras. With `outliers` > 0, that share
    of runs is also slowed by 10-50 % (like the CIFAR Keras run at 969 images/sec).
    """
    rng = random.Random(seed)

    def run():
        slow = rng.uniform(0.5, 0.9) if rng.random() < outliers else 1.0
        return slow * rng.lognormvariate(0, sigma)

    wins = 0
    for _ in range(sims):
        ratios, aa = [], []
        for _ in range(repeats):
            machine = rng.lognormvariate(0, 0.1)
            keras, keras_aa, x = (machine * run() for _ in range(3))
            ratios.append(speedup * x / keras)
            aa.append(keras_aa / keras)
        wins += collect.decide(ratios, aa)["established"]
    return wins / sims


@pytest.mark.parametrize("noise", SIGMA)
def test_equally_fast_apis_rarely_get_a_winner(noise):
    # theory for exchangeable noise with 3 pairs and 3 A/A pairs: 1/C(6,3) x 1/4 = 1.25 %;
    # measured: 0.7 % (3 repeats), 0.05 % (5 repeats), 1.0-1.2 % with 10 % outlier runs (3 repeats)
    for repeats, outliers in ((3, 0.0), (5, 0.0), (3, 0.1)):
        rate = winner_rate(SIGMA[noise], 1.0, repeats, outliers)
        assert rate < 0.05, (noise, repeats, outliers, rate)


def test_a_real_difference_is_found_where_the_noise_allows():
    # Measured with the default 3 repeats: a 15 % difference is found in ~93 % of sweeps at the
    # steady cells' noise (AlexNet, VGG16), ~36 % at ResNet50's, ~9 % at the all-task noise (no
    # rule with a 5 % false-winner rate can do much better with 3 pairs there: all 3 ratios fall on
    # the right side of 1.0 in only ~55 %). At those noises the rule finds 1.3x and 1.7x.
    assert winner_rate(SIGMA["steady"], 1.15) > 0.80
    assert winner_rate(SIGMA["steady"], 1 / 1.15) > 0.80  # slower is found as well
    assert winner_rate(SIGMA["resnet50"], 1.3) > 0.80
    assert winner_rate(SIGMA["all"], 1.7) > 0.80


def test_noise_model_is_the_committed_sweeps():
    sweep = REPO / "results" / "cpu-2core"
    if not (sweep / "logs").is_dir():
        pytest.skip("results/cpu-2core/ is not in this checkout")
    recs = collect.read_all(str(sweep))[0]

    def per_run_sigma(tasks):
        squares, dof = 0.0, 0
        for task in tasks:
            for a, b in itertools.combinations(collect.APIS, 2):
                logs = [math.log(v) for _, v in collect.paired(recs, task, a, b, 0)]
                mean = sum(logs) / len(logs)
                squares += sum((x - mean) ** 2 for x in logs)
                dof += len(logs) - 1
        return math.sqrt(squares / dof / 2)

    assert per_run_sigma(["alexnet", "vgg16"]) == pytest.approx(SIGMA["steady"], abs=0.001)
    assert per_run_sigma(["resnet50"]) == pytest.approx(SIGMA["resnet50"], abs=0.001)
    assert per_run_sigma(collect.TASKS) == pytest.approx(SIGMA["all"], abs=0.001)


# ---- fairness: every must-be-equal key of the model line ------------------------------------
CHANGED = {"params": "1250859", "replicas": "2", "device": "gpu", "batch": "64", "image_size": "48",
           "optimizer": "sgd", "lr": "0.001", "rho": "0.95", "momentum": "0.5", "epsilon": "1e-05",
           "clip": "5.0", "dtype": "bfloat16", "var_dtype": "float16",
           "data_format": "channels_first", "xla": "on", "intra_threads": "1", "inter_threads": "2"}


def edit_model_line(log, key, value=None):
    """Set (or, with value None, remove) one key of a log's model line."""
    text = log.read_text()
    model = next(l for l in text.splitlines() if l.startswith("model "))
    assert f" {key}=" in model, (key, model)
    new = re.sub(rf" {key}=\S+", "" if value is None else f" {key}={value}", model)
    log.write_text(text.replace(model, new))


def test_every_fair_key_is_tested():
    assert set(CHANGED) == set(collect.FAIR_KEYS)


@pytest.mark.parametrize("key", collect.FAIR_KEYS)
def test_fairness_flags_each_key(tmp_path, key):
    d = tmp_path / "repeats"
    shutil.copytree(FIXTURES / "repeats", d)
    edit_model_line(d / "logs" / "cifar10-cnn.tflearn.g0.r2.log", key, CHANGED[key])
    status, _ = collect.collect(str(d))  # in process: 17 subprocesses would take 40 s
    assert status == 3
    data = json.loads((d / "results.json").read_text())
    [f] = data["fairness_mismatches"]
    assert (f["task"], f["gpus"], f["key"]) == ("cifar10-cnn", 0, key)
    assert CHANGED[key] in f["values"]["tflearn"]
    section = (d / "results.md").read_text().split("## FAIRNESS MISMATCH", 1)[1].split("\n## ")[0]
    assert f"CIFAR CNN (cpu): `{key}` differs (" in section


def test_fairness_key_absent_in_some_runs_is_a_mismatch(tmp_path):
    d = tmp_path / "repeats"
    shutil.copytree(FIXTURES / "repeats", d)
    edit_model_line(d / "logs" / "alexnet.keras-aa.g0.r1.log", "xla")  # an older script's log
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "collect.py"), str(d)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3
    [f] = json.loads((d / "results.json").read_text())["fairness_mismatches"]
    assert (f["task"], f["key"]) == ("alexnet", "xla")
    assert f["values"] == {"keras": ["off"], "keras-aa": ["absent", "off"], "tensorpack": ["off"]}
    assert "`xla` differs (Keras: off; Keras A/A: absent, off; tensorpack: off)" in \
        (d / "results.md").read_text()


def test_fairness_skips_keys_no_run_has_and_compares_within_a_device_count(tmp_path):
    # the dataparallel fixture is in the older format (no replicas, xla, ... keys): nothing to flag
    proc, d, md, data = run_collector(tmp_path, "dataparallel")
    assert proc.returncode == 0 and data["fairness_mismatches"] == []
    assert "No run reports them" in md.split("## API properties", 1)[1]

    def rec(api, gpus, **model):
        return {"task": "resnet50", "api": api, "gpus": gpus, "lines": {"model": model}}
    recs = [rec("tensorpack", 1, replicas=1), rec("keras", 1, replicas=1),
            rec("tensorpack", 2, replicas=2), rec("keras", 2, replicas=2)]
    assert collect.fairness(recs) == []  # 1 vs 2 replicas across device counts is the point
    recs.append(rec("keras", 2, replicas=1))  # a 2-device cell that trains one replica
    assert collect.fairness(recs) == [{"task": "resnet50", "gpus": 2, "key": "replicas",
                                       "values": {"tensorpack": ["2"], "keras": ["1", "2"]}}]


def test_api_properties_table(tmp_path):
    proc, d, md, data = run_collector(tmp_path, "repeats")
    part = md.split("## API properties", 1)[1].split("\n## ", 1)[0]
    assert "Differences that stay because they are the API" in part
    assert row(md, "CIFAR CNN", "## API properties") == [
        "CIFAR CNN (generated CIFAR-format data), cpu", "`input`", "queue", "arrays", "feed"]
    assert row(md, "AlexNet", "## API properties") == ["AlexNet, cpu", "`input`", "queue", "tf.data", "—"]
    assert "| `bn` |" not in part  # none for every API outside ResNet50

    recs = [{"task": "resnet50", "api": api, "gpus": 0, "lines": {"model": {"input": i, "bn": b}}}
            for api, i, b in (("tensorpack", "queue", "fused"), ("keras", "tf.data", "fused"),
                              ("tflearn", "feed", "unfused"), ("keras-aa", "tf.data", "fused"))]
    assert collect.api_properties(recs) == {("resnet50", 0): {
        "input": {"tensorpack": {"queue"}, "keras": {"tf.data"}, "tflearn": {"feed"}},
        "bn": {"tensorpack": {"fused"}, "keras": {"fused"}, "tflearn": {"unfused"}}}}


# ---- --quick sweeps -------------------------------------------------------------------------
def test_quick_results_are_a_smoke_test_and_name_no_winner(tmp_path):
    d = tmp_path / "quick"
    shutil.copytree(FIXTURES / "repeats", d)
    for log in (d / "logs").glob("*.r*.log"):
        log.write_text(re.sub(r"^(run cell=.*) commit=", r"\1 mode=quick commit=", log.read_text(),
                              flags=re.M))
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "collect.py"), str(d)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    md = (d / "results.md").read_text()
    assert "SMOKE TEST" in md.split("## Single device", 1)[0]
    tables = md.split("## Single device", 1)[1].split("## Hardware limit", 1)[0]
    assert "**" not in tables  # no winner anywhere, though the same logs name one in a full sweep
    assert row(md, "CIFAR CNN", "## Ratios vs Keras")[1] == \
        "1.20× (1.10–1.30, 3 pairs): smoke test: no comparison"
