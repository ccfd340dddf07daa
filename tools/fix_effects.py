#!/usr/bin/env python3
"""Measure what each fairness fix changed: the script as it is against a copy with the fix undone.

Usage: tools/fix_effects.py OUT [--repeat N] [--cifar-data DIR] [--only NAME,...]

For every fix in FIXES, a copy of the script with the fix's line reverted is written to a temporary folder,
and the two are run interleaved (fixed, undone, then undone, fixed in the next round, ...) with the
CPU sweep's settings (tools/sweep.py's table). Each run's log is kept in OUT/logs/; OUT/fix-effects.md
gives, per fix, the median images/sec of each side and the median and range of the per-round ratios.
A run counts only if the collector's rule for "ok" (tools/rules.py's verdict()) says so; one that
does not is listed with its reason and leaves the others standing.
"""
import argparse, pathlib, statistics, subprocess, sys, tempfile

import rules  # tools/rules.py: the log parser and the one rule for "ok"
import sweep  # tools/sweep.py: the settings table

ROOT = pathlib.Path(__file__).resolve().parent.parent
# name: (framework, the fixed line's text, the text it had before the fix, the tasks it matters for)
FIXES = {
    "tensorpack-threads": ("tensorpack", "config.intra_op_parallelism_threads = 0",
                           "config.intra_op_parallelism_threads = 1", ("cifar10-cnn", "vgg16", "resnet50")),
    "tflearn-clip": ("tflearn", "clip_gradients=0)", "clip_gradients=5.0)", ("vgg16", "resnet50")),
}


def cpu_args(task):
    """The arguments the sweep gives a task's cell on the CPU: tools/sweep.py's settings table."""
    if task not in sweep.SETTINGS:
        raise KeyError(f"tools/sweep.py's settings table has no row for {task}")
    return ([] if task == "cifar10-cnn" else ["--model", task]) + sweep.SETTINGS[task]["cpu"].split()


def script(task, framework):
    return ROOT / (f"cifar10-cnn-{framework}.py" if task == "cifar10-cnn" else f"imagenet-{framework}.py")


def undone_copy(tmp, fix, task):
    framework, new, old, _ = FIXES[fix]
    src = script(task, framework)
    text = src.read_text()
    if text.count(new) != 1:
        sys.exit(f"fix_effects: {src.name} has {text.count(new)} copies of {new!r}, expected 1")
    dst = pathlib.Path(tmp) / f"{fix}-{src.name}"
    dst.write_text(text.replace(new, old))
    return dst


def run(path, task, framework, log, cifar):
    """(images/sec or None, the reason it is not ok, the model line's keys) of one run."""
    cmd = [sys.executable, str(path), "0", *cpu_args(task)] + (["--data", cifar] if task == "cifar10-cnn" else [])
    with open(log, "w") as f:
        rc = subprocess.call(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=ROOT)
    _, reason, ips, lines = rules.judge(log, task, framework, 0, rc)
    return ips, reason, lines.get("model", {})


def median(values):
    done = [v for v in values if v]
    return f"{statistics.median(done):.1f}" if done else "-"


def ratio_cells(top, bottom):
    """A table row's cells for two sides' runs of the same rounds: the median images/sec of each
    side, and the median and range of the per-round ratios top / bottom, and their count."""
    ratios = [t / b for t, b in zip(top, bottom) if t and b]
    mid = f"{statistics.median(ratios):.2f}" if ratios else "-"
    rng = f"{min(ratios):.2f}-{max(ratios):.2f}" if ratios else "-"
    return [median(top), median(bottom), mid, rng, str(len(ratios))]


def report(path, lines, failed):
    """Write and print a results table (lines), with the failed runs under it; the exit status."""
    if failed:
        lines += ["", "Failed runs: " + ", ".join(failed)]
    path.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 1 if failed else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--cifar-data", default="/tmp/cif")
    p.add_argument("--only", default="", help="comma-separated fix names (default: all)")
    a = p.parse_args()
    out = pathlib.Path(a.out)
    (out / "logs").mkdir(parents=True, exist_ok=True)
    pairs = [(fix, task) for fix, (_, _, _, tasks) in FIXES.items() if not a.only or fix in a.only.split(",")
             for task in tasks]
    res = {(fix, task): {"fixed": [], "undone": []} for fix, task in pairs}
    failed, tmp = [], tempfile.mkdtemp(prefix="fix_effects.")
    for r in range(1, a.repeat + 1):
        for fix, task in pairs:
            sides = {"fixed": script(task, FIXES[fix][0]), "undone": undone_copy(tmp, fix, task)}
            for side in (("fixed", "undone") if r % 2 else ("undone", "fixed")):
                log = out / "logs" / f"{fix}.{task}.{side}.r{r}.log"
                ips, reason, model = run(sides[side], task, FIXES[fix][0], log, a.cifar_data)
                print(f"{fix} {task} {side} r{r}: {ips} {reason}", *[f"{k}={v}" for k, v in model.items()], flush=True)
                res[fix, task][side].append(ips)
                if ips is None:
                    failed.append(f"{log.name}: {reason}")
    lines = ["# Effect of each fairness fix (CPU, interleaved rounds)", "",
             "Images/sec per run: the script as committed (fixed) and a copy with the fix undone; "
             "ratio = fixed / undone, per round.", "",
             "| fix | task | fixed (median) | undone (median) | ratio median | ratio range | rounds |",
             "|---|---|---|---|---|---|---|"]
    for (fix, task), s in res.items():
        lines.append(" | ".join(["", fix, task, *ratio_cells(s["fixed"], s["undone"]), ""]).strip())
    return report(out / "fix-effects.md", lines, failed)


if __name__ == "__main__":
    sys.exit(main())
