"""Plain TensorFlow, the floor column (cifar10-cnn-tf.py, imagenet-tf.py): the same models as the
APIs' scripts, trained by a tf.Module, tf.nn ops and one tf.function step with TensorFlow's fused
kernels, run as a user runs them; their fingerprint is read from the step that runs (bench.tf_keys)
and a changed setting is flagged by the collector's fairness check."""
import ast
import re

import pytest

from conftest import REPO, mutant, run_script
from test_cifar import PARAMS as CIFAR_PARAMS  # the hand count the other CIFAR scripts are held to
from test_imagenet import EXPECTED  # the hand counts the other ImageNet scripts are held to

import rules  # noqa: E402  (tools/, on the path through conftest)

SCRIPTS = ("cifar10-cnn-tf.py", "imagenet-tf.py")
TINY_PARAMS = (3 * 3 * 3 * 16 + 16) + (16 * 1000 + 1000)  # conv 16 3x3 + bias, fc 1000: 17,448
# what every CIFAR script reports (tests/test_cifar.py checks the other three against the same)
CIFAR_KEYS = {"optimizer": "RMSProp", "lr": "0.0001", "rho": "0.9", "momentum": "none",
              "epsilon": "1e-07", "clip": "none", "dtype": "float32", "loss_scale": "none",
              "data_format": "NHWC", "intra_threads": "0", "xla": "False", "replicas": "1",
              "device": "cpu", "input": "tf.data", "bn": "none", "variables": "resource"}


def model_line(run):
    assert run.rc == 0, run
    (model,) = run.of("model")
    return model


def record(run, api=None):
    """The run's model line as the collector reads it, under another API's name if given."""
    rec = run.record()
    return {**rec, "api": api or rec["api"]}


# ---- the scripts: short, plain, the measurement left to bench ------------------------------------

@pytest.mark.parametrize("script", SCRIPTS)
def test_script_is_plain_and_leaves_the_measurement_to_bench(script):
    text = (REPO / script).read_text()
    lines = text.splitlines()
    assert lines[0] == "#!/usr/bin/env python3" and (REPO / script).stat().st_mode & 0o111
    assert max(len(l) for l in lines) <= 100, max(lines, key=len)
    tree = ast.parse(text)
    assert not any(isinstance(n, (ast.NamedExpr, ast.Lambda)) for n in ast.walk(tree))
    assert not re.search(r";\s*\S", "\n".join(l.split("#")[0] for l in lines)), "one statement a line"
    assert not re.search(r"perf_counter|time\.time|images_per_sec|print\(|statistics", text)
    assert not re.search(r"^\s*(import|from) (keras|tensorpack|tflearn)", text, re.M)  # no API
    calls = {n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Attribute) and getattr(n.func.value, "id", "") == "bench"}
    assert {"parse", "device", "train_begin", "epoch_begin", "epoch_end", "train_end",
            "tf_keys"} <= calls
    # no API: TensorFlow's own optimizers (their fused kernels) on the module's variables
    assert "tf.Module" in text and "tf.GradientTape" in text and "tf.compat.v1.train." in text
    assert "strategy.run" in text and "experimental_distribute_dataset" in text


# imagenet-tf.py is the one script over the project's 100 lines (README says why: plain TensorFlow
# has no layers, so four models' helpers, fused batch norm and float16 loss scaling are written out)
LINES = {"cifar10-cnn-tf.py": 99, "imagenet-tf.py": 115}


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_length(script):
    assert len((REPO / script).read_text().splitlines()) <= LINES[script]


# ---- bench's rules know the framework: tf.distribute's replicas, TensorFlow's own CPU kernels ----

def test_bench_rules_treat_tf_as_keras():
    import bench
    for framework in ("keras", "tf"):
        device, error, warning = bench.device_rule(framework, 2, 0, xla=True)
        assert device is None and "--xla with NUM_GPU > 1 needs GPUs" in error
        assert bench.device_rule(framework, 2, 0)[2].startswith("warning: no GPU visible")
        assert bench.cpu_rule(framework, True, "channels_last", False, False) is None  # no rewrite
        assert "oneDNN" in bench.cpu_rule(framework, False, "channels_first", False, False)


# ---- CIFAR: one short run, shared --------------------------------------------------------------

@pytest.fixture(scope="module")
def cifar(cifar_dir):
    return run_script("cifar10-cnn-tf.py", 0, "--data", cifar_dir, "--epochs", 2, "--steps", 40,
                      "--batch", 16)


def test_cifar_contract_and_fingerprint(cifar):
    model = model_line(cifar)
    assert (model["framework"], model["task"], model["gpus"]) == ("tf", "cifar10-cnn", "0")
    assert model["params"] == str(CIFAR_PARAMS)  # equal to the other APIs' (test_cifar.py)
    assert (model["batch"], model["image_size"]) == ("16", "32")
    assert {k: model[k] for k in CIFAR_KEYS} == CIFAR_KEYS
    kinds = [l["kind"] for l in cifar.lines]
    assert kinds == ["versions", "model", "throughput", "throughput", "summary"]
    assert set(rules.FAIR_KEYS) <= set(model)


def test_cifar_learns(cifar):
    losses = [float(t["loss"]) for t in cifar.of("throughput")]  # the mean of each epoch's steps
    assert losses[-1] < 0.8 * losses[0], losses


@pytest.fixture(scope="module")
def cifar_mutant(tmp_path_factory, cifar_dir):
    """A copy whose optimizer gets other constants and whose step is compiled by XLA."""
    path = mutant(tmp_path_factory.mktemp("tf-mutant"), "cifar10-cnn-tf.py",
                  ("RMSPropOptimizer(1e-4, epsilon=1e-7)",
                   "RMSPropOptimizer(2e-4, decay=0.8, momentum=0.5, epsilon=1e-10)"),
                  ("jit_compile=args.xla", "jit_compile=True"))
    return run_script(path, 0, "--data", cifar_dir, "--epochs", 1, "--steps", 2, "--batch", 16)


def test_a_changed_setting_is_read_and_flagged(cifar, cifar_mutant):
    expected = {"lr": "0.0002", "rho": "0.8", "momentum": "0.5", "epsilon": "1e-10", "xla": "True"}
    changed = model_line(cifar_mutant)
    assert {k: changed[k] for k in expected} == expected
    same = rules.fairness([record(cifar), record(cifar, "tf-again")])
    assert same == []
    flagged = {f["key"] for f in rules.fairness([record(cifar), record(cifar_mutant, "tf-mutant")])}
    assert set(expected) <= flagged, flagged


# ---- ImageNet: the tiny model, two replicas on the CPU -------------------------------------------

@pytest.fixture(scope="module")
def tiny_two():
    return run_script("imagenet-tf.py", 2, "--model", "tiny", "--image-size", 8, "--epochs", 2,
                      "--steps", 3)


def test_two_replicas_run_through_strategy_run(tiny_two):
    model = model_line(tiny_two)
    assert "warning: no GPU visible" in tiny_two.stderr
    assert (model["gpus"], model["replicas"], model["device"]) == ("2", "2", "cpu")
    assert model["params"] == str(TINY_PARAMS) == "17448"
    assert (model["batch"], model["optimizer"], model["lr"]) == ("8", "RMSProp", "0.001")
    assert (model["bn"], model["input"], model["loss_scale"]) == ("none", "tf.data", "none")
    assert all(float(t["images_per_sec"]) > 0 for t in tiny_two.of("throughput"))


# ---- longer runs: --all ---------------------------------------------------------------------------

@pytest.mark.slow
def test_resnet50_params_bn_and_fairness_equal_keras():
    """ResNet50 at the smallest size, one step: the same fingerprint as Keras's (the batch norm
    differs, an API property: TensorFlow's fused kernel here)."""
    args = ("--model", "resnet50", "--image-size", 32, "--epochs", 1, "--steps", 1, "--batch", 2)
    runs = {api: run_script(f"imagenet-{api}.py", 0, *args) for api in ("tf", "keras")}
    models = {api: model_line(r) for api, r in runs.items()}
    assert models["tf"]["params"] == models["keras"]["params"] == str(EXPECTED["resnet50"](32))
    assert (models["tf"]["bn"], models["tf"]["optimizer"]) == ("fused", "GradientDescent")
    assert rules.fairness([record(r) for r in runs.values()]) == []


@pytest.mark.slow
def test_replacing_the_fused_batch_norm_is_seen(tmp_path):
    path = mutant(tmp_path, "imagenet-tf.py", (
        "tf.compat.v1.nn.fused_batch_norm(", "(lambda x, g, b, m, v, e, f, **k: (tf.nn.batch_normalization("
        "x, *tf.nn.moments(x, [0, 1, 2]), b, g, e), m, v))("))
    run = run_script(path, 0, "--model", "resnet50", "--image-size", 32, "--epochs", 1, "--steps", 1,
                     "--batch", 2)
    assert model_line(run)["bn"] == "composite"


@pytest.mark.slow
def test_cifar_data_parallel_learns_like_one_replica(cifar_dir):
    run = run_script("cifar10-cnn-tf.py", 2, "--data", cifar_dir, "--epochs", 2, "--steps", 20,
                     "--batch", 16)
    model = model_line(run)
    assert (model["replicas"], model["params"]) == ("2", str(CIFAR_PARAMS))
    losses = [float(t["loss"]) for t in run.of("throughput")]
    assert losses[-1] < losses[0], losses


@pytest.mark.slow
def test_float16_loss_scaling_builds_and_reports(cifar_dir):
    """A GPU's --amp (float16, dynamic loss scaling: the update in a tf.cond) on the CPU, through
    tests/pretend_gpu.py: the update kernel's constants are still read (inside the cond)."""
    for script, args in (("cifar10-cnn-tf.py", ("--data", cifar_dir)),
                         ("imagenet-tf.py", ("--model", "resnet50", "--image-size", 32))):
        run = run_script("tests/pretend_gpu.py", REPO / script, 0, *args, "--amp", "--epochs", 1,
                         "--steps", 2, "--batch", 2)
        model = model_line(run)
        assert (model["dtype"], model["loss_scale"], model["device"]) == ("float16", "dynamic", "gpu")
        assert model["lr"] in ("0.0001", "0.001") and model["optimizer"] in ("RMSProp", "GradientDescent")


@pytest.mark.slow
def test_bfloat16_and_xla_on_the_cpu():
    run = run_script("imagenet-tf.py", 0, "--model", "tiny", "--image-size", 8, "--epochs", 1,
                     "--steps", 2, "--amp", "--xla")
    model = model_line(run)
    assert (model["dtype"], model["xla"], model["loss_scale"]) == ("bfloat16", "True", "none")
