"""The Keras scripts on Keras 3's other backends (--backend jax|torch): each trains and says which
backend it ran on; JAX's data parallel over CPU devices; the backend checks bench.parse makes
before any backend is imported (in process)."""
import importlib.util
import os

import pytest

from conftest import run_script

import bench

HAS_TORCH = importlib.util.find_spec("torch") is not None
needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed (optional extra)")
# Short runs: CIFAR's CNN on generated CIFAR-format data, ImageNet's tiny net (one conv) at 32 px.
CIFAR_ARGS = ("--epochs", 2, "--steps", 12, "--batch", 16)
TINY_ARGS = ("--model", "tiny", "--image-size", 32, "--epochs", 2, "--steps", 10)
RUNS = {  # (script, backend): NUM_GPU; JAX's ImageNet run is its data-parallel one (2 CPU devices)
    ("cifar10-cnn-keras.py", "jax"): 0,
    ("imagenet-keras.py", "jax"): 2,
    ("cifar10-cnn-keras.py", "torch"): 0,
    ("imagenet-keras.py", "torch"): 0,
}
# These runs check what trains and what is reported, not speed: JAX's compile with XLA's CPU
# backend optimisations off (half the compile time; bench.parse adds its own flag to these), and
# torch's run one intra-op thread (its OpenMP threads spin, many times slower, on a busy CPU).
TEST_ENV = {"jax": {"XLA_FLAGS": "--xla_backend_optimization_level=0"},
            "torch": {"OMP_NUM_THREADS": "1"}}
INPUT = {"cifar10-cnn-keras.py": "ArrayDataAdapter", "imagenet-keras.py": "GeneratorDataAdapter"}


@pytest.fixture(scope="module")
def runs(cifar_dir):
    """One short run of each Keras script on each installed backend other than TensorFlow."""
    out = {}
    for (script, backend), gpus in RUNS.items():
        if backend == "torch" and not HAS_TORCH:
            continue
        args = ("--data", cifar_dir, *CIFAR_ARGS) if script.startswith("cifar") else TINY_ARGS
        out[script, backend] = run_script(script, gpus, "--backend", backend, *args,
                                          env=TEST_ENV[backend])
    return out


IDS = [f"{s.split('-')[0]}-{b}" for s, b in RUNS]
PARAMS = [pytest.param(s, b, marks=[needs_torch] if b == "torch" else [])
          for s, b in RUNS]


@pytest.mark.parametrize("script,backend", PARAMS, ids=IDS)
def test_trains_on_backend(runs, script, backend):
    """It trains (the loss falls), reports the backend and the keys read on it, and imports no
    TensorFlow (the versions line lists what the run imported)."""
    run = runs[script, backend]
    assert run.rc == 0, run
    (model,), (versions,) = run.of("model"), run.of("versions")
    assert model["backend"] == backend and backend in versions, run
    assert "tensorflow" not in versions, run
    assert (model["intra_threads"], model["onednn"]) == ("n/a", "n/a"), run
    assert model["xla"] == str(backend == "jax"), run  # JAX always compiles; torch: no XLA
    assert model["dtype"] == "float32" and model["input"] == INPUT[script], run
    assert model["params"] == ("1250858" if script.startswith("cifar") else "17448"), run
    losses = [float(t["loss"]) for t in run.of("throughput")]
    assert len(losses) == 2 and losses[1] < losses[0], losses
    assert float(run.of("summary")[0]["images_per_sec"]) > 0, run


def test_jax_data_parallel_on_cpu(runs):
    """NUM_GPU=2 on JAX without GPUs: two XLA CPU devices (XLA_FLAGS, set by bench.parse), and the
    replicas read from keras.distribution's DataParallel."""
    run = runs["imagenet-keras.py", "jax"]
    assert run.rc == 0, run
    (model,) = run.of("model")
    assert (model["gpus"], model["replicas"], model["device"]) == ("2", "2", "cpu"), run
    assert "warning: no GPU visible" in run.stderr
    assert run.of("summary")[0]["gpus"] == "2"


@pytest.mark.slow
def test_tensorflow_backend_named():
    """--backend tensorflow is the default's path: tf.data input, TensorFlow's keys."""
    run = run_script("imagenet-keras.py", 0, "--backend", "tensorflow", *TINY_ARGS)
    assert run.rc == 0, run
    (model,) = run.of("model")
    assert (model["backend"], model["input"], model["intra_threads"]) == ("tensorflow", "tf.data",
                                                                           "0"), run
    assert model["params"] == "17448" and model["variables"] == "resource", run


# ---- bench.parse's backend checks, in process (nothing is imported) ------------------------------

@pytest.fixture
def env(monkeypatch):
    """A clean environment for parse to write into (what it sets stays in the test)."""
    monkeypatch.setattr(os, "environ", {})
    return os.environ


def fails(capsys, *argv, framework="keras"):
    with pytest.raises(SystemExit) as e:
        bench.parse("imagenet", framework, "doc", [str(a) for a in argv])
    assert e.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and ": error: " in err[0], err
    return err[0]


def test_default_backend(env):
    assert bench.parse("imagenet", "keras", "doc", ["0"]).backend == "tensorflow"
    assert env["KERAS_BACKEND"] == "tensorflow"
    env["KERAS_BACKEND"] = "jax"
    assert bench.parse("imagenet", "keras", "doc", ["0"]).backend == "jax"
    # the other APIs run on TensorFlow whatever Keras's variable says
    assert bench.parse("imagenet", "tensorpack", "doc", ["0"]).backend == "tensorflow"


def test_jax_compiles_and_gets_cpu_devices(env):
    args = bench.parse("imagenet", "keras", "doc", ["2", "--backend", "jax", "--model", "tiny"])
    assert args.xla is True and env["KERAS_BACKEND"] == "jax"
    assert env["XLA_FLAGS"] == "--xla_force_host_platform_device_count=2"
    assert bench.device(0) == "cpu"  # no "--xla needs GPUs": JAX's CPU devices are XLA's own


def test_tensorflow_kernel_rules_are_tensorflows(env):
    """channels_first and bfloat16 on JAX's CPU: XLA's kernels, not TensorFlow's (whose CPU rule,
    bench.cpu_rule, refuses channels_first without oneDNN)."""
    bench.parse("imagenet", "keras", "doc", ["0", "--backend", "jax", "--amp", "--data-format",
                                             "channels_first"])
    assert bench.device(0) == "cpu"


@pytest.mark.parametrize("argv,words", [
    (("2", "--backend", "torch"), "no data parallel on torch"),
    (("0", "--backend", "torch", "--xla"), "torch has no XLA"),
])
def test_torch_refusals(env, capsys, argv, words):
    if not HAS_TORCH:
        pytest.skip("torch is not installed: refused as such first")
    assert words in fails(capsys, *argv)


def test_backend_not_installed(env, capsys, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "torch"
                        else real(name))
    line = fails(capsys, "0", "--backend", "torch")
    assert "torch is not installed" in line and "requirements-torch.txt" in line


def test_only_keras_has_backends(env, capsys):
    assert "TensorFlow only" in fails(capsys, "0", "--backend", "jax", framework="tensorpack")


def test_unknown_backend_from_environment(env, capsys):
    env["KERAS_BACKEND"] = "numpy"
    assert "KERAS_BACKEND=numpy" in fails(capsys, "0")
