"""The per-step overhead task: the tiny model (--model tiny) in every API's fake-ImageNet script, on
the CPU, at its image size and default batch. One short run per API: the model line must show the
same model (its trainable parameters, tools/flops.py's count), task, batch and optimizer."""
import pytest

import flops  # tools/flops.py (conftest puts tools/ on the path)
from conftest import run_script

# plain TensorFlow (imagenet-tf.py) runs the tiny model in tests/test_tf_floor.py, on two replicas
APIS = ("tensorpack", "keras", "tflearn")
SIZE = 32  # the task's image size (tools/sweep.py); the batch is left to the script: 8 by default
PARAMS = 3 * 3 * 3 * 16 + 16 + 16 * 1000 + 1000  # conv 3x3, 16 filters, bias; fc 1000: 17,448


def test_flops_counts_the_same_model():
    assert flops.params("tiny", SIZE) == PARAMS == 17_448


@pytest.mark.parametrize("api", APIS)
def test_tiny_runs_in_every_api(api):
    run = run_script(f"imagenet-{api}.py", 0, "--model", "tiny", "--image-size", SIZE,
                     "--steps", 5, "--epochs", 2)
    assert run.rc == 0, run
    (line,), epochs, (summary,) = run.of("model"), run.of("throughput"), run.of("summary")
    assert line["framework"] == api and line["task"] == "tiny" and line["gpus"] == "0", run
    assert (line["batch"], line["image_size"], line["replicas"]) == ("8", str(SIZE), "1"), run
    assert int(line["params"]) == PARAMS, run  # the same model in every API
    assert line["optimizer"].lower() == "rmsprop" and float(line["lr"]) == 1e-3, run  # as AlexNet's
    assert line["bn"] == "none", run
    assert [e["epoch"] for e in epochs] == ["1", "2"], run
    assert float(summary["images_per_sec"]) > 0, run
