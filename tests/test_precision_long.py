"""The long --amp runs, in a file of their own so that pytest-xdist can give them to the other
worker (`--dist loadfile`): each CIFAR script learning in bfloat16, each ImageNet script in
bfloat16, and the float16 code path (loss scaling) built and read on the CPU through
tests/pretend_gpu.py. All are in `tools/test.sh --all` only."""
import subprocess
import sys

import pytest

from conftest import REPO, Run, run_script

APIS = ("tensorpack", "keras", "tflearn")
ONEDNN = {"TF_ENABLE_ONEDNN_OPTS": "1"}


@pytest.mark.slow
@pytest.mark.parametrize("api", APIS)
def test_amp_learns(cifar_dir, api):
    """On the learnable generated data each API's loss falls in bfloat16 as in float32, by the
    same measure and run length as test_cifar.py's float32 runs (the loss tflearn reports is its
    last step's, tensorpack's a running average: the short --amp runs of test_precision.py are too
    short to show a fall)."""
    run = run_script(f"cifar10-cnn-{api}.py", 0, "--data", cifar_dir, "--amp", "--epochs", 2,
                     "--steps", 100, "--batch", 16, env=ONEDNN)
    assert run.rc == 0 and run.record()["lines"]["model"]["dtype"] == "bfloat16", run
    losses = [float(t["loss"]) for t in run.of("throughput")]
    assert losses[-1] < 0.8 * losses[0], losses


@pytest.mark.slow
@pytest.mark.parametrize("api", APIS)
def test_imagenet_amp(api):
    run = run_script(f"imagenet-{api}.py", 0, "--model", "alexnet", "--image-size", 67, "--amp",
                     "--steps", 2, "--epochs", 2, "--batch", 2, env=ONEDNN)
    assert run.rc == 0 and run.record()["lines"]["model"]["dtype"] == "bfloat16", run


@pytest.mark.slow
@pytest.mark.parametrize("api", APIS)
def test_float16_loss_scaling_is_built_and_read(cifar_dir, api):
    """The GPU's --amp code path, run on the CPU by tests/pretend_gpu.py: the optimizer is wrapped
    in dynamic loss scaling (tensorpack and tflearn: TensorFlow's; Keras: compile()'s for
    mixed_float16), the fingerprint reads it, and the hyperparameters are still read from the
    update kernel (inside the loss scale's cond branch in a TF1 graph). No GPU: the graph rewrite
    does nothing, so a TF1 graph reports float32; Keras's policy computes float16 anyway."""
    proc = subprocess.run([sys.executable, str(REPO / "tests" / "pretend_gpu.py"),
                           str(REPO / f"cifar10-cnn-{api}.py"), "0", "--data", str(cifar_dir),
                           "--amp", "--epochs", "1", "--steps", "2"],
                          capture_output=True, text=True, timeout=300)
    run = Run(proc.returncode, proc.stdout, proc.stderr)
    assert run.rc == 0, run
    model = run.record()["lines"]["model"]
    assert (model["device"], model["loss_scale"]) == ("gpu", "dynamic"), run
    assert model["dtype"] == ("float16" if api == "keras" else "float32"), run
    assert (model["optimizer"].lower(), model["lr"], model["rho"]) == ("rmsprop", 0.0001, 0.9), run
