#!/usr/bin/env python3
"""Speed of the scripts at a git commit against the scripts in the working tree, interleaved.

Usage: tools/ab.py OUT --before REF [--after REF] [--repeat N] [--tasks T,...] [--apis A,...]
                    [--cifar-data DIR]

The scripts of each REF (with its bench.py, if it has one; no --after: the working tree) are
written into a temporary folder; each
task and API then runs both versions one after the other (before, after; the next round after,
before), with the CPU sweep's settings (tools/sweep.py's table, through tools/fix_effects.py). Logs go to
OUT/logs/, and OUT/ab.md gives per task and API the median images/sec of each side and the median
and range of the per-round ratios after / before. A run counts only if the collector's rule for
"ok" (rules.verdict) says so.
"""
import argparse
import os
import re
import pathlib
import subprocess
import sys
import tempfile

import fix_effects  # the CPU settings and the one-run helper
import rules

ROOT = pathlib.Path(__file__).resolve().parent.parent


def checkout(ref, dest):
    """The benchmark scripts (and bench.py) as they are at `ref`, written into `dest`."""
    names = subprocess.run(["git", "ls-tree", "--name-only", ref], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split()
    for name in names:
        if name.endswith(".py"):
            text = subprocess.run(["git", "show", f"{ref}:{name}"], cwd=ROOT, check=True,
                                  capture_output=True, text=True).stdout
            (dest / name).write_text(text)


def run(path, task, api, log, a):
    """(images/sec or None, the reason it is not ok) of one run with the CPU sweep's settings."""
    args = fix_effects.cpu_args(task)
    if task == "cifar10-cnn":
        args += ["--data", a.cifar_data] + (["--steps", str(a.cifar_steps)] if a.cifar_steps else [])
    with open(log, "w") as f:
        rc = subprocess.call([sys.executable, str(path), "0", *args], stdout=f,
                             stderr=subprocess.STDOUT, cwd=ROOT)
        print(f"ab_exit rc={rc}", file=f)
    return judge(log, task, api)


def judge(log, task, api):
    """(images/sec or None, the reason it is not ok) of a finished run's log. Logs without the
    exit code (an older ab.py) count as exit 0 when they hold their summary."""
    raw = log.read_text(errors="replace").splitlines()
    found = [int(m.group(1)) for m in map(re.compile(r"ab_exit rc=(\d+)$").match, raw) if m]
    _, reason, ips, _ = rules.judge(log, task, api, 0, found[-1] if found else 0)
    return ips, reason


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--before", required=True, help="git commit or ref of the 'before' scripts")
    p.add_argument("--after", help="git commit or ref of the 'after' scripts (default: working tree)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--tasks", default="cifar10-cnn,vgg16,resnet50")
    p.add_argument("--apis", default="tensorpack,keras,tflearn")
    p.add_argument("--cifar-data", default="/tmp/cifar")
    p.add_argument("--from-logs", action="store_true",
                   help="no runs: the table from the logs already in OUT/logs (an interrupted run)")
    p.add_argument("--cifar-steps", type=int, default=0, help="CIFAR steps per epoch (default: the sweep's)")
    a = p.parse_args()
    out = pathlib.Path(a.out)
    (out / "logs").mkdir(parents=True, exist_ok=True)
    before = pathlib.Path(tempfile.mkdtemp(prefix="ab-before."))
    checkout(a.before, before)
    after = ROOT
    if a.after:
        after = pathlib.Path(tempfile.mkdtemp(prefix="ab-after."))
        checkout(a.after, after)
    cells = [(t, api) for t in a.tasks.split(",") for api in a.apis.split(",")]
    res = {c: {"before": [], "after": []} for c in cells}
    failed = []
    for r in range(1, a.repeat + 1):
        for task, api in cells:
            if a.from_logs:
                for side in ("before", "after"):
                    log = out / "logs" / f"{task}.{api}.{side}.r{r}.log"
                    ips = judge(log, task, api)[0] if log.exists() else None
                    res[task, api][side].append(ips)  # None: missing or not ok
                continue
            name = fix_effects.script(task, api).name
            sides = {"before": before / name, "after": after / name}
            for side in (("before", "after") if r % 2 else ("after", "before")):
                log = out / "logs" / f"{task}.{api}.{side}.r{r}.log"
                ips, reason = run(sides[side], task, api, log, a)
                print(f"{task} {api} {side} r{r}: {ips} {reason}", flush=True)
                res[task, api][side].append(ips)
                if ips is None:
                    failed.append(f"{log.name}: {reason}")
    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "TensorFlow's default for this CPU")
    lines = [f"# Speed before ({a.before}) and after ({a.after or 'working tree'}), interleaved", "",
             f"CPU sweep settings (CIFAR steps per epoch: {a.cifar_steps or 'as the sweep'}), "
             f"{a.repeat} rounds, TF_ENABLE_ONEDNN_OPTS={onednn}. Images/sec per run; "
             "ratio = after / before, per round.", "",
             "| task | API | before (median) | after (median) | ratio median | ratio range | rounds |",
             "|---|---|---|---|---|---|---|"]
    for (task, api), s in res.items():
        after, before, *ratio = fix_effects.ratio_cells(s["after"], s["before"])
        lines.append(" | ".join(["", task, api, before, after, *ratio, ""]).strip())
    return fix_effects.report(out / "ab.md", lines, failed)


if __name__ == "__main__":
    sys.exit(main())
