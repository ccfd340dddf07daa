"""The collector's rules, importable without matplotlib (tools/collect.py writes the report).

- parsing: the logfmt lines of a sweep's logs (parse_line, convert, read_lines, read_log);
- the one rule for "ok" (verdict, timed_epochs), shared by the collector and run_all.sh;
- which logs count: file name and `run` line (log_identity), plan.txt and settings.txt (read_plan,
  settings_differ, read_sweep), the peaks per precision (read_peaks, peak_for), busy-machine
  flags (load_warning);
- fairness: the must-be-equal keys of the `model` lines (FAIR_KEYS, ALIASES, norm_value,
  fairness) and the API properties shown but not compared (API_KEYS, api_properties);
- the winner: paired ratios per repeat against the A/A noise band (paired, aa_ratios, pair_ratio,
  decide, false_winner_chance, fastest, cell_stats, single_gpus, is_quick);
- variants (VARIANT_PARTS, canonical_variant, variant_parts, cell_name): a cell's variant is the
  last part of its name (<task>.<api>.g<N>.<variant>, none for fp32); the verdict fails a run whose
  model line contradicts it (variant_problem), every grouping above is per task, device count and
  variant, and variant_ratio pairs two variants of one cell by repeat (the speed-up table);
- the APIs beyond the three compared (BACKEND_APIS, FLOOR_API): Keras on JAX and on torch and Keras
  with XLA run the Keras script (FRAMEWORK_OF), their model line's backend= must be theirs
  (BACKEND_OF, backend_problem), XLA is part of keras-jax's and keras-xla's every variant
  (INHERENT_PARTS), the variants each runs (API_PARTS, runs_variant) and the keys that are the
  backend, not compared (UNCOMPARED); plain TensorFlow (tf) is the floor every API is paired with;
- the per-step overhead task (OVERHEAD_TASK: tiny): ms per step from a run's global batch and
  images/sec (step_ms, step_stats), an API's ms/step less another's paired by repeat
  (step_difference); results.md shows only the planned tasks and APIs (planned_tasks,
  planned_apis).
"""
import math
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flops  # noqa: E402  (tools/flops.py, pure arithmetic)

KINDS = ("model", "throughput", "summary", "versions", "run", "run_end", "peak")
# tiny: the per-step overhead task (the ImageNet scripts' --model tiny: a step's compute well under
# a millisecond, so its time per step is what an API costs beyond the compute)
TASKS = ("cifar10-cnn", "alexnet", "vgg16", "resnet50", "tiny")
OVERHEAD_TASK = "tiny"
APIS = ("tensorpack", "keras", "tflearn")  # the APIs compared (a winner is named among these)
AA_API = "keras-aa"  # the A/A run: Keras's script run a second time in each repeat (noise band)
# Keras 3 on other backends (the Keras scripts with --backend jax|torch) and Keras on TensorFlow
# with XLA (--xla): JAX always compiles, so it is compared with Keras on TensorFlow with and
# without XLA. Their ratios are against Keras (results.md, "Keras backends and XLA").
BACKEND_APIS = ("keras-jax", "keras-torch", "keras-xla")
FLOOR_API = "tf"  # plain TensorFlow (cifar10-cnn-tf.py, imagenet-tf.py): the floor column
# Every API, in the order of the results' columns (the A/A run is never a column).
SHOWN_APIS = APIS + BACKEND_APIS + (FLOOR_API,)
# The framework= a cell's model line must name, for an API whose runs use another API's script
# (keras-aa: a second Keras run, for an A/A comparison; the backends and XLA: the Keras script
# with --backend or --xla); every other API names itself.
FRAMEWORK_OF = {AA_API: "keras", "keras-jax": "keras", "keras-torch": "keras",
                "keras-xla": "keras"}
# The backend= a Keras cell's model line must name (a Keras model line without one, from an older
# log, counts as tensorflow), and the library a backend needs in the sweep's interpreter.
BACKEND_OF = {"keras": "tensorflow", AA_API: "tensorflow", "keras-xla": "tensorflow",
              "keras-jax": "jax", "keras-torch": "torch"}
# Variant parts an API always has: JAX compiles every step with XLA, keras-xla is Keras with --xla.
INHERENT_PARTS = {"keras-jax": ("xla",), "keras-xla": ("xla",)}
# The variant parts each API runs (others: every part). keras-jax: amp and nchw (no xla: it always
# compiles; no onednn: TensorFlow's setting, JAX does not read it); keras-xla: all but xla (it is
# the xla); keras-torch: fp32 only (its mixed precision and layouts are untested here).
API_PARTS = {"keras-jax": ("amp", "nchw"), "keras-xla": ("amp", "onednn", "nchw"),
             "keras-torch": ()}
# Fingerprint keys that are the API, not a setting, for these APIs: compared for every other
# API, never for these (XLA: JAX and keras-xla always compile; oneDNN and the intra-op threads:
# TensorFlow's CPU runtime, which the JAX and torch backends do not run: their scripts say n/a).
UNCOMPARED = {"keras-xla": ("xla",), "keras-jax": ("xla", "onednn", "intra_threads"),
              "keras-torch": ("xla", "onednn", "intra_threads")}
KNOWN_APIS = tuple(dict.fromkeys(APIS + (AA_API,) + BACKEND_APIS + (FLOOR_API,)))
# The model line's keys that must be equal across the APIs of a task and device count (CONTRACT.md),
# and the keys that are properties of an API, shown in results.md and never compared: how a batch
# reaches the device (queue, queue+staging, tf.data, feed_dict), batch norm (fused, composite,
# none) and the kind of variables (resource, reference).
FAIR_KEYS = ("replicas", "device", "batch", "image_size", "optimizer", "params", "lr", "rho",
             "momentum", "epsilon", "clip", "dtype", "loss_scale", "data_format", "intra_threads",
             "xla", "onednn")
API_KEYS = ("input", "bn", "variables")
# Each framework spells a value its own way (the scripts read it from the live objects): the
# update kernel's name (tensorpack, tflearn: RMSProp, GradientDescent) or the Keras optimizer's
# class (RMSprop, SGD); TF's layout names or Keras's. Compared lower-case, through these aliases.
ALIASES = {"optimizer": {"gradientdescent": "sgd"},
           "data_format": {"nhwc": "channels_last", "nchw": "channels_first"},
           "xla": {"on": "true", "off": "false"}, "onednn": {"on": "true", "off": "false"}}
ZERO_IS_NONE = ("lr", "rho", "momentum", "epsilon", "clip")  # "none when zero or not used"
MAX_FALSE_WINNER = 0.05  # the largest chance, under pure noise, of the pattern that names a winner
OTHER_CPU_LIMIT = 0.5  # cores busy with other work before/after a run -> warning
GENERATED_LABEL = "generated CIFAR-format data"
MAX_DIGITS = 17  # a float64 never needs more significant digits: a longer number is no measurement
MAX_IMAGES_PER_SEC = 1e7  # no CNN here trains ten million images a second on one machine
# What made a run, in its `run` line (written by tools/sweep.py) and its `versions` line (printed by
# the run): a folder whose counted runs differ in one of these mixes runs of different makers.
MAKER_KEYS = ("cpu", "cores", "gpu_model", "python", "bench_sha", "dirty")
TAGS = ("framework", "task", "gpus")  # the keys every line of a run names itself by

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_PAIR = re.compile(r'([A-Za-z_][\w.-]*)=("(?:[^"\\]|\\.)*"|\S*)')
_GLOG = re.compile(r"^[IWEF]\d{4} ")  # TensorFlow's C++ log prefix: not a Python error
_ERROR = re.compile(r"(\b\w*(Error|Exception)\b|\berror:|Killed|Traceback)")
_LOGNAME = re.compile(r"^(?P<cell>.+)\.r(?P<rep>\d+)$")
_CELL = re.compile(r"(?P<task>[^.]+)\.(?P<api>[^.]+)\.g(?P<gpus>\d+)(?:\.(?P<variant>[^.]+))?")
_PEAK_LOG = re.compile(r"peak(\.[\w+-]+)?\.log")  # logs/peak.log, logs/peak.onednn.log

# ---- variants: what a cell runs besides its task, API and device count --------------------------
# A variant is fp32 (the scripts' defaults) or a set of parts joined by "+", in this order: amp
# (--amp: mixed precision), xla (--xla), onednn (TF_ENABLE_ONEDNN_OPTS=1 in the run's environment),
# nchw (--data-format channels_first; not tflearn, whose layers are NHWC only).
BASE_VARIANT = "fp32"
VARIANT_PARTS = ("amp", "xla", "onednn", "nchw")
NHWC_ONLY_APIS = ("tflearn",)
ONEDNN_ENV = "TF_ENABLE_ONEDNN_OPTS=1"
MIXED_DTYPES = ("bfloat16", "float16")


# ---- parsing ------------------------------------------------------------------------------------
def convert(v):
    """A logfmt value as int, float or str: a number only if finite and of at most MAX_DIGITS
    significant digits (anything else stays text, so no rule takes it for a measurement)."""
    if len(re.sub(r"^[-+]?0*|[.]|[eE].*$", "", v).lstrip("0")) > MAX_DIGITS:
        return v
    if re.fullmatch(r"[-+]?\d+", v):
        return int(v)
    try:
        f = float(v)
        return f if math.isfinite(f) else v
    except ValueError:
        return v


def format_value(v):
    """A value as a logfmt line holds it: bare when it has no space, quote, backslash or '=',
    else double-quoted with backslash escapes (line breaks become spaces)."""
    s = str(v).replace("\r", " ").replace("\n", " ")
    if s and not re.search(r'[\s"\\=]', s):
        return s
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_line(kind, kv):
    """The logfmt line `kind key=value ...` that parse_line reads back."""
    return " ".join([kind] + [f"{k}={format_value(v)}" for k, v in kv.items()])


def parse_line(line, kinds=KINDS, raw=False):
    """(kind, {key: value}) for a logfmt line of one of `kinds`, else None; values as numbers
    where they are (convert), or all as text with raw=True."""
    line = _ANSI.sub("", line.rstrip("\r\n")).rsplit("\r", 1)[-1].strip()
    head, _, rest = line.partition(" ")
    if head not in kinds:
        return None
    kv = {}
    for m in _PAIR.finditer(rest):
        v = m.group(2)
        if v.startswith('"') and v.endswith('"') and len(v) >= 2:
            v = re.sub(r"\\(.)", r"\1", v[1:-1])
            kv[m.group(1)] = v
        else:  # a versions line's values are names (0.10 is not 0.1)
            kv[m.group(1)] = v if raw or head == "versions" else convert(v)
    return (head, kv) if kv else None


def error_line(lines):
    """The last line of a log that looks like an error (Python's, not TF's C++ logging)."""
    for line in reversed(lines):
        s = _ANSI.sub("", line).strip()
        if s and not _GLOG.match(s) and _ERROR.search(s) and s != "Traceback (most recent call last):":
            return s[:300]
    return ""


def split_cell(cell):
    """(task, api, gpus) of a cell name <task>.<api>.g<N>[.<variant>], or None if it is not one
    (or its variant is not a canonical one: variant_of says which)."""
    m = _CELL.fullmatch(str(cell))
    if not m or (m.group("variant") is not None and not is_variant_suffix(m.group("variant"))):
        return None
    return m.group("task"), m.group("api"), int(m.group("gpus"))


def variant_of(cell):
    """The variant of a cell name: its fifth part, BASE_VARIANT when it has none; None when the
    name is no cell name or its variant is not canonical."""
    m = _CELL.fullmatch(str(cell))
    if not m:
        return None
    v = m.group("variant")
    return BASE_VARIANT if v is None else v if is_variant_suffix(v) else None


def is_variant_suffix(v):
    """A variant that a cell name may end with: canonical, and not fp32 (fp32 cells have none)."""
    try:
        return canonical_variant(v) == v != BASE_VARIANT
    except ValueError:
        return False


def canonical_variant(name):
    """The canonical spelling of a variant (parts in VARIANT_PARTS order: xla+amp -> amp+xla), or
    ValueError with what is wrong with it."""
    if name == BASE_VARIANT:
        return name
    if not name:
        raise ValueError("an empty variant")
    parts = name.split("+")
    for part in parts:
        if part == BASE_VARIANT:
            raise ValueError(f"'{name}': fp32 is the variant without parts, it joins no other")
        if part not in VARIANT_PARTS:
            raise ValueError(f"'{name}': unknown part '{part}' (parts: {', '.join(VARIANT_PARTS)}, "
                             "joined by +; or fp32)")
        if parts.count(part) > 1:
            raise ValueError(f"'{name}': part '{part}' given twice")
    return "+".join(p for p in VARIANT_PARTS if p in parts)


def variant_parts(variant):
    """The parts of a canonical variant: () for fp32."""
    return () if variant == BASE_VARIANT else tuple(variant.split("+"))


def cell_name(task, api, gpus, variant=BASE_VARIANT):
    return f"{task}.{api}.g{gpus}" + ("" if variant == BASE_VARIANT else f".{variant}")


def variant_key(variant):
    """Sort key: fp32 first, then by number of parts, then in VARIANT_PARTS order."""
    parts = variant_parts(variant)
    return len(parts), [VARIANT_PARTS.index(p) for p in parts]


def rec_variant(r):
    """A run record's variant (records built without one, by hand or by older code: fp32)."""
    return r.get("variant") or BASE_VARIANT


def variant_problem(model, variant, cell):
    """'' or why a model line contradicts the cell's variant. A part the variant has must show in
    the line: amp -> dtype bfloat16 or float16 (float16 with loss scaling: loss_scale not none),
    xla -> xla=True, nchw -> data_format channels_first, onednn -> onednn=True. A part it lacks
    must not: dtype float32, xla=False, channels_last (oneDNN is then TensorFlow's default, not
    checked); a key missing from the line (an older log) is accepted for a part the variant
    lacks, never for one it has. An API's INHERENT_PARTS count as parts of every variant of its
    cells (keras-jax, keras-xla: xla)."""
    split = split_cell(cell)
    parts = variant_parts(variant) + INHERENT_PARTS.get(split[1] if split else None, ())

    def said(key):
        v = model.get(key)
        return None if v is None else norm_value(v, key)
    dtype = said("dtype")
    if "amp" in parts:
        if dtype not in MIXED_DTYPES:
            return (f"mixed precision did not apply (dtype={model.get('dtype', '(missing)')}), "
                    f"the cell {cell} needs bfloat16 or float16")
        if dtype == "float16" and said("loss_scale") in (None, "none"):
            return (f"dtype=float16 without loss scaling (loss_scale="
                    f"{model.get('loss_scale', '(missing)')}), the cell {cell} needs it")
    elif dtype not in (None, "float32"):
        return f"model line says dtype={model['dtype']}, the cell {cell} (no amp) needs float32"
    checks = (("xla", "xla", "true", "false"),
              ("nchw", "data_format", "channels_first", "channels_last"),
              ("onednn", "onednn", "true", None))
    for part, key, on, off in checks:
        want, v = (on if part in parts else off), said(key)
        if want is None or v == want or (v is None and part not in parts):
            continue
        shown = model.get(key, "(missing)")
        if part == "onednn":
            return f"oneDNN did not apply (onednn={shown}), the cell {cell} needs onednn=True"
        return (f"model line says {key}={shown}, the cell {cell} needs "
                f"{key}={'True' if want == 'true' else 'False' if want == 'false' else want}")
    return ""


def runs_variant(api, variant):
    """Whether an API has cells of a variant: NHWC_ONLY_APIS no nchw, and an API of API_PARTS
    only variants made of its parts (an API's INHERENT_PARTS are never a variant of its own)."""
    parts = variant_parts(variant)
    if api in NHWC_ONLY_APIS and "nchw" in parts:
        return False
    return api not in API_PARTS or set(parts) <= set(API_PARTS[api])


def backend_problem(model, api, cell):
    """'' or why a Keras cell's model line names another backend than its API's (BACKEND_OF;
    a Keras line without backend=, an older log's, is TensorFlow's)."""
    want = BACKEND_OF.get(api)
    if want is None:
        return ""
    said = str(model.get("backend", "tensorflow" if "backend" not in model else "")).lower()
    if said != want:
        return (f"model line says backend={model.get('backend', '(missing)')}, the cell {cell} "
                f"needs backend={want}")
    return ""


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def verdict(lines, epochs, task, api, gpus, rc, ended, error="", variant=BASE_VARIANT):
    """(status, reason) of one run: THE rule for "ok", shared by the collector and run_all.sh.

    `lines` maps a kind to the key=values of its (last) line, `epochs` holds the throughput lines
    in order, `rc` is the exit code (None if unknown), `ended` says whether the log must already
    hold its run_end line, `error` is the log's last error-looking line. A run is ok only if it
    exited 0, has run_end (when `ended`), a summary whose images_per_sec is a finite positive
    number equal to the median of its timed epochs' throughput lines (timed_epochs()), and a
    model line of the cell's task, API (FRAMEWORK_OF) and device count whose replicas is
    max(gpus, 1) and which does not contradict the cell's variant (variant_problem). Anything else
    is "failed", with the first reason found.
    """
    cell = cell_name(task, api, gpus, variant)
    end, summ, model = lines.get("run_end", {}), lines.get("summary"), lines.get("model")
    if end.get("status") == "skipped":
        return "skipped", str(end.get("reason", "skipped"))
    if end.get("status") not in (None, "ok") and end.get("reason"):
        return "failed", str(end["reason"])
    if rc is not None and rc != 0:
        if summ:
            return "failed", f"exit code {rc} after its summary line" + (f": {error}" if error else "")
        return "failed", error or f"exit code {rc}, no summary line"
    if not summ:
        return "failed", error or ("exit code 0, no summary line" if rc == 0 else
                                   "no summary line (run did not finish: interrupted or still running?)")
    if ended and not end:
        return "failed", "no run_end line (the sweep did not see the run finish: interrupted or killed?)"
    if "images_per_sec" not in summ:
        return "failed", "summary line without images_per_sec (cut short?)"
    ips = summ["images_per_sec"]
    if not is_number(ips) or ips <= 0:
        shown = str(ips)[:40] if ips != "" else "(empty)"
        return "failed", f"summary images_per_sec={shown} is not a finite positive number"
    rates = [e.get("images_per_sec") for e in epochs]
    if not rates or not all(is_number(v) and v > 0 for v in rates):
        return "failed", "throughput lines missing or not finite positive numbers"
    if max(rates + [ips]) > MAX_IMAGES_PER_SEC:
        return "failed", (f"images_per_sec={max(rates + [ips]):g} is beyond any sensible figure "
                          f"(over {MAX_IMAGES_PER_SEC:g})")
    timed = timed_epochs(rates)
    med = statistics.median(timed)
    if not math.isclose(ips, med, rel_tol=2e-3, abs_tol=0.11):
        return "failed", (f"summary images_per_sec={ips} does not match its throughput "
                          f"lines (median {med:.1f} over {len(timed)} epoch{'s' if len(timed) != 1 else ''})")
    if not model:
        return "failed", "no model line"
    tags = {"task": task, "framework": FRAMEWORK_OF.get(api, api), "gpus": gpus}
    for key, value in tags.items():
        if model.get(key) != value:
            return "failed", (f"model line says {key}={model.get(key, '(missing)')}, "
                              f"the cell {cell} needs {key}={value}")
    if model.get("replicas") != max(gpus, 1):
        n, want = model.get("replicas"), max(gpus, 1)
        shown = "(missing)" if n is None else "(empty)" if n == "" else n
        trained = (f"trained {n} replica{'s' if n != 1 else ''}" if is_number(n)
                   else f"model line says replicas={shown}")
        return "failed", f"{trained}, asked for {want} (gpus={gpus})"
    for kind, kv in [("summary", summ)] + [("throughput", e) for e in epochs]:
        for key, value in tags.items():
            if key in kv and kv[key] != value:
                return "failed", (f"{kind} line says {key}={str(kv[key])[:40]}, the cell "
                                  f"{cell} needs {key}={value}")
    problem = backend_problem(model, api, cell) or variant_problem(model, variant, cell)
    return ("failed", problem) if problem else ("ok", "")


def judge(path, task, api, gpus, rc, variant=BASE_VARIANT):
    """(status, reason, images/sec or None, {kind: key=values}) of a run that just ended, before
    any run_end line: verdict() on its log, as the sweep and the A/B tools ask it."""
    raw, lines, epochs = read_lines(path)
    status, reason = verdict(lines, epochs, task, api, gpus, rc, ended=False,
                             error=error_line(raw), variant=variant)
    return status, reason, lines["summary"]["images_per_sec"] if status == "ok" else None, lines


def timed_epochs(rates):
    """The images/sec of the timed epochs: epochs >= 2 (epoch 1 is the warm-up, CONTRACT.md), or
    epoch 1 alone when only one epoch ran."""
    return rates[1:] or rates


def spread(rates):
    """(within-run spread in % of the median: (max - min) / median * 100, number of timed epochs)
    from a run's throughput lines; (None, 0) without usable ones."""
    timed = [v for v in timed_epochs(rates) if is_number(v) and v > 0]
    if not timed or len(timed) != len(timed_epochs(rates)):
        return None, 0
    return round((max(timed) - min(timed)) / statistics.median(timed) * 100, 1), len(timed)


def read_lines(path):
    """A log's lines: (the raw lines, {kind: key=values of its last line}, [throughput lines])."""
    with open(path, errors="replace") as f:
        raw = f.read().splitlines()
    lines, epochs = {}, []
    for line in raw:
        p = parse_line(line)
        if p is None:
            continue
        kind, kv = p
        if kind == "throughput":
            epochs.append({k: kv.get(k) for k in ("epoch", "images_per_sec", "loss", "task",
                                                   "framework", "gpus") if k in kv})
        elif kind != "peak":
            lines[kind] = kv
    return raw, lines, epochs


def log_identity(name, lines):
    """(cell, repeat, problem) of a log from its file name and its `run` line; problem is "" or
    why the log cannot be placed (a stray copy, an unknown cell name)."""
    m = _LOGNAME.match(name[:-4])
    run = lines.get("run", {})
    if not m:
        return None, None, "file name is not <task>.<api>.g<N>[.<variant>].r<repeat>.log"
    cell, rep = m.group("cell"), int(m.group("rep"))
    if run and (run.get("cell") != cell or run.get("repeat") != rep):
        return cell, rep, (f"stray: its run line says {run.get('cell')} repeat {run.get('repeat')}, "
                           f"its file name {cell} repeat {rep} (a copied or renamed log?)")
    named = _CELL.fullmatch(cell)
    if named and variant_of(cell) is None:
        v = named.group("variant")
        if v == BASE_VARIANT:
            why = "an fp32 cell's name has no variant part"
        else:
            try:
                why = f"a cell name spells it {canonical_variant(v)}"
            except ValueError as e:
                why = str(e)
        return cell, rep, f"unknown variant in {cell}: {why}"
    parts = split_cell(cell)
    if not parts:
        return cell, rep, f"unknown cell name {cell} (not <task>.<api>.g<N>[.<variant>])"
    task, api, _ = parts
    if task not in TASKS:
        return cell, rep, f"unknown task {task} (known: {', '.join(TASKS)})"
    if api not in KNOWN_APIS:
        return cell, rep, f"unknown API {api} (known: {', '.join(KNOWN_APIS)})"
    return cell, rep, ""


def read_log(path):
    """One run's record from its log file (see verdict() for its status)."""
    raw, L, epochs = read_lines(path)
    rec = {"file": os.path.basename(path), "lines": L, "epochs": epochs}
    m = _LOGNAME.match(rec["file"][:-4])
    cell = L.get("run", {}).get("cell") or (m.group("cell") if m else rec["file"][:-4])
    task, api, gpus = split_cell(cell) or ("?", "?", 0)
    rec["cell"], rec["task"], rec["api"], rec["gpus"] = cell, task, api, gpus
    rec["variant"] = variant_of(cell) or BASE_VARIANT
    rec["repeat"] = int(L.get("run", {}).get("repeat") or (int(m.group("rep")) if m else 1))

    end, summ = L.get("run_end", {}), L.get("summary")
    rc = end.get("rc") if is_number(end.get("rc")) else None
    rec["status"], rec["reason"] = verdict(L, epochs, task, api, gpus, rc, ended=True,
                                           error=error_line(raw), variant=rec["variant"])
    rec["images_per_sec"] = summ.get("images_per_sec") if summ and rec["status"] == "ok" else None
    rec["epochs_images_per_sec"] = [e.get("images_per_sec") for e in rec["epochs"]]
    rec["spread_pct"], rec["epochs_timed"] = spread(rec["epochs_images_per_sec"])
    model = L.get("model", {})
    rec["image_size"] = model.get("image_size") or flops.DEFAULT_SIZE.get(rec["task"])
    rec["device"] = model.get("device")
    run = L.get("run", {})
    rec["generated_data"] = bool(run.get("data_generated"))
    rec["data"] = (GENERATED_LABEL if rec["generated_data"] else
                   ("CIFAR-10" if rec["task"] == "cifar10-cnn" else "synthetic images"))
    rec["load1_start"], rec["load1_end"] = run.get("load1"), end.get("load1")
    rec["other_cpu_start"], rec["other_cpu_end"] = run.get("other_cpu"), end.get("other_cpu")
    rec["wall_s"], rec["rc"] = end.get("wall_s"), end.get("rc")
    rec["load_warning"] = load_warning(run, end)
    return rec


def load_warning(run, end):
    """'' or why this run's machine looked busy: more than OTHER_CPU_LIMIT cores kept busy by other
    work in the second before the run started (its `run` line's other_cpu) or after it ended
    (run_end's), as run_all.sh measures them."""
    notes = []
    for when, kv in (("before", run), ("after", end)):
        oc = kv.get("other_cpu")
        if is_number(oc) and oc > OTHER_CPU_LIMIT:
            notes.append(f"{oc:.2f} cores busy with other work {when} the run")
    return "; ".join(notes)


def read_plan(d):
    """The folder's current plan as the sweep wrote it, or None when it has no plan.txt:
    {"runs": {(cell, repeat)}, "cells": {cell: the run-line keys its runs must have},
    "peak": the peak probe's or None, "versions": {library: version} of the interpreter or None}
    (settings.txt holds the rest; a folder without it is checked against plan.txt alone)."""
    path = os.path.join(d, "plan.txt")
    if not os.path.isfile(path):
        return None
    runs = set()
    with open(path, errors="replace") as f:
        for line in f:
            m = re.fullmatch(r"r(\d+) (\S+)", line.strip())
            if m:
                runs.add((m.group(2), int(m.group(1))))
    plan = {"runs": runs, "cells": {}, "peak": None, "peaks": {}, "versions": None}
    path = os.path.join(d, "settings.txt")
    if os.path.isfile(path):
        with open(path, errors="replace") as f:
            for line in f:
                p = parse_line(line, kinds=("cell", "peak_probe", "versions"))
                if p and p[0] == "cell" and "cell" in p[1]:
                    plan["cells"][p[1]["cell"]] = {k: v for k, v in p[1].items() if k != "cell"}
                elif p and p[0] == "peak_probe":
                    want = {k: v for k, v in p[1].items() if k != "log"}
                    plan["peaks"][str(p[1].get("log", "peak.log"))] = want
                    if p[1].get("log", "peak.log") == "peak.log":
                        plan["peak"] = want
                elif p:
                    plan["versions"] = p[1]
    return plan


def same(a, b):
    """Two logfmt values alike once read as a logfmt reader reads them (0 = "0", 1e-2 = 0.01)."""
    return str(convert(str(a))) == str(convert(str(b)))


def made_otherwise(lines, want, versions=None):
    """'' or how a log's run differs from what the plan wants: each key of `want` in its `run`
    line (mode, arguments, the script's and bench.py's hashes, the interpreter, the host, ...),
    and the versions its run printed against `versions`, the interpreter's (a library the plan's
    interpreter lacks, or one the run did not import, is not compared)."""
    run, ran = lines.get("run", {}), lines.get("versions", {})
    diff = [f"{k}={run.get(k, '(none)')} (current plan: {v})" for k, v in (want or {}).items()
            if not same(run.get(k, "(none)"), v)]
    diff += [f"{k} {ran[k]} (current interpreter: {v})" for k, v in (versions or {}).items()
             if k in ran and str(ran[k]) != str(v)]
    return f"made otherwise: {'; '.join(diff)}" if diff else ""


def is_peak_log(name):
    """logs/peak.log (the probe in the sweep's environment), logs/peak.onednn.log (under
    TF_ENABLE_ONEDNN_OPTS=1): tools/peak.py's logs, no run's."""
    return bool(_PEAK_LOG.fullmatch(name))


def read_peaks(logdir, plan=None):
    """([every usable peak line of the peak logs in logdir, each with "log": its file], [{"file",
    "reason", "problem": False}] for the peak logs not used: not planned (settings.txt) or made
    otherwise than planned)."""
    wanted = (plan or {}).get("peaks") or {}
    peaks, ignored = [], []
    for name in sorted(os.listdir(logdir)):
        path = os.path.join(logdir, name)
        if not is_peak_log(name) or not os.path.isfile(path):
            continue
        lines, run = peak_lines(path)
        if not lines:
            continue
        why = ("" if not wanted else "not in the current plan (settings.txt)" if name not in wanted
               else made_otherwise({"run": run}, wanted[name]))
        if why:
            ignored.append({"file": name, "reason": why, "problem": False})
        else:
            peaks += [{**p, "log": name} for p in lines]
    return peaks, ignored


def peak_lines(path):
    """([the best peak line of each device and dtype in a peak log], its run line). tools/peak.py
    prints one line per precision it measures (dtype=; float32 when a line has none)."""
    best, run = {}, {}
    with open(path, errors="replace") as f:
        for line in f:
            p = parse_line(line)
            if p and p[0] == "run":
                run = p[1]
            if p and p[0] == "peak" and is_number(p[1].get("tflops")) and p[1]["tflops"] > 0:
                key = (p[1].get("device"), peak_dtype(p[1]))
                if key not in best or p[1]["tflops"] > best[key]["tflops"]:
                    best[key] = p[1]
    return list(best.values()), run


def peak_dtype(p):
    return str(p.get("dtype") or "float32")


def peak_onednn(p):
    """Whether oneDNN was on for a peak line (its onednn=1|0), None when it does not say."""
    v = p.get("onednn")
    return None if v is None else str(v).lower() in ("1", "true")


def primary_peak(peaks):
    """The float32 peak (logs/peak.log's when there are several): results.json's "peak"."""
    fp32 = [p for p in peaks if peak_dtype(p) == "float32"]
    fp32.sort(key=lambda p: (p.get("log") == "peak.log", p["tflops"]), reverse=True)
    return fp32[0] if fp32 else None


def peak_for(rec, peaks):
    """The measured peak a run is held against: of those whose dtype is its model line's dtype and
    whose oneDNN setting is its own (a peak or run that does not say matches either), one of its
    device first, then the best; None when no peak of that precision was measured."""
    model = rec["lines"].get("model", {})
    dtype, onednn = str(model.get("dtype") or "float32"), model.get("onednn")
    onednn = None if onednn is None else str(onednn).lower() in ("1", "true")
    fits = [p for p in peaks if peak_dtype(p) == dtype
            and (onednn is None or peak_onednn(p) in (None, onednn))]
    fits.sort(key=lambda p: (p.get("device") == rec.get("device"), peak_onednn(p) == onednn,
                             p["tflops"]), reverse=True)
    return fits[0] if fits else None


def makers(recs):
    """How the counted runs differ in what made them: [(key, {value: [files]})] for each maker key
    (MAKER_KEYS of the run lines, each library of the versions lines, each script's hash) with
    more than one value among the runs that record it. Empty: one maker."""
    seen = {}
    for r in recs:
        run, made = r["lines"].get("run", {}), {}
        for key in MAKER_KEYS:
            if key in run:
                made[key] = run[key]
        for lib, v in r["lines"].get("versions", {}).items():
            if lib not in TAGS:
                made[f"version of {lib}"] = v
        if "script_sha" in run:
            made[f"hash of {str(run.get('args', '?')).split(' ')[0]}"] = run["script_sha"]
        for key, v in made.items():
            seen.setdefault(key, {}).setdefault(str(v), []).append(r["file"])
    return [(k, dict(sorted(vs.items()))) for k, vs in seen.items() if len(vs) > 1]


def read_sweep(d):
    """Everything the collector uses from DIR: the runs that count, and what it set aside.

    Returns {"recs": runs of the current plan made as it wants (ok, failed or skipped), "peaks":
    the usable peak lines of logs/peak*.log (read_peaks), "peak": the float32 one (primary_peak)
    or None, "mixed": makers(recs) (how the counted runs differ in what made them),
    "ignored": [{"file", "reason", "problem"}] (logs not used: stale ones of another plan or other
    settings; problem=True for those that cannot be placed: strays, duplicates, unknown names),
    "junk": [{"file", "reason"}] (files in logs/ that are no run log), "missing": [(cell, repeat)]
    planned runs without a log, "planned": [the cells of plan.txt] or None without one}.
    """
    logdir = os.path.join(d, "logs")
    plan = read_plan(d)
    recs, ignored, junk = [], [], []
    for name in sorted(os.listdir(logdir)):
        path = os.path.join(logdir, name)
        if not name.endswith(".log") or is_peak_log(name):
            continue
        if not os.path.isfile(path):
            junk.append({"file": name, "reason": "not a regular file"})
            continue
        try:
            _, lines, _ = read_lines(path)
        except OSError as e:
            junk.append({"file": name, "reason": f"unreadable: {e.strerror or e}"})
            continue
        if not lines:
            junk.append({"file": name, "reason": "none of the sweep's log lines"})
            continue
        cell, rep, problem = log_identity(name, lines)
        if problem:
            ignored.append({"file": name, "reason": problem, "problem": True})
            continue
        if plan is not None:
            why = ("not in the current plan (plan.txt)" if (cell, rep) not in plan["runs"]
                   else made_otherwise(lines, plan["cells"].get(cell), plan["versions"]))
            if why:
                ignored.append({"file": name, "reason": why, "problem": False})
                continue
        recs.append(read_log(path))
    groups = {}
    for r in recs:
        groups.setdefault((r["cell"], r["repeat"]), []).append(r)
    for (cell, rep), group in groups.items():
        if len(group) > 1:
            files = ", ".join(r["file"] for r in group)
            for r in group:
                ignored.append({"file": r["file"], "problem": True,
                                "reason": f"duplicate: {len(group)} logs of {cell} repeat {rep} ({files})"})
            recs = [r for r in recs if r not in group]
    peaks, set_aside = read_peaks(logdir, plan)
    ignored += set_aside
    have = {(r["cell"], r["repeat"]) for r in recs}
    missing = sorted((plan["runs"] - have) if plan else set(), key=lambda cr: (cr[1], cr[0]))
    return {"recs": recs, "peak": primary_peak(peaks), "peaks": peaks, "ignored": ignored,
            "junk": junk, "missing": missing, "mixed": makers(recs),
            "planned": sorted({cell for cell, _ in plan["runs"]}) if plan else None}


def read_all(d):
    sweep = read_sweep(d)
    return sweep["recs"], sweep["peak"]


# ---- analysis: every grouping is per task, device count and variant ----------------------------
def of_variant(recs, variant=BASE_VARIANT):
    """The runs of one variant (a record without one is fp32's)."""
    return [r for r in recs if rec_variant(r) == variant]


def variants_in(recs):
    """The variants the runs have, fp32 first, then by number of parts (variant_key)."""
    return sorted({rec_variant(r) for r in recs}, key=variant_key)


def single_gpus(recs, task, variant=BASE_VARIANT):
    """The device count that means 'single device' for a task: 1 when its gpus=1 runs trained on a
    GPU (by their model lines; or say nothing and there is no CPU run), else 0 (CPU)."""
    recs = of_variant(recs, variant)
    ones = [r for r in recs if r["task"] == task and r["gpus"] == 1]
    said = {r["device"] for r in ones if r["device"]}
    if "gpu" in said:
        return 1
    if any(r["task"] == task and r["gpus"] == 0 for r in recs):
        return 0
    return 1 if ones else 0


def is_quick(recs):
    """True when any run was made with run_all.sh --quick (its `run` line says mode=quick)."""
    return any(r["lines"].get("run", {}).get("mode") == "quick" for r in recs)


def cell_stats(recs, task, api, gpus, variant=BASE_VARIANT):
    runs = [r for r in of_variant(recs, variant)
            if (r["task"], r["api"], r["gpus"]) == (task, api, gpus)]
    ok = [r for r in runs if r["status"] == "ok"]
    vals = [float(r["images_per_sec"]) for r in ok]
    return {
        "runs": runs, "ok": ok, "values": vals,
        "failed": [r for r in runs if r["status"] == "failed"],
        "skipped": [r for r in runs if r["status"] == "skipped"],
        "median": statistics.median(vals) if vals else None,
        "min": min(vals) if vals else None, "max": max(vals) if vals else None,
        "warnings": [r for r in runs if r["load_warning"]],
    }


def paired(recs, task, a, b, gpus, variant=BASE_VARIANT):
    """[(repeat, a/b)] of images/sec for each repeat in which both a and b ran ok on a quiet
    machine: a run flagged busy (load_warning) takes no part in a ratio."""
    by = {}
    for r in busy_or_clean(recs, task, (a, b), gpus, variant)[1]:
        by.setdefault(r["repeat"], {})[r["api"]] = float(r["images_per_sec"])
    return [(rep, v[a] / v[b]) for rep, v in sorted(by.items())
            if positive(v.get(a)) and positive(v.get(b))]


def busy_or_clean(recs, task, apis, gpus, variants=(BASE_VARIANT,)):
    """([busy ok runs], [clean ok runs]) of some APIs of a task and device count, in one variant
    (or several: a tuple)."""
    variants = (variants,) if isinstance(variants, str) else variants
    ok = [r for r in recs if r["task"] == task and r["gpus"] == gpus and r["status"] == "ok"
          and r["api"] in apis and rec_variant(r) in variants]
    return [r for r in ok if r["load_warning"]], [r for r in ok if not r["load_warning"]]


def variant_ratio(recs, task, api, gpus, a, b):
    """One API's images/sec in variant a over variant b (a speed-up over b), from the two runs of
    the same repeat where both ran ok on a quiet machine: {"pairs": [(repeat, a/b)], "repeats",
    "busy" (ok runs left out as busy), "median", "min", "max"}. No winner is named from it."""
    busy, clean = busy_or_clean(recs, task, (api,), gpus, (a, b))
    by = {}
    for r in clean:
        by.setdefault(r["repeat"], {})[rec_variant(r)] = float(r["images_per_sec"])
    pairs = [(rep, v[a] / v[b]) for rep, v in sorted(by.items())
             if positive(v.get(a)) and positive(v.get(b))]
    vals = [v for _, v in pairs]
    repeats = sorted({r["repeat"] for r in recs if (r["task"], r["api"], r["gpus"]) ==
                      (task, api, gpus) and rec_variant(r) in (a, b)})
    return {"pairs": pairs, "repeats": repeats, "busy": len(busy),
            "median": statistics.median(vals) if vals else None,
            "min": min(vals) if vals else None, "max": max(vals) if vals else None}


def speedup_bases(variant, variants):
    """The variants of a sweep a variant is shown over in the speed-up table: those whose parts
    are a proper subset of its own (fp32, with none, under every other one)."""
    mine = set(variant_parts(variant))
    return [b for b in variants if set(variant_parts(b)) < mine]


def positive(x):
    """A usable images/sec for a ratio: a finite number above zero."""
    return x is not None and math.isfinite(x) and x > 0


def false_winner_chance(n, m):
    """Chance that pure noise puts all n paired ratios beyond all m A/A ratios, on one side of 1.0.

    With exchangeable noise the n + m log ratios' sizes are in random order, so the n paired ones
    are the n largest with chance 1 / C(n + m, n), and their n signs agree with chance 2 / 2**n.
    """
    return 2.0 ** (1 - n) / math.comb(n + m, n)


def decide(ratios, aa_ratios, level=MAX_FALSE_WINNER):
    """Is a difference established by these paired ratios, given the A/A ratios of the same sweep?

    The noise band is the largest |log| of the A/A ratios (identical code run twice). A difference
    is established when every paired ratio lies beyond the band on the same side of 1.0, with at
    least 2 pairs and 1 A/A pair, and the chance of that pattern under pure noise is <= level.
    Returns {"established", "band" (the largest A/A deviation as a fraction, e.g. 0.04 for ±4 %),
    "chance", "why"}; "why" says what is missing when not established.
    """
    logs = [math.log(r) for r in ratios]
    aa_logs = [abs(math.log(r)) for r in aa_ratios]
    n, m = len(logs), len(aa_logs)
    band = max(aa_logs) if aa_logs else None
    out = {"established": False, "band": math.exp(band) - 1 if aa_logs else None,
           "chance": false_winner_chance(n, m) if n and m else None, "why": ""}
    if n < 2:
        out["why"] = f"only {n} pair{'s' if n != 1 else ''}, 2 needed"
    elif not m:
        out["why"] = "no A/A pair (keras-aa runs missing or failed): noise band unknown"
    elif not (all(x > 0 for x in logs) or all(x < 0 for x in logs)):
        out["why"] = "pairs on both sides of 1.0"
    elif min(abs(x) for x in logs) <= band:
        out["why"] = f"within noise band ±{percent(out['band'])}"
    elif out["chance"] > level:
        out["why"] = (f"too few pairs: {n} pairs and {m} A/A pair{'s' if m != 1 else ''} leave a "
                      f"{100 * out['chance']:.1f} % chance of this by noise alone")
    else:
        out["established"] = True
    return out


def percent(frac):
    """A fraction as a percentage: 0.0412 -> '4.1 %'."""
    return f"{100 * frac:.1f} %"


def aa_ratios(recs, task, gpus, variant=BASE_VARIANT):
    """keras-aa / keras per repeat: the A/A pairs of a task, device count and variant."""
    return paired(recs, task, AA_API, "keras", gpus, variant)


def pair_ratio(recs, task, a, b, gpus, variant=BASE_VARIANT):
    """Ratio a/b of images/sec from each repeat where both ran ok on a quiet machine: median,
    range, whether the difference is established beyond the A/A noise band (see decide), and
    "busy": how many ok runs (of a, b and the A/A run) were left out as flagged busy."""
    pairs = paired(recs, task, a, b, gpus, variant)
    aa = aa_ratios(recs, task, gpus, variant)
    repeats = sorted({r["repeat"] for r in of_variant(recs, variant) if r["task"] == task
                      and r["gpus"] == gpus and r["api"] in (a, b)})
    verdict = decide([v for _, v in pairs], [v for _, v in aa])
    vals = [v for _, v in pairs]
    busy = len(busy_or_clean(recs, task, (a, b, AA_API), gpus, variant)[0])
    return {"pairs": pairs, "repeats": repeats, "aa_pairs": aa, "busy": busy,
            "median": statistics.median(vals) if vals else None,
            "min": min(vals) if vals else None, "max": max(vals) if vals else None, **verdict}


def fastest(recs, task, gpus, variant=BASE_VARIANT):
    """The API that beats every other API with an established paired ratio > 1, else None."""
    apis = [a for a in APIS if cell_stats(recs, task, a, gpus, variant)["values"]]
    if len(apis) < 2:
        return None
    for a in apis:
        if all((pr := pair_ratio(recs, task, a, b, gpus, variant))["established"]
               and pr["min"] > 1.0
               for b in apis if b != a):
            return a
    return None


def norm_value(v, key=None):
    """A model-line value for comparison: 0.01, 1e-2 and 0.010 are the same number; names are
    compared lower-case through ALIASES (RMSProp = RMSprop, GradientDescent = SGD,
    NHWC = channels_last); for the optimizer's hyperparameters "none" = 0."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if key in ZERO_IS_NONE and v == 0:
            return "none"
        return repr(float(v))
    s = str(v).lower()
    return ALIASES.get(key, {}).get(s, s)


def fairness(recs):
    """Differences in the must-be-equal keys (FAIR_KEYS) of the `model` lines of one task, device
    count and variant, as a list of findings {"task", "gpus", "variant", "key", "values": {api:
    [values]}}. A key that some runs have and others lack is a mismatch (shown as "absent"); one
    that no run of the group has (an older log's) is not compared. The API_KEYS are not
    compared, nor an API's UNCOMPARED keys (keras-jax's xla, which is always on)."""
    out = []
    for task in TASKS:
        runs = [r for r in recs if r["task"] == task and "model" in r["lines"]]
        for g, variant in sorted({(r["gpus"], rec_variant(r)) for r in runs},
                                 key=lambda gv: (gv[0], variant_key(gv[1]))):
            group = [r for r in runs if r["gpus"] == g and rec_variant(r) == variant]
            for key in FAIR_KEYS:
                seen = {}
                for r in group:
                    if key in UNCOMPARED.get(r["api"], ()):
                        continue
                    v = r["lines"]["model"].get(key)
                    norm, shown = (None, "absent") if v is None else (norm_value(v, key), str(v))
                    seen.setdefault(r["api"], {}).setdefault(norm, shown)
                if len({n for vs in seen.values() for n in vs}) > 1:
                    out.append({"task": task, "gpus": g, "variant": variant, "key": key,
                                "values": {api: sorted(vs.values()) for api, vs in seen.items()}})
    return out


def api_properties(recs, variant=BASE_VARIANT):
    """The API_KEYS of the model lines, shown and never compared: {(task, gpus): {key: {api:
    {values}}}} for every key, per task and device count with a run of the APIS (the A/A run
    repeats Keras's; SHOWN_APIS) in the variant, in TASKS and device-count order; None stands
    for a run whose model line lacks the key. Runs without a model line add nothing."""
    out = {}
    for task in TASKS:
        runs = [r for r in of_variant(recs, variant) if r["task"] == task
                and r["api"] in SHOWN_APIS and "model" in r["lines"]]
        for g in sorted({r["gpus"] for r in runs}):
            keys = out[task, g] = {key: {} for key in API_KEYS}
            for r in (r for r in runs if r["gpus"] == g):
                for key in API_KEYS:
                    v = r["lines"]["model"].get(key)
                    keys[key].setdefault(r["api"], set()).add(None if v is None else str(v))
    return out


def planned_tasks(recs, planned=None):
    """The tasks results.md shows, in TASKS order: those of the plan's cells (plan.txt), else
    those with a counted run; every task when neither names one."""
    cells = list(planned or []) + [r["cell"] for r in recs]
    named = {split_cell(c)[0] for c in cells if split_cell(c)}
    return [t for t in TASKS if t in named] or list(TASKS)


def planned_apis(recs, planned=None):
    """The APIs results.md gives a column, in SHOWN_APIS order: the compared APIS always, the
    others where the plan or a counted run has a cell of theirs."""
    cells = list(planned or []) + [r["cell"] for r in recs]
    named = {split_cell(c)[1] for c in cells if split_cell(c)}
    return [a for a in SHOWN_APIS if a in APIS or a in named]


# ---- per-step overhead: milliseconds per step of the tiny task ---------------------------------
def step_ms(r):
    """A run's milliseconds per step: 1000 x the global batch (its model line's per-device batch x
    replicas) / its images/sec; None when it is not ok or its model line lacks either."""
    model = r["lines"].get("model", {})
    batch, replicas, ips = model.get("batch"), model.get("replicas"), r.get("images_per_sec")
    if r.get("status") != "ok" or not all(is_number(v) and v > 0 for v in (batch, replicas, ips)):
        return None
    return 1000.0 * batch * replicas / ips


def step_stats(recs, task, api, gpus, variant=BASE_VARIANT):
    """ms/step of a cell's ok runs: {"values", "median", "min", "max"} (None without one)."""
    vals = [v for v in (step_ms(r) for r in cell_stats(recs, task, api, gpus, variant)["ok"])
            if v is not None]
    return {"values": vals, "median": statistics.median(vals) if vals else None,
            "min": min(vals) if vals else None, "max": max(vals) if vals else None}


def step_difference(recs, task, api, base, gpus, variant=BASE_VARIANT):
    """An API's ms/step less the base API's (its fixed cost over the floor), from the two runs of
    each repeat where both ran ok on a quiet machine: {"pairs": [(repeat, ms)], "median", "min",
    "max", "repeats", "busy"}, and whether the difference is established beyond the A/A band
    (decide() on the pairs' images/sec ratios, as pair_ratio does: a difference in ms/step of
    runs of one global batch is a ratio of their images/sec)."""
    pr = pair_ratio(recs, task, api, base, gpus, variant)
    by = {}
    for r in busy_or_clean(recs, task, (api, base), gpus, variant)[1]:
        by.setdefault(r["repeat"], {})[r["api"]] = step_ms(r)
    pairs = [(rep, v[api] - v[base]) for rep, v in sorted(by.items())
             if v.get(api) is not None and v.get(base) is not None]
    vals = [v for _, v in pairs]
    return {**pr, "ratio_median": pr["median"], "pairs": pairs,
            "median": statistics.median(vals) if vals else None,
            "min": min(vals) if vals else None, "max": max(vals) if vals else None}
