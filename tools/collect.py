#!/usr/bin/env python3
"""Collect a sweep's logs into results tables, a chart and machine-readable records.

    tools/collect.py DIR

The rules below (which logs count, "ok", fairness, the winner) live in tools/rules.py; this file
writes the report and holds the command line.

Reads only the logfmt lines of DIR/logs/*.log: the scripts' `model`, `throughput`, `summary`
and `versions` lines (CONTRACT.md), the sweep's `run` / `run_end` lines and tools/peak.py's `peak`
lines. A line counts when its first word is one of those and it carries key=value pairs (values
may be "double-quoted" with \\" escapes); everything else in a log is ignored, except that the last
error-looking line of a failed run is kept as its reason. Writes into DIR, each file renamed into
place only when all four are complete:

  results.md    header (the machine and library versions the runs recorded, the measured peaks,
                whether the CPU runs bfloat16 natively as recorded, date, commit), fairness check,
                single-device table, ratios vs Keras with the A/A noise band, Keras backends and
                XLA (keras-xla/keras, keras-jax/keras, keras-jax/keras-xla, keras-torch/keras),
                each API as a fraction of the plain-TF floor ("floor beaten" beyond the A/A
                band), per-step overhead (the tiny task's ms/step and each API's ms/step over
                plain TF's), data-parallel table, hardware-limit table, API-property table,
                failed/skipped runs, mixed runs (a --quick sweep: marked as a smoke test, no
                winner named). Only the tasks of the plan (plan.txt; without one, those with a
                run) get rows, and only the planned APIs beyond tensorpack, Keras and tflearn get
                columns and sections. With several variants
                (run_all.sh --variants): first "Variant speed-ups", then the five per-task
                sections once per variant, each under its own "## Variant `<variant>`" heading
                (their own headings one level down); with fp32 runs alone, each section once.
  results.csv   one row per run (its variant and ms per step columns)
  results.json  one record per run (every key of its lines, its variant, its epochs'
                images/sec), plus the peaks ("peak": the float32 one), the variants, fairness
                findings, the backend, floor and overhead comparisons ("comparisons"), mixed
                makers and the exit status
  results.png   per task, each API's single-device images/sec relative to Keras, and Keras/JAX
                relative to Keras XLA (median of the paired ratios, whiskers min-max), the A/A
                noise band shaded; beside it, when plain TF ran, each API as a fraction of plain
                TF's; one row of panels per variant

Which logs count: a log named <task>.<api>.g<N>[.<variant>].r<repeat>.log whose `run` line names
that same cell and repeat (a variant in its canonical spelling: amp+onednn, never onednn+amp; fp32
cells have none). When DIR/plan.txt exists (the sweep writes it), only the runs it plans count,
and only if made as DIR/settings.txt records for their cell (mode, arguments, the hashes of the
script and bench.py, uncommitted edits, interpreter, host) with the library versions it records
(rules.made_otherwise); every other log is listed under "Ignored logs" with the reason (stale:
another plan or made otherwise; problem: a stray whose name and run line disagree, a duplicate,
an unknown task or API). Counted runs that still differ in what made them (a folder without
settings.txt) are listed under "MIXED RUNS". Files in logs/ that are no run log (a folder, no log
lines) are skipped with a warning. The peaks count from logs/peak.log and logs/peak.onednn.log
(measured under TF_ENABLE_ONEDNN_OPTS=1), each only if the current plan (settings.txt) wants it
and it was measured so; each log's best line of each precision (dtype=, float32 when a line has
none) counts.

Variants: a cell's variant is the last part of its name; every table, ratio, A/A band, winner and
fairness check is per task, device count and variant. "Variant speed-ups" shows, per task, API and
device count, each variant's images/sec over that of each variant of the sweep whose parts are a
proper subset of its own (amp+onednn over fp32 and over onednn), from the two runs of each repeat
(busy runs left out), median, min-max and the number of pairs, with the two variants' Keras A/A
bands as context; no winner is named there. Each run is held to the peak of its model line's dtype
and oneDNN setting (rules.peak_for): "— (no bfloat16 peak measured)" when there is none.

The rule for "ok" (rules.verdict(); the sweep applies it to each run as it ends): exit code 0, a
run_end line, a summary whose images_per_sec is a finite positive number of sensible size equal to
the median of its throughput lines of epochs >= 2 (epoch 1 alone when only one epoch ran), and
model, summary and throughput lines naming the cell's task, API (FRAMEWORK_OF for an API that runs
another API's script) and device count, with replicas = max(gpus, 1), and a model line that does
not contradict the cell's variant (rules.variant_problem: amp needs dtype bfloat16 or float16, and
float16 loss scaling; xla, nchw and onednn need xla=True, channels_first and onednn=True; without
them, float32, xla=False, channels_last; keras-jax and keras-xla always need xla=True), and for the
Keras APIs the backend= of their API (keras-jax: jax, keras-torch: torch; else tensorflow, or no
backend= in an older log). A number of more than 17
significant digits is no number. Anything else is FAILED with its reason. The within-run spread
and the number of timed epochs are computed from the throughput lines.

Fairness: the model lines' must-be-equal keys (FAIR_KEYS) are compared per task, device count and
variant after normalising each framework's spelling (numbers by value, "none" = 0 for the optimizer's
hyperparameters, case-insensitive names, aliases: GradientDescent = SGD, NHWC = channels_last,
NCHW = channels_first, on/off = True/False). The API properties (API_KEYS: input, bn, variables)
are shown per task and API in results.md and never compared, nor are the keys that are a backend's
own (rules.UNCOMPARED: xla for keras-xla and keras-jax, onednn for keras-jax and keras-torch).

Exit status: 0 all runs ok (skipped runs are not failures); 1 some run failed, a planned run has
no log, a log cannot be placed (stray, duplicate, unknown name), or the runs are mixed; 3 fairness
mismatch between the APIs' `model` lines (wins over 1); 2 bad usage (no DIR/logs folder); 4 the
collector itself failed (a bug: no results file was replaced).

Load rule: the sweep measures `other_cpu`, the number of cores kept busy by other work during one
second right before each run starts and right after it ends (nothing of the sweep runs then).
A run is flagged "busy machine" when either sample exceeds 0.5 cores, and takes no part in a
ratio (the winner rule uses quiet runs only).
"""
import csv
import datetime
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flops  # noqa: E402  (tools/flops.py, pure arithmetic)
from rules import (  # noqa: E402  (tools/rules.py: what counts, ok, fairness, the winner)
    AA_API, API_KEYS, APIS, BASE_VARIANT, FLOOR_API, GENERATED_LABEL,
    MAX_FALSE_WINNER, OTHER_CPU_LIMIT, OVERHEAD_TASK, SHOWN_APIS, TASKS, aa_ratios,
    api_properties, cell_stats, fairness, fastest, is_quick, of_variant, pair_ratio, peak_dtype,
    peak_for, peak_onednn, percent, planned_apis, planned_tasks, read_sweep, rec_variant, TAGS,
    single_gpus, speedup_bases, step_difference, step_ms, step_stats, variant_parts,
    variant_ratio, variants_in)

TASK_LABEL = {"cifar10-cnn": "CIFAR CNN", "alexnet": "AlexNet", "vgg16": "VGG16",
              "resnet50": "ResNet50", "tiny": "Tiny (per-step overhead)"}
API_LABEL = {"tensorpack": "tensorpack", "keras": "Keras", "tflearn": "tflearn",
             AA_API: "Keras A/A", "keras-jax": "Keras/JAX", "keras-torch": "Keras/torch",
             "keras-xla": "Keras XLA", FLOOR_API: "plain TF"}
# The Keras backend and XLA ratios (results.md's "Keras backends and XLA", the chart): a / b.
BACKEND_PAIRS = (("keras-xla", "keras"), ("keras-jax", "keras"), ("keras-jax", "keras-xla"),
                 ("keras-torch", "keras"))
# The chart's ratio series: the compared APIs over Keras, then BACKEND_PAIRS.
CHART_PAIRS = (("tensorpack", "keras"), ("tflearn", "keras")) + BACKEND_PAIRS
PAIR_COLOR = {("tensorpack", "keras"): "#1f77b4", ("tflearn", "keras"): "#2ca02c",
              ("keras-xla", "keras"): "#9467bd", ("keras-jax", "keras"): "#ff7f0e",
              ("keras-jax", "keras-xla"): "#8c564b", ("keras-torch", "keras"): "#e377c2"}
API_COLOR = {"tensorpack": "#1f77b4", "keras": "#d62728", "tflearn": "#2ca02c",
             "keras-xla": "#9467bd", "keras-jax": "#ff7f0e", "keras-torch": "#e377c2"}
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_FAIRNESS, EXIT_CRASHED = 0, 1, 2, 3, 4
PART_LABEL = {"amp": "mixed precision (--amp: bfloat16 on a CPU, float16 on a GPU)",
              "xla": "XLA (--xla)", "onednn": "oneDNN forced on (TF_ENABLE_ONEDNN_OPTS=1)",
              "nchw": "channels-first (--data-format channels_first; no tflearn cells)"}
BASE_LABEL = ("the scripts' defaults: float32, channels-last, no XLA, oneDNN as TensorFlow's "
              "default for the CPU")
DTYPE_LABEL = {"float32": "fp32", "bfloat16": "bfloat16", "float16": "float16"}


def variant_label(v):
    return BASE_LABEL if v == BASE_VARIANT else ", ".join(PART_LABEL[p] for p in variant_parts(v))


# ---- hardware figures ---------------------------------------------------------------------------
def add_hardware(recs, peaks):
    """Each run's training GFLOP per image (tools/flops.py), and for an ok run its achieved
    TFLOP/s and % of the measured peak of its precision and oneDNN setting (rules.peak_for: its
    model line's dtype; times the GPUs that trained). `peaks`: the peak lines (or one, or None)."""
    peaks = [peaks] if isinstance(peaks, dict) else list(peaks or [])
    for r in recs:
        r["train_gflop_per_image"] = r["tflops"] = r["pct_of_peak"] = r["peak_tflops"] = None
        try:
            f = flops.train_flops(r["task"], r["image_size"])
        except (ValueError, TypeError):
            continue
        r["train_gflop_per_image"] = round(f / 1e9, 4)
        if r["status"] == "ok":
            r["tflops"] = float(r["images_per_sec"]) * f / 1e12
            peak = peak_for(r, peaks)
            if peak:
                r["peak_tflops"] = peak["tflops"]
                r["pct_of_peak"] = 100 * r["tflops"] / (peak["tflops"] * devices(r))


def devices(r):
    return r["gpus"] if r["gpus"] > 0 and r["device"] == "gpu" else 1


# ---- machine header: what the runs recorded ------------------------------------------------------
def machine(recs, peak=None):
    """The machine the runs were made on, from their `run` lines (the sweep reads the host's CPU,
    core count and GPU model where it runs them): {"cpu", "cores", "gpus": [GPU model] or [],
    "label"}; several machines are listed together (and flagged as mixed), none recorded says so."""
    seen = {(str(run["cpu"]), run.get("cores"), str(run.get("gpu_model", "")))
            for run in (r["lines"].get("run", {}) for r in recs) if "cpu" in run}
    if not seen:  # logs of an older sweep: the peak probe's log names the CPU it ran on
        name = str((peak or {}).get("device_name", "")).replace("_", " ")
        return {"cpu": None, "cores": None, "gpus": [],
                "label": (f"not recorded in the runs; the peak probe ran on {name}" if name
                          else "not recorded in the runs")}
    labels = [f"{cpu}, {cores} cores" + (f"; {gpu}" if gpu else "") for cpu, cores, gpu in sorted(seen)]
    (cpu, cores, gpu), = seen if len(seen) == 1 else [("; ".join(labels), None, "")]
    return {"cpu": cpu, "cores": cores, "gpus": [gpu] if gpu else [],
            "label": labels[0] if len(seen) == 1 else "MIXED: " + " | ".join(labels)}


def onednn_text(recs):
    """Whether TensorFlow's oneDNN CPU kernels ran, from the runs' model lines (`onednn`)."""
    said = {str(r["lines"].get("model", {}).get("onednn")) for r in recs if r["lines"].get("model")}
    said -= {"None", "n/a"}  # n/a: a run not on TensorFlow (Keras on JAX or torch)
    if not said:
        return "oneDNN not recorded in the runs"
    if said == {"True"}:
        return "TensorFlow's oneDNN CPU kernels on"
    if said == {"False"}:
        return "TensorFlow's oneDNN CPU kernels off"
    return "oneDNN on in some runs, off in others (see the fairness check)"


def bf16_text(recs, peaks):
    """Whether the CPU runs bfloat16 natively, as recorded (a CPU peak line's or a model line's
    bf16=native|emulated), never read by the collector; None when no run used bfloat16 on a CPU
    and nothing says."""
    said = {str(p["bf16"]) for p in peaks if p.get("device") == "cpu" and "bf16" in p}
    said |= {str(r["lines"]["model"]["bf16"]) for r in recs
             if "bf16" in r["lines"].get("model", {})}
    if said == {"native"}:
        return "bfloat16 native on this CPU"
    if said == {"emulated"}:
        return "bfloat16 emulated on this CPU (no native bfloat16 instructions)"
    if said:
        return f"bfloat16 support recorded as {' and '.join(sorted(said))}"
    if any("amp" in variant_parts(rec_variant(r)) and r.get("device") == "cpu" for r in recs):
        return "bfloat16 support not recorded"
    return None


def peak_text(peak):
    """One measured peak: TFLOP/s, precision, device, size, repetitions, oneDNN, TF32."""
    dtype = peak_dtype(peak)
    onednn = peak_onednn(peak)
    return (f"{peak['tflops']:.3f} TFLOP/s {DTYPE_LABEL.get(dtype, dtype)} matmul on "
            f"{peak.get('device', '?')} ({str(peak.get('device_name', '?')).replace('_', ' ')}), "
            f"n={peak.get('n')}, best of {peak.get('reps')} reps"
            + (f", oneDNN {'on' if onednn else 'off'}" if onednn is not None else "")
            + (f", bfloat16 {peak['bf16']}" if dtype == "bfloat16" and "bf16" in peak else "")
            + (" (TF32 allowed by TensorFlow's default precision)" if peak.get("tf32_allowed")
               else ""))


def versions(recs):
    """{library: "version"} from the runs' own `versions` lines (what each run imported, read in
    the run); a library reported with several versions lists them all."""
    seen = {}
    for r in recs:
        for lib, v in r["lines"].get("versions", {}).items():
            if lib not in TAGS:
                seen.setdefault(lib, set()).add(str(v))
    return {lib: " / ".join(sorted(vs)) for lib, vs in seen.items()}


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


# ---- formatting ---------------------------------------------------------------------------------
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
        txt = f"SKIPPED: {short(st['skipped'][-1]['reason'], 90)}"
    else:
        return "—"
    if st["warnings"]:
        txt += f" ⚠ busy machine ({len(st['warnings'])} run(s))"
    return md(txt)


def ratio_range(pr):
    """'— (no pair ...)' or (the min–max of the pairs and how many of how many repeats)."""
    if pr["median"] is None:
        busy = f" on a quiet machine: {pr['busy']} busy run(s) left out" if pr.get("busy") else ""
        return f"— (no pair of ok runs{busy})"
    n, R = len(pr["pairs"]), len(pr["repeats"])
    pairs = f"{n} pair{'s' if n != 1 else ''}" + (f" of {R} repeats" if R > n else "")
    if pr.get("busy"):
        pairs += f"; {pr['busy']} busy run{'s' if pr['busy'] != 1 else ''} left out"
    return f"{pr['min']:.2f}–{pr['max']:.2f}, {pairs}"


def ratio_text(pr, a, b, quick=False):
    rng = ratio_range(pr)
    if pr["median"] is None:
        return rng
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


def speedup_text(vr, quick=False):
    """A variant's speed-up over another: the median ratio and its range; never a winner."""
    if vr["median"] is None:
        return ratio_range(vr)
    return (f"{vr['median']:.2f}× ({ratio_range(vr)})"
            + (": smoke test: no comparison" if quick else ""))


def band_short(aa):
    return f"±{percent(math.exp(max(abs(math.log(v)) for _, v in aa)) - 1)}" if aa else "—"


def gpus_label(g):
    return "cpu" if g == 0 else f"gpus={g}"


def device_label(recs, task, gpus, variant=BASE_VARIANT):
    """Where a row's runs trained, from their model lines' device= (not from the asked count)."""
    said = sorted({str(r["device"]) for r in of_variant(recs, variant)
                   if r["task"] == task and r["gpus"] == gpus and r["device"]})
    if said == ["gpu"]:
        return f"gpu×{gpus}"
    if said == ["cpu"]:
        return "cpu" if gpus == 0 else f"cpu ({gpus} replica{'s' if gpus > 1 else ''})"
    if said:
        return f"{'/'.join(said)} (mixed)"
    return "cpu" if gpus == 0 else f"gpus={gpus} (device not reported)"


# ---- results.md: one function per section, each returning its lines -----------------------------
def md_header(recs, peaks, info):
    """Title, machine, measured peaks, versions, date and commits, run counts (per variant when
    there are several), and the notes on generated CIFAR data and on a --quick sweep."""
    peaks = [peaks] if isinstance(peaks, dict) else list(peaks or [])
    commits = sorted({str(r["lines"].get("run", {}).get("commit")) for r in recs
                      if r["lines"].get("run", {}).get("commit")})
    now = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    bf16 = bf16_text(recs, peaks)
    L = ["# CNN training throughput: tensorpack vs Keras vs tflearn", "",
         f"- Machine (recorded in the runs): {info['label']}; {onednn_text(recs)}"
         + (f"; {bf16}" if bf16 else "")]
    if len(peaks) == 1:
        L += [f"- Measured peak: {peak_text(peaks[0])}"]
    elif peaks:
        L += ["- Measured peaks: " + "; ".join(peak_text(p) for p in peaks)]
    vs = versions(recs)
    L += ["- Versions (read in the runs): " + (", ".join(f"{k} {v}" for k, v in vs.items())
                                               or "not recorded in the runs"),
          f"- Date: {now}; git commit: {git_commit()}"
          + (f"; runs made at commit(s) {', '.join(commits)}" if commits else ""),
          f"- Runs: {len(recs)} ({sum(r['status'] == 'ok' for r in recs)} ok, "
          f"{sum(r['status'] == 'failed' for r in recs)} failed, "
          f"{sum(r['status'] == 'skipped' for r in recs)} skipped)"]
    variants = variants_in(recs)
    if variants != [BASE_VARIANT] and variants:
        L += ["- Variants: " + "; ".join(
            f"`{v}` ({len(of_variant(recs, v))} runs): {variant_label(v)}" for v in variants)]
    if any(r["generated_data"] for r in recs):
        L += [f"- **CIFAR figures use {GENERATED_LABEL}** (tools/make_cifar_data.py), not the real "
              "CIFAR-10 set; throughput does not depend on pixel values, but label them as such."]
    if is_quick(recs):
        L += ["", "> **SMOKE TEST (`run_all.sh --quick`).** Tiny settings that only check that every "
              "cell runs end to end: the figures below measure start-up more than training and "
              "compare nothing. No winner is named; for a comparison run the default sweep."]
    return L + [""]


def md_fairness(fair, multi=False):
    """The fairness mismatches, if any (none: no section); multi: each names its variant."""
    if not fair:
        return []
    L = ["## FAIRNESS MISMATCH", "",
         "The APIs' `model` lines differ for the same task and device count"
         + (" and variant" if multi else "") + ", so their figures are not comparable:", ""]
    for f in fair:
        vals = "; ".join(f"{API_LABEL.get(a, a)}: {', '.join(v)}"
                         for a, v in sorted(f["values"].items()))
        where = gpus_label(f["gpus"]) + (f", {f.get('variant', BASE_VARIANT)}" if multi else "")
        L += [f"- {TASK_LABEL.get(f['task'], f['task'])} ({where}): "
              f"`{f['key']}` differs ({md(vals)})"]
    return L + [""]


def md_single_device(recs, quick, variant=BASE_VARIANT, tasks=TASKS, apis=APIS):
    """Per task, each API's single-device images/sec; the established winner (of the compared
    APIS) in bold."""
    L = ["## Single device", "",
         "Images/sec (higher is better): median over repeats of each run's median epoch "
         "(epochs ≥ 2; epoch 1 is warm-up), with min–max across repeats and the number of runs. "
         "Single device = `gpus=1` on a GPU machine, `gpus=0` (CPU) otherwise. A figure in bold is "
         "faster than every other of tensorpack, Keras and tflearn by an established paired ratio "
         "(see below)." + extra_columns_note(apis), "",
         "| Task | device | " + " | ".join(API_LABEL[a] for a in apis) + " |",
         "|---|---|" + "---|" * len(apis)]
    for task in tasks:
        g = single_gpus(recs, task, variant)
        win = None if quick else fastest(recs, task, g, variant)
        cells = [cell_text(cell_stats(recs, task, a, g, variant), bold=(a == win)) for a in apis]
        L += [f"| {md(task_label(task, recs))} | {device_label(recs, task, g, variant)} | "
              + " | ".join(cells) + " |"]
    return L + [""]


def md_ratios(recs, quick, variant=BASE_VARIANT, tasks=TASKS):
    """Per task, the paired ratios vs Keras and the A/A noise band."""
    L = ["## Ratios vs Keras", "",
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
    for task in tasks:
        g = single_gpus(recs, task, variant)
        cells = [ratio_text(pair_ratio(recs, task, a, "keras", g, variant), a, "keras", quick)
                 for a in ("tensorpack", "tflearn")]
        cells.append(band_text(aa_ratios(recs, task, g, variant)))
        L += [f"| {md(task_label(task, recs))} | " + " | ".join(md(c) for c in cells) + " |"]
    return L + [""]


def extra_columns_note(apis):
    """What the columns beyond tensorpack, Keras and tflearn are (none: '')."""
    said = {"keras-jax": "Keras/JAX is the Keras script on JAX (`--backend jax`, always compiled)",
            "keras-torch": "Keras/torch on PyTorch (`--backend torch`)",
            "keras-xla": "Keras XLA on TensorFlow with `--xla`",
            FLOOR_API: "plain TF is plain TensorFlow, the floor (see \"Fraction of the plain-TF "
                       "floor\")"}
    notes = [said[a] for a in apis if a in said]
    return (" " + "; ".join(notes) + ".") if notes else ""


def pairs_text(pr):
    """'n pairs[ of R repeats][; k busy runs left out]' of a paired comparison."""
    n, R = len(pr["pairs"]), len(pr["repeats"])
    text = f"{n} pair{'s' if n != 1 else ''}" + (f" of {R} repeats" if R > n else "")
    if pr.get("busy"):
        text += f"; {pr['busy']} busy run{'s' if pr['busy'] != 1 else ''} left out"
    return text


def md_backends(recs, quick, variant=BASE_VARIANT, tasks=TASKS, apis=APIS):
    """Per task, Keras on JAX and on torch against Keras on TensorFlow, without and with XLA
    (BACKEND_PAIRS), paired by repeat and judged against the A/A band (no section when none of
    these APIs was planned)."""
    pairs = [(a, b) for a, b in BACKEND_PAIRS if a in apis and b in apis]
    if not pairs:
        return []
    L = ["## Keras backends and XLA", "",
         "The Keras scripts on other backends against Keras on TensorFlow: Keras/JAX "
         "(`--backend jax`), which always compiles the step with XLA, over Keras without XLA and "
         "over Keras XLA (`--xla`); Keras/torch (`--backend torch`) over Keras. Paired by repeat "
         "and judged against the A/A band exactly as the ratios above (median, min–max, pairs; a "
         "name in bold is faster beyond the band)."]
    if quick:
        L += ["", "Smoke test: the ratios are shown for completeness and compare nothing."]
    heads = [f"{API_LABEL[a]} / {API_LABEL[b]}" for a, b in pairs]
    L += ["", "| Task | device | " + " | ".join(heads) + " | A/A band (keras-aa / Keras) |",
          "|---|---|" + "---|" * (len(pairs) + 1)]
    for task in tasks:
        g = single_gpus(recs, task, variant)
        cells = [without_runs(recs, task, (a, b), g, variant)
                 or ratio_text(pair_ratio(recs, task, a, b, g, variant), a, b, quick)
                 for a, b in pairs]
        cells.append(band_text(aa_ratios(recs, task, g, variant)))
        L += [f"| {md(task_label(task, recs))} | {device_label(recs, task, g, variant)} | "
              + " | ".join(md(c) for c in cells) + " |"]
    return L + [""]


def without_runs(recs, task, apis, g, variant):
    """'' or '— (<API> skipped|failed|not run)' for the first of `apis` without an ok run of a
    task and device count: a paired comparison with it has nothing to pair."""
    for api in apis:
        st = cell_stats(recs, task, api, g, variant)
        if not st["ok"]:
            what = "skipped" if st["skipped"] else "failed" if st["failed"] else "not run"
            return f"— ({API_LABEL.get(api, api)} {what})"
    return ""


def floor_text(pr, quick=False):
    """An API's images/sec as a fraction of plain TensorFlow's: median (min–max, pairs), and
    "floor beaten" where it is faster beyond the A/A band."""
    if pr["median"] is None:
        return ratio_range(pr)
    head = f"{pr['median']:.2f} ({pr['min']:.2f}–{pr['max']:.2f}, {pairs_text(pr)})"
    if quick:
        return f"{head}: smoke test: no comparison"
    if pr["established"]:
        return (f"**{head}: floor beaten**" if pr["median"] > 1 else f"{head}: below the floor")
    return f"{head}: not established ({pr['why']})"


def md_floor(recs, quick, variant=BASE_VARIANT, tasks=TASKS, apis=APIS):
    """Per task, each API's images/sec as a fraction of plain TensorFlow's (the floor), paired by
    repeat, flagged "floor beaten" beyond the A/A band (no section when tf was not planned)."""
    if FLOOR_API not in apis:
        return []
    others = [a for a in apis if a != FLOOR_API]
    L = ["## Fraction of the plain-TF floor", "",
         "Each API's images/sec divided by plain TensorFlow's (`tf`: the same model, input and "
         "optimizer written against TensorFlow alone, the floor an API's conveniences cost "
         "against) from the two runs of the same repeat: the median over repeats with its "
         "min–max and the number of pairs. Below 1.0 an API is slower than the floor. Where "
         "every pair lies above 1.0 beyond the A/A band (the rule that names a winner above), "
         "the table says **floor beaten**: the API's own path is faster than what the plain-TF "
         "script does; \"below the floor\" where every pair lies below it beyond the band."]
    if quick:
        L += ["", "Smoke test: the fractions are shown for completeness and compare nothing."]
    L += ["", "| Task | device | " + " | ".join(f"{API_LABEL[a]} / TF" for a in others)
          + " | A/A band (keras-aa / Keras) |", "|---|---|" + "---|" * (len(others) + 1)]
    for task in tasks:
        g = single_gpus(recs, task, variant)
        cells = [without_runs(recs, task, (a, FLOOR_API), g, variant)
                 or floor_text(pair_ratio(recs, task, a, FLOOR_API, g, variant), quick)
                 for a in others]
        cells.append(band_text(aa_ratios(recs, task, g, variant)))
        L += [f"| {md(task_label(task, recs))} | {device_label(recs, task, g, variant)} | "
              + " | ".join(md(c) for c in cells) + " |"]
    return L + [""]


def step_text(recs, task, api, g, variant):
    """A cell's ms/step: median (min–max, runs), or why it has none (failed, skipped)."""
    ms = step_stats(recs, task, api, g, variant)
    if ms["median"] is None:
        return cell_text(cell_stats(recs, task, api, g, variant))
    k = len(ms["values"])
    return (f"{ms['median']:.2f} ms" + (f" ({ms['min']:.2f}–{ms['max']:.2f}, n={k} runs)" if k > 1
                                        else " (n=1 run)"))


def over_floor_text(d, quick=False):
    """An API's ms/step less plain TF's, paired by repeat: median (min to max, pairs) and the
    verdict on the images/sec ratio against the A/A band."""
    if d["median"] is None:
        return ratio_range(d)
    head = (f"{d['median']:+.2f} ms ({d['min']:+.2f} to {d['max']:+.2f}, {pairs_text(d)})")
    if quick:
        return f"{head}: smoke test: no comparison"
    if d["established"]:
        return (f"**{head}: floor beaten**" if d["ratio_median"] > 1
                else f"{head}: beyond the A/A band")
    return f"{head}: not established ({d['why']})"


def md_overhead(recs, quick, variant=BASE_VARIANT, tasks=TASKS, apis=APIS):
    """The tiny task's milliseconds per step per API, and each API's cost per step over plain
    TensorFlow's, paired by repeat (no section when the tiny task was not planned)."""
    if OVERHEAD_TASK not in tasks:
        return []
    task = OVERHEAD_TASK
    g = single_gpus(recs, task, variant)
    L = ["## Per-step overhead", "",
         f"The `{task}` task (the ImageNet scripts' `--model {task}`: a step's compute well under "
         "a millisecond) measures what an API costs per training step beyond the compute: "
         "milliseconds per step = 1000 × global batch (the model line's per-device batch × "
         "replicas) / images/sec, median over repeats with min–max and the number of runs; and "
         "each API's ms/step less plain TensorFlow's from the two runs of the same repeat (its "
         "fixed cost over the floor), median with min to max and the number of pairs, judged on "
         "the two runs' images/sec ratio against the A/A band as every ratio here "
         "(**floor beaten**: faster than plain TF beyond the band).", "",
         f"Device: {device_label(recs, task, g, variant)}; A/A band (keras-aa / Keras): "
         f"{band_text(aa_ratios(recs, task, g, variant))}."]
    if quick:
        L += ["", "Smoke test: the figures are shown for completeness and compare nothing."]
    L += ["", "| API | ms/step | over plain TF (ms/step, paired) |", "|---|---|---|"]
    for api in apis:
        if api == FLOOR_API:
            over = "— (the floor)"
        elif FLOOR_API not in apis:
            over = "— (plain TF not planned)"
        else:
            over = (without_runs(recs, task, (api, FLOOR_API), g, variant) or
                    over_floor_text(step_difference(recs, task, api, FLOOR_API, g, variant), quick))
        L += [f"| {API_LABEL[api]} | {md(step_text(recs, task, api, g, variant))} | {md(over)} |"]
    return L + [""]


def counts_flops(task):
    """Whether tools/flops.py counts a task's FLOPs (the tiny task's may be missing)."""
    try:
        flops.train_flops(task)
        return True
    except (ValueError, KeyError, TypeError):
        return False


def md_data_parallel(recs, variant=BASE_VARIANT, tasks=TASKS, apis=APIS):
    """Images/sec and scaling efficiency per device count (no section without a multi-device
    run)."""
    recs = of_variant(recs, variant)
    multi = [r for r in recs if r["gpus"] > 1]
    if not multi:
        return []
    counts = sorted({r["gpus"] for r in recs if r["gpus"] >= 1} |
                    ({0} if not any(r["gpus"] == 1 for r in recs) else set()))
    L = ["## Data parallel", "",
         "Images/sec over all replicas (median over repeats) and scaling efficiency against "
         "one device: eff = ips_N / (N × ips_1) (the CPU run, gpus=0, is the base when no "
         "gpus=1 run exists).", "",
         "| API | model | " + " | ".join(f"{c} dev" if c else "cpu" for c in counts) + " |",
         "|---|---|" + "---|" * len(counts)]
    for api in apis:
        for task in tasks:
            if not any(r["api"] == api and r["task"] == task for r in multi):
                continue
            base_g = 1 if cell_stats(recs, task, api, 1, variant)["runs"] else 0
            base = cell_stats(recs, task, api, base_g, variant)["median"]
            cells = []
            for c in counts:
                st = cell_stats(recs, task, api, c, variant)
                if st["median"] is None:
                    cells.append(cell_text(st))
                    continue
                n = max(c, 1)
                eff = f"eff {st['median'] / (n * base):.2f}" if base else "eff n/a"
                cells.append(md(f"{fmt_ips(st['median'])} ({eff})"))
            L += [f"| {API_LABEL[api]} | {md(task_label(task, recs))} | " + " | ".join(cells) + " |"]
    return L + [""]


def md_hardware(recs, peaks=None, variant=BASE_VARIANT, tasks=TASKS, apis=APIS):
    """Achieved TFLOP/s and % of the measured peak per cell (the peak of its precision, see
    add_hardware), then any parameter-count mismatch between the model lines and tools/flops.py."""
    recs = of_variant(recs, variant)
    peaks = [peaks] if isinstance(peaks, dict) else list(peaks or [])
    of_peak = ("of the measured fp32 matmul peak" if variant == BASE_VARIANT else
               "of the measured matmul peak of the runs' precision (their model line's dtype) "
               "and oneDNN setting")
    L = ["## Hardware limit", "",
         "Achieved training TFLOP/s = images/sec × training FLOPs per image (tools/flops.py: "
         "3 × forward FLOPs less the first layer's gradient w.r.t. the images, never computed; "
         "forward FLOPs = 2 × the multiply-accumulates of the conv and "
         "fully-connected layers, batch norm, ReLU, pooling and softmax ignored), and its share "
         f"{of_peak} (times the number of GPUs for data-parallel cells).", "",
         "| Task | API | devices | image px | GFLOP/img (train) | img/s | TFLOP/s | % of peak |",
         "|---|---|---|---|---|---|---|---|"]
    uncounted = []
    for task in tasks:
        if not counts_flops(task):
            uncounted.append(TASK_LABEL.get(task, task))
            continue
        for api in apis:
            for g in sorted({r["gpus"] for r in recs if r["task"] == task and r["api"] == api}):
                st = cell_stats(recs, task, api, g, variant)
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
                      f"{f'{statistics.median(pct):.1f}%' if pct else no_peak(st['ok'], peaks)} |"]
    if uncounted:
        L += ["", f"{', '.join(uncounted)}: no FLOP count in tools/flops.py, left out (the "
              "per-step overhead task is measured in ms/step, see above)."]
    notes = md_flop_count_notes(recs)
    if notes:
        L += ["", "Model/FLOP-count mismatches:", ""] + notes
    return L + [""]


def no_peak(runs, peaks):
    """The % of peak cell of runs without a measured peak of their precision."""
    if not peaks:
        return "n/a (no peak)"
    model = runs[0]["lines"].get("model", {})
    dtype = str(model.get("dtype") or "float32")
    onednn = model.get("onednn")
    if onednn is not None and any(peak_dtype(p) == dtype for p in peaks):
        on = str(onednn).lower() in ("1", "true")
        return f"— (no {dtype} peak measured with oneDNN {'on' if on else 'off'})"
    return f"— (no {dtype} peak measured)"


def md_speedups(recs, variants, quick, tasks=TASKS, apis=APIS):
    """Per task, device count and API, each variant's images/sec over that of each variant of the
    sweep whose parts are a proper subset of its own (rules.speedup_bases), paired by repeat."""
    L = ["## Variant speed-ups", "",
         "Each variant's images/sec divided by that of each variant of this sweep whose parts are "
         "a proper subset of its own (fp32 has none: amp+onednn is shown over fp32 and over "
         "onednn), for the same task, API and device count, from the two runs of the same repeat "
         "(an API's variants run back to back, their order rotating from one repeat to the next), "
         "shown as the median over repeats with its min–max and the number of pairs; a run "
         "flagged busy takes no part. No winner is named here. For context, the A/A band: how far "
         "Keras's script differed from itself (keras-aa / Keras) in each of the two variants."]
    if quick:
        L += ["", "Smoke test: the ratios are shown for completeness and compare nothing."]
    rows = []
    for task in tasks:
        for g in sorted({r["gpus"] for r in recs if r["task"] == task}):
            for api in apis:
                for v in variants:
                    for b in speedup_bases(v, variants):
                        if not (cell_stats(recs, task, api, g, v)["runs"]
                                and cell_stats(recs, task, api, g, b)["runs"]):
                            continue
                        vr = variant_ratio(recs, task, api, g, v, b)
                        bands = (f"{band_short(aa_ratios(recs, task, g, v))} ({v}); "
                                 f"{band_short(aa_ratios(recs, task, g, b))} ({b})")
                        cells = [md(task_label(task, recs)), device_label(recs, task, g, v),
                                 API_LABEL[api], f"`{v}` / `{b}`", md(speedup_text(vr, quick)),
                                 md(bands)]
                        rows += ["| " + " | ".join(cells) + " |"]
    if rows:
        L += ["", "| Task | device | API | variant / base | speed-up | A/A band (variant; base) |",
              "|---|---|---|---|---|---|"] + rows
    else:
        L += ["", "No pair of variants to show: no variant of this sweep has another one's parts "
              "as a proper subset (fp32 in --variants gives every other variant a base), or no "
              "API ran in both."]
    return L + [""]


def md_sections(recs, quick, peaks, variant=BASE_VARIANT, tasks=TASKS, apis=APIS):
    """One variant's sections: single device, ratios vs Keras, Keras backends and XLA, the
    plain-TF floor, per-step overhead, data parallel, hardware limit, API properties (a section
    whose APIs or task were not planned is left out)."""
    return (md_single_device(recs, quick, variant, tasks, apis)
            + md_ratios(recs, quick, variant, tasks)
            + md_backends(recs, quick, variant, tasks, apis)
            + md_floor(recs, quick, variant, tasks, apis)
            + md_overhead(recs, quick, variant, tasks, apis)
            + md_data_parallel(recs, variant, tasks, apis)
            + md_hardware(recs, peaks, variant, tasks, apis)
            + md_api_properties(recs, variant, apis))


def md_variant(recs, variant, quick, peaks, tasks=TASKS, apis=APIS):
    """One variant's sections (md_sections) under a heading of its own, their headings one level
    down."""
    L = [f"## Variant `{variant}`", "", f"{variant_label(variant)}.", ""]
    body = md_sections(recs, quick, peaks, variant, tasks, apis)
    return L + ["#" + line if line.startswith("## ") else line for line in body]


def md_flop_count_notes(recs):
    """One line per task and parameter count that tools/flops.py does not reproduce."""
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
    return notes


def md_api_properties(recs, variant=BASE_VARIANT, apis=APIS):
    """The API_KEYS of the model lines per task, device count and API: shown, never compared."""
    L = ["## API properties", "",
         "Differences that stay because they are the API, as each script's `model` line reports "
         "them; shown here, never compared: how a batch reaches the device (`input`: queue, "
         "queue+staging, tf.data, feed_dict), how batch norm is computed (`bn`: TensorFlow's "
         "fused kernel or composite ops; a row where every API says none, a model without batch "
         "norm, is left out) and the kind of variables (`variables`: resource or reference). "
         "— marks an API without a run or a run whose model line lacks the key. The keys that "
         "must be equal are checked above (fairness)."]
    rows = []
    for (task, g), keys in api_properties(recs, variant).items():
        for key in API_KEYS:
            vals = keys[key]
            if all(v == {"none"} for v in vals.values()):
                continue
            cells = [", ".join(sorted("—" if v is None else v for v in vals[a])) if a in vals
                     else "—" for a in apis]
            rows += [f"| {md(task_label(task, recs))}, {gpus_label(g)} | `{key}` | "
                     + " | ".join(md(c) for c in cells) + " |"]
    if rows:
        L += ["", "| Task | key | " + " | ".join(API_LABEL[a] for a in apis) + " |",
              "|---|---|" + "---|" * len(apis)] + rows
    else:
        L += ["", "No run of the APIs has a model line."]
    return L + [""]


def md_machine_load(recs):
    """The rule for "busy machine" and the runs it flags."""
    warned = [r for r in recs if r["load_warning"]]
    L = ["## Machine load", "",
         f"⚠ marks a cell with a run during which other work used the machine: more than "
         f"{OTHER_CPU_LIMIT} cores busy in the second before the run started or after it ended "
         "(the sweep's `other_cpu`). Such a run takes no part in a ratio."]
    if warned:
        L += [""] + [f"- {r['cell']} repeat {r['repeat']}: {r['load_warning']}" for r in warned]
    return L + [""]


def md_mixed(sweep):
    """The keys in which the counted runs differ in what made them (no section when one maker
    made them all)."""
    if not sweep.get("mixed"):
        return []
    L = ["## MIXED RUNS", "",
         "The runs counted above were not all made by the same code, interpreter, libraries and "
         "machine, so their figures do not compare (the exit status is 1). Rerun the sweep into a "
         "new folder, or with the same --out: it redoes every run not made as the plan wants.", ""]
    for key, values in sweep["mixed"]:
        L += [f"- {md(key)}: " + "; ".join(f"{md(v)} ({len(files)} run{'s' if len(files) != 1 else ''},"
                                          f" e.g. logs/{files[0]})" for v, files in values.items())]
    return L + [""]


def md_failed(recs, sweep):
    """Failed and skipped runs, and planned runs without a log (no section when there are none)."""
    bad = [r for r in recs if r["status"] != "ok"]
    if not (bad or sweep["missing"]):
        return []
    L = ["## Failed and skipped runs", ""]
    for r in bad:
        L += [f"- {r['status'].upper()}: {r['cell']} repeat {r['repeat']} "
              f"(logs/{r['file']}): {md(r['reason'])}"]
    for cell, rep in sweep["missing"]:
        L += [f"- NOT RUN: {cell} repeat {rep}: planned (plan.txt), no log "
              "(the sweep was interrupted or has not reached it)"]
    return L + [""]


def md_ignored(sweep):
    """Logs no figure uses (stale, or a problem) and files in logs/ that are no run log."""
    if not (sweep["ignored"] or sweep["junk"]):
        return []
    L = ["## Ignored logs", "",
         "Files in logs/ that no figure above uses: logs of another plan or other settings "
         "(a rerun with other options into this folder), and logs that cannot be placed "
         "(strays, duplicates, unknown names: these make the exit status 1).", ""]
    for g in sweep["ignored"]:
        L += [f"- {'PROBLEM' if g['problem'] else 'stale'}: logs/{g['file']}: {md(g['reason'])}"]
    for g in sweep["junk"]:
        L += [f"- skipped: logs/{g['file']}: {md(g['reason'])}"]
    return L + [""]


def write_md(d, recs, peaks, fair, info, exit_status, sweep=None):
    """results.md: with fp32 runs only, each section once; with several variants, the variant
    speed-ups, then each variant's sections under a heading of its own."""
    sweep = sweep or {"ignored": [], "junk": [], "missing": []}
    quick = is_quick(recs)
    variants = variants_in(recs) or [BASE_VARIANT]
    multi = variants != [BASE_VARIANT]
    planned = sweep.get("planned")
    tasks, apis = planned_tasks(recs, planned), planned_apis(recs, planned)
    L = md_header(recs, peaks, info) + md_mixed(sweep) + md_fairness(fair, multi)
    if multi:
        L += md_speedups(recs, variants, quick, tasks, apis)
        for v in variants:
            L += md_variant(recs, v, quick, peaks, tasks, apis)
    else:
        L += md_sections(recs, quick, peaks, BASE_VARIANT, tasks, apis)
    L += md_machine_load(recs) + md_failed(recs, sweep) + md_ignored(sweep)
    L += [f"Collector exit status: {exit_status} (0 ok, 1 a run failed or is missing, a log cannot "
          "be placed, or the runs are mixed; 3 fairness mismatch)."]
    with open(os.path.join(d, "results.md"), "w") as f:
        f.write("\n".join(L) + "\n")


# ---- results.csv, results.json, results.png -----------------------------------------------------
CSV_FIELDS = ("file", "cell", "task", "api", "gpus", "variant", "repeat", "status", "reason",
              "images_per_sec", "spread_pct", "epochs_timed", "epochs_images_per_sec", "image_size",
              "batch", "params", "optimizer", "lr", "dtype", "data_format", "device", "data",
              "load1_start", "load1_end", "other_cpu_start", "other_cpu_end", "load_warning",
              "wall_s", "rc", "train_gflop_per_image", "tflops", "pct_of_peak", "ms_per_step",
              "start", "commit")


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
            for k in ("tflops", "pct_of_peak", "ms_per_step"):
                row[k] = None if r.get(k) is None else round(r[k], 6)
            w.writerow(row)


def comparisons(recs, planned=None):
    """The paired comparisons of results.md's backend, floor and overhead tables, per variant and
    task at its single-device count: [{"variant", "task", "gpus", "a", "b", "kind" (ratio: a/b of
    images/sec; ms_over: a's ms/step less b's), "median", "min", "max", "pairs", "established",
    "why"}]."""
    apis, out = planned_apis(recs, planned), []
    for variant in variants_in(recs):
        for task in planned_tasks(recs, planned):
            g = single_gpus(recs, task, variant)
            wanted = [(a, b, "ratio") for a, b in BACKEND_PAIRS]
            wanted += [(a, FLOOR_API, "ratio") for a in apis if a != FLOOR_API]
            if task == OVERHEAD_TASK:
                wanted += [(a, FLOOR_API, "ms_over") for a in apis if a != FLOOR_API]
            for a, b, kind in wanted:
                if a not in apis or b not in apis:
                    continue
                pr = (pair_ratio if kind == "ratio" else step_difference)(recs, task, a, b, g,
                                                                           variant)
                out.append({"variant": variant, "task": task, "gpus": g, "a": a, "b": b,
                            "kind": kind, "median": pr["median"], "min": pr["min"],
                            "max": pr["max"], "pairs": len(pr["pairs"]),
                            "established": pr["established"], "why": pr["why"]})
    return out


def write_json(d, recs, peak, fair, info, exit_status, sweep=None):
    sweep = sweep or {"ignored": [], "junk": [], "missing": []}
    with open(os.path.join(d, "results.json"), "w") as f:
        json.dump({"generated_at": datetime.datetime.now().astimezone().isoformat(),
                   "machine": info, "versions": versions(recs), "commit": git_commit(),
                   "mixed": [{"key": k, "values": v} for k, v in sweep.get("mixed", [])],
                   "peak": peak, "peaks": sweep.get("peaks", [peak] if peak else []),
                   "variants": variants_in(recs), "fairness_mismatches": fair,
                   "comparisons": comparisons(recs, sweep.get("planned")),
                   "exit_status": exit_status,
                   "runs": recs, "ignored": sweep["ignored"], "junk": sweep["junk"],
                   "missing": [{"cell": c, "repeat": r} for c, r in sweep["missing"]]}, f, indent=1)


def write_png(d, recs, info, peak, tasks=TASKS):
    """Per task, each API's throughput relative to Keras (and Keras/JAX relative to Keras XLA):
    the median of the paired ratios over repeats with their min–max as whiskers, a line at 1.0
    and the A/A noise band shaded; beside it, when plain TensorFlow ran, each API as a fraction of
    plain TF's (the floor); one row of panels per variant (variants are never mixed in one
    group)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    quick = is_quick(recs)
    variants = variants_in(recs) or [BASE_VARIANT]
    floor = any(r["api"] == FLOOR_API for r in recs)
    cols = 2 if floor else 1
    fig, axes = plt.subplots(len(variants), cols, figsize=(10 * cols, 5.5 * len(variants)),
                             squeeze=False)
    for row, variant in zip(axes, variants):
        png_panel(row[0], recs, variant, quick, tasks)
        title = f"Single-device training throughput relative to Keras — {info['label']}"
        if floor:
            png_floor_panel(row[1], recs, variant, quick, tasks)
            row[1].set_title(("SMOKE TEST (--quick): no comparison — " if quick else "")
                             + (f"Variant {variant}: " if len(variants) > 1 else "")
                             + "each API as a fraction of plain TensorFlow (the floor)",
                             fontsize=10)
        if len(variants) > 1:
            title = f"Variant {variant}: " + title
        if quick:
            title = "SMOKE TEST (--quick): no comparison — " + title
        row[0].set_title(title, fontsize=10)
    fig.text(0.01, 0.01, "markers: median over repeats of the paired ratio; whiskers: min–max of "
             "the pairs; filled: established (beyond the A/A band, see results.md); absolute "
             "figures: results.md", fontsize=7, color="0.3")
    fig.tight_layout(rect=(0, 0.03 / len(variants), 1, 1))
    fig.savefig(os.path.join(d, "results.png"), dpi=110)
    plt.close(fig)


def png_band(ax, recs, task, t, g, variant, first):
    """The A/A band of one task, shaded around 1.0; its bounds."""
    aa = aa_ratios(recs, task, g, variant)
    if not aa:
        ax.annotate("no A/A pair", (t, 1.0), xytext=(0, 3), textcoords="offset points",
                    ha="center", va="bottom", fontsize=7, color="0.4")
        return []
    band = max(abs(math.log(v)) for _, v in aa)
    lo, hi = math.exp(-band), math.exp(band)
    ax.fill_between([t - 0.42, t + 0.42], lo, hi, color="0.85", lw=0, zorder=0,
                    label="A/A noise band (keras-aa / Keras)" if first else None)
    ax.text(t + 0.42, hi, f"±{percent(hi - 1)}", ha="right", va="bottom", fontsize=7,
            color="0.4")
    return [lo, hi]


def png_ratio(ax, pr, x, color, quick, empty="no\npair"):
    """One paired ratio's marker (filled when established), whiskers and label; its bounds."""
    if pr["median"] is None:
        if empty:
            ax.text(x, 0.02, empty, ha="center", va="bottom", fontsize=7,
                    transform=ax.get_xaxis_transform(), color="0.4")
        return []
    won = pr["established"] and not quick
    ax.errorbar([x], [pr["median"]], yerr=[[pr["median"] - pr["min"]], [pr["max"] - pr["median"]]],
                fmt="o", ms=7, capsize=3, color=color, zorder=3,
                markerfacecolor=color if won else "white", markeredgewidth=1.8)
    n = len(pr["pairs"])
    ax.annotate(f"{pr['median']:.2f}×\n{n} pair{'s' if n != 1 else ''}", (x, pr["max"]),
                xytext=(0, 4), textcoords="offset points", ha="center", va="bottom", fontsize=6)
    return [pr["min"], pr["max"]]


def png_axes(ax, recs, variant, tasks, extremes, ylabel):
    """Log scale around the ratios, the tasks on the x axis, the legend."""
    from matplotlib.ticker import FuncFormatter, NullFormatter
    ax.set_yscale("log")
    low, high = min(extremes), max(extremes)
    span = max(math.log(high / low), 0.2)
    ax.set_ylim(low * math.exp(-0.12 * span), high * math.exp(0.3 * span))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}×"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ticks = [v for v in (0.1, 0.25, 0.5, 0.67, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2, 3, 4, 10)
             if ax.get_ylim()[0] <= v <= ax.get_ylim()[1]]
    ax.set_yticks(ticks)
    ax.set_xlim(-0.5, len(tasks) - 0.5)
    ax.set_xticks(range(len(tasks)))
    labels = []
    for task in tasks:
        lab = task_label(task, recs).replace(" (", "\n(")
        g = single_gpus(recs, task, variant)
        labels.append(lab + f"\n({device_label(recs, task, g, variant)})")
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, frameon=False)


def png_panel(ax, recs, variant, quick, tasks=TASKS):
    """One variant's panel of ratios: tensorpack and tflearn over Keras, and the Keras backends
    and XLA (BACKEND_PAIRS) where they ran."""
    ran = {r["api"] for r in of_variant(recs, variant) if r["status"] == "ok"}
    series = [(a, b) for a, b in CHART_PAIRS if a in APIS or (a in ran and b in ran)]
    width = min(0.22, 0.8 / len(series))
    offset = {p: (i - (len(series) - 1) / 2) * width for i, p in enumerate(series)}
    ax.axhline(1.0, color="#d62728", lw=1.5, label="Keras (= 1.0)", zorder=1)
    extremes = [1.0]
    for t, task in enumerate(tasks):
        g = single_gpus(recs, task, variant)
        extremes += png_band(ax, recs, task, t, g, variant, t == 0)
        for a, b in series:
            pr = pair_ratio(recs, task, a, b, g, variant)
            extremes += png_ratio(ax, pr, t + offset[a, b], PAIR_COLOR[a, b], quick,
                                  "no\npair" if b == "keras" and a in APIS else "")
    for a, b in series:  # legend entries: one per series, and one hollow marker
        ax.errorbar([], [], fmt="o", ms=7, color=PAIR_COLOR[a, b],
                    label=f"{API_LABEL[a]} / {API_LABEL[b]}")
    ax.errorbar([], [], fmt="o", ms=7, color="0.3", markerfacecolor="white",
                label="hollow: not established")
    png_axes(ax, recs, variant, tasks, extremes, "images/sec relative to Keras (log scale)")


def png_floor_panel(ax, recs, variant, quick, tasks=TASKS):
    """One variant's panel of fractions of plain TensorFlow's images/sec (the floor)."""
    ran = {r["api"] for r in of_variant(recs, variant) if r["status"] == "ok"}
    series = [a for a in SHOWN_APIS if a != FLOOR_API and a in ran]
    width = min(0.22, 0.8 / max(len(series), 1))
    offset = {a: (i - (len(series) - 1) / 2) * width for i, a in enumerate(series)}
    ax.axhline(1.0, color="0.2", lw=1.5, label="plain TF (= 1.0, the floor)", zorder=1)
    extremes = [1.0]
    for t, task in enumerate(tasks):
        g = single_gpus(recs, task, variant)
        extremes += png_band(ax, recs, task, t, g, variant, t == 0)
        for a in series:
            pr = pair_ratio(recs, task, a, FLOOR_API, g, variant)
            extremes += png_ratio(ax, pr, t + offset[a], API_COLOR[a], quick, "")
    for a in series:
        ax.errorbar([], [], fmt="o", ms=7, color=API_COLOR[a], label=f"{API_LABEL[a]} / TF")
    ax.errorbar([], [], fmt="o", ms=7, color="0.3", markerfacecolor="white",
                label="hollow: not established; filled above 1.0: floor beaten")
    png_axes(ax, recs, variant, tasks, extremes,
             "images/sec as a fraction of plain TF's (log scale)")


# ---- command line -------------------------------------------------------------------------------
RESULTS = ("results.md", "results.csv", "results.json", "results.png")


def collect(d):
    """Write the four results files into a temporary folder inside d, then rename each into d
    once all are complete: a collector that fails leaves the previous results whole."""
    sweep = read_sweep(d)
    recs, peak, peaks = sweep["recs"], sweep["peak"], sweep["peaks"]
    for j in sweep["junk"]:
        print(f"collect.py: warning: skipped logs/{j['file']}: {j['reason']}", file=sys.stderr)
    add_hardware(recs, peaks)
    for r in recs:
        r["ms_per_step"] = step_ms(r)
    fair = fairness(recs)
    failed = (any(r["status"] == "failed" for r in recs) or sweep["missing"]
              or any(g["problem"] for g in sweep["ignored"]) or sweep["mixed"])
    exit_status = EXIT_FAIRNESS if fair else EXIT_FAILED if failed else EXIT_OK
    info = machine(recs, peak or (peaks[0] if peaks else None))
    with tempfile.TemporaryDirectory(dir=d, prefix=".results-") as tmp:
        write_md(tmp, recs, peaks, fair, info, exit_status, sweep)
        write_csv(tmp, recs)
        write_json(tmp, recs, peak, fair, info, exit_status, sweep)
        write_png(tmp, recs, info, peak, planned_tasks(recs, sweep.get("planned")))
        for name in os.listdir(tmp):  # RESULTS
            os.replace(os.path.join(tmp, name), os.path.join(d, name))
    return exit_status, recs


def main(argv):
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print(__doc__, file=sys.stdout if argv[:1] in (["-h"], ["--help"]) else sys.stderr)
        return EXIT_OK if argv[:1] in (["-h"], ["--help"]) else EXIT_USAGE
    d = argv[0]
    if not os.path.isdir(os.path.join(d, "logs")):
        print(f"collect.py: error: no logs/ folder in {d}", file=sys.stderr)
        return EXIT_USAGE
    try:
        status, recs = collect(d)
    except Exception:  # noqa: BLE001 (any bug: the previous results stay whole; the sweep marks them stale)
        traceback.print_exc()
        print(f"collect.py: error: the collector failed; no results file in {d} was replaced",
              file=sys.stderr)
        return EXIT_CRASHED
    n_ok = sum(r["status"] == "ok" for r in recs)
    print(f"collect.py: {len(recs)} runs ({n_ok} ok) -> {d}/results.md, results.csv, results.json, "
          f"results.png; exit {status}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
