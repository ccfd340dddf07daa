#!/usr/bin/env python3
"""The benchmark sweep behind ./run_all.sh: plan, run, resume, collect.

./run_all.sh sets up the environment and hands every argument to this module (./run_all.sh --help
lists them). The pipeline:
- the plan: cells x variants x repeats, the API order rotated per repeat, each API's variants back
  to back in an order rotated per repeat too, with the A/A run (plan());
- what each run must be made by: the command, and the hashes of the script and bench.py, the tree's
  uncommitted edits, the interpreter and its libraries' versions, the host (the plan's `want`,
  written to DIR/settings.txt before anything runs);
- resume: a planned run whose log (or one moved aside to logs/old/) is ok by the one rule and was
  made as the plan wants is kept; everything else runs (kept());
- each run in a new session under a time limit, its whole process group ended afterwards, the
  lock on DIR held by every benchmark process (run_child());
- the collector (tools/collect.py) in its own process; if it fails the results are marked stale.

Logfmt lines are written with rules.format_line and read with rules.parse_line: one quoter and one
parser for the sweep and the collector.
"""
import argparse
import datetime
import fcntl
import fnmatch
import hashlib
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import rules  # noqa: E402  (tools/rules.py: the logfmt reader and writer, the one ok rule)
sys.path.insert(0, str(ROOT))
import bench  # noqa: E402  (bench.py: standard library only at import; its backends' requirements)

# ==== per-task settings: tune here ================================================================
# Arguments per task for a cell on a GPU machine (NUM_GPU >= 1), on the CPU, and with --quick, and
# each mode's time limit in seconds (SIGTERM at the limit, SIGKILL KILL_GRACE_S later). Empty: the
# script's defaults. NUM_GPU, --model and --data are added by the sweep.
SETTINGS = {
    "cifar10-cnn": {"gpu": "--epochs 4", "cpu": "--steps 60 --epochs 3",
                    "quick": "--steps 3 --epochs 2"},
    "alexnet": {"gpu": "", "cpu": "--image-size 96 --steps 6 --epochs 3",
                "quick": "--image-size 96 --steps 2 --epochs 2 --batch 2"},
    "vgg16": {"gpu": "", "cpu": "--image-size 32 --steps 2 --epochs 3",
              "quick": "--image-size 64 --steps 2 --epochs 2 --batch 2"},
    "resnet50": {"gpu": "", "cpu": "--image-size 64 --steps 4 --epochs 3",
                 "quick": "--image-size 64 --steps 2 --epochs 2 --batch 2"},
    # the per-step overhead task (batch 8 per device, the script's default): ~2-8 ms a step, so
    # 1000 steps make an epoch of a few seconds
    "tiny": {"gpu": "--image-size 32 --steps 2000 --epochs 3",
             "cpu": "--image-size 32 --steps 1000 --epochs 3",
             "quick": "--image-size 32 --steps 5 --epochs 2"},
}
LIMIT_S = {"gpu": 3600, "cpu": 1200, "quick": 300}
PEAK_LIMIT_S = 180
# Repeat 1 runs the APIs in this order; later repeats rotate it. keras-aa is the A/A run: Keras's
# script once more, so that each repeat measures the noise between identical code (the collector's
# noise band); it runs two places from Keras's run (one place in cells without tflearn: data
# parallel, or a narrower --only), about as far as the APIs whose ratio to Keras is shown. Then
# Keras with XLA beside Keras on JAX (their ratio), plain TensorFlow (the floor every API is held
# to), and Keras on torch.
API_ORDER = rules.APIS + (rules.AA_API, "keras-xla", "keras-jax", rules.FLOOR_API, "keras-torch")
# No data-parallel trainer: only NUM_GPU 0 or 1 (tflearn; Keras on torch)
SINGLE_DEVICE_APIS = ("tflearn", "keras-torch")
# What an API adds to its script's command (keras-aa, keras-jax, keras-torch and keras-xla run the
# Keras script: rules.FRAMEWORK_OF).
API_ARGS = {"keras-jax": ["--backend", "jax"], "keras-torch": ["--backend", "torch"],
            "keras-xla": ["--xla"]}
# The library a backend API needs in the benchmarks' interpreter, and the requirements file that
# installs it: without it the API's cells are SKIPPED (never failed), with that instruction.
BACKEND_NEEDS = {"keras-jax": "jax", "keras-torch": "torch"}  # (bench.REQUIREMENTS: the file)
# Keras's and plain TensorFlow's scripts refuse --xla with NUM_GPU > 1 replicas on the CPU
# (bench.device_rule: XLA cannot run tf.distribute's replicas that are logical CPU devices): such
# cells are not planned on a machine without GPUs (Keras on JAX runs them: XLA's own devices).
CPU_XLA_FRAMEWORKS = ("keras", "tf")
# What each part of a variant (rules.VARIANT_PARTS) adds to a cell's command, and to its
# environment (onednn: TensorFlow reads TF_ENABLE_ONEDNN_OPTS when it starts). nchw cells are not
# planned for rules.NHWC_ONLY_APIS (tflearn: its layers are NHWC only; its scripts exit 2).
VARIANT_ARGS = {"amp": ["--amp"], "xla": ["--xla"], "nchw": ["--data-format", "channels_first"],
                "onednn": []}
VARIANT_ENV = {"onednn": rules.ONEDNN_ENV}
DEFAULT_REPEAT, QUICK_REPEAT = 3, 1  # 3: enough pairs for an established ratio
CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR_PLACEHOLDER = "<cifar-data>"  # the data folder in `args`: its path is not what made a run
KILL_GRACE_S = 30
COLLECTOR = ROOT / "tools" / "collect.py"
INTERRUPT_GRACE_S = 5
# ==================================================================================================

DESCRIPTION = """\
Runs every benchmark cell, each run in its own process group under a time limit, keeps each run's
whole output in DIR/logs/<cell>.r<repeat>.log, measures the matmul peak of each precision
(DIR/logs/peak.log; DIR/logs/peak.onednn.log under TF_ENABLE_ONEDNN_OPTS=1 when some variants
force oneDNN on and others do not), then runs tools/collect.py DIR (results.md, results.csv,
results.json, results.png).

Cells are named <task>.<api>.g<NUM_GPU>[.<variant>], e.g. cifar10-cnn.keras.g0,
resnet50.tensorpack.g2, vgg16.keras.g0.amp+onednn:
  task: cifar10-cnn | alexnet | vgg16 | resnet50 | tiny
    tiny: the per-step overhead task (the ImageNet scripts' --model tiny, batch 8 per device,
    32 px): its compute is well under a millisecond a step, so its milliseconds per step
    (1000 x global batch / images/sec) are what an API costs per step beyond the compute
  api:  tensorpack | keras | tflearn | keras-aa | keras-xla | keras-jax | tf | keras-torch
    keras        the Keras scripts on TensorFlow
    keras-aa     the Keras script again (an A/A run): the spread of keras-aa/keras across repeats
                 is the noise band a difference between APIs must exceed before the collector
                 names a winner
    keras-xla    the Keras script with --xla (TensorFlow compiling the step with XLA); not at
                 NUM_GPU > 1 on a machine without GPUs (the script refuses it there)
    keras-jax    the Keras script with --backend jax (JAX always compiles: compared with keras
                 and keras-xla)
    keras-torch  the Keras script with --backend torch; NUM_GPU 0 or 1 only
    tf           plain TensorFlow (cifar10-cnn-tf.py, imagenet-tf.py): the floor every API's
                 speed is shown as a fraction of
  keras-jax and keras-torch cells are SKIPPED (not failed) when the benchmarks' interpreter has
  not installed jax or torch; the skip names the install command (torch: pip install -r
  requirements-torch.txt into that interpreter's environment). tflearn runs NUM_GPU 0 or 1 only.
  g0 = trained on the CPU; gN = N devices in data parallel.
  variant (--variants): none for fp32 (the scripts' defaults), else its parts joined by + in the
  order amp, xla, onednn, nchw:
    amp     --amp: mixed precision (bfloat16 on a CPU, float16 on a GPU)
    xla     --xla: XLA compiles the step
    onednn  TF_ENABLE_ONEDNN_OPTS=1 in the run's environment: TensorFlow's oneDNN CPU kernels on
            (without it, TensorFlow's default for the CPU, or what the environment says)
    nchw    --data-format channels_first (not planned for tflearn: its layers are NHWC only)
  Variants per API: keras-jax runs those made of amp and nchw (no xla: it always compiles; no
  onednn: a TensorFlow setting), keras-xla every one without xla (it is the xla), keras-torch
  fp32 only; tensorpack, keras, keras-aa and tf every one, tflearn every one without nchw.
  The collector fails a run whose model line contradicts its variant (e.g. dtype=float32 in an amp
  cell), compares the APIs within each variant, and shows each variant's speed-up over every
  variant of the sweep whose parts are a proper subset of its own (results.md, "Variant
  speed-ups": amp+onednn over fp32 and over onednn), paired by repeat, median and min-max.

results.md also gives keras-jax/keras, keras-torch/keras, keras-xla/keras and keras-jax/keras-xla
("Keras backends and XLA"), every API's speed as a fraction of plain TensorFlow's (tf), flagged
"floor beaten" where an API is faster beyond the A/A band, and the tiny task's milliseconds per step
with each API's cost over tf's ("Per-step overhead"), all paired by repeat."""

EPILOG = """\
Per-task settings (GPU / CPU / quick arguments and time limits) are the table at the top of
tools/sweep.py. GPU settings apply to cells with NUM_GPU >= 1 on a machine with GPUs, CPU settings
otherwise.

What made a run: each run's `run` line records its mode and arguments, the hashes of its script and
of bench.py, whether the git tree had uncommitted edits (outside DIR), the interpreter, the host's
CPU and core count (and GPU model); the run itself prints the versions of the libraries it imported
(its `versions` line). DIR/settings.txt holds what the current plan wants.

Resuming: rerunning with the same --out keeps every planned run whose log is ok (the collector's
rule) and was made exactly as the plan wants; a log it cannot use is moved to DIR/logs/old/, and a
log there that matches again (after a --quick sweep into the same DIR, say) is moved back and kept.
A run that cannot be made (CIFAR data missing, or a Keras backend's library not installed) is
SKIPPED, never failed, and never displaces a log that the plan can use. The collector counts only
the runs of the current plan made as it wants, and lists every other log as ignored. One sweep at
a time per DIR: a second one exits 2. The lock (DIR/.run_all.lock) is held as long as any
benchmark process of the sweep lives; a sweep killed with SIGKILL is taken over, and what its
benchmark left running is ended first.

Ctrl-C (SIGINT), SIGTERM and SIGHUP stop the running benchmark's whole process group within a few
seconds, keep finished logs, end the running log with `run_end ... status=interrupted`, run the
collector on what exists and exit 130, 143 or 129.

A run is ok only if it exited 0 with a summary whose images/sec is a finite positive number of
sensible size matching its throughput lines (their median over epochs >= 2), and model, throughput
and summary lines of the cell's task, API and device count (and max(NUM_GPU, 1) replicas): the rule
of tools/rules.py; anything else is FAILED with its reason. Before and after each run the sweep
samples the cores kept busy by other work (other_cpu); the collector flags a run above 0.5 and
leaves it out of the decision on a winner.

Results are written to temporary names and renamed when all four are complete; if the collector
fails, results.md and results.json are marked stale and the exit status is 1.

Exit status: 0 all ok (skipped cells included); 1 a run failed (or the collector found a
missing, stray, duplicate or mixed log, or failed); 3 the collector found a fairness mismatch;
2 bad input or DIR in use by another sweep; 130 / 143 / 129 interrupted by SIGINT / SIGTERM /
SIGHUP.

Environment (for tuning and tests): RUN_ALL_EXTRA_ARGS appends arguments to every cell's command
(e.g. RUN_ALL_EXTRA_ARGS='--steps 20 --epochs 3'); RUN_ALL_EXTRA_ARGS_<cell, every character but
letters and digits as _> appends arguments to that cell's command after them (e.g.
RUN_ALL_EXTRA_ARGS_cifar10_cnn_keras_g0='--epochs 0' makes that cell fail with exit 2;
RUN_ALL_EXTRA_ARGS_vgg16_keras_g0_amp_onednn for vgg16.keras.g0.amp+onednn); both are recorded
in the run's arguments, so resume treats them as part of what made it. RUN_ALL_TIMEOUT_S
overrides every time limit; RUN_ALL_NGPU overrides the number of GPUs found; RUN_ALL_CIFAR_URL the
CIFAR-10 download address; RUN_ALL_IDLE_SAMPLE_S the other_cpu sampling time in seconds (default
1, at most 10); RUN_ALL_PYTHON the interpreter that runs the benchmark scripts and the peak probe
(default: the one running this sweep; tests use a stand-in). Counts and limits are decimal whole
numbers; a bad value is exit 2.

A cell of a variant with onednn runs with TF_ENABLE_ONEDNN_OPTS=1 added to its environment: its
printed command starts with `env TF_ENABLE_ONEDNN_OPTS=1`, and its run line records
env="TF_ENABLE_ONEDNN_OPTS=1" (resume keeps a run only if it was made so)."""


class Bad(Exception):
    """Bad input: one line, exit 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise Bad(message)


def whole(text, what, low=0):
    """A decimal whole number >= low from a command-line or environment string, or Bad."""
    if not (text.isascii() and text.isdigit()) or int(text) < low or len(text) > 7:
        raise Bad(f"{what} must be a decimal whole number from {low} to 9999999, got '{text}'")
    return int(text)


def parser():
    p = Parser(prog="run_all.sh", description=DESCRIPTION, epilog=EPILOG, allow_abbrev=False,
               formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", metavar="DIR", help="where logs and results go (default: "
                   "results/latest, with --quick: results/quick)")
    p.add_argument("--gpus", metavar='"LIST"', help="device counts to run (default: 1 2 4 ... up "
                   "to all GPUs found by nvidia-smi; without GPUs: 0, i.e. the CPU). tflearn and "
                   "keras-torch run only counts 0 and 1. On a machine without GPUs a count N >= 1 "
                   "runs N replicas on the CPU (keras-xla, and the xla variants of Keras and tf: "
                   "only 0 and 1 there).")
    p.add_argument("--only", metavar="PATTERN", help="run only the cells matching PATTERN: a "
                   "shell glob against the whole cell name ('cifar10-cnn.*', '*.keras.g1', "
                   "'*.amp+onednn') or a substring "
                   "('resnet50', 'tflearn'); several patterns separated by commas. The substring "
                   "'keras' selects every Keras API (keras, keras-aa, keras-xla, keras-jax, "
                   "keras-torch; 'alexnet.keras.' only keras's own cells); without keras-aa no "
                   "ratio can be established. The substring 'tf' selects tflearn as well: use "
                   "'*.tf.*' for plain TensorFlow's cells.")
    p.add_argument("--quick", action="store_true", help="smallest settings for every selected "
                   "cell (a smoke test: its results name no winner; default --repeat 1)")
    p.add_argument("--repeat", metavar="N", help="run every cell N times (default 3, with or "
                   "without GPUs; 1 with --quick). A ratio between two APIs needs at least 2 "
                   "repeats (3 by default) to be established. Within a repeat a task's cells run "
                   "back to back; the API order rotates from one repeat to the next (tensorpack "
                   "keras tflearn keras-aa keras-xla keras-jax tf keras-torch, then keras tflearn "
                   "... keras-torch tensorpack, ...).")
    p.add_argument("--cifar-data", metavar="DIR", help="folder holding cifar-10-batches-py/, "
                   "passed to the CIFAR scripts as --data. Default: the cache "
                   "${XDG_CACHE_HOME:-~/.cache}/tf-api-bench/cifar10, downloaded there when "
                   "missing; without it the CIFAR cells are SKIPPED (not failed). Generated data "
                   "(tools/make_cifar_data.py DIR, marked by a GENERATED file) is labelled "
                   "\"generated CIFAR-format data\" in the results.")
    p.add_argument("--variants", metavar="LIST", help="comma-separated variants to run each "
                   "cell in (default: fp32): fp32 (the scripts' defaults) or parts joined by + "
                   "from amp (--amp), xla (--xla), onednn (TF_ENABLE_ONEDNN_OPTS=1), nchw "
                   "(--data-format channels_first), e.g. 'fp32,amp,amp+onednn'; xla+amp is "
                   "amp+xla. Each variant is its own set of cells, named <cell>.<variant> "
                   "(fp32's keep their plain names); nchw cells are not planned for tflearn, "
                   "keras-jax runs only amp and nchw, keras-xla every variant without xla, "
                   "keras-torch fp32 only (see the description above). "
                   "Within a repeat an API's variants run back to back, their order rotating "
                   "from one repeat to the next, so that a variant's speed-up (results.md) pairs "
                   "runs made next to each other.")
    p.add_argument("--dry-run", action="store_true", help="print the plan, every run's command "
                   "and time limit, and an estimate of the sweep's time; write nothing")
    return p


# ---- the command line and the environment, checked before anything is written ------------------
def config(argv, env):
    """The sweep's settings from the command line and the environment (Bad on bad input)."""
    a = parser().parse_args(argv)
    c = argparse.Namespace(quick=a.quick, dry_run=a.dry_run, only=a.only or "")
    c.repeat = (whole(a.repeat, "--repeat", 1) if a.repeat is not None
                else QUICK_REPEAT if a.quick else DEFAULT_REPEAT)
    c.timeout = None
    if env.get("RUN_ALL_TIMEOUT_S"):
        c.timeout = whole(env["RUN_ALL_TIMEOUT_S"], "RUN_ALL_TIMEOUT_S", 1)
    idle = env.get("RUN_ALL_IDLE_SAMPLE_S", "1")
    try:
        c.idle_s = float(idle)
    except ValueError:
        c.idle_s = -1.0
    if not 0 < c.idle_s <= 10:
        raise Bad("RUN_ALL_IDLE_SAMPLE_S must be a number of seconds above 0 and at most 10, "
                  f"got '{idle}'")
    c.python = env.get("RUN_ALL_PYTHON") or sys.executable
    if not (os.path.isfile(c.python) and os.access(c.python, os.X_OK)):
        raise Bad(f"RUN_ALL_PYTHON must be an executable file, got '{c.python}'")
    c.python = os.path.abspath(c.python)
    c.cifar_url = env.get("RUN_ALL_CIFAR_URL") or CIFAR_URL
    c.ngpu = whole(env["RUN_ALL_NGPU"], "RUN_ALL_NGPU") if env.get("RUN_ALL_NGPU") else gpus_found()
    c.counts = device_counts(a.gpus, c.ngpu)
    for name, value in (("--out", a.out), ("--cifar-data", a.cifar_data)):
        if value and "\n" in value:
            raise Bad(f"{name} must not hold a line break")
    c.cifar_data = None
    if a.cifar_data is not None:
        if not os.path.isdir(os.path.join(a.cifar_data, "cifar-10-batches-py")):
            raise Bad(f"--cifar-data: no cifar-10-batches-py/ in '{a.cifar_data}'")
        c.cifar_data = os.path.abspath(a.cifar_data)
    c.cifar_cache = os.path.join(env.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                                 "tf-api-bench", "cifar10")
    c.out = Path(os.path.abspath(a.out or ("results/quick" if a.quick else "results/latest")))
    if c.out.exists() and not c.out.is_dir():
        raise Bad(f"--out: '{c.out}' exists and is not a folder")
    c.variants = variants(a.variants)
    c.extra, c.extra_all = {}, []
    for key, value in env.items():
        if key == "RUN_ALL_EXTRA_ARGS" or key.startswith("RUN_ALL_EXTRA_ARGS_"):
            try:
                words = shlex.split(value)
            except ValueError as e:
                raise Bad(f"{key} is not a list of arguments: {e}") from None
            if key == "RUN_ALL_EXTRA_ARGS":
                c.extra_all = words
            else:
                c.extra[key[len("RUN_ALL_EXTRA_ARGS_"):]] = words
    c.plan = plan(c.counts, c.repeat, c.only, c.variants, c.ngpu)
    if not c.plan:
        raise Bad(f"--only '{c.only}' matches no cell"
                  + (f" of --variants {','.join(c.variants)}" if c.variants != [rules.BASE_VARIANT]
                     else "") + " (names look like cifar10-cnn.keras.g0, vgg16.keras.g0.amp)")
    return c


def variants(text):
    """The --variants list, each in its canonical spelling (Bad on a bad, empty or repeated one)."""
    if text is None:
        return [rules.BASE_VARIANT]
    out = []
    for word in text.split(","):
        word = word.strip()
        if not word:
            raise Bad(f"--variants: an empty entry in '{text}'")
        try:
            v = rules.canonical_variant(word)
        except ValueError as e:
            raise Bad(f"--variants: {e}") from None
        if v in out:
            raise Bad(f"--variants: {v} given twice" + (f" (as {word})" if word != v else ""))
        out.append(v)
    return out


def gpus_found():
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(line.startswith("GPU ") for line in out.stdout.splitlines())


def device_counts(text, ngpu):
    """The device counts to run: --gpus, or 1 2 4 ... up to all GPUs found (0 without GPUs)."""
    if text is None:
        if ngpu == 0:
            return [0]
        counts = [2 ** i for i in range(ngpu.bit_length()) if 2 ** i <= ngpu]
        return counts + ([ngpu] if counts[-1] != ngpu else [])
    counts = []
    for word in text.replace(",", " ").split():
        n = whole(word, f"--gpus: '{word}'")
        if n in counts:
            raise Bad(f"--gpus: device count {n} given twice")
        if ngpu and n > ngpu:
            raise Bad(f"--gpus: {n} devices asked, {ngpu} GPU(s) found")
        counts.append(n)
    if not counts:
        raise Bad("--gpus needs at least one device count")
    return counts


def selected(cell, only):
    pats = [p for p in only.split(",") if p]
    return not only or any(fnmatch.fnmatchcase(cell, p) or p in cell for p in pats)


def plannable(api, n, variant, ngpu):
    """Whether a cell of this API, device count and variant can run on a machine with `ngpu`
    GPUs: SINGLE_DEVICE_APIS only at 0 or 1, an API's variants only where it runs them
    (rules.runs_variant), and no XLA (a variant's or the API's own) with several replicas of
    Keras on TensorFlow or plain TensorFlow on the CPU (CPU_XLA_FRAMEWORKS)."""
    if n > 1 and api in SINGLE_DEVICE_APIS:
        return False
    if not rules.runs_variant(api, variant):
        return False
    xla = "xla" in rules.variant_parts(variant) + rules.INHERENT_PARTS.get(api, ())
    framework = rules.FRAMEWORK_OF.get(api, api)
    return not (xla and n > 1 and ngpu == 0 and framework in CPU_XLA_FRAMEWORKS
                and rules.BACKEND_OF.get(api, "tensorflow") == "tensorflow")


def plan(counts, repeat, only, variants=(rules.BASE_VARIANT,), ngpu=0):
    """[(repeat, cell)] in run order: per repeat, per task and device count, the selected APIs in
    API_ORDER rotated by one place per repeat, and each API's selected variants back to back, in
    the order given rotated by one place per repeat; only the cells that can run (plannable())."""
    runs = []
    for rep in range(1, repeat + 1):
        for task in rules.TASKS:
            for n in counts:
                blocks = []
                for api in API_ORDER:
                    cells = [rules.cell_name(task, api, n, v) for v in variants
                             if plannable(api, n, v, ngpu)]
                    cells = [cell for cell in cells if selected(cell, only)]
                    if cells:
                        blocks.append(rotated(cells, rep - 1))
                runs += [(rep, cell) for cells in rotated(blocks, rep - 1) for cell in cells]
    return runs


def rotated(items, k):
    k %= len(items) or 1
    return items[k:] + items[:k]


def mode_of(c, gpus):
    return "quick" if c.quick else "gpu" if gpus > 0 and c.ngpu > 0 else "cpu"


def command(c, cell):
    """(script, [arguments], mode, time limit) of a cell; the CIFAR data folder is
    CIFAR_PLACEHOLDER here (real_args() puts the folder in)."""
    task, api, gpus = rules.split_cell(cell)
    framework = rules.FRAMEWORK_OF.get(api, api)
    mode = mode_of(c, gpus)
    if task == "cifar10-cnn":
        script, args = f"cifar10-cnn-{framework}.py", [str(gpus)]
    else:
        script, args = f"imagenet-{framework}.py", [str(gpus), "--model", task]
    args += SETTINGS[task][mode].split()
    if task == "cifar10-cnn":
        args += ["--data", CIFAR_PLACEHOLDER]
    args += API_ARGS.get(api, [])
    for part in rules.variant_parts(rules.variant_of(cell)):
        args += VARIANT_ARGS[part]
    args += c.extra_all + c.extra.get(extra_key(cell), [])
    return script, args, mode, c.timeout or LIMIT_S[mode]


def extra_key(cell):
    """The suffix of a cell's RUN_ALL_EXTRA_ARGS_<...>: every character but ASCII letters and
    digits as _."""
    return re.sub(r"[^A-Za-z0-9]", "_", cell)


def cell_env(cell):
    """{name: value} a cell's variant sets in its run's environment."""
    parts = rules.variant_parts(rules.variant_of(cell))
    return dict(VARIANT_ENV[p].split("=", 1) for p in parts if p in VARIANT_ENV)


def env_words(env):
    """The `env NAME=VALUE ...` prefix that shows an environment in a printed command."""
    return ["env", *[f"{k}={v}" for k, v in env.items()]] if env else []


def real_args(args, data):
    return [data if a == CIFAR_PLACEHOLDER else a for a in args]


# ---- what makes a run ---------------------------------------------------------------------------
def sha(path):
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    except OSError:
        return "missing"


def git(*args):
    try:
        p = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                           timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return p.stdout.strip() if p.returncode == 0 else None


def dirty(out):
    """1 when git's tracked files (outside the output folder) have uncommitted edits, 0 when not,
    "unknown" outside a git tree."""
    exclude = []
    if out.is_relative_to(ROOT):
        exclude = [f":(exclude){out.relative_to(ROOT)}"] if out != ROOT else []
    status = git("status", "--porcelain", "--untracked-files=no", "--", ".", *exclude)
    return "unknown" if status is None else int(bool(status))


def host():
    """The host's CPU model, core count and GPU model (read here, on the machine that runs)."""
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
    except OSError:
        pass
    h = {"cpu": cpu or os.uname().machine, "cores": os.cpu_count()}
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30)
        names = sorted({l.strip() for l in out.stdout.splitlines() if l.strip()})
        if out.returncode == 0 and names:
            h["gpu_model"] = "/".join(names)
    except (OSError, subprocess.SubprocessError):
        pass
    return h


def interpreter_versions(python):
    """The versions the interpreter has installed (tools/versions.py run by it): what a run made
    now would report in its versions line."""
    try:
        out = subprocess.run([python, str(ROOT / "tools" / "versions.py")], capture_output=True,
                             text=True, timeout=120, cwd=ROOT)
    except (OSError, subprocess.SubprocessError) as e:
        raise Bad(f"RUN_ALL_PYTHON: cannot run {python}: {e}") from None
    for line in out.stdout.splitlines():
        p = rules.parse_line(line, kinds=("versions",))
        if p:
            return {k: str(v) for k, v in p[1].items()}
    raise Bad(f"the interpreter {python} cannot report its library versions "
              f"(tools/versions.py: {(out.stderr.strip().splitlines() or ['no output'])[-1]})")


def install_command(python, requirements):
    """How to install a requirements file into the benchmarks' interpreter: its pip beside it
    (shown relative to the repository when it lies inside, e.g. .venv/bin/pip), else python -m
    pip."""
    pip = Path(python).parent / "pip"
    if pip.is_file():
        shown = os.path.relpath(pip, ROOT) if Path(python).is_relative_to(ROOT) else str(pip)
        return f"{shown} install -r {requirements}"
    return f"{python} -m pip install -r {requirements}"


def missing_backends(c, versions):
    """{api: why its cells are skipped} for the backend APIs whose library the benchmarks'
    interpreter has not installed (its versions probe, tools/versions.py, lists what is)."""
    out = {}
    for api, lib in BACKEND_NEEDS.items():
        requirements = bench.REQUIREMENTS[lib]
        if lib not in versions:
            out[api] = (f"{lib} not installed; to run these cells: "
                        f"{install_command(c.python, requirements)}")
    return out


def skip_reason(cell, cifar_why, backends):
    """'' or why a planned run cannot be made: its backend is not installed, no CIFAR data."""
    api = rules.split_cell(cell)[1]
    if api in backends:
        return backends[api]
    return cifar_why if cell.startswith("cifar10-cnn.") else ""


def wants(c, cells, data_generated):
    """{cell: the run-line keys a kept run must match} and {peak log: the peak probe's}."""
    made = {"python": c.python, "bench_sha": sha(ROOT / "bench.py"), "dirty": dirty(c.out),
            **host()}
    out = {}
    for cell in cells:
        script, args, mode, _ = command(c, cell)
        want = {"mode": mode, "args": " ".join([script, *args])}
        if cell_env(cell):
            want["env"] = " ".join(env_words(cell_env(cell))[1:])
        want.update(script_sha=sha(ROOT / script), **made)
        if cell.startswith("cifar10-cnn.") and data_generated is not None:
            want["data_generated"] = int(data_generated)
        out[cell] = want
    peaks = {}
    for name, env in peak_probes(c).items():
        peaks[name] = {"mode": "quick" if c.quick else "gpu" if c.ngpu else "cpu",
                       "args": "tools/peak.py" + (" --quick" if c.quick else ""),
                       **({"env": " ".join(env_words(env)[1:])} if env else {}),
                       **{k: made[k] for k in ("python", "cpu", "cores", "gpu_model") if k in made}}
    return out, peaks


def peak_probes(c):
    """{peak log: the environment its probe runs with}: the peak is measured under the oneDNN
    setting of the cells it serves: logs/peak.log in the sweep's environment for the variants
    without onednn, logs/peak.onednn.log under TF_ENABLE_ONEDNN_OPTS=1 for those with it (one
    probe when every planned variant agrees)."""
    onednn = {"onednn" in rules.variant_parts(rules.variant_of(cell)) for _, cell in c.plan}
    probes = {}
    if False in onednn:
        probes["peak.log"] = {}
    if True in onednn:
        probes["peak.onednn.log"] = dict([rules.ONEDNN_ENV.split("=", 1)])
    return probes


# ---- files ---------------------------------------------------------------------------------------
def write_atomic(path, text):
    """Write a whole file under a temporary name and rename it: never half-written."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_plan(c, want, peaks, versions):
    """DIR/plan.txt (the runs in order) and DIR/settings.txt (what made each cell's runs and each
    peak log)."""
    write_atomic(c.out / "plan.txt", "".join(f"r{rep} {cell}\n" for rep, cell in c.plan))
    lines = ["# written by run_all.sh (tools/sweep.py): what each cell of plan.txt must be made",
             "# by; tools/collect.py counts only the logs made so"]
    lines += [rules.format_line("peak_probe", {"log": name, **w}) for name, w in peaks.items()]
    lines += [rules.format_line("versions", versions)]
    lines += [rules.format_line("cell", {"cell": cell, **w}) for cell, w in want.items()]
    write_atomic(c.out / "settings.txt", "\n".join(lines) + "\n")


def move_aside(path):
    """Move a log into logs/old/ under a new, unused name; returns the new path."""
    old = path.parent / "old"
    old.mkdir(exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
    stem = path.name[:-4]
    for i in range(1000):
        dest = old / f"{stem}.{stamp}{f'-{i}' if i else ''}.log"
        if not dest.exists():
            path.rename(dest)
            return dest
    raise OSError(f"no free name in {old} for {path.name}")


def usable(path, want, versions, is_peak=False):
    """Whether a log can stand for a planned run: ok by the one rule (for the peak: a peak line)
    and made as the plan wants (its run line; the versions its run printed)."""
    try:
        if is_peak:
            found, run = rules.peak_lines(path)
            return bool(found) and not rules.made_otherwise({"run": run}, want)
        rec = rules.read_log(str(path))
    except OSError:
        return False
    return rec["status"] == "ok" and not rules.made_otherwise(rec["lines"], want, versions)


def kept(logs, name, want, versions, is_peak=False):
    """The log of a planned run that needs no new run: logs/NAME, or the newest usable one in
    logs/old/ (moved back, the current one moved aside); None when the run must be made."""
    current = logs / name
    if current.is_file() and usable(current, want, versions, is_peak):
        return current
    aside = re.compile(re.escape(name[:-4]) + r"\.\d{8}T\d{6}(-\d+)?\.log")  # move_aside's
    for path in sorted((logs / "old").glob(f"{name[:-4]}.*.log"), reverse=True):
        if aside.fullmatch(path.name) and usable(path, want, versions, is_peak):
            if current.exists():
                move_aside(current)
            path.rename(current)
            return current
    return None


# ---- one run -------------------------------------------------------------------------------------
class State:
    """What the signal handlers change: the exit status of a signal, and the running child (and
    the lock file its processes are marked with)."""
    signal_rc = 0
    child = None
    lock_path = None


MARK = "RUN_ALL_LOCK"  # in every benchmark process's environment: the lock file of its sweep


def on_signal(signum, frame):
    State.signal_rc = State.signal_rc or 128 + signum
    if State.child is not None:
        end_group(State.child.pid, signal.SIGTERM)


def end_group(pgid, sig=signal.SIGKILL):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def die_with_parent():
    """In the child before it runs the benchmark: SIGKILL it when the sweep dies (Linux)."""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def run_child(cmd, log, limit, lock_fd, env=None):
    """Run cmd in a new session with its output appended to log, with `env` ({name: value}) added
    to the sweep's environment; returns (rc, timed_out). At the time limit, or on a signal to the
    sweep, the whole group gets SIGTERM, then SIGKILL after a grace; after the child exits,
    whatever its group left running is killed. rc: the exit code, 128 + N for signal N, 124 when
    timed out."""
    with open(log, "ab") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=ROOT, start_new_session=True, pass_fds=(lock_fd,),
                                preexec_fn=die_with_parent,
                                env={**os.environ, **(env or {}), MARK: str(State.lock_path)})
    State.child = proc
    write_lock(lock_fd, group=proc.pid)
    start, stop_at, timed_out = time.monotonic(), None, False
    if State.signal_rc:
        on_signal(State.signal_rc - 128, None)
    while True:
        try:
            rc = proc.wait(timeout=0.1)
            break
        except subprocess.TimeoutExpired:
            pass
        now = time.monotonic()
        if stop_at is None and State.signal_rc:
            stop_at = now + INTERRUPT_GRACE_S
        if stop_at is None and now - start >= limit:
            timed_out, stop_at = True, now + KILL_GRACE_S
            end_group(proc.pid, signal.SIGTERM)
        if stop_at is not None and now >= stop_at:
            end_group(proc.pid, signal.SIGKILL)
    end_group(proc.pid)  # whatever the run left behind
    State.child = None
    write_lock(lock_fd)
    return (124 if timed_out else 128 - rc if rc < 0 else rc), timed_out


def other_cpu(seconds, psutil):
    """Cores kept busy by other work during `seconds` while nothing of the sweep runs (psutil's
    system-wide CPU use); None when interrupted."""
    psutil.cpu_percent(None)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if State.signal_rc:
            return None
        time.sleep(min(0.05, max(0.0, end - time.monotonic())))
    return round(psutil.cpu_percent(None) / 100 * (os.cpu_count() or 1), 2)


def load1():
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return "na"


def end_line(log):
    """End the log's last line (a killed progress bar leaves none)."""
    with open(log, "rb+") as f:
        size = f.seek(0, 2)
        if size and f.seek(size - 1) >= 0 and f.read(1) != b"\n":
            f.write(b"\n")


def verdict_of(log, cell, rc):
    """(status, reason, images/sec) of a run that just ended: the one rule (rules.verdict)."""
    end_line(log)
    status, reason, ips, _ = rules.judge(log, *rules.split_cell(cell), rc,
                                         variant=rules.variant_of(cell))
    if rc == 137 and status == "failed":
        reason = f"killed by SIGKILL (rc 137: out of memory?); {reason}"
    return status, reason, ips


def append(log, kind, kv):
    with open(log, "a") as f:
        f.write(rules.format_line(kind, kv) + "\n")


def say(*args, file=None):
    """print, flushed; a closed terminal (SIGHUP) or pipe does not stop the sweep."""
    try:
        print(*args, file=file or sys.stdout, flush=True)
    except OSError:
        pass


def hms(seconds):
    s = int(seconds)
    if s >= 3600:
        return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
    return f"{s // 60}:{s % 60:02d}"


# ---- CIFAR-10 data -------------------------------------------------------------------------------
def cifar_data(c):
    """(folder or None, why it is missing or ''): --cifar-data, else the cache, downloaded there
    when missing."""
    if c.cifar_data:
        return c.cifar_data, ""
    cache = Path(c.cifar_cache)
    if not (cache / "cifar-10-batches-py").is_dir():
        say(f"CIFAR-10: no data in {cache}, downloading {c.cifar_url} ...")
        try:
            download(c.cifar_url, cache)
            say(f"CIFAR-10: extracted into {cache}")
        except Exception as e:  # noqa: BLE001 (any failure: the CIFAR cells are skipped)
            why = (f"no CIFAR-10 data: download of {c.cifar_url} failed ({str(e)[:150]}); pass "
                   "--cifar-data DIR (a folder holding cifar-10-batches-py/), or write generated "
                   "data with tools/make_cifar_data.py DIR and pass that (its figures are labelled "
                   "generated)")
            say(f"CIFAR-10 cells SKIPPED: {why}")
            return None, why
    return str(cache), ""


def download(url, cache):
    import tarfile
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        path = os.path.join(tmp, "cifar.tar.gz")
        with urllib.request.urlopen(url, timeout=20) as r, open(path, "wb") as f:
            shutil.copyfileobj(r, f)
        with tarfile.open(path) as t:
            t.extractall(tmp, filter="data")
        os.rename(os.path.join(tmp, "cifar-10-batches-py"), cache / "cifar-10-batches-py")


# ---- the lock ------------------------------------------------------------------------------------
def take_lock(out, psutil):
    """An fcntl lock on DIR/.run_all.lock, held by the sweep and every benchmark it starts (they
    inherit the descriptor). A sweep killed with SIGKILL leaves its pid and its benchmark's process
    group in the file: what is left of that group (its processes that carry this lock's MARK, so
    that a process group id reused since is never touched) is ended before this sweep runs
    anything."""
    path = State.lock_path = out / ".run_all.lock"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise Bad(f"--out: cannot write '{path}': {e.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = lock_info(fd).get("pid", "?")
        raise Bad(f"'{out}' is in use by another run_all.sh (pid {holder}) or a benchmark it "
                  "started; wait for it to end or use another --out") from None
    prev = lock_info(fd)
    if prev.get("pid"):
        say("run_all: taking over the lock of an earlier sweep that did not end "
            f"(pid {prev['pid']})")
        left = leftovers(prev.get("group"), path, psutil)
        if left:
            say(f"run_all: ending what its benchmark left running (process group {prev['group']}: "
                f"{len(left)} process{'es' if len(left) != 1 else ''})")
            end_group(prev["group"])
    write_lock(fd)
    return fd


def leftovers(group, path, psutil):
    """The pids of process group `group` that a sweep on this lock file started."""
    found = []
    for p in psutil.process_iter():
        try:
            if group and os.getpgid(p.pid) == group and p.environ().get(MARK) == str(path):
                found.append(p.pid)
        except (psutil.Error, OSError):
            continue
    return found


def write_lock(fd, group=None):
    """The lock file: this sweep's pid, and the process group of the benchmark running now."""
    line = rules.format_line("sweep", {"pid": os.getpid(), **({"group": group} if group else {})})
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{line}\n".encode(), 0)


def lock_info(fd):
    p = rules.parse_line(os.pread(fd, 4096, 0).decode(errors="replace"), kinds=("sweep",))
    return {k: v for k, v in (p[1] if p else {}).items() if isinstance(v, int) and v > 0}


def now_iso():
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


# ---- the sweep -----------------------------------------------------------------------------------
def estimate(c, todo):
    """(seconds or None, how it was estimated) for the runs in todo, from the wall_s of earlier
    runs in DIR made in the same mode: a cell's own median, else the median of all of them."""
    walls = {}
    for path in sorted((c.out / "logs").glob("**/*.log")):
        _, lines, _ = rules.read_lines(path)
        run, wall = lines.get("run", {}), lines.get("run_end", {}).get("wall_s")
        parts = rules.split_cell(str(run.get("cell")))
        if parts and rules.is_number(wall) and wall > 0 and run.get("mode") == mode_of(c, parts[2]):
            walls.setdefault(run["cell"], []).append(wall)
    if not walls:
        return None, "no earlier run in DIR"
    every = statistics.median([w for ws in walls.values() for w in ws])
    total = sum(statistics.median(walls.get(cell, [every])) for _, cell in todo)
    return total, f"from {sum(map(len, walls.values()))} earlier runs in DIR"


def dry_run(c):
    say(f"plan ({len(c.plan)} runs, GPUs found: {c.ngpu}, device counts: "
        f"{' '.join(map(str, c.counts))}, repeats: {c.repeat}"
        + (f", variants: {','.join(c.variants)}" if c.variants != [rules.BASE_VARIANT] else "")
        + f") -> {c.out} (nothing written)")
    data = c.cifar_data or CIFAR_PLACEHOLDER
    try:
        backends = missing_backends(c, interpreter_versions(c.python))
    except Bad as e:
        backends = {}
        say(f"note: cannot tell which Keras backends are installed ({e})")
    for api, why in backends.items():
        say(f"{api}: SKIPPED when run: {why}")
    limits = 0
    for rep, cell in c.plan:
        script, args, _, limit = command(c, cell)
        skip = rules.split_cell(cell)[1] in backends
        limits += 0 if skip else limit
        shown = env_words(cell_env(cell)) + [script, *real_args(args, data)]
        say(f"r{rep} {cell}: {' '.join(shown)}  "
            + ("(SKIPPED: not installed)" if skip else f"(time limit {limit}s)"))
    for name, env in peak_probes(c).items():
        probe = env_words(env) + ["tools/peak.py"] + (["--quick"] if c.quick else [])
        say(f"peak: {' '.join(probe)} -> logs/{name}  (time limit {PEAK_LIMIT_S}s)")
    runs = [rc for rc in c.plan if rules.split_cell(rc[1])[1] not in backends]
    seconds, how = estimate(c, runs)
    say(f"estimate: {'~' + hms(seconds) if seconds is not None else 'unknown'} ({how}); "
        f"the time limits allow at most {hms(limits)}")
    if seconds is not None and len(c.variants) > 1:
        each = [f"{v} ~{hms(estimate(c, [rc for rc in runs if rules.variant_of(rc[1]) == v])[0])}"
                for v in c.variants if any(rules.variant_of(cell) == v for _, cell in runs)]
        say(f"estimate per variant: {', '.join(each)}")
    return 0


def sweep(c):
    import psutil  # the environment's (requirements.txt); the dry run and --help need none
    try:
        (c.out / "logs").mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise Bad(f"--out: cannot create '{c.out / 'logs'}': {e.strerror}") from None
    lock_fd = take_lock(c.out, psutil)
    try:
        return sweep_locked(c, lock_fd, psutil)
    finally:  # a crash, too, leaves no benchmark process and a free lock
        if State.child is not None:
            end_group(State.child.pid)
        os.ftruncate(lock_fd, 0)  # an empty lock file: the last sweep ended


def sweep_locked(c, lock_fd, psutil):
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    logs = c.out / "logs"
    cells = list(dict.fromkeys(cell for _, cell in c.plan))
    data, skip_why = (None, "")
    if any(cell.startswith("cifar10-cnn.") for cell in cells):
        data, skip_why = cifar_data(c)
    generated = os.path.exists(os.path.join(data, "GENERATED")) if data else None
    if generated:
        say(f"CIFAR-10: {data} holds generated CIFAR-format data; its figures are labelled so")
    versions = interpreter_versions(c.python)
    c.missing = missing_backends(c, versions)
    for api, why in c.missing.items():
        if any(rules.split_cell(cell)[1] == api for cell in cells):
            say(f"{api} cells SKIPPED: {why}")
    want, peak_wants = wants(c, cells, generated)
    write_plan(c, want, peak_wants, versions)
    todo = [(rep, cell) for rep, cell in c.plan
            if not kept(logs, f"{cell}.r{rep}.log", want[cell], versions)]
    say(f"run_all: {len(c.plan)} runs planned ({len(c.plan) - len(todo)} done already), settings: "
        f"{mode_of(c, 1)}, GPUs found: {c.ngpu}, device counts: "
        f"{' '.join(map(str, c.counts))}, repeats: {c.repeat}, variants: {','.join(c.variants)}, "
        f"out: {c.out}")
    commit = git("rev-parse", "--short", "HEAD") or "unknown"

    for name, env in peak_probes(c).items():
        if not kept(logs, name, peak_wants[name], None, is_peak=True):
            measure_peak(c, logs / name, peak_wants[name], env, lock_fd)

    failed, done, run_seconds, t0 = False, 0, 0.0, time.monotonic()
    for k, (rep, cell) in enumerate(c.plan, 1):
        if State.signal_rc:
            break
        tag = f"run {k} of {len(c.plan)}: {cell} repeat {rep}"
        if (rep, cell) not in todo:
            say(f"{tag}: done already, kept")
            continue
        left = hms(run_seconds / done * (len(todo) - done)) if done else "?"
        say(f"{tag}  elapsed {hms(time.monotonic() - t0)}  left {left}")
        began = time.monotonic()
        status = run_one(c, rep, cell, want[cell], data, skip_why, commit, lock_fd, psutil)
        if status is None:  # interrupted before it started
            break
        failed |= status == "failed" or status == "interrupted"
        done += 1
        run_seconds += time.monotonic() - began

    if State.signal_rc:
        say("interrupted: finished logs are kept; collecting what exists ...")
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)  # let the collector finish
    crc = collect(c.out)
    say(f"results: {c.out / 'results.md'} (and results.csv, results.json, results.png); "
        f"logs: {logs}")
    if State.signal_rc:
        return State.signal_rc
    if crc == 3:
        say(f"run_all: FAIRNESS MISMATCH between the APIs, see {c.out / 'results.md'}",
            file=sys.stderr)
        return 3
    return 1 if failed or crc != 0 else 0


def measure_peak(c, log, want, env, lock_fd):
    """tools/peak.py into `log` (a run line first, as for a cell), under `env`."""
    if log.exists():
        move_aside(log)
    shown = " ".join(env_words(env) + [want["args"]])
    say(f"measuring the matmul peak of each precision ({shown}) -> logs/{log.name} ...")
    log.write_text(rules.format_line("run", {"cell": "peak", "repeat": 1, "start": now_iso(),
                                             **want}) + "\n")
    rc, _ = run_child([c.python, *want["args"].split()], log, PEAK_LIMIT_S, lock_fd, env=env)
    found = rules.peak_lines(log)[0]
    for line in found:
        say(rules.format_line("peak", line))
    if not found:
        say(f"peak: no result (rc {rc}), see {log}")


def run_one(c, rep, cell, want, data, skip_why, commit, lock_fd, psutil):
    """Make one planned run and record it; returns its status (None: interrupted before it
    started, nothing written)."""
    script, args, mode, limit = command(c, cell)
    log = c.out / "logs" / f"{cell}.r{rep}.log"
    skip = skip_reason(cell, skip_why, getattr(c, "missing", {}))
    busy = None if skip else other_cpu(c.idle_s, psutil)
    if State.signal_rc:
        return None
    if log.exists():  # failed, interrupted, skipped or made otherwise: kept aside in logs/old/
        move_aside(log)
    full = [c.python, script, *real_args(args, data or CIFAR_PLACEHOLDER)]
    # the code this run runs, hashed as it starts: an edit during the sweep is recorded, not hidden
    now = {"script_sha": sha(ROOT / script), "bench_sha": sha(ROOT / "bench.py")}
    if any(now[k] != want[k] for k in now):
        say("    note: the script or bench.py changed since the sweep started; this run records "
            "what it runs, and the collector will not count it for this plan")
    head = {"cell": cell, "repeat": rep, "start": now_iso(), "load1": load1(),
            "other_cpu": busy if busy is not None else "na", "timeout_s": limit, "commit": commit,
            **want, **now}
    if data and cell.startswith("cifar10-cnn."):
        head["data"] = data
    head["cmd"] = shlex.join(env_words(cell_env(cell)) + full)
    log.write_text(rules.format_line("run", head) + "\n")
    end = {"cell": cell, "repeat": rep}
    if skip:
        append(log, "run_end", {**end, "rc": "na", "status": "skipped", "wall_s": 0,
                                "reason": skip})
        say("    SKIPPED: " + (skip if rules.split_cell(cell)[1] in getattr(c, "missing", {})
                               else "no CIFAR-10 data (see --help: --cifar-data)"))
        return "skipped"
    began = time.monotonic()
    ips = None
    if not (ROOT / script).is_file():
        rc, status, reason = "na", "failed", f"script not found: {script}"
        log.open("a").write(reason + "\n")
    else:
        rc, timed_out = run_child(full, log, limit, lock_fd, env=cell_env(cell))
        if State.signal_rc:
            status = "interrupted"
            reason = f"interrupted (signal to run_all.sh; exit {State.signal_rc})"
        elif timed_out:
            status, reason = "failed", f"timed out after {limit}s"
        else:
            status, reason, ips = verdict_of(log, cell, rc)
    wall = round(time.monotonic() - began, 1)
    after = None if State.signal_rc else other_cpu(c.idle_s, psutil)
    end.update(rc=rc, status=status, load1=load1(), other_cpu=after if after is not None else "na",
               wall_s=wall)
    if reason:
        end["reason"] = reason
    end_line(log)
    append(log, "run_end", end)
    if status == "ok":
        say(f"    ok: {ips} images/sec ({wall} s)")
    else:
        say(f"    {status.upper()}: {reason} (log: {log})")
    return status


def collect(out):
    """tools/collect.py DIR in its own process; its exit status. When it fails (not 0, 1 or 3),
    the results it did not replace are marked stale."""
    rc = subprocess.run([sys.executable, str(COLLECTOR), str(out)], cwd=ROOT).returncode
    if rc in (0, 1, 3):
        return rc
    mark_stale(out, f"the collector failed (exit {rc}) at {now_iso()}")
    return rc


def mark_stale(out, why):
    """Mark the results of an earlier collection as stale (results.md's first line, results.json's
    "stale" key), each file rewritten whole."""
    md = out / "results.md"
    if md.is_file():
        text = md.read_text()
        if text.startswith("> **STALE"):
            text = text.split("\n\n", 1)[-1]
        write_atomic(md, f"> **STALE: {why}. These results are from an earlier collection and "
                         "may not match the logs.**\n\n" + text)
    js = out / "results.json"
    if js.is_file():
        import json
        try:
            data = json.loads(js.read_text())
            data["stale"] = why
            write_atomic(js, json.dumps(data, indent=1))
        except ValueError:
            pass
    print(f"run_all: results marked stale: {why}", file=sys.stderr)


def main(argv=None, env=None):
    try:
        c = config(sys.argv[1:] if argv is None else argv, os.environ if env is None else env)
        return dry_run(c) if c.dry_run else sweep(c)
    except Bad as e:
        print(f"run_all.sh: error: {e}", file=sys.stderr)
        return 2
    except ImportError as e:
        print(f"run_all.sh: error: {e.name} is not installed in {sys.executable}; run "
              "./run_all.sh, "
              "which sets up .venv", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
