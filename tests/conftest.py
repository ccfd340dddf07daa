"""Shared test helpers: run a benchmark script as a user does and parse its logfmt lines."""
import fcntl
import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))  # rules.py, collect.py, ...
sys.path.insert(0, str(REPO))  # bench.py
KINDS = ("versions", "model", "throughput", "summary")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: a long run, left to tools/test.sh --all")
    config.addinivalue_line("markers", "quick_only: what --all's longer runs check as well")


def parse_logfmt(text):
    """The contract's lines in `text`, as dicts of their values as text, with the line's kind under
    "kind" (read with the collector's own parser, rules.parse_line)."""
    import rules  # tools/rules.py
    lines = (rules.parse_line(line, kinds=KINDS, raw=True) for line in text.splitlines())
    return [dict(kind=kind, **kv) for kind, kv in filter(None, lines)]


class Run:
    def __init__(self, rc, stdout, stderr):
        self.rc, self.stdout, self.stderr = rc, stdout, stderr
        self.lines = parse_logfmt(stdout)

    def of(self, kind):
        return [r for r in self.lines if r["kind"] == kind]

    def record(self):
        """The run's model line as the collector reads it: {task, gpus, api, lines: {model: ...}}."""
        import rules  # tools/rules.py (conftest puts tools/ on the path)
        (raw,) = [l for l in self.stdout.splitlines() if l.startswith("model ")]
        _, model = rules.parse_line(raw)
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
    return Run(proc.returncode, proc.stdout, proc.stderr)


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


CIFAR_APIS = ("tensorpack", "keras", "tflearn")
CIFAR_EPOCHS, CIFAR_STEPS, CIFAR_BATCH = 2, 100, 16


def once_per_session(tmp_path_factory, name, make):
    """make()'s JSON-able result, made once per test session even when pytest-xdist runs the
    tests in several workers: the first one makes it under a lock, the others read it."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return make()
    shared = tmp_path_factory.getbasetemp().parent  # this session's, common to its workers
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        cache = shared / f"{name}.json"
        if not cache.exists():
            cache.write_text(json.dumps(make()))
        return json.loads(cache.read_text())


@pytest.fixture(scope="session")
def cifar_runs(cifar_dir, tmp_path_factory):
    """One CPU run of each CIFAR script, shared by every check that can read it: started from
    another working directory (bench.py is found beside the script), with TensorFlow's INFO log
    on stderr (the XLA checks read it). Each run is made once per session; a second worker takes
    the APIs in the other order, so that two workers make two runs at once instead of one
    waiting for all three."""
    def make(api):
        cwd = tmp_path_factory.mktemp("elsewhere")
        r = run_script(f"cifar10-cnn-{api}.py", 0, "--data", cifar_dir, "--epochs", CIFAR_EPOCHS,
                       "--steps", CIFAR_STEPS, "--batch", CIFAR_BATCH, cwd=cwd,
                       env={"TF_CPP_MIN_LOG_LEVEL": "0"})
        return [r.rc, r.stdout, r.stderr]
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    order = CIFAR_APIS if int(worker[2:] or 0) % 2 == 0 else CIFAR_APIS[::-1]
    runs = {api: once_per_session(tmp_path_factory, f"cifar_run_{api}", functools.partial(make, api))
            for api in order}
    return {api: Run(*runs[api]) for api in CIFAR_APIS}


def mutant(tmp_path, script, *replacements):
    """A copy of `script` with each (old, new) of `replacements` applied once, in tmp_path with
    bench.py beside it (as README tells a user who copies a script)."""
    text = (REPO / script).read_text()
    for old, new in replacements:
        assert old in text, f"the mutation no longer applies to {script}: {old!r}"
        text = text.replace(old, new, 1)
    shutil.copy(REPO / "bench.py", tmp_path / "bench.py")
    path = tmp_path / script
    path.write_text(text)
    return path
