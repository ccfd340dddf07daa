"""The three CIFAR-10 CNN scripts, run end to end as a user runs them, on generated CIFAR-format data."""
import pickletools
import platform
import shutil
import statistics

import pytest

from conftest import CIFAR_APIS as APIS, CIFAR_BATCH, CIFAR_EPOCHS as EPOCHS, assert_bad_input, run_script

import rules  # noqa: E402  (tools/, on the path through conftest)

SCRIPT = "cifar10-cnn-{}.py"

# Trainable parameters, by hand: a conv layer has k*k*c_in*c_out weights + c_out biases.
# 32x32x3 -> conv 32 same (32x32) -> conv 32 valid (30x30) -> pool (15x15) -> conv 64 same (15x15)
# -> conv 64 valid (13x13) -> pool (6x6x64 = 2304) -> dense 512 -> dense 10.
PARAMS = ((3 * 3 * 3 * 32 + 32) + (3 * 3 * 32 * 32 + 32) + (3 * 3 * 32 * 64 + 64)
          + (3 * 3 * 64 * 64 + 64) + (2304 * 512 + 512) + (512 * 10 + 10))
# the API properties each shows, read from what runs (not compared between the APIs)
PROPERTIES = {"tensorpack": ("queue", "none", "resource"), "keras": ("tf.data", "none", "resource"),
              "tflearn": ("feed_dict", "none", "reference")}


def test_fixture_is_python2_pickle(cifar_dir):
    """The real archive was pickled by Python 2: protocol 2, keys as STRING opcodes, no unicode."""
    raw = (cifar_dir / "cifar-10-batches-py" / "data_batch_1").read_bytes()
    ops = {op.name for op, _, _ in pickletools.genops(raw)}
    assert raw[:2] == b"\x80\x02"
    assert "SHORT_BINSTRING" in ops and "BINSTRING" in ops
    assert not ops & {"BINUNICODE", "SHORT_BINUNICODE", "BINBYTES", "SHORT_BINBYTES"}
    assert b"numpy.core.multiarray" in raw


def test_hand_derived_params():
    assert PARAMS == 1250858


@pytest.mark.parametrize("api", APIS)
def test_contract_lines(cifar_runs, api):
    r = cifar_runs[api]
    assert r.rc == 0, r
    (model,) = r.of("model")
    assert model["framework"] == api and model["task"] == "cifar10-cnn"
    assert model["gpus"] == "0" and model["device"] == "cpu"
    assert model["params"] == str(PARAMS)
    assert model["batch"] == str(CIFAR_BATCH) and model["image_size"] == "32"
    assert (model["optimizer"].lower(), float(model["lr"])) == ("rmsprop", 1e-4)
    assert (model["rho"], model["momentum"], model["epsilon"]) == ("0.9", "none", "1e-07")
    assert (model["replicas"], model["clip"], model["xla"], model["intra_threads"]) == ("1", "none", "False", "0")
    assert model["onednn"] in ("True", "False")  # this CPU's default (equal across the APIs: fairness)
    assert (model["dtype"], rules.norm_value(model["data_format"], "data_format")) == ("float32", "channels_last")
    assert (model["input"], model["bn"], model["variables"]) == PROPERTIES[api]
    tput = r.of("throughput")
    assert [t["epoch"] for t in tput] == [str(e) for e in range(1, EPOCHS + 1)]
    assert all(float(t["images_per_sec"]) > 0 for t in tput)
    (summary,) = r.of("summary")  # the median of the epochs after the warm-up
    timed = [float(t["images_per_sec"]) for t in tput[1:]]
    assert float(summary["images_per_sec"]) == pytest.approx(statistics.median(timed), abs=0.11)
    # the contract's lines each start their own line, in order
    kinds = [l["kind"] for l in r.lines]
    assert kinds == ["versions", "model"] + ["throughput"] * EPOCHS + ["summary"]
    (versions,) = r.of("versions")  # what made the run, read in it: the libraries it imported
    assert versions["tensorflow"] == "2.21.0" and api in versions  # the API's own distribution
    assert versions["python"] == platform.python_version() and "numpy" in versions


def test_same_model_everywhere(cifar_runs):
    """The collector's fairness check finds no must-be-equal key that differs between the three."""
    recs = [cifar_runs[api].record() for api in APIS]
    assert rules.fairness(recs) == []
    assert set(rules.FAIR_KEYS) <= set(recs[0]["lines"]["model"])


@pytest.mark.parametrize("api", APIS)
def test_learns(cifar_runs, api):
    """On learnable data the training loss after the last epoch is clearly below the first."""
    losses = [float(t["loss"]) for t in cifar_runs[api].of("throughput")]
    assert losses[-1] < 0.8 * losses[0], losses


@pytest.mark.slow
@pytest.mark.parametrize("api", ["tensorpack", "keras"])
def test_data_parallel_on_cpu(cifar_dir, api):
    r = run_script(SCRIPT.format(api), 2, "--data", cifar_dir, "--epochs", 2, "--steps", 10)
    assert r.rc == 0, r
    assert "warning: no GPU visible" in r.stderr
    (model,) = r.of("model")
    assert model["gpus"] == "2" and model["device"] == "cpu" and model["params"] == str(PARAMS)
    assert model["replicas"] == "2"  # read from the trainer / strategy that ran
    assert r.of("summary")[0]["gpus"] == "2"


def test_tflearn_has_no_data_parallel(cifar_dir):
    line = assert_bad_input(run_script(SCRIPT.format("tflearn"), 2, "--data", cifar_dir))
    assert "data-parallel" in line


@pytest.mark.parametrize("api", APIS)
def test_bad_num_gpu(api):
    """Refused by bench before TensorFlow starts (bench's own tests cover every bad value)."""
    line = assert_bad_input(run_script(SCRIPT.format(api), "1.5"))
    assert "NUM_GPU" in line


@pytest.mark.parametrize("api", APIS)
def test_missing_data_folder(api, tmp_path):
    line = assert_bad_input(run_script(SCRIPT.format(api), 0, "--data", tmp_path / "nowhere"))
    assert "cifar-10-batches-py" in line and "--data" in line


@pytest.fixture(scope="module")
def truncated_dir(cifar_dir, tmp_path_factory):
    d = tmp_path_factory.mktemp("truncated")
    shutil.copytree(cifar_dir / "cifar-10-batches-py", d / "cifar-10-batches-py")
    f = d / "cifar-10-batches-py" / "data_batch_3"
    f.write_bytes(f.read_bytes()[:5000])
    return d


@pytest.mark.parametrize("api", ["tensorpack", pytest.param("keras", marks=pytest.mark.slow),
                                 pytest.param("tflearn", marks=pytest.mark.slow)])
def test_truncated_batch_file(api, truncated_dir):
    line = assert_bad_input(run_script(SCRIPT.format(api), 0, "--data", truncated_dir))
    assert "cannot load CIFAR-10" in line
