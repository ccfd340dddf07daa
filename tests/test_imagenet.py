"""The fake-ImageNet scripts: every model in every API through its real code path, on the CPU."""
import math

import pytest

from conftest import assert_bad_input, run_script

APIS = ("tensorpack", "keras", "tflearn")
MODELS = ("alexnet", "vgg16", "resnet50")
SIZE = {"alexnet": 67, "vgg16": 32, "resnet50": 64}  # small (ResNet50 at 32 px: tflearn's loss went NaN)
# The learning runs use TensorFlow's oneDNN kernels, its default on the AVX512 CPUs seen here, also
# where it is off by default (an AVX2-only AMD Zen 3): there they take half the time.
ONEDNN = {"TF_ENABLE_ONEDNN_OPTS": "1"}


def alexnet_params(size):
    """By hand, TF padding: conv1 11x11/4 valid, then 3x3/2 valid pools; convs 2-5 'same'.
    At 224: 224 -> conv1 (224-11)//4+1 = 54 -> pool 26 -> conv2 26 -> pool 12 -> pool5 5: 6400."""
    side = (size - 11) // 4 + 1
    for _ in range(3):
        side = (side - 3) // 2 + 1
    convs = [(3, 64, 11), (64, 192, 5), (192, 384, 3), (384, 256, 3), (256, 256, 3)]
    fcs = [(side * side * 256, 4096), (4096, 4096), (4096, 1000)]
    return sum(k * k * i * o + o for i, o, k in convs) + sum(i * o + o for i, o in fcs)


def vgg16_params(size):
    """13 convs 3x3 + bias, five 2x2 valid pools (side // 32), fc 4096, 4096, 1000."""
    chans = [3, 64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
    convs = sum(9 * i * o + o for i, o in zip(chans, chans[1:]))
    fcs = [((size // 32) ** 2 * 512, 4096), (4096, 4096), (4096, 1000)]
    return convs + sum(i * o + o for i, o in fcs)


# tflearn clips gradients at global norm 5 by default; the benchmark turns that off (no other API
# clips). Its AlexNet and VGG16 then diverge on this test's one fixed batch (loss 1e5..1e9 by epoch 3,
# whatever the initialiser or RMSprop epsilon), where tensorpack's and Keras's same models learn.
DIVERGES_UNCLIPPED = {("tflearn", "alexnet"), ("tflearn", "vgg16")}
EXPECTED = {"alexnet": alexnet_params, "vgg16": vgg16_params, "resnet50": lambda size: 25_557_032}


def test_hand_counts_at_224():
    # convs 23,296 + 307,392 + 663,936 + 884,992 + 590,080 = 2,469,696; fc6 6400 * 4096 + 4096 =
    # 26,218,496; fc7 16,781,312; fc8 4,097,000
    assert alexnet_params(224) == 49_566_504
    assert vgg16_params(224) == 138_357_544  # the published figure


QUICK = [("keras", "alexnet"), ("tensorpack", "vgg16"), ("tflearn", "resnet50")]  # each script, each model
PROPERTIES = {("tensorpack", "resnet50"): ("queue", "fused", "resource"),
              ("keras", "resnet50"): ("tf.data", "composite", "resource"),
              ("tflearn", "resnet50"): ("feed_dict", "composite", "reference")}


@pytest.fixture(scope="module")
def quick(request):
    """Quick: one short run of each script, each on another model (every line of the contract)."""
    return {(api, model): run_script(f"imagenet-{api}.py", 0, "--model", model, "--image-size", SIZE[model],
                                     "--steps", 2, "--epochs", 2, "--batch", 2) for api, model in QUICK}


@pytest.mark.quick_only  # --all: test_lines_params_and_learning checks all this and more
@pytest.mark.parametrize("api,model", QUICK, ids=[f"{a}-{m}" for a, m in QUICK])
def test_each_script_runs_its_model(quick, api, model):
    run = quick[api, model]
    assert run.rc == 0, run
    (line,), epochs, (summary,) = run.of("model"), run.of("throughput"), run.of("summary")
    assert [e["epoch"] for e in epochs] == ["1", "2"], run
    assert line["framework"] == api and line["task"] == model and line["gpus"] == "0", run
    assert int(line["params"]) == EXPECTED[model](SIZE[model]), run
    assert float(summary["images_per_sec"]) > 0, run
    if (api, model) in PROPERTIES:
        assert (line["input"], line["bn"], line["variables"]) == PROPERTIES[api, model], run


@pytest.fixture(scope="module", params=[(a, m) for m in MODELS for a in APIS],
                ids=lambda p: f"{p[0]}-{p[1]}")
def trained(request):
    api, model = request.param
    run = run_script(f"imagenet-{api}.py", 0, "--model", model, "--image-size", SIZE[model],
                     "--steps", 30, "--epochs", 3, "--batch", 2, env=ONEDNN)
    return api, model, run


@pytest.mark.slow
def test_lines_params_and_learning(trained):
    api, model, run = trained
    assert run.rc == 0, run
    (line,), epochs, (summary,) = run.of("model"), run.of("throughput"), run.of("summary")
    assert [e["epoch"] for e in epochs] == ["1", "2", "3"], run
    assert line["framework"] == api and line["task"] == model and line["gpus"] == "0", run
    assert line["image_size"] == str(SIZE[model]) and line["batch"] == "2", run
    assert line["optimizer"].lower() in (("sgd", "gradientdescent") if model == "resnet50" else ("rmsprop",)), run
    assert (line["replicas"], line["clip"], line["xla"], line["intra_threads"]) == ("1", "none", "False", "0"), run
    assert int(line["params"]) == EXPECTED[model](SIZE[model]), run  # equal in all three APIs
    assert (line["input"], line["bn"], line["variables"]) == PROPERTIES.get(
        (api, model), (PROPERTIES[api, "resnet50"][0], "none", PROPERTIES[api, "resnet50"][2])), run
    assert float(summary["images_per_sec"]) > 0, run
    # learns the fixed batch: an untrained net scores ln(1000) = 6.91 on 1000 classes; the loss an
    # API reports after the last epoch must be clearly below that (comparing epoch 1 with epoch 3
    # was flaky: tensorpack's running average can have fallen to its plateau within epoch 1)
    learnt = float(epochs[-1]["loss"]) < 0.8 * math.log(1000)
    if (api, model) in DIVERGES_UNCLIPPED:  # a known difference, measured: see DIVERGES_UNCLIPPED
        assert not learnt, "tflearn now learns here unclipped: drop it from DIVERGES_UNCLIPPED"
        pytest.xfail("tflearn's AlexNet/VGG16 diverge at RMSprop 1e-3 without gradient clipping")
    assert learnt, run


@pytest.mark.slow
@pytest.mark.parametrize("api", ["tensorpack", "keras"])
def test_two_replicas_on_the_cpu(api):
    run = run_script(f"imagenet-{api}.py", 2, "--model", "alexnet", "--image-size", 67,
                     "--steps", 2, "--epochs", 2, "--batch", 2)
    assert run.rc == 0, run
    assert run.of("model")[0]["gpus"] == "2" and len(run.of("summary")) == 1, run
    assert run.of("model")[0]["replicas"] == "2", run  # read from the trainer / strategy


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("args", [(0, "--model", "lenet"), (0, "--model", "alexnet", "--image-size", 66)])
def test_bad_input(api, args):
    """Refused by bench before TensorFlow starts (bench's own tests cover every bad value)."""
    assert_bad_input(run_script(f"imagenet-{api}.py", *args))


@pytest.mark.slow
def test_tflearn_has_no_data_parallel():
    assert "data-parallel" in assert_bad_input(run_script("imagenet-tflearn.py", 2))


@pytest.mark.slow
def test_keras_xla_with_cpu_replicas_is_refused():
    """XLA cannot run Keras's replicas on logical CPU devices (their variables live on another
    device): one line and exit 2, not a traceback after the model is built."""
    assert "--xla with NUM_GPU > 1 needs GPUs" in assert_bad_input(run_script("imagenet-keras.py", 2, "--xla"))
