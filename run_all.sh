#!/usr/bin/env bash
# run_all.sh: the whole benchmark sweep (every task x API x device count, 3 interleaved repeats),
# then the results collector. ./run_all.sh --help lists the options; the sweep itself, with its
# per-task settings table, is tools/sweep.py.
#
# This wrapper only finds the Python to run it with: the project's environment (.venv, created
# from requirements.txt on first use by tools/venv.sh, with TensorFlow's CUDA build on a machine
# with NVIDIA GPUs). --help and --dry-run only read and plan: they run with the environment's
# Python if it exists, else the system's, and set nothing up.
set -u
root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd) || exit 1
for arg in "$@"; do
  case $arg in
    -h|--help|--dry-run)
      py=$root/.venv/bin/python
      [ -x "$py" ] || py=$(command -v python3.11 || command -v python3)
      exec "$py" -B "$root/tools/sweep.py" "$@" ;;  # -B: not even a .pyc
  esac
done
# shellcheck source=tools/venv.sh
source "$root/tools/venv.sh" || { echo "run_all.sh: cannot set up the virtual environment" >&2; exit 1; }
exec "$PY" "$root/tools/sweep.py" "$@"
