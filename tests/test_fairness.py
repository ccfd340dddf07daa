"""Fairness is checked by the machine: the model line's fingerprint is read from what trains, and
every must-be-equal key can be flagged (a mutated copy of a script, with bench.py beside it, is
caught). The scripts keep only their API: the measurement is bench.py's, once."""
import ast
import re
import subprocess
import sys

import pytest

from conftest import CIFAR_APIS as APIS, REPO, mutant, run_script

import rules  # noqa: E402  (tools/, on the path through conftest)

SCRIPTS = [f"cifar10-cnn-{a}.py" for a in APIS] + [f"imagenet-{a}.py" for a in APIS]
TINY = ("--epochs", 1, "--steps", 2, "--batch", 2)  # what is read, not speed: 2 images a step
LIMIT = 100  # lines a script may have (the project's promise); README gives each one's count


# ---- the scripts: only their API, readable -----------------------------------------------------

@pytest.mark.parametrize("script", SCRIPTS)
def test_a_script_is_short_plain_and_leaves_the_measurement_to_bench(script):
    text = (REPO / script).read_text()
    lines = text.splitlines()
    assert len(lines) <= LIMIT, len(lines)
    assert max(len(l) for l in lines) <= 100, max(lines, key=len)
    tree = ast.parse(text)
    assert not any(isinstance(n, ast.NamedExpr) for n in ast.walk(tree)), "no walrus"
    assert not re.search(r";\s*\S", "\n".join(l.split("#")[0] for l in lines)), "one statement a line"
    # the clock and the printed lines are bench's: no script times or prints on its own
    assert not re.search(r"perf_counter|time\.time|images_per_sec|print\(|statistics", text)
    calls = {n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Attribute) and getattr(n.func.value, "id", "") == "bench"}
    assert {"parse", "device", "train_begin", "epoch_begin", "epoch_end", "train_end"} <= calls
    assert calls & {"graph_keys", "keras_keys"}


# ---- each must-be-equal key can fail: a mutated copy of a script is flagged ---------------------

# script's API: [(text in it, replacement)], {key: value the model line must then show}
MUTANTS = {
    "keras": ([("keras.optimizers.RMSprop(1e-4)",
                "keras.optimizers.SGD(2e-4, momentum=0.5, global_clipnorm=1.0)"),
               ("jit_compile=args.xla", "jit_compile=True"),
               ("import keras\n", "import keras\nkeras.mixed_precision.set_global_policy('mixed_bfloat16')\n")],
              {"optimizer": "SGD", "lr": "0.0002", "momentum": "0.5", "rho": "none", "epsilon": "none",
               "clip": "1", "xla": "True", "dtype": "bfloat16"}),
    "tensorpack": ([("config.intra_op_parallelism_threads = 0", "config.intra_op_parallelism_threads = 1"),
                    ("RMSPropOptimizer(1e-4, epsilon=1e-7)",
                     "RMSPropOptimizer(1e-4, decay=0.8, momentum=0.5, epsilon=1e-10)")],
                   {"intra_threads": "1", "rho": "0.8", "momentum": "0.5", "epsilon": "1e-10"}),
    "tflearn": ([("clip_gradients=0", "clip_gradients=5.0"),
                 ("RMSProp(1e-4, epsilon=1e-7)", "RMSProp(3e-4, decay=0.99, epsilon=1e-7)")],
                {"clip": "5", "rho": "0.99", "lr": "0.0003"}),
}


def onednn_flip(default):
    """The tensorpack mutant's extra change: TensorFlow's oneDNN switch, the other way round from
    its default in this environment, which the unmodified run has (on by default on AVX512 CPUs,
    off on others)."""
    flipped = "False" if default == "True" else "True"
    switch = f"import os\nos.environ['TF_ENABLE_ONEDNN_OPTS'] = '{int(flipped == 'True')}'\nimport bench\n"
    return ("import bench\n", switch), {"onednn": flipped}


@pytest.fixture(scope="module")
def mutated(tmp_path_factory, cifar_dir):
    """Each API's mutated copy, run once: all three before the unmodified runs are asked for, so
    that a worker does not wait for the other one making those (conftest.once_per_session)."""
    default = subprocess.run([sys.executable, "-c", "import bench; print(bench.onednn())"],
                             cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
    runs = {}
    for api, (changes, expected) in MUTANTS.items():
        changes, expected = list(changes), dict(expected)
        if api == "tensorpack":
            change, keys = onednn_flip(default)
            changes.append(change)
            expected.update(keys)
        path = mutant(tmp_path_factory.mktemp(f"mutant-{api}"), f"cifar10-cnn-{api}.py", *changes)
        run = run_script(path, 0, "--data", cifar_dir, *TINY)
        assert run.rc == 0, run
        runs[api] = run.record(), expected
    return runs


@pytest.mark.parametrize("api", list(MUTANTS))
def test_each_changed_setting_is_read_and_flagged(mutated, cifar_runs, api):
    changed, expected = mutated[api]
    unmodified = {a: cifar_runs[a].record() for a in APIS}
    others = [unmodified[a] for a in APIS if a != api]
    assert rules.fairness(others + [unmodified[api]]) == []  # the unmodified three agree
    flagged = {f["key"] for f in rules.fairness(others + [changed])}
    for key, value in expected.items():
        assert str(changed["lines"]["model"][key]) == value, (key, changed["lines"]["model"])
        assert str(unmodified[api]["lines"]["model"][key]) != value, key
        assert key in flagged, (key, flagged)


@pytest.mark.slow
def test_a_single_tower_trainer_is_caught(tmp_path, cifar_dir):
    """Swapping the data-parallel trainer for a single tower: the model line says so, and the
    collector's one rule for "ok" fails the run."""
    old = "SyncMultiGPUTrainerReplicated(args.num_gpu) if args.num_gpu > 1 else SimpleTrainer()"
    path = mutant(tmp_path, "cifar10-cnn-tensorpack.py", (old, "SimpleTrainer()"))
    run = run_script(path, 2, "--data", cifar_dir, *TINY)
    log = tmp_path / "run.log"
    log.write_text(run.stdout)
    _, lines, epochs = rules.read_lines(log)
    status, reason = rules.verdict(lines, epochs, "cifar10-cnn", "tensorpack", 2, run.rc, ended=False)
    assert lines["model"]["replicas"] == 1 and status == "failed", (status, reason, run)
    assert "trained 1 replica, asked for 2" in reason


# ---- xla says what compiled, not what was asked for ----------------------------------------------

COMPILED = "Compiled cluster using XLA"  # TensorFlow's INFO line, logged once a cluster has compiled


@pytest.mark.parametrize("api", APIS)
def test_default_runs_compile_nothing(cifar_runs, api):
    run = cifar_runs[api]  # run with TensorFlow's INFO log on stderr
    assert (str(run.record()["lines"]["model"]["xla"]), COMPILED in run.stderr) == ("False", False), run


@pytest.mark.parametrize("api,args,env,compiled", [
    pytest.param("tensorpack", ("--xla",), {}, True, id="tensorpack-xla"),  # on the CPU too
    pytest.param("tflearn", (), {"TF_XLA_FLAGS": "--tf_xla_auto_jit=1"}, False,  # asked for, but
                 id="tflearn-asked-without-cpu-flag", marks=pytest.mark.slow),  # not on a CPU
])
def test_graph_mode_xla_is_what_compiled(api, args, env, compiled, cifar_dir):
    """tensorpack and tflearn read xla from the session config and TF_XLA_FLAGS by TensorFlow's rule
    (bench.xla_rule: auto-clustering on the CPU needs --tf_xla_cpu_global_jit); TensorFlow's own log
    shows whether a cluster compiled, and the two must agree."""
    run = run_script(f"cifar10-cnn-{api}.py", 0, "--data", cifar_dir, "--epochs", 1, "--steps", 3, *args,
                     env={"TF_CPP_MIN_LOG_LEVEL": "0", **env})
    assert run.rc == 0, run
    model = run.record()["lines"]["model"]
    assert (str(model["xla"]), COMPILED in run.stderr) == (str(compiled), compiled), run


def test_the_fix_effects_tool_still_applies():
    """tools/fix_effects.py measures each fairness fix against a copy with it undone: every fixed
    line it reverts is still in its scripts, exactly once, and it runs them with run_all.sh's CPU
    settings."""
    import fix_effects
    for fix, (framework, new, old, tasks) in fix_effects.FIXES.items():
        for task in tasks:
            assert fix_effects.script(task, framework).read_text().count(new) == 1, (fix, task)
    assert fix_effects.cpu_args("cifar10-cnn") == ["--steps", "60", "--epochs", "3"]
    assert fix_effects.cpu_args("vgg16") == ["--model", "vgg16", "--image-size", "32", "--steps", "2", "--epochs", "3"]
