#!/usr/bin/env bash
# The project's test command: sets up .venv from requirements.txt on first use, then runs the
# suite on the CPU. By default the quick set (every script through its real code path, the rules
# in process); --all adds the long runs (learning on every ImageNet model, data parallel, real
# sweeps and signals), which is what .ci/run runs. Other arguments go to pytest (-k cifar, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/venv.sh
select=(-m "not slow")
if [ "${1:-}" = "--all" ]; then
  shift
  select=(-m "not quick_only")
fi
# two workers (pytest-xdist), a test file each at a time: TensorFlow's start-up is mostly one core
exec "$PY" -m pytest tests -q --durations=10 -n 2 --dist loadfile "${select[@]}" "$@"
