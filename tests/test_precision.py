"""--amp (mixed precision) and --data-format channels_first in every script, on the CPU.

On a CPU, --amp trains in bfloat16: Keras through its dtype policy, tensorpack and tflearn through
TensorFlow's graph rewrite, which runs only with oneDNN's kernels (TF_ENABLE_ONEDNN_OPTS=1 where
they are off by default). float16 and its loss scaling are a GPU's; tests/pretend_gpu.py runs that
code path on the CPU to check that it builds and reports itself.
"""
import math
import os
import subprocess
import sys
import textwrap

import pytest

import bench
import rules
from conftest import REPO, Run, assert_bad_input, mutant, once_per_session, run_script

APIS = ("tensorpack", "keras", "tflearn")
ONEDNN = {"TF_ENABLE_ONEDNN_OPTS": "1"}
NO_ONEDNN = {"TF_ENABLE_ONEDNN_OPTS": "0"}
# bfloat16 is emulated, and slow, on most CPUs: these runs check the code path and what it reports;
# that each API learns in bfloat16 is checked by longer runs (tests/test_precision_long.py, --all)
SHORT = ("--epochs", 2, "--steps", 6, "--batch", 8)


# ---- the rules, in process -----------------------------------------------------------------------

@pytest.mark.parametrize("framework,amp,fmt,onednn,avx512,refused", [
    ("keras", True, "channels_last", False, False, None),  # Keras's policy needs no oneDNN
    ("tensorpack", True, "channels_last", False, True, "bfloat16 graph rewrite"),
    ("tflearn", True, "channels_last", False, True, "bfloat16 graph rewrite"),
    ("tensorpack", True, "channels_last", True, False, None),
    ("keras", False, "channels_first", False, True, "NHWC only"),
    ("tensorpack", False, "channels_first", True, False, None),
    ("keras", True, "channels_first", True, False, "needs AVX-512"),
    ("tensorpack", True, "channels_first", True, True, None),
])
def test_cpu_rule(framework, amp, fmt, onednn, avx512, refused):
    error = bench.cpu_rule(framework, amp, fmt, onednn, avx512)
    assert (error is None) == (refused is None), error
    if refused:
        assert refused in error and "\n" not in error


@pytest.mark.parametrize("on,device,onednn,cc,dtype", [
    (False, "cpu", True, None, None),
    (True, "cpu", True, None, "bfloat16"),
    (True, "cpu", False, None, None),  # TensorFlow skips the bfloat16 rewrite without oneDNN
    (True, "gpu", False, (8, 0), "float16"),
    (True, "gpu", False, (6, 1), None),  # no float16 rewrite below compute capability 7.0
    (True, "gpu", False, None, None),  # no GPU visible
])
def test_amp_rule(on, device, onednn, cc, dtype):
    assert bench.amp_rule(on, device, onednn, cc) == dtype


# The rule against TensorFlow itself: a small TF1 graph trained in a session whose config asks for
# the CPU's rewrite; the dtype bench.graph_keys reports must be the T of the convs that ran.
REWRITE_CHECK = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[1])
    import bench
    bench.parse("cifar10-cnn", "tensorpack", "", ["0", "--amp", "--steps", "1"])
    import numpy as np
    import tensorflow as tf
    from tensorflow.core.protobuf.rewriter_config_pb2 import RewriterConfig
    tf.compat.v1.disable_eager_execution()
    bench.run.device = "cpu"
    x = tf.compat.v1.placeholder(tf.float32, [None, 8, 8, 3])
    w = tf.compat.v1.get_variable("w", [3, 3, 3, 4])
    loss = tf.reduce_mean(tf.square(tf.nn.conv2d(x, w, 1, "SAME")))
    train = tf.compat.v1.train.RMSPropOptimizer(1e-3).minimize(loss)
    config = tf.compat.v1.ConfigProto()
    setattr(config.graph_options.rewrite_options, bench.AMP_REWRITE["cpu"], RewriterConfig.ON)
    with tf.compat.v1.Session(config=config) as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        meta = tf.compat.v1.RunMetadata()
        sess.run(train, {x: np.ones((2, 8, 8, 3), "float32")}, run_metadata=meta,
                 options=tf.compat.v1.RunOptions(output_partition_graphs=True))
        ran = {tf.dtypes.as_dtype(n.attr["T"].type).name for g in meta.partition_graphs
               for n in g.node if "Conv2D" in n.op and "Backprop" not in n.op}
        print("reported", bench.graph_keys(sess, 1)["dtype"], "ran", *sorted(ran))
""")


@pytest.mark.parametrize("env", [ONEDNN, pytest.param(NO_ONEDNN, marks=pytest.mark.slow)],
                         ids=["onednn", "no-onednn"])
def test_amp_rule_matches_the_rewritten_graph(env):
    proc = subprocess.run([sys.executable, "-c", REWRITE_CHECK, str(REPO)], capture_output=True,
                          text=True, timeout=300, env={**os.environ, **env})
    words = proc.stdout.split()
    assert proc.returncode == 0 and "reported" in words, proc.stderr[-3000:]
    reported, ran = words[words.index("reported") + 1], words[words.index("ran") + 1:]
    assert ran == [reported], proc.stdout
    assert reported == ("bfloat16" if env is ONEDNN else "float32")


# ---- --amp: each CIFAR script in bfloat16 ---------------------------------------------------------

@pytest.fixture(scope="module")
def amp_runs(cifar_dir, tmp_path_factory):
    """One short --amp run of each CIFAR script, under oneDNN (the graph rewrite needs it)."""
    def make():
        runs = {api: run_script(f"cifar10-cnn-{api}.py", 0, "--data", cifar_dir, "--amp", *SHORT,
                                env=ONEDNN) for api in APIS}
        return {api: [r.rc, r.stdout, r.stderr] for api, r in runs.items()}
    return {api: Run(*r) for api, r in once_per_session(tmp_path_factory, "amp_runs", make).items()}


@pytest.mark.parametrize("api", APIS)
def test_amp_trains_in_bfloat16(amp_runs, api):
    run = amp_runs[api]
    assert run.rc == 0, run
    model = run.record()["lines"]["model"]
    assert (model["dtype"], model["loss_scale"], str(model["onednn"])) == ("bfloat16", "none", "True")
    losses = [float(t["loss"]) for t in run.of("throughput")]
    assert len(losses) == 2 and all(math.isfinite(l) and l > 0 for l in losses), run


def test_amp_runs_agree(amp_runs):
    assert rules.fairness([amp_runs[api].record() for api in APIS]) == []


@pytest.mark.slow
def test_amp_rewrite_left_out_is_flagged(tmp_path, cifar_dir, amp_runs):
    """A tensorpack copy whose session config lacks the rewrite trains in float32: its model line
    says so, and the fairness check flags it against the two that trained in bfloat16."""
    line = "setattr(config.graph_options.rewrite_options, bench.AMP_REWRITE[DEVICE], RewriterConfig.ON)"
    path = mutant(tmp_path, "cifar10-cnn-tensorpack.py", (line, "pass"))
    run = run_script(path, 0, "--data", cifar_dir, "--amp", "--epochs", 1, "--steps", 2, env=ONEDNN)
    assert run.rc == 0, run
    changed = run.record()
    assert changed["lines"]["model"]["dtype"] == "float32", run
    flagged = rules.fairness([amp_runs["keras"].record(), amp_runs["tflearn"].record(), changed])
    assert "dtype" in {f["key"] for f in flagged}, flagged


# ---- --data-format channels_first ------------------------------------------------------------------

@pytest.mark.parametrize("api", ["tensorpack", pytest.param("keras", marks=pytest.mark.slow)])
def test_channels_first_trains(cifar_dir, api):
    run = run_script(f"cifar10-cnn-{api}.py", 0, "--data", cifar_dir, "--data-format",
                     "channels_first", "--epochs", 2, "--steps", 10, "--batch", 8, env=ONEDNN)
    assert run.rc == 0, run
    model = run.record()["lines"]["model"]
    assert rules.norm_value(model["data_format"], "data_format") == "channels_first", run
    assert model["params"] == 1_250_858, run  # the same model as in NHWC


def test_tflearn_has_no_channels_first():
    error = assert_bad_input(run_script("imagenet-tflearn.py", 0, "--data-format", "channels_first"))
    assert "NHWC" in error


@pytest.mark.parametrize("script", ["cifar10-cnn-keras.py", "imagenet-tensorpack.py"])
def test_bad_data_format(script):
    assert "--data-format" in assert_bad_input(run_script(script, 0, "--data-format", "NCHW"))


@pytest.mark.slow
def test_channels_first_without_onednn_is_refused(cifar_dir):
    """TensorFlow's own CPU kernels are NHWC only: one line naming the remedy, exit 2."""
    run = run_script("cifar10-cnn-keras.py", 0, "--data", cifar_dir, "--data-format",
                     "channels_first", env=NO_ONEDNN)
    assert "TF_ENABLE_ONEDNN_OPTS=1" in assert_bad_input(run)
