#!/usr/bin/env bash
# gpu-check.sh OUT: a prepared, short GPU run of the benchmark, for whoever has a machine with
# NVIDIA GPUs. Run it as it is: tools/gpu-check.sh OUT (tools/gpu-check.sh --help for the options).
#
# What it does: sets up the environment (tools/venv.sh: .venv with TensorFlow's CUDA build), writes
# OUT/env.txt (GPUs, driver, Python and library versions, date, git commit), generates CIFAR-format
# data in OUT/cifar-data (no download: the machine may have no internet), then runs ONE sweep into
# OUT/sweep: fp32 and amp (mixed precision) variants, 1 GPU, plus 2 GPUs in data parallel when the
# machine has 2 or more, one repeat, short settings. Everything it writes is under OUT, with its
# own output in OUT/gpu-check.log; it ends by printing the path of OUT/sweep/results.md, and its
# exit status is the sweep's (./run_all.sh --help lists them). Rerun with the same OUT to resume.
#
# What it needs: nvidia-smi listing at least one GPU, and either .venv set up already or network
# access for pip (tools/venv.sh installs tensorflow[and-cuda] on first use, a few minutes more).
#
# How long it takes: ~6 min with 1 GPU, ~7.5 min with 2 or more (arithmetic below); the sweep is
# stopped (SIGTERM: it ends the running benchmark, collects what exists, exits 143) after
# SWEEP_LIMIT_S (450 s; GPU_CHECK_SWEEP_LIMIT_S overrides it), so set-up included the check stays
# within ~8 minutes once .venv exists.
#
# The cell set is REDUCED to fit those 8 minutes: tasks cifar10-cnn and resnet50 only (every
# script runs: the 3 CIFAR scripts, and the 3 ImageNet scripts, which run alexnet and vgg16 with
# the same code), no keras-aa A/A runs (one repeat gives no noise band anyway), and at 2 GPUs
# resnet50 only. The budget, at ~15 s of TensorFlow start-up per run on a GPU plus ~8 s of graph
# building and 60 short training steps plus ~2 s of the sweep's own work: ~25 s per run.
#   full set: (4 tasks x 4 APIs incl. keras-aa at 1 GPU + 4 x 3 at 2 GPUs) x 2 variants
#             = 32 runs (1 GPU: ~13 min) or 56 runs (2+ GPUs: ~23 min): does not fit;
#   this set: 1 GPU: 2 tasks x 3 APIs x 2 variants = 12 runs = ~300 s;
#             2 GPUs: resnet50 x 2 APIs (tflearn: no data parallel) x 2 variants = 4 runs = ~100 s;
#   set-up: env.txt ~5 s and CIFAR data ~5 s before the sweep; in it the peak probe (start-up,
#             fp32 and fp16 matmuls) ~25 s and the collector ~5 s: ~40 s.
#   total: ~340 s (5.7 min) with 1 GPU, ~440 s (7.3 min) with 2+. The hard stop of the sweep at
#   450 s bounds it: ~10 s + 450 s + ~20 s to stop the running benchmark and collect = 8 min.
set -euo pipefail

PROG=gpu-check.sh
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# ==== settings ===================================================================================
VARIANTS=fp32,amp
# Cells (run_all.sh --only patterns; an amp cell is the same name plus .amp, which they match).
ONLY_1GPU="cifar10-cnn.tensorpack.g1,cifar10-cnn.keras.g1,cifar10-cnn.tflearn.g1"
ONLY_1GPU+=",resnet50.tensorpack.g1,resnet50.keras.g1,resnet50.tflearn.g1"
ONLY_2GPU="resnet50.tensorpack.g2,resnet50.keras.g2"
# Appended to every cell's command (after the sweep's GPU settings: the last value wins).
EXTRA_ARGS="--steps 20 --epochs 3"
# Appended to each CIFAR cell's command after those: CIFAR steps are short, so more of them.
CIFAR_EXTRA_ARGS="--steps 50"
RUN_TIMEOUT_S=150  # per run (RUN_ALL_TIMEOUT_S): a normal run takes ~25 s
# The whole sweep, peak probe and collector included (GPU_CHECK_SWEEP_LIMIT_S overrides it).
SWEEP_LIMIT_S=${GPU_CHECK_SWEEP_LIMIT_S:-450}
# =================================================================================================

usage() {
  cat <<EOF
usage: tools/gpu-check.sh [--dry-run] OUT

A short benchmark sweep on this machine's NVIDIA GPUs (fp32 and amp; 1 GPU, and 2 when there are
2 or more), with its environment recorded: OUT/env.txt, OUT/cifar-data (generated), OUT/sweep
(logs, results.md), OUT/gpu-check.log (this script's output). ~6-8 minutes once .venv exists.
Rerunning with the same OUT resumes the sweep.

  --dry-run   print the plan (./run_all.sh --dry-run with the same arguments) and the environment
              settings; write nothing. Works without a GPU (then as if there were 1).
  -h, --help  this help

The sweep is stopped after ${SWEEP_LIMIT_S} s (environment: GPU_CHECK_SWEEP_LIMIT_S): it ends the
running benchmark, collects what exists and exits 143.

Exit status: the sweep's (see ./run_all.sh --help); 2 for bad input or when no GPU is found.
EOF
}

quoted() {  # the words, each quoted for a shell only where it needs it
  local w words=()
  for w in "$@"; do
    if [[ $w =~ ^[A-Za-z0-9_./,:+=-]+$ ]]; then words+=("$w"); else words+=("${w@Q}"); fi
  done
  echo "${words[*]}"
}

die() {
  echo "$PROG: error: $*" >&2
  exit 2
}

dry_run=0
out=""
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --dry-run) dry_run=1 ;;
    --) shift; break ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) [ -z "$out" ] || die "one OUT folder only, got '$out' and '$1'"; out=$1 ;;
  esac
  shift
done
for arg in "$@"; do  # after --
  [ -z "$out" ] || die "one OUT folder only, got '$out' and '$arg'"
  out=$arg
done
[[ $SWEEP_LIMIT_S =~ ^[1-9][0-9]{0,6}$ ]] ||
  die "GPU_CHECK_SWEEP_LIMIT_S must be a whole number of seconds from 1, got '$SWEEP_LIMIT_S'"
[ -n "$out" ] || die "missing OUT, the folder for the logs and results (see --help)"
case $out in *$'\n'*) die "OUT must not hold a line break" ;; esac
[ ! -e "$out" ] || [ -d "$out" ] || die "OUT '$out' exists and is not a folder"
out=$(realpath -m -- "$out")

ngpu=0
if command -v nvidia-smi >/dev/null 2>&1; then
  ngpu=$(timeout 60 nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true)
fi
if [ "$ngpu" -eq 0 ] && [ "$dry_run" -eq 0 ]; then
  die "no NVIDIA GPU found (nvidia-smi -L lists none); this check needs one"
fi

# The sweep's arguments and environment.
gpus="1"
only=$ONLY_1GPU
if [ "$ngpu" -ge 2 ]; then
  gpus="1 2"
  only+=",$ONLY_2GPU"
fi
settings=(RUN_ALL_EXTRA_ARGS="$EXTRA_ARGS" RUN_ALL_TIMEOUT_S="$RUN_TIMEOUT_S")
for api in tensorpack keras tflearn; do
  for v in "" _amp; do  # the variable of cell cifar10-cnn.<api>.g1[.amp]
    settings+=("RUN_ALL_EXTRA_ARGS_cifar10_cnn_${api}_g1$v=$CIFAR_EXTRA_ARGS")
  done
done
sweep_args=(--out "$out/sweep" --gpus "$gpus" --variants "$VARIANTS" --repeat 1 --only "$only")

if [ "$dry_run" -eq 1 ]; then
  if [ "$ngpu" -eq 0 ]; then
    echo "$PROG: dry run: no NVIDIA GPU here; planning as on a machine with 1 (RUN_ALL_NGPU=1)"
    settings+=(RUN_ALL_NGPU=1)
  else
    echo "$PROG: dry run: $ngpu GPU(s) found"
  fi
  echo "$PROG: would write $out/env.txt, $out/cifar-data (tools/make_cifar_data.py),"
  echo "  $out/gpu-check.log and $out/sweep, running the sweep for at most ${SWEEP_LIMIT_S} s with"
  for s in "${settings[@]}"; do echo "  ${s%%=*}=$(quoted "${s#*=}")"; done
  echo "  ./run_all.sh $(quoted "${sweep_args[@]}" --cifar-data "$out/cifar-data")"
  echo "$PROG: the sweep's plan (without --cifar-data: the data is made only by a real run):"
  exec env "${settings[@]}" "$ROOT/run_all.sh" --dry-run "${sweep_args[@]}"
fi

write_env() {  # OUT/env.txt: what this check ran on
  echo "# written by tools/gpu-check.sh"
  echo "date: $(date -Is)"
  echo "git commit: $(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)"
  echo "git uncommitted edits (tracked files): $(git -C "$ROOT" status --porcelain \
    --untracked-files=no 2>/dev/null | wc -l)"
  echo "host: $(uname -srm), $(nproc) cores"
  echo "== nvidia-smi -L"
  nvidia-smi -L || echo "(failed)"
  echo "== nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || echo "(failed)"
  echo "== $PY --version"
  "$PY" --version 2>&1
  echo "== tools/versions.py (the libraries a benchmark run reports)"
  "$PY" "$ROOT/tools/versions.py" || echo "(failed)"
}

main() {
  echo "== $PROG $out, $(date -Is): $ngpu GPU(s), device counts: $gpus"
  # shellcheck source=tools/venv.sh
  source "$ROOT/tools/venv.sh" || { echo "$PROG: cannot set up the environment" >&2; return 1; }
  write_env > "$out/env.txt"
  cat "$out/env.txt"
  echo "== generating CIFAR-format data in $out/cifar-data"
  "$PY" "$ROOT/tools/make_cifar_data.py" "$out/cifar-data"
  echo "== the sweep (stopped after ${SWEEP_LIMIT_S} s), with:"
  for s in "${settings[@]}"; do echo "  ${s%%=*}=$(quoted "${s#*=}")"; done
  local status=0
  env "${settings[@]}" timeout --foreground --preserve-status --kill-after=60 "$SWEEP_LIMIT_S" \
    "$ROOT/run_all.sh" "${sweep_args[@]}" --cifar-data "$out/cifar-data" || status=$?
  echo "$PROG: sweep exit status $status; results: $out/sweep/results.md"
  return "$status"
}

mkdir -p "$out"
# tee -i: Ctrl-C reaches the sweep (which stops cleanly and collects), not the log.
main 2>&1 | tee -i -a "$out/gpu-check.log"
