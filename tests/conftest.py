"""Shared test helpers: run a benchmark script as a user does and parse its logfmt lines."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
KINDS = ("model", "throughput", "summary")


def parse_logfmt(text):
    """The contract's lines in `text`, as dicts with the line's kind under "kind"."""
    records = []
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        if kind in KINDS and "=" in rest:
            records.append(dict(kind=kind, **dict(kv.split("=", 1) for kv in rest.split())))
    return records


class Run:
    def __init__(self, proc):
        self.rc, self.stdout, self.stderr = proc.returncode, proc.stdout, proc.stderr
        self.lines = parse_logfmt(proc.stdout)

    def of(self, kind):
        return [r for r in self.lines if r["kind"] == kind]

    def record(self):
        """The run's model line as the collector reads it: {task, gpus, api, lines: {model: ...}}."""
        import collect  # tools/collect.py (conftest puts tools/ on the path)
        (raw,) = [l for l in self.stdout.splitlines() if l.startswith("model ")]
        _, model = collect.parse_line(raw)
        return {"task": model["task"], "gpus": model["gpus"], "api": model["framework"],
                "lines": {"model": model}}

    def __repr__(self):  # shown by pytest when an assertion fails
        return f"Run(rc={self.rc})\n--- stdout tail\n{self.stdout[-3000:]}\n--- stderr tail\n{self.stderr[-3000:]}"


def run_script(script, *args, timeout=600, cwd=None, env=None):
    """Run ./script with the test interpreter (the project's venv), as a user would; `env` adds to
    (or overrides) the environment."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "1", **(env or {})}
    proc = subprocess.run([sys.executable, str(REPO / script), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd or REPO, env=env)
    return Run(proc)


def assert_bad_input(run):
    """Contract: exit code 2, exactly one error line on stderr, no traceback."""
    assert run.rc == 2, run
    assert "Traceback" not in run.stderr, run
    errors = [l for l in run.stderr.splitlines() if ": error: " in l]
    assert len(errors) == 1, run
    return errors[0]


@pytest.fixture(scope="session")
def cifar_dir(tmp_path_factory):
    """A generated, learnable CIFAR-10 folder in the real on-disk format (Python 2 pickles)."""
    d = tmp_path_factory.mktemp("cifar")
    subprocess.run([sys.executable, str(REPO / "tools" / "make_cifar_data.py"), str(d)], check=True)
    return d
