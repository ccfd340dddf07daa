#!/usr/bin/env bash
# Creates (once) and reuses the project's virtual environment in .venv, from requirements.txt.
# Sourced by run_all.sh and tools/test.sh; afterwards $PY is the environment's python.
# On a machine with an NVIDIA driver, TensorFlow's and JAX's CUDA builds are installed as well.
# torch (Keras's --backend torch) is optional: .venv/bin/pip install -r requirements-torch.txt
_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY="$_root/.venv/bin/python"
_stamp="$_root/.venv/.installed"
if [ ! -f "$_stamp" ] || [ "$_root/requirements.txt" -nt "$_stamp" ]; then
  _base=${PYTHON:-python3.11}
  command -v "$_base" >/dev/null || _base=python3
  echo "setting up $_root/.venv from requirements.txt (first run only) ..." >&2
  "$_base" -m venv "$_root/.venv" || return 1 2>/dev/null || exit 1
  "$PY" -m pip install -q --upgrade pip >&2 || return 1 2>/dev/null || exit 1
  _extra=()
  # JAX's CUDA 12 build, the CUDA that TensorFlow's extra brings (untested on a GPU machine here)
  command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 \
    && _extra=("tensorflow[and-cuda]==2.21.0" "jax[cuda12]==0.10.2")
  "$PY" -m pip install -q -r "$_root/requirements.txt" "${_extra[@]}" >&2 || return 1 2>/dev/null || exit 1
  touch "$_stamp"
fi
export PY
