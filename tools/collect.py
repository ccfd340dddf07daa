#!/usr/bin/env python3
"""Collect a sweep's logs into results tables, a chart and machine-readable records.

    tools/collect.py DIR

Reads only the logfmt lines of DIR/logs/*.log: the scripts' `model`, `throughput`, `summary`
lines (CONTRACT.md), run_all.sh's `run` / `run_end` lines and tools/peak.py's `peak` line. A line
counts when its first word is one of those and it carries key=value pairs (values may be
"double-quoted" with \\" escapes); everything else in a log is ignored, except that the last
error-looking line of a failed run is kept as its reason. Writes into DIR:

  results.md    header (machine, versions, date, commit), single-device table, ratios vs Keras
                with the A/A noise band, data-parallel table, hardware-limit table, fairness
                check, API-property table, failed/skipped runs (a --quick sweep: marked as a
                smoke test, no winner named)
  results.csv   one row per run
  results.json  one record per run (every key of its lines, its epochs' images/sec), plus peak,
                fairness findings and the exit status
  results.png   per task, each API's single-device images/sec relative to Keras (median of the
                paired ratios, whiskers min-max), the A/A noise band shaded

Which logs count: a log named <task>.<api>.g<N>.r<repeat>.log whose `run` line names that same
cell and repeat. When DIR/plan.txt exists (run_all.sh writes it), only the runs it plans count,
and only if made with the mode and arguments DIR/settings.txt records for their cell; every other
log is listed under "Ignored logs" with the reason (stale: another plan or other settings;
problem: a stray whose name and run line disagree, a duplicate, an unknown task or API). Files in
logs/ that are no run log (a folder, no log lines) are skipped with a warning. The peak counts only
from logs/peak.log, and only if measured with the settings of the current plan.

The rule for "ok" (verdict(); run_all.sh asks it too, through --check): exit code 0, a run_end
line, a summary whose images_per_sec is a finite positive number equal to the median of its
throughput lines of epochs >= 2 (epoch 1 alone when only one epoch ran; an older summary's
epochs_timed, when present, must count those epochs), and a model line naming the cell's task, API
(FRAMEWORK_OF for an API that runs another API's script) and device count, with replicas =
max(gpus, 1) when it reports replicas. Anything else is FAILED with its reason. The within-run
spread and the number of timed epochs are computed from the throughput lines (older logs' summary
spread_pct and epochs_timed are not used).

Fairness: the model lines' must-be-equal keys (FAIR_KEYS) are compared per task and device count
after normalising each framework's spelling (numbers by value, "none" = 0 for the optimizer's
hyperparameters, case-insensitive names, aliases: GradientDescent = SGD, NHWC = channels_last,
NCHW = channels_first, xla on/off = True/False).

Exit status: 0 all runs ok (skipped runs are not failures); 1 some run failed, a planned run has
no log, or a log cannot be placed (stray, duplicate, unknown name); 3 fairness mismatch between
the APIs' `model` lines (wins over 1); 2 bad usage (no DIR/logs folder).

    tools/collect.py --check LOG RC     (for run_all.sh) the verdict on one run that just ended

Load rule: run_all.sh measures `other_cpu`, the number of cores kept busy by other work during one
second right before each run starts and right after it ends (nothing of the sweep runs then).
A run is flagged "busy machine" when either sample exceeds 0.5 cores. For logs without that
key the rule falls back to the 1-minute load average at the start exceeding the core count.
"""
import csv
import datetime
import importlib.metadata
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flops  # noqa: E402  (tools/flops.py, pure arithmetic)

KINDS = ("model", "throughput", "summary", "run", "run_end", "peak")
TASKS = ("cifar10-cnn", "alexnet", "vgg16", "resnet50")
TASK_LABEL = {"cifar10-cnn": "CIFAR CNN", "alexnet": "AlexNet", "vgg16": "VGG16",
              "resnet50": "ResNet50"}
APIS = ("tensorpack", "keras", "tflearn")
AA_API = "keras-aa"  # the A/A run: Keras's script run a second time in each repeat (noise band)
API_LABEL = {"tensorpack": "tensorpack", "keras": "Keras", "tflearn": "tflearn",
             AA_API: "Keras A/A"}
# The framework= a cell's model line must name, for an API whose runs use another API's script
# (keras-aa: a second Keras run, for an A/A comparison); every other API names itself.
FRAMEWORK_OF = {AA_API: "keras"}
KNOWN_APIS = tuple(dict.fromkeys(APIS + tuple(FRAMEWORK_OF)))
# The model line's keys that must be equal across the APIs of a task and device count (CONTRACT.md),
# and the keys that are properties of an API (reported, never flagged). var_dtype and
# inter_threads are printed by no script now (issue-8 logs have them); a key absent from every run
# of a task is not compared, so they cost nothing.
FAIR_KEYS = ("replicas", "device", "batch", "image_size", "optimizer", "params", "lr", "rho",
             "momentum", "epsilon", "clip", "dtype", "data_format", "intra_threads", "xla",
             "var_dtype", "inter_threads")
API_KEYS = ("input", "bn")
# Each framework spells a value its own way (the scripts read it from the live objects): the
# update kernel's name (tensorpack, tflearn: RMSProp, GradientDescent) or the Keras optimizer's
# class (RMSprop, SGD); TF's layout names or Keras's. Compared lower-case, through these aliases.
ALIASES = {"optimizer": {"gradientdescent": "sgd"},
           "data_format": {"nhwc": "channels_last", "nchw": "channels_first"},
           "xla": {"on": "true", "off": "false"}}
ZERO_IS_NONE = ("lr", "rho", "momentum", "epsilon", "clip")  # "none when zero or not used"
MAX_FALSE_WINNER = 0.05  # the largest chance, under pure noise, of the pattern that names a winner
OTHER_CPU_LIMIT = 0.5  # cores busy with other work before/after a run -> warning
GENERATED_LABEL = "generated CIFAR-format data"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_FAIRNESS = 0, 1, 2, 3

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_PAIR = re.compile(r'([A-Za-z_][\w.-]*)=("(?:[^"\\]|\\.)*"|\S*)')
_GLOG = re.compile(r"^[IWEF]\d{4} ")  # TensorFlow's C++ log prefix: not a Python error
_ERROR = re.compile(r"(\b\w*(Error|Exception)\b|\berror:|Killed|Traceback)")
_LOGNAME = re.compile(r"^(?P<cell>.+)\.r(?P<rep>\d+)$")
_CELL = re.compile(r"(?P<task>[^.]+)\.(?P<api>[^.]+)\.g(?P<gpus>\d+)")


# ---- parsing --------------------------------------------------------------------------------
def convert(v):
    """A logfmt value as int, float or str."""
    if re.fullmatch(r"[-+]?\d+", v):
        return int(v)
    try:
        f = float(v)
        return f if math.isfinite(f) else v
    except ValueError:
        return v


def parse_line(line, kinds=KINDS):
    """(kind, {key: value}) for a logfmt line of one of `kinds`, else None."""
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
        else:
            kv[m.group(1)] = convert(v)
    return (head, kv) if kv else None


def error_line(lines):
    """The last line of a log that looks like an error (Python's, not TF's C++ logging)."""
    for line in reversed(lines):
        s = _ANSI.sub("", line).strip()
        if s and not _GLOG.match(s) and _ERROR.search(s) and s != "Traceback (most recent call last):":
            return s[:300]
    return ""


def split_cell(cell):
    """(task, api, gpus) of a cell name <task>.<api>.g<N>, or None if it is not one."""
    m = _CELL.fullmatch(str(cell))
    return (m.group("task"), m.group("api"), int(m.group("gpus"))) if m else None


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def verdict(lines, epochs, task, api, gpus, rc, ended, error=""):
    """(status, reason) of one run: THE rule for "ok", shared by the collector and run_all.sh.

    `lines` maps a kind to the key=values of its (last) line, `epochs` holds the throughput lines
    in order, `rc` is the exit code (None if unknown), `ended` says whether the log must already
    hold its run_end line, `error` is the log's last error-looking line. A run is ok only if it
    exited 0, has run_end (when `ended`), a summary whose images_per_sec is a finite positive
    number equal to the median of its timed epochs' throughput lines (timed_epochs(); an older
    summary's epochs_timed, if present, must count them), and a model line of the cell's task, API
    (FRAMEWORK_OF) and device count whose replicas, if reported, is max(gpus, 1). Anything else is
    "failed", with the first reason found.
    """
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
        shown = ips if ips != "" else "(empty)"
        return "failed", f"summary images_per_sec={shown} is not a finite positive number"
    rates = [e.get("images_per_sec") for e in epochs]
    if not rates or not all(is_number(v) and v > 0 for v in rates):
        return "failed", "throughput lines missing or not finite positive numbers"
    timed = timed_epochs(rates)
    med = statistics.median(timed)
    said = "" if "epochs_timed" not in summ else f" epochs_timed={summ['epochs_timed']}"
    if (not math.isclose(ips, med, rel_tol=2e-3, abs_tol=0.11)
            or ("epochs_timed" in summ and summ["epochs_timed"] != len(timed))):
        return "failed", (f"summary images_per_sec={ips}{said} does not match its throughput "
                          f"lines (median {med:.1f} over {len(timed)} epoch{'s' if len(timed) != 1 else ''})")
    if not model:
        return "failed", "no model line"
    want = {"task": task, "framework": FRAMEWORK_OF.get(api, api), "gpus": gpus}
    for key, value in want.items():
        if model.get(key) != value:
            return "failed", (f"model line says {key}={model.get(key, '(missing)')}, "
                              f"the cell {task}.{api}.g{gpus} needs {key}={value}")
    if "replicas" in model and model["replicas"] != max(gpus, 1):
        n, want = model["replicas"], max(gpus, 1)
        trained = (f"trained {n} replica{'s' if n != 1 else ''}" if is_number(n)
                   else f"model line says replicas={n if n != '' else '(empty)'}")
        return "failed", f"{trained}, asked for {want} (gpus={gpus})"
    return "ok", ""


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
            epochs.append({k: kv.get(k) for k in ("epoch", "images_per_sec", "loss") if k in kv})
        elif kind != "peak":
            lines[kind] = kv
    return raw, lines, epochs


def log_identity(name, lines):
    """(cell, repeat, problem) of a log from its file name and its `run` line; problem is "" or
    why the log cannot be placed (a stray copy, an unknown cell name)."""
    m = _LOGNAME.match(name[:-4])
    run = lines.get("run", {})
    if not m:
        return None, None, f"file name is not <task>.<api>.g<N>.r<repeat>.log"
    cell, rep = m.group("cell"), int(m.group("rep"))
    if run and (run.get("cell") != cell or run.get("repeat") != rep):
        return cell, rep, (f"stray: its run line says {run.get('cell')} repeat {run.get('repeat')}, "
                           f"its file name {cell} repeat {rep} (a copied or renamed log?)")
    parts = split_cell(cell)
    if not parts:
        return cell, rep, f"unknown cell name {cell} (not <task>.<api>.g<N>)"
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
    rec["repeat"] = int(L.get("run", {}).get("repeat") or (int(m.group("rep")) if m else 1))

    end, summ = L.get("run_end", {}), L.get("summary")
    rc = end.get("rc") if is_number(end.get("rc")) else None
    rec["status"], rec["reason"] = verdict(L, epochs, task, api, gpus, rc, ended=True,
                                           error=error_line(raw))
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
    """'' or why this run's machine looked busy (see the module docstring for the rule)."""
    notes = []
    for when, kv in (("before", run), ("after", end)):
        oc = kv.get("other_cpu")
        if isinstance(oc, (int, float)) and oc > OTHER_CPU_LIMIT:
            notes.append(f"{oc:.2f} cores busy with other work {when} the run")
    if not notes and not isinstance(run.get("other_cpu"), (int, float)):
        l1, cores = run.get("load1"), run.get("cores") or os.cpu_count() or 1
        if isinstance(l1, (int, float)) and l1 > cores:
            notes.append(f"load1={l1} at start > {cores} cores")
    return "; ".join(notes)


def read_plan(d):
    """The folder's current plan as run_all.sh wrote it, or None when it has no plan.txt:
    {"runs": {(cell, repeat)}, "cells": {cell: {"mode", "args"}}, "peak": {"mode", "args"} or None}
    (settings.txt holds the arguments; a folder without it is checked against plan.txt alone)."""
    path = os.path.join(d, "plan.txt")
    if not os.path.isfile(path):
        return None
    runs = set()
    with open(path, errors="replace") as f:
        for line in f:
            m = re.fullmatch(r"r(\d+) (\S+)", line.strip())
            if m:
                runs.add((m.group(2), int(m.group(1))))
    plan = {"runs": runs, "cells": {}, "peak": None}
    path = os.path.join(d, "settings.txt")
    if os.path.isfile(path):
        with open(path, errors="replace") as f:
            for line in f:
                p = parse_line(line, kinds=("cell", "peak_probe"))
                if p and p[0] == "cell" and "cell" in p[1]:
                    plan["cells"][p[1]["cell"]] = {k: p[1].get(k) for k in ("mode", "args")}
                elif p and p[0] == "peak_probe":
                    plan["peak"] = {k: p[1].get(k) for k in ("mode", "args")}
    return plan


def settings_differ(run, want):
    """'' or how a log's `run` line differs from the settings the plan wants for its cell."""
    have = {k: run.get(k) for k in ("mode", "args")}
    if want is None or have == want:
        return ""
    diff = "; ".join(f"{k}={have[k]!s} (current plan: {want[k]!s})" for k in want if have[k] != want[k])
    return f"made with other settings: {diff}"


def read_peak(logdir, plan=None):
    """(peak line of logs/peak.log or None, '' or why that line is not used)."""
    path = os.path.join(logdir, "peak.log")
    if not os.path.isfile(path):
        return None, ""
    best, run = None, {}
    with open(path, errors="replace") as f:
        for line in f:
            p = parse_line(line)
            if p and p[0] == "run":
                run = p[1]
            if p and p[0] == "peak" and is_number(p[1].get("tflops")) and p[1]["tflops"] > 0:
                if best is None or p[1]["tflops"] > best["tflops"]:
                    best = p[1]
    why = settings_differ(run, plan["peak"]) if plan and plan["peak"] and best else ""
    return (None, why) if why else (best, "")


def read_sweep(d):
    """Everything the collector uses from DIR: the runs that count, and what it set aside.

    Returns {"recs": runs of the current plan (ok, failed or skipped), "peak": peak line or None,
    "ignored": [{"file", "reason", "problem"}] (logs not used: stale ones of another plan or other
    settings; problem=True for those that cannot be placed: strays, duplicates, unknown names),
    "junk": [{"file", "reason"}] (files in logs/ that are no run log), "missing": [(cell, repeat)]
    planned runs without a log}.
    """
    logdir = os.path.join(d, "logs")
    plan = read_plan(d)
    recs, ignored, junk = [], [], []
    for name in sorted(os.listdir(logdir)):
        path = os.path.join(logdir, name)
        if not name.endswith(".log") or name == "peak.log":
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
                   else settings_differ(lines.get("run", {}), plan["cells"].get(cell)))
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
    peak, why = read_peak(logdir, plan)
    if why:
        ignored.append({"file": "peak.log", "reason": why, "problem": False})
    have = {(r["cell"], r["repeat"]) for r in recs}
    missing = sorted((plan["runs"] - have) if plan else set(), key=lambda cr: (cr[1], cr[0]))
    return {"recs": recs, "peak": peak, "ignored": ignored, "junk": junk, "missing": missing}


def read_all(d):
    sweep = read_sweep(d)
    return sweep["recs"], sweep["peak"]


# ---- analysis -------------------------------------------------------------------------------
def single_gpus(recs, task):
    """The device count that means 'single device' for a task: 1 when its gpus=1 runs trained on a
    GPU (by their model lines; or say nothing and there is no CPU run), else 0 (CPU)."""
    ones = [r for r in recs if r["task"] == task and r["gpus"] == 1]
    said = {r["device"] for r in ones if r["device"]}
    if "gpu" in said:
        return 1
    if any(r["task"] == task and r["gpus"] == 0 for r in recs):
        return 0
    return 1 if ones else 0


def device_label(recs, task, gpus):
    """Where a row's runs trained, from their model lines' device= (not from the asked count)."""
    said = sorted({str(r["device"]) for r in recs if r["task"] == task and r["gpus"] == gpus
                   and r["device"]})
    if said == ["gpu"]:
        return f"gpu×{gpus}"
    if said == ["cpu"]:
        return "cpu" if gpus == 0 else f"cpu ({gpus} replica{'s' if gpus > 1 else ''})"
    if said:
        return f"{'/'.join(said)} (mixed)"
    return "cpu" if gpus == 0 else f"gpus={gpus} (device not reported)"


def cell_stats(recs, task, api, gpus):
    runs = [r for r in recs if (r["task"], r["api"], r["gpus"]) == (task, api, gpus)]
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


def paired(recs, task, a, b, gpus):
    """[(repeat, a/b)] of images/sec for each repeat in which both a and b ran ok."""
    by = {}
    for r in recs:
        if r["task"] == task and r["gpus"] == gpus and r["status"] == "ok" and r["api"] in (a, b):
            by.setdefault(r["repeat"], {})[r["api"]] = float(r["images_per_sec"])
    return [(rep, v[a] / v[b]) for rep, v in sorted(by.items())
            if positive(v.get(a)) and positive(v.get(b))]


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


def aa_ratios(recs, task, gpus):
    """keras-aa / keras per repeat: the A/A pairs of a task and device count."""
    return paired(recs, task, AA_API, "keras", gpus)


def pair_ratio(recs, task, a, b, gpus):
    """Ratio a/b of images/sec from each repeat where both ran ok: median, range, and whether the
    difference is established beyond the A/A noise band (see decide)."""
    pairs = paired(recs, task, a, b, gpus)
    aa = aa_ratios(recs, task, gpus)
    repeats = sorted({r["repeat"] for r in recs if r["task"] == task and r["gpus"] == gpus
                      and r["api"] in (a, b)})
    verdict = decide([v for _, v in pairs], [v for _, v in aa])
    vals = [v for _, v in pairs]
    return {"pairs": pairs, "repeats": repeats, "aa_pairs": aa,
            "median": statistics.median(vals) if vals else None,
            "min": min(vals) if vals else None, "max": max(vals) if vals else None, **verdict}


def fastest(recs, task, gpus):
    """The API that beats every other API with an established paired ratio > 1, else None."""
    apis = [a for a in APIS if cell_stats(recs, task, a, gpus)["values"]]
    if len(apis) < 2:
        return None
    for a in apis:
        if all((pr := pair_ratio(recs, task, a, b, gpus))["established"] and pr["min"] > 1.0
               for b in apis if b != a):
            return a
    return None


def norm_value(v, key=None):
    """A model-line value for comparison: 0.01, 1e-2 and 0.010 are the same number; names are
    compared lower-case through ALIASES (RMSProp = RMSprop, GradientDescent = SGD,
    NHWC = channels_last, xla on = True); for the optimizer's hyperparameters "none" = 0."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if key in ZERO_IS_NONE and v == 0:
            return "none"
        return repr(float(v))
    s = str(v).lower()
    return ALIASES.get(key, {}).get(s, s)


def fairness(recs):
    """Differences in the must-be-equal keys (FAIR_KEYS) of the `model` lines of one task and
    device count, as a list of findings. A key absent from every run of a task is not compared
    (logs made before the key existed); present in some runs and absent in others is a mismatch."""
    out = []
    for task in TASKS:
        runs = [r for r in recs if r["task"] == task and "model" in r["lines"]]
        present = {k for r in runs for k in r["lines"]["model"]}
        for g in sorted({r["gpus"] for r in runs}):
            group = [r for r in runs if r["gpus"] == g]
            for key in FAIR_KEYS:
                if key not in present:
                    continue
                seen = {}
                for r in group:
                    v = r["lines"]["model"].get(key)
                    norm, shown = (None, "absent") if v is None else (norm_value(v, key), str(v))
                    seen.setdefault(r["api"], {}).setdefault(norm, shown)
                if len({n for vs in seen.values() for n in vs}) > 1:
                    out.append({"task": task, "gpus": g, "key": key,
                                "values": {api: sorted(vs.values()) for api, vs in seen.items()}})
    return out


def api_properties(recs):
    """{(task, gpus): {key: {api: [values]}}} of the API_KEYS found in the model lines."""
    out = {}
    for task in TASKS:
        for r in recs:
            model = r["lines"].get("model", {})
            if r["task"] != task or r["api"] not in APIS:
                continue
            for key in API_KEYS:
                if key in model:
                    vals = out.setdefault((task, r["gpus"]), {}).setdefault(key, {})
                    vals.setdefault(r["api"], set()).add(str(model[key]))
    return out


def add_hardware(recs, peak):
    for r in recs:
        r["train_gflop_per_image"] = r["tflops"] = r["pct_of_peak"] = None
        try:
            f = flops.train_flops(r["task"], r["image_size"])
        except (ValueError, TypeError):
            continue
        r["train_gflop_per_image"] = round(f / 1e9, 4)
        if r["status"] == "ok":
            r["tflops"] = float(r["images_per_sec"]) * f / 1e12
            if peak:
                r["pct_of_peak"] = 100 * r["tflops"] / (peak["tflops"] * devices(r))


def devices(r):
    return r["gpus"] if r["gpus"] > 0 and r["device"] == "gpu" else 1


# ---- machine header -------------------------------------------------------------------------
def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [l.split(":", 1)[1].strip() for l in f if l.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "gpus": []}
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
        if out.returncode == 0:
            info["gpus"] = [l.strip() for l in out.stdout.splitlines() if l.strip()]
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def versions():
    v = {"python": platform.python_version()}
    for pkg in ("tensorflow", "keras", "tf-keras", "tensorpack", "tflearn", "numpy"):
        try:
            v[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            v[pkg] = "not installed"
    return v


def git_commit():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        out = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10)
        if out.returncode != 0:
            return "unknown (no git)"
        dirty = subprocess.run(["git", "-C", root, "diff", "--quiet", "HEAD", "--"],
                               capture_output=True, timeout=10).returncode
        return out.stdout.strip() + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"


# ---- formatting -----------------------------------------------------------------------------
def md(s):
    return str(s).replace("|", "\\|").replace("\n", " ")


def short(reason, n=110):
    reason = str(reason)
    return reason if len(reason) <= n else reason[: n - 1] + "…"


def fmt_ips(v):
    return f"{v:,.0f}" if v >= 100 else f"{v:,.1f}" if v >= 10 else f"{v:,.2f}"


def task_label(task, recs):
    lab = TASK_LABEL.get(task, task)
    if task == "cifar10-cnn" and any(r["generated_data"] for r in recs if r["task"] == task):
        lab += f" ({GENERATED_LABEL})"
    return lab


def cell_text(st, bold=False):
    if st["values"]:
        med = fmt_ips(st["median"])
        txt = f"**{med}**" if bold else med
        k = len(st["values"])
        txt += (f" ({fmt_ips(st['min'])}–{fmt_ips(st['max'])}, n={k} runs)" if k > 1
                else " (n=1 run)")
        if st["failed"]:
            txt += f"; {len(st['failed'])} failed: {short(st['failed'][-1]['reason'], 60)}"
    elif st["failed"]:
        txt = f"FAILED: {short(st['failed'][-1]['reason'])}"
    elif st["skipped"]:
        txt = f"SKIPPED: {short(st['skipped'][-1]['reason'], 60)}"
    else:
        return "—"
    if st["warnings"]:
        txt += f" ⚠ busy machine ({len(st['warnings'])} run(s))"
    return md(txt)


def ratio_text(pr, a, b, quick=False):
    if pr["median"] is None:
        return "— (no pair of ok runs)"
    n, R = len(pr["pairs"]), len(pr["repeats"])
    pairs = f"{n} pair{'s' if n != 1 else ''}" + (f" of {R} repeats" if R > n else "")
    rng = f"{pr['min']:.2f}–{pr['max']:.2f}, {pairs}"
    if quick:
        return f"{pr['median']:.2f}× ({rng}): smoke test: no comparison"
    if pr["established"]:
        win = a if pr["median"] > 1 else b
        return f"**{pr['median']:.2f}×** ({rng}): **{API_LABEL[win]} faster**"
    return f"{pr['median']:.2f}× ({rng}): not established ({pr['why']})"


def band_text(aa):
    """The A/A column: the noise band and the A/A ratios it comes from."""
    if not aa:
        return "— (no A/A pair)"
    vals = [v for _, v in aa]
    band = max(abs(math.log(v)) for v in vals)
    n = len(vals)
    return (f"±{percent(math.exp(band) - 1)} ({min(vals):.2f}–{max(vals):.2f}, "
            f"{n} A/A pair{'s' if n != 1 else ''})")


def is_quick(recs):
    """True when any run was made with run_all.sh --quick (its `run` line says mode=quick)."""
    return any(r["lines"].get("run", {}).get("mode") == "quick" for r in recs)


def gpus_label(g):
    return "cpu" if g == 0 else f"gpus={g}"


def write_md(d, recs, peak, fair, info, exit_status, sweep=None):
    vers = versions()
    now = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    commits = sorted({str(r["lines"].get("run", {}).get("commit")) for r in recs
                      if r["lines"].get("run", {}).get("commit")})
    gen = any(r["generated_data"] for r in recs)
    L = ["# CNN training throughput: tensorpack vs Keras vs tflearn", ""]
    mach = f"{info['cpu']}, {info['cores']} cores"
    if info["gpus"]:
        mach += f"; {len(info['gpus'])} × {info['gpus'][0]}"
    L += [f"- Machine (where collect.py ran): {mach}"]
    if peak:
        L += [f"- Measured peak: {peak['tflops']:.3f} TFLOP/s fp32 matmul on "
              f"{peak.get('device', '?')} ({str(peak.get('device_name', '?')).replace('_', ' ')}), "
              f"n={peak.get('n')}, best of {peak.get('reps')} reps"
              + (" (TF32 allowed by TensorFlow's default precision)" if peak.get("tf32_allowed")
                 else "")]
    L += ["- Versions: " + ", ".join(f"{k} {v}" for k, v in vers.items()),
          f"- Date: {now}; git commit: {git_commit()}"
          + (f"; runs made at commit(s) {', '.join(commits)}" if commits else ""),
          f"- Runs: {len(recs)} ({sum(r['status'] == 'ok' for r in recs)} ok, "
          f"{sum(r['status'] == 'failed' for r in recs)} failed, "
          f"{sum(r['status'] == 'skipped' for r in recs)} skipped)"]
    if gen:
        L += [f"- **CIFAR figures use {GENERATED_LABEL}** (tools/make_cifar_data.py), not the real "
              "CIFAR-10 set; throughput does not depend on pixel values, but label them as such."]
    quick = is_quick(recs)
    if quick:
        L += ["", "> **SMOKE TEST (`run_all.sh --quick`).** Tiny settings that only check that every "
              "cell runs end to end: the figures below measure start-up more than training and "
              "compare nothing. No winner is named; for a comparison run the default sweep."]
    L += [""]
    if fair:
        L += ["## FAIRNESS MISMATCH", "",
              "The APIs' `model` lines differ for the same task and device count, so their figures "
              "are not comparable:", ""]
        for f in fair:
            vals = "; ".join(f"{API_LABEL.get(a, a)}: {', '.join(v)}"
                             for a, v in sorted(f["values"].items()))
            L += [f"- {TASK_LABEL.get(f['task'], f['task'])} ({gpus_label(f['gpus'])}): "
                  f"`{f['key']}` differs ({md(vals)})"]
        L += [""]

    # single device
    L += ["## Single device", "",
          "Images/sec (higher is better): median over repeats of each run's median epoch "
          "(epochs ≥ 2; epoch 1 is warm-up), with min–max across repeats and the number of runs. "
          "Single device = `gpus=1` on a GPU machine, `gpus=0` (CPU) otherwise. A name in bold is "
          "faster than every other API by an established paired ratio (see below).", "",
          "| Task | device | " + " | ".join(API_LABEL[a] for a in APIS) + " |",
          "|---|---|" + "---|" * len(APIS)]
    for task in TASKS:
        g = single_gpus(recs, task)
        win = None if quick else fastest(recs, task, g)
        cells = [cell_text(cell_stats(recs, task, a, g), bold=(a == win)) for a in APIS]
        L += [f"| {md(task_label(task, recs))} | {device_label(recs, task, g)} | " + " | ".join(cells) + " |"]
    L += [""]

    # ratios
    L += ["## Ratios vs Keras", "",
          "Each ratio is an API's images/sec divided by Keras's from the two runs of the same "
          "repeat, shown as the median over repeats with its min–max and the number of such pairs. "
          "The two runs are made close together but not always back to back: a task's runs follow "
          "one another and the API order rotates from one repeat to the next, so another API's run "
          "or the A/A run (or both) may run between the two runs of a pair.", "",
          "Every repeat also runs Keras's script a second time (`keras-aa`), and the largest "
          "deviation of keras-aa/Keras from 1.0 is the A/A noise band: what identical code varies "
          "by on this machine. A winner is named (in bold) only when every paired ratio lies "
          "beyond that band on the same side of 1.0 and pure noise would produce that pattern with "
          f"a chance of at most {100 * MAX_FALSE_WINNER:g} % (2^(1−n) / C(n+m, n) for n pairs and "
          "m A/A pairs: 1.25 % for 3 and 3); otherwise the table says \"not established\" and "
          "why."]
    if quick:
        L += ["", "Smoke test: the ratios are shown for completeness and compare nothing."]
    L += ["", "| Task | tensorpack / Keras | tflearn / Keras | A/A band (keras-aa / Keras) |",
          "|---|---|---|---|"]
    for task in TASKS:
        g = single_gpus(recs, task)
        cells = [ratio_text(pair_ratio(recs, task, a, "keras", g), a, "keras", quick)
                 for a in ("tensorpack", "tflearn")]
        cells.append(band_text(aa_ratios(recs, task, g)))
        L += [f"| {md(task_label(task, recs))} | " + " | ".join(md(c) for c in cells) + " |"]
    L += [""]

    # data parallel
    multi = [r for r in recs if r["gpus"] > 1]
    if multi:
        counts = sorted({r["gpus"] for r in recs if r["gpus"] >= 1} |
                        ({0} if not any(r["gpus"] == 1 for r in recs) else set()))
        L += ["## Data parallel", "",
              "Images/sec over all replicas (median over repeats) and scaling efficiency against "
              "one device: eff = ips_N / (N × ips_1) (the CPU run, gpus=0, is the base when no "
              "gpus=1 run exists).", "",
              "| API | model | " + " | ".join(f"{c} dev" if c else "cpu" for c in counts) + " |",
              "|---|---|" + "---|" * len(counts)]
        for api in APIS:
            for task in TASKS:
                if not any(r["api"] == api and r["task"] == task for r in multi):
                    continue
                base_g = 1 if cell_stats(recs, task, api, 1)["runs"] else 0
                base = cell_stats(recs, task, api, base_g)["median"]
                cells = []
                for c in counts:
                    st = cell_stats(recs, task, api, c)
                    if st["median"] is None:
                        cells.append(cell_text(st))
                        continue
                    n = max(c, 1)
                    eff = f"eff {st['median'] / (n * base):.2f}" if base else "eff n/a"
                    cells.append(md(f"{fmt_ips(st['median'])} ({eff})"))
                L += [f"| {API_LABEL[api]} | {md(task_label(task, recs))} | " + " | ".join(cells) + " |"]
        L += [""]

    # hardware limit
    L += ["## Hardware limit", "",
          "Achieved training TFLOP/s = images/sec × training FLOPs per image (tools/flops.py: "
          "3 × forward FLOPs less the first layer's gradient w.r.t. the images, never computed; "
          "forward FLOPs = 2 × the multiply-accumulates of the conv and "
          "fully-connected layers, batch norm, ReLU, pooling and softmax ignored), and its share "
          "of the measured fp32 matmul peak (times the number of GPUs for data-parallel cells).", "",
          "| Task | API | devices | image px | GFLOP/img (train) | img/s | TFLOP/s | % of peak |",
          "|---|---|---|---|---|---|---|---|"]
    for task in TASKS:
        for api in APIS:
            for g in sorted({r["gpus"] for r in recs if r["task"] == task and r["api"] == api}):
                st = cell_stats(recs, task, api, g)
                if not st["ok"]:
                    continue
                r0 = st["ok"][0]
                tfl = statistics.median(r["tflops"] for r in st["ok"] if r["tflops"] is not None) \
                    if any(r["tflops"] is not None for r in st["ok"]) else None
                pct = [r["pct_of_peak"] for r in st["ok"] if r["pct_of_peak"] is not None]
                gf = r0["train_gflop_per_image"]
                L += [f"| {md(task_label(task, recs))} | {API_LABEL.get(api, api)} | "
                      f"{'cpu' if g == 0 else g} | {r0['image_size']} | "
                      f"{gf if gf is not None else 'n/a'} | {fmt_ips(st['median'])} | "
                      f"{f'{tfl:.4f}' if tfl is not None else 'n/a'} | "
                      f"{f'{statistics.median(pct):.1f}%' if pct else 'n/a (no peak)'} |"]
    notes = []
    for task in TASKS:
        counted = {}
        for r in recs:
            p = r["lines"].get("model", {}).get("params")
            if r["task"] == task and isinstance(p, int):
                try:
                    counted.setdefault((p, flops.params(task, r["image_size"])), []).append(r["api"])
                except ValueError:
                    pass
        for (p, want), apis in counted.items():
            if p != want:
                notes.append(f"- {TASK_LABEL[task]}: {', '.join(sorted(set(apis)))} report {p:,} "
                             f"parameters, tools/flops.py counts {want:,}: its FLOPs may not "
                             "describe that model.")
    if notes:
        L += ["", "Model/FLOP-count mismatches:", ""] + notes
    L += [""]

    # API properties
    props = api_properties(recs)
    L += ["## API properties", "",
          "Differences that stay because they are the API: how a batch reaches the device "
          "(`input`) and, for ResNet50, whether batch norm is fused (`bn`), as each script's "
          "`model` line reports them. The keys that must be equal are checked above "
          "(fairness)."]
    if props:
        L += ["", "| Task | key | " + " | ".join(API_LABEL[a] for a in APIS) + " |",
              "|---|---|" + "---|" * len(APIS)]
        for (task, g), keys in props.items():
            for key in API_KEYS:
                vals = keys.get(key, {})
                if not vals or all(v == {"none"} for v in vals.values()):
                    continue
                cells = [", ".join(sorted(vals[a])) if a in vals else "—" for a in APIS]
                L += [f"| {md(task_label(task, recs))}, {gpus_label(g)} | `{key}` | "
                      + " | ".join(md(c) for c in cells) + " |"]
    else:
        L += ["", "No run reports them: the scripts do not report `input` and `bn` (README.md lists these differences)."]
    L += [""]

    # busy machine
    warned = [r for r in recs if r["load_warning"]]
    L += ["## Machine load", "",
          f"⚠ marks a cell with a run during which other work used the machine: more than "
          f"{OTHER_CPU_LIMIT} cores busy in the second before the run started or after it ended "
          "(run_all.sh's `other_cpu`; for logs without it, the 1-minute load average at the start "
          "above the core count)."]
    if warned:
        L += [""] + [f"- {r['cell']} repeat {r['repeat']}: {r['load_warning']}" for r in warned]
    L += [""]

    bad = [r for r in recs if r["status"] != "ok"]
    sweep = sweep or {"ignored": [], "junk": [], "missing": []}
    if bad or sweep["missing"]:
        L += ["## Failed and skipped runs", ""]
        for r in bad:
            L += [f"- {r['status'].upper()}: {r['cell']} repeat {r['repeat']} "
                  f"(logs/{r['file']}): {md(r['reason'])}"]
        for cell, rep in sweep["missing"]:
            L += [f"- NOT RUN: {cell} repeat {rep}: planned (plan.txt), no log "
                  "(the sweep was interrupted or has not reached it)"]
        L += [""]
    if sweep["ignored"] or sweep["junk"]:
        L += ["## Ignored logs", "",
              "Files in logs/ that no figure above uses: logs of another plan or other settings "
              "(a rerun with other options into this folder), and logs that cannot be placed "
              "(strays, duplicates, unknown names: these make the exit status 1).", ""]
        for g in sweep["ignored"]:
            L += [f"- {'PROBLEM' if g['problem'] else 'stale'}: logs/{g['file']}: {md(g['reason'])}"]
        for g in sweep["junk"]:
            L += [f"- skipped: logs/{g['file']}: {md(g['reason'])}"]
        L += [""]
    L += [f"Collector exit status: {exit_status} (0 ok, 1 a run failed or is missing or a log cannot "
          "be placed, 3 fairness mismatch)."]
    with open(os.path.join(d, "results.md"), "w") as f:
        f.write("\n".join(L) + "\n")


CSV_FIELDS = ("file", "cell", "task", "api", "gpus", "repeat", "status", "reason",
              "images_per_sec", "spread_pct", "epochs_timed", "epochs_images_per_sec", "image_size",
              "batch", "params", "optimizer", "lr", "dtype", "data_format", "device", "data",
              "load1_start", "load1_end", "other_cpu_start", "other_cpu_end", "load_warning",
              "wall_s", "rc", "train_gflop_per_image", "tflops", "pct_of_peak", "start", "commit")


def write_csv(d, recs):
    with open(os.path.join(d, "results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, CSV_FIELDS)
        w.writeheader()
        for r in recs:
            model, run = r["lines"].get("model", {}), r["lines"].get("run", {})
            row = {k: r.get(k) for k in CSV_FIELDS}
            for k in ("batch", "params", "optimizer", "lr", "dtype", "data_format"):
                row[k] = model.get(k)
            row["start"], row["commit"] = run.get("start"), run.get("commit")
            row["epochs_images_per_sec"] = ";".join(str(v) for v in r["epochs_images_per_sec"])
            for k in ("tflops", "pct_of_peak"):
                row[k] = None if r[k] is None else round(r[k], 6)
            w.writerow(row)


def write_json(d, recs, peak, fair, info, exit_status, sweep=None):
    sweep = sweep or {"ignored": [], "junk": [], "missing": []}
    with open(os.path.join(d, "results.json"), "w") as f:
        json.dump({"generated_at": datetime.datetime.now().astimezone().isoformat(),
                   "machine": info, "versions": versions(), "commit": git_commit(),
                   "peak": peak, "fairness_mismatches": fair, "exit_status": exit_status,
                   "runs": recs, "ignored": sweep["ignored"], "junk": sweep["junk"],
                   "missing": [{"cell": c, "repeat": r} for c, r in sweep["missing"]]}, f, indent=1)


def write_png(d, recs, info, peak):
    """Per task, each API's throughput relative to Keras: the median of the paired ratios over
    repeats with their min–max as whiskers, a line at 1.0 and the A/A noise band shaded."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    quick = is_quick(recs)
    others = [a for a in APIS if a != "keras"]
    colors = {"tensorpack": "#1f77b4", "tflearn": "#2ca02c"}
    offset = {a: (i - (len(others) - 1) / 2) * 0.22 for i, a in enumerate(others)}
    fig, ax = plt.subplots(figsize=(10, 5.5))
    ax.axhline(1.0, color="#d62728", lw=1.5, label="Keras (= 1.0)", zorder=1)
    extremes = [1.0]
    for t, task in enumerate(TASKS):
        g = single_gpus(recs, task)
        aa = aa_ratios(recs, task, g)
        if aa:
            band = max(abs(math.log(v)) for _, v in aa)
            lo, hi = math.exp(-band), math.exp(band)
            ax.fill_between([t - 0.42, t + 0.42], lo, hi, color="0.85", lw=0, zorder=0,
                            label="A/A noise band (keras-aa / Keras)" if t == 0 else None)
            ax.text(t + 0.42, hi, f"±{percent(hi - 1)}", ha="right", va="bottom", fontsize=7,
                    color="0.4")
            extremes += [lo, hi]
        else:
            ax.annotate("no A/A pair", (t, 1.0), xytext=(0, 3), textcoords="offset points",
                        ha="center", va="bottom", fontsize=7, color="0.4")
        for api in others:
            x = t + offset[api]
            pr = pair_ratio(recs, task, api, "keras", g)
            if pr["median"] is None:
                ax.text(x, 0.02, "no\npair", ha="center", va="bottom", fontsize=7,
                        transform=ax.get_xaxis_transform(), color="0.4")
                continue
            won = pr["established"] and not quick
            ax.errorbar([x], [pr["median"]], yerr=[[pr["median"] - pr["min"]],
                                                   [pr["max"] - pr["median"]]],
                        fmt="o", ms=8, capsize=4, color=colors[api], zorder=3,
                        markerfacecolor=colors[api] if won else "white", markeredgewidth=1.8)
            n = len(pr["pairs"])
            ax.annotate(f"{pr['median']:.2f}×\n{n} pair{'s' if n != 1 else ''}",
                        (x, pr["max"]), xytext=(0, 4), textcoords="offset points",
                        ha="center", va="bottom", fontsize=7)
            extremes += [pr["min"], pr["max"]]
    for api in others:  # legend entries: one filled, one hollow marker per API
        ax.errorbar([], [], fmt="o", ms=7, color=colors[api], label=f"{API_LABEL[api]} / Keras")
    ax.errorbar([], [], fmt="o", ms=7, color="0.3", markerfacecolor="white",
                label="hollow: not established")
    ax.set_yscale("log")
    low, high = min(extremes), max(extremes)
    span = max(math.log(high / low), 0.2)
    ax.set_ylim(low * math.exp(-0.12 * span), high * math.exp(0.3 * span))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}×"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ticks = [v for v in (0.25, 0.5, 0.67, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2, 3, 4)
             if ax.get_ylim()[0] <= v <= ax.get_ylim()[1]]
    ax.set_yticks(ticks)
    ax.set_xlim(-0.5, len(TASKS) - 0.5)
    ax.set_xticks(range(len(TASKS)))
    labels = []
    for task in TASKS:
        lab = task_label(task, recs).replace(" (", "\n(")
        labels.append(lab + f"\n({device_label(recs, task, single_gpus(recs, task))})")
    ax.set_xticklabels(labels, fontsize=9)
    ax.set_ylabel("images/sec relative to Keras (log scale)")
    fig.text(0.01, 0.01, "markers: median over repeats of the paired ratio API / Keras; whiskers: "
             "min–max of the pairs; filled: established (beyond the A/A band, see results.md); "
             "absolute figures: results.md", fontsize=7, color="0.3")
    where = (f"{len(info['gpus'])} × {info['gpus'][0]}" if info["gpus"]
             else f"{info['cpu']}, {info['cores']} cores")
    title = f"Single-device training throughput relative to Keras — {where}"
    if quick:
        title = "SMOKE TEST (--quick): no comparison — " + title
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(os.path.join(d, "results.png"), dpi=110)
    plt.close(fig)


def collect(d):
    sweep = read_sweep(d)
    recs, peak = sweep["recs"], sweep["peak"]
    for j in sweep["junk"]:
        print(f"collect.py: warning: skipped logs/{j['file']}: {j['reason']}", file=sys.stderr)
    add_hardware(recs, peak)
    fair = fairness(recs)
    failed = (any(r["status"] == "failed" for r in recs) or sweep["missing"]
              or any(g["problem"] for g in sweep["ignored"]))
    exit_status = EXIT_FAIRNESS if fair else EXIT_FAILED if failed else EXIT_OK
    info = machine()
    write_md(d, recs, peak, fair, info, exit_status, sweep)
    write_csv(d, recs)
    write_json(d, recs, peak, fair, info, exit_status, sweep)
    write_png(d, recs, info, peak)
    return exit_status, recs


def check(path, rc):
    """run_all.sh's verdict on a run that just ended (before its run_end line): prints
    "ok IMAGES_PER_SEC" or "failed REASON" and returns 0 (the rule is verdict()'s)."""
    raw, lines, epochs = read_lines(path)
    run = lines.get("run", {})
    task, api, gpus = split_cell(run.get("cell", "")) or ("?", "?", 0)
    status, reason = verdict(lines, epochs, task, api, gpus, rc, ended=False, error=error_line(raw))
    print(f"ok {lines['summary']['images_per_sec']}" if status == "ok" else f"failed {reason}")
    return EXIT_OK


def main(argv):
    if len(argv) == 3 and argv[0] == "--check":  # run_all.sh: --check LOG RC
        return check(argv[1], int(argv[2]) if re.fullmatch(r"\d+", argv[2]) else None)
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print(__doc__, file=sys.stdout if argv[:1] in (["-h"], ["--help"]) else sys.stderr)
        return EXIT_OK if argv[:1] in (["-h"], ["--help"]) else EXIT_USAGE
    d = argv[0]
    if not os.path.isdir(os.path.join(d, "logs")):
        print(f"collect.py: error: no logs/ folder in {d}", file=sys.stderr)
        return EXIT_USAGE
    status, recs = collect(d)
    n_ok = sum(r["status"] == "ok" for r in recs)
    print(f"collect.py: {len(recs)} runs ({n_ok} ok) -> {d}/results.md, results.csv, results.json, "
          f"results.png; exit {status}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
