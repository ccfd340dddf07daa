"""Fairness is checked by the machine: the model line's fingerprint is read from what trains, every
must-be-equal key can be flagged (a mutated copy of a script gets caught), and the sections meant to
be the same text in counterpart scripts are the same text."""
import re

import pytest

from conftest import REPO, run_script

import collect  # noqa: E402  (tools/, on the path through conftest)

APIS = ("tensorpack", "keras", "tflearn")
FAMILIES = {"cifar10-cnn": [f"cifar10-cnn-{a}.py" for a in APIS],
            "imagenet": [f"imagenet-{a}.py" for a in APIS]}
ALL = FAMILIES["cifar10-cnn"] + FAMILIES["imagenet"]
TINY = ("--epochs", 1, "--steps", 2)


def section(text, title):
    """The lines of the section whose header starts with `# ---- <title>`, up to the next header."""
    lines = text.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith(f"# ---- {title}"))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("# ---- ")), len(lines))
    return "\n".join(lines[start:end])


def statement(text, first):
    """The whole statement that starts with the (stripped) line prefix `first`, continuation lines
    included (they are indented deeper than its first line)."""
    lines = text.splitlines()
    i = next(i for i, l in enumerate(lines) if l.strip().startswith(first))
    indent = len(lines[i]) - len(lines[i].lstrip())
    out = [lines[i].strip()]
    for l in lines[i + 1:]:
        if not l.strip() or len(l) - len(l.lstrip()) <= indent:
            break
        out.append(l.strip())
    return "\n".join(out)


def read(script):
    return (REPO / script).read_text()


# ---- the same text where counterparts are meant to be the same ------------------------------

@pytest.mark.parametrize("family", FAMILIES)
def test_command_line_is_the_same_text_in_a_family(family):
    texts = {s: section(read(s), "command line") for s in FAMILIES[family]}
    assert len(set(texts.values())) == 1, "edit one script's command line, edit all three: " + \
        ", ".join(texts)


@pytest.mark.parametrize("first", [
    'print(f"\\nmodel {TAG}"', 'print(f"\\nthroughput {TAG}', 'print(f"\\nsummary {TAG}',
    "self.rates.append(", '**{k: f"{v:g}" if v else "none"', "# ---- timing",
])
def test_timing_and_reporting_are_the_same_text_in_all_six(first):
    texts = {s: statement(read(s), first).splitlines()[0] for s in ALL}
    assert len(set(texts.values())) == 1, texts


@pytest.mark.parametrize("family", FAMILIES)
def test_graph_mode_fingerprint_is_the_same_text(family):
    """tensorpack and tflearn both train a TF1 graph: they read their keys the same way."""
    tp, tfl = (read(s) for s in FAMILIES[family][::2])
    for first in ("apply = ", "hyper = ", "keys = dict("):
        assert statement(tp, first) == statement(tfl, first), first


def test_no_fingerprint_value_is_typed():
    """The model line's values come from objects, never from literals like lr=0.001."""
    typed = re.compile(r"\b(optimizer|lr|rho|momentum|epsilon|clip|dtype|data_format|xla|replicas|"
                       r"intra_threads)=(\d[\w.+-]*|True|False|None|\"[^\"]*\"|'[^']*')\s*[,)]")
    for s in ALL:
        keys = statement(read(s), "keys = dict(")
        assert not typed.search(keys), (s, typed.search(keys).group(0))


# ---- each must-be-equal key can fail: a mutated copy of a script is flagged ---------------------

def model_record(run):
    assert run.rc == 0, run
    return run.record()


@pytest.fixture(scope="module")
def unmodified(cifar_dir):
    return {api: model_record(run_script(f"cifar10-cnn-{api}.py", 0, "--data", cifar_dir, *TINY))
            for api in APIS}


# (script, text in it, replacement, key, value the model line must then show)
MUTATIONS = [
    ("keras", "RMSprop(1e-4)", "RMSprop(2e-4)", "lr", "0.0002"),
    ("keras", "keras.optimizers.RMSprop(1e-4)", "keras.optimizers.SGD(1e-4)", "optimizer", "SGD"),
    ("keras", "jit_compile=args.xla", "jit_compile=True", "xla", "True"),
    ("keras", "import keras\n", "import keras\nkeras.mixed_precision.set_global_policy('mixed_bfloat16')\n",
     "dtype", "bfloat16"),
    ("tflearn", "clip_gradients=0", "clip_gradients=5.0", "clip", "5"),
    ("tensorpack", "config.intra_op_parallelism_threads = 0", "config.intra_op_parallelism_threads = 1",
     "intra_threads", "1"),
    ("tensorpack", "RMSPropOptimizer(1e-4, epsilon=1e-7)", "RMSPropOptimizer(1e-4, epsilon=1e-10)",
     "epsilon", "1e-10"),
    ("tflearn", "RMSProp(1e-4, epsilon=1e-7)", "RMSProp(1e-4, decay=0.99, epsilon=1e-7)", "rho", "0.99"),
]


@pytest.mark.parametrize("api,old,new,key,value", MUTATIONS, ids=[f"{m[0]}-{m[3]}" for m in MUTATIONS])
def test_a_changed_setting_is_read_and_flagged(api, old, new, key, value, tmp_path, cifar_dir, unmodified):
    text = read(f"cifar10-cnn-{api}.py")
    assert old in text, f"the mutation no longer applies: {old!r}"
    mutant = tmp_path / f"cifar10-cnn-{api}.py"
    mutant.write_text(text.replace(old, new, 1))
    changed = model_record(run_script(mutant, 0, "--data", cifar_dir, *TINY))
    assert str(changed["lines"]["model"][key]) == value, changed["lines"]["model"]
    assert str(unmodified[api]["lines"]["model"][key]) != value
    others = [unmodified[a] for a in APIS if a != api]
    assert collect.fairness(others + [unmodified[api]]) == []  # the unmodified three agree
    assert key in [f["key"] for f in collect.fairness(others + [changed])]


def test_a_single_tower_trainer_is_caught(tmp_path, cifar_dir):
    """Swapping the data-parallel trainer for a single tower: the model line says so, and the
    collector's one rule for "ok" fails the run."""
    old = "SyncMultiGPUTrainerReplicated(NUM_GPU) if NUM_GPU > 1 else SimpleTrainer()"
    text = read("cifar10-cnn-tensorpack.py")
    assert old in text
    mutant = tmp_path / "cifar10-cnn-tensorpack.py"
    mutant.write_text(text.replace(old, "SimpleTrainer()"))
    run = run_script(mutant, 2, "--data", cifar_dir, *TINY)
    log = tmp_path / "run.log"
    log.write_text(run.stdout)
    _, lines, epochs = collect.read_lines(log)
    status, reason = collect.verdict(lines, epochs, "cifar10-cnn", "tensorpack", 2, run.rc, ended=False)
    assert lines["model"]["replicas"] == 1 and status == "failed", (status, reason, run)
    assert "trained 1 replica, asked for 2" in reason


# ---- xla says what compiled, not what was asked for ----------------------------------------------

COMPILED = "Compiled cluster using XLA"  # TensorFlow's INFO line, logged once a cluster has compiled


@pytest.mark.parametrize("api,args,env,compiled", [
    ("tensorpack", ("--xla",), {}, True),  # --xla: auto-clustering, on the CPU too
    ("tflearn", (), {"TF_XLA_FLAGS": "--tf_xla_auto_jit=1"}, False),  # asked for, but not on a CPU
    ("tflearn", (), {}, False),
], ids=["tensorpack-xla", "tflearn-asked-without-cpu-flag", "tflearn-default"])
def test_graph_mode_xla_is_what_compiled(api, args, env, compiled, cifar_dir):
    """tensorpack and tflearn read xla from the session config and TF_XLA_FLAGS by TensorFlow's rule
    (auto-clustering on the CPU needs --tf_xla_cpu_global_jit); TensorFlow's own log shows whether a
    cluster compiled, and the two must agree."""
    run = run_script(f"cifar10-cnn-{api}.py", 0, "--data", cifar_dir, "--epochs", 1, "--steps", 3, *args,
                     env={"TF_CPP_MIN_LOG_LEVEL": "0", **env})
    model = model_record(run)["lines"]["model"]
    assert (str(model["xla"]), COMPILED in run.stderr) == (str(compiled), compiled), run


def test_the_fix_effects_tool_still_applies():
    """tools/fix_effects.py measures each fairness fix against a copy with it undone: every fixed
    line it reverts is still in its scripts, exactly once, and it runs them with run_all.sh's CPU
    settings."""
    import fix_effects
    for fix, (framework, new, old, tasks) in fix_effects.FIXES.items():
        for task in tasks:
            assert fix_effects.script(task, framework).read_text().count(new) == 1, (fix, task)
    assert fix_effects.cpu_args("cifar10-cnn") == ["--steps", "300", "--epochs", "4"]
    assert fix_effects.cpu_args("vgg16") == ["--model", "vgg16", "--image-size", "64", "--steps", "4", "--epochs", "3"]
