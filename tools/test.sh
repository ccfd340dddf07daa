#!/usr/bin/env bash
# The project's test command: sets up .venv from requirements.txt on first use, then runs the
# whole suite on the CPU. Extra arguments go to pytest (e.g. tools/test.sh -k cifar).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/venv.sh
exec "$PY" -m pytest tests -q "$@"
