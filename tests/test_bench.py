"""bench.py's rules, in process: the command line and its checks, the device rules, the XLA rule,
the fingerprint's readers (on a small TF1 graph built here), the clock's lines and its median."""
import argparse
import os
import platform
import subprocess
import sys

import pytest

from conftest import REPO

import bench

FAMILY_OF = {"cifar10-cnn": "cifar10-cnn", "alexnet": "imagenet"}


def parse_fails(capsys, family, *argv, framework="keras"):
    """bench.parse on bad input: exit 2 and exactly one line on stderr, which is returned."""
    with pytest.raises(SystemExit) as e:
        bench.parse(family, framework, "doc", [str(a) for a in argv])
    assert e.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and ": error: " in err[0], err
    return err[0]


@pytest.mark.parametrize("argv", [("abc",), ("-1",), ("1.5",)])
@pytest.mark.parametrize("family", ["cifar10-cnn", "imagenet"])
def test_bad_num_gpu(capsys, family, argv):
    assert "NUM_GPU" in parse_fails(capsys, family, *argv)


@pytest.mark.parametrize("argv", [
    (0, "--model", "lenet"), (0, "--model", "alexnet", "--image-size", 66),
    (0, "--model", "vgg16", "--image-size", 31), (0, "--steps", 0), (0, "--epochs", 0),
    (0, "--batch", -1), (0, "--data", "x"),
])
def test_bad_imagenet_input(capsys, argv):
    parse_fails(capsys, "imagenet", *argv)


@pytest.mark.parametrize("argv", [(0, "--epochs", 0), (0, "--batch", 0), (0, "--steps", -1),
                                  (0, "--model", "vgg16"), (0, "--image-size", 64)])
def test_bad_cifar_input(capsys, argv):
    parse_fails(capsys, "cifar10-cnn", *argv)


def test_missing_cifar_folder_is_refused_before_tensorflow(capsys, tmp_path):
    line = parse_fails(capsys, "cifar10-cnn", 0, "--data", tmp_path / "nowhere")
    assert "cifar-10-batches-py" in line and "--data" in line


def test_bench_imports_only_the_standard_library():
    """Imported before TensorFlow, because it sets what TensorFlow reads when it starts."""
    code = ("import sys, bench; bench.parse('imagenet', 'keras', 'doc', ['0']); "
            "print([m for m in ('tensorflow', 'numpy', 'keras') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out


def test_parse_fills_in_the_run(monkeypatch):
    monkeypatch.setattr(os, "environ", {})  # what parse sets stays in this test
    args = bench.parse("imagenet", "tensorpack", "doc", ["0", "--model", "resnet50", "--xla"])
    assert (args.task, args.batch, args.image_size, args.replicas) == ("resnet50", 32, 224, 1)
    assert os.environ["CUDA_VISIBLE_DEVICES"] == ""  # NUM_GPU=0 hides the GPUs
    assert os.environ["TF_XLA_FLAGS"] == "--tf_xla_auto_jit=1 --tf_xla_cpu_global_jit"
    assert bench.run.tag == "framework=tensorpack task=resnet50 gpus=0"
    del os.environ["TF_XLA_FLAGS"]
    args = bench.parse("imagenet", "keras", "doc", ["2", "--model", "vgg16", "--xla"])
    assert (args.batch, args.replicas) == (64, 2) and "TF_XLA_FLAGS" not in os.environ
    args = bench.parse("cifar10-cnn", "tflearn", "doc", [])
    assert (args.num_gpu, args.batch, args.image_size, args.steps) == (1, 32, 32, 0)


@pytest.mark.parametrize("framework,num_gpu,gpus,xla,want", [
    ("keras", 0, 0, False, ("cpu", None, None)),
    ("keras", 0, 8, False, ("cpu", None, None)),
    ("keras", 1, 0, False, ("cpu", None, None)),
    ("keras", 1, 1, False, ("gpu", None, None)),
    ("tensorpack", 2, 0, True, ("cpu", None, "warning: no GPU visible, running 2 replicas on the CPU")),
    ("keras", 2, 0, False, ("cpu", None, "warning: no GPU visible, running 2 replicas on the CPU")),
    ("keras", 2, 0, True, (None, "--xla with NUM_GPU > 1 needs GPUs", None)),
    ("keras", 2, 2, True, ("gpu", None, None)),
    ("tensorpack", 4, 2, False, (None, "NUM_GPU=4 but only 2 GPU(s) are visible", None)),
    ("tflearn", 2, 0, False, (None, "tflearn has no data-parallel trainer", None)),
    ("tflearn", 1, 1, False, ("gpu", None, None)),
])
def test_device_rule(framework, num_gpu, gpus, xla, want):
    device, error, warning = bench.device_rule(framework, num_gpu, gpus, xla)
    assert (device, warning) == (want[0], want[2])
    assert (error is None) == (want[1] is None) and (want[1] or "") in (error or "")


@pytest.mark.parametrize("level,flags,device,want", [
    (0, "", "cpu", False), (0, "", "gpu", False),
    (0, "--tf_xla_auto_jit=1", "cpu", False),  # asked for, but nothing compiles on a CPU
    (0, "--tf_xla_auto_jit=1", "gpu", True),
    (0, "--tf_xla_auto_jit=1 --tf_xla_cpu_global_jit", "cpu", True),
    (0, "--tf_xla_auto_jit=2 --tf_xla_cpu_global_jit", "cpu", True),
    (0, "--tf_xla_auto_jit=-1 --tf_xla_cpu_global_jit", "cpu", False),
    (0, "--tf_xla_auto_jit=11 --tf_xla_cpu_global_jit", "cpu", False),
    (1, "", "gpu", True), (1, "", "cpu", False), (1, "--tf_xla_cpu_global_jit", "cpu", True),
])
def test_xla_rule(level, flags, device, want):
    assert bench.xla_rule(level, flags, device) is want


@pytest.mark.parametrize("types,want", [
    ({"QueueDequeueV2", "Conv2D"}, "queue"), ({"QueueDequeueManyV2"}, "queue"),
    ({"QueueDequeueV2", "Stage", "Unstage"}, "queue+staging"), ({"Unstage"}, "staging"),
    ({"IteratorGetNext"}, "tf.data"), ({"Placeholder", "Conv2D"}, "feed_dict"),
])
def test_input_kind(types, want):
    assert bench.input_kind(types) == want


@pytest.mark.parametrize("types,want", [
    ({"FusedBatchNormV3", "Rsqrt"}, "fused"), ({"FusedBatchNormGradV3"}, "fused"),
    ({"Rsqrt", "Mul"}, "composite"), ({"Conv2D"}, "none"),
])
def test_bn_kind(types, want):
    assert bench.bn_kind(types) == want


def test_variables_kind():
    assert bench.variables_kind({"VarHandleOp", "VariableV2"}) == "resource"
    assert bench.variables_kind({"VariableV2"}) == "reference"
    assert bench.variables_kind({"Const"}) == "none"


def test_hyperparameters_are_read_by_name_not_position():
    """A momentum optimizer's kernel has (var, accum, lr, grad, momentum): its momentum must not
    print as rho, as a reader by position would have it."""
    keys = bench.hyperparameters(["var", "accum", "lr", "grad", "momentum"], [None, None, 0.01, None, 0.9])
    assert keys == {"lr": "0.01", "rho": "none", "momentum": "0.9", "epsilon": "none"}
    rms = ["var", "ms", "mom", "lr", "rho", "momentum", "epsilon", "grad"]
    keys = bench.hyperparameters(rms, [None, None, None, 1e-4, 0.9, 0.0, 1e-7, None])
    assert keys == {"lr": "0.0001", "rho": "0.9", "momentum": "none", "epsilon": "1e-07"}
    assert bench.hyperparameters(["var", "alpha", "delta"], [None, 1e-3, None])["lr"] == "0.001"


def test_median_rate_skips_the_warm_up():
    assert bench.median_rate([10.0, 100.0, 300.0, 200.0]) == 200.0
    assert bench.median_rate([10.0, 100.0, 300.0]) == 200.0
    assert bench.median_rate([42.0]) == 42.0  # one epoch: the warm-up alone


def test_the_clock_prints_the_contract_lines(capsys):
    import numpy  # imported by the run: reported (a library it did not import is not)
    bench.run.args = argparse.Namespace(batch=4, replicas=2)
    bench.run.steps, bench.run.tag = 5, "framework=keras task=vgg16 gpus=2"
    bench.train_begin({"replicas": 2, "device": "cpu"})
    for loss in (3.0, 2.0, 1.0):
        bench.epoch_begin()
        bench.epoch_end(loss)
    bench.train_end()
    versions, *lines = [l for l in capsys.readouterr().out.splitlines() if l]
    # what made the run, read in this process: python, and the libraries it imported
    assert versions.startswith(f"versions framework=keras task=vgg16 gpus=2 python={platform.python_version()}")
    assert f" numpy={numpy.__version__}" in versions and ("tensorpack=" in versions) == ("tensorpack" in sys.modules)
    assert lines[0] == "model framework=keras task=vgg16 gpus=2 replicas=2 device=cpu"
    assert [l.split()[4] for l in lines[1:4]] == ["epoch=1", "epoch=2", "epoch=3"]
    assert lines[3].endswith("loss=1.0000")
    rates = [float(l.split("images_per_sec=")[1].split()[0]) for l in lines[1:4]]
    assert float(lines[4].split("images_per_sec=")[1]) == pytest.approx(bench.median_rate(rates), abs=0.11)


# ---- the TF1 graph reader, on a graph built here -----------------------------------------------

@pytest.fixture(scope="module")
def tf1_keys():
    """graph_keys on a small TF1 graph: an NHWC conv first and an NCHW one after it,
    a momentum optimizer, TensorFlow's clip_by_global_norm at 2.5, and a decoy constant whose
    name ends like the old, looser clip reader's pattern ("norm/mul/x")."""
    import tensorflow as tf
    v1 = tf.compat.v1
    bench.run.args = argparse.Namespace(batch=2, image_size=8)
    bench.run.device = "cpu"
    g = tf.Graph()
    with g.as_default():
        x = v1.placeholder(tf.float32, [None, 8, 8, 3])
        w = v1.get_variable("w", [3, 3, 3, 4])
        y = tf.nn.conv2d(x, w, 1, "SAME")
        w2 = v1.get_variable("w2", [3, 3, 8, 4])  # built, never run: NCHW has no CPU kernel
        loss = tf.reduce_mean(tf.nn.conv2d(y, w2, 1, "SAME", data_format="NCHW"))
        with tf.name_scope("decoy_norm"):
            tf.multiply(7.0, loss, name="mul")  # a Const "decoy_norm/mul/x" = 7
        opt = v1.train.MomentumOptimizer(0.01, 0.9)
        grads, tvars = zip(*opt.compute_gradients(loss))
        grads, _ = tf.clip_by_global_norm(grads, 2.5)
        opt.apply_gradients(zip(grads, tvars))
        sess = v1.Session(graph=g, config=v1.ConfigProto(intra_op_parallelism_threads=3))
    return bench.graph_keys(sess, 1)


def test_graph_reader_takes_the_first_conv(tf1_keys):
    assert (tf1_keys["dtype"], tf1_keys["data_format"]) == ("float32", "NHWC")


def test_graph_reader_reads_hyperparameters_by_name(tf1_keys):
    assert tf1_keys["optimizer"] == "Momentum"
    assert (tf1_keys["lr"], tf1_keys["momentum"], tf1_keys["rho"]) == ("0.01", "0.9", "none")


def test_graph_reader_matches_clip_by_global_norm_exactly(tf1_keys):
    assert tf1_keys["clip"] == "2.5"


def test_graph_reader_other_keys(tf1_keys):
    assert tf1_keys["params"] == 3 * 3 * 3 * 4 + 3 * 3 * 8 * 4
    assert tf1_keys["intra_threads"] == 3 and tf1_keys["xla"] is False
    assert (tf1_keys["input"], tf1_keys["bn"], tf1_keys["variables"]) == ("feed_dict", "none", "resource")
    from tensorflow.python.util import _pywrap_util_port
    assert tf1_keys["onednn"] is bool(_pywrap_util_port.IsMklEnabled())  # this process's switch
