#!/usr/bin/env bash
# run_all.sh: the whole benchmark sweep (every task x API x device count, N repeats), then the
# results collector. Run ./run_all.sh --help for the options; the per-task settings are the table
# right below.
set -u -o pipefail

# ==== per-task settings: tune here ===========================================================
# One row per task. Columns, separated by '|':
#   task | GPU args (machine with GPUs) | CPU args (no GPU, NUM_GPU=0) | quick args (--quick) |
#   time limit in seconds per run: GPU CPU quick (SIGTERM at the limit, SIGKILL 30 s later)
# Empty args = the script's defaults. NUM_GPU, --model and --data are added by run_all.sh.
SETTINGS='
cifar10-cnn | --epochs 4                            | --steps 300 --epochs 4                 | --steps 3 --epochs 2                           | 3600 1200 300
alexnet     |                                       | --image-size 128 --steps 16 --epochs 3 | --image-size 96 --steps 2 --epochs 2 --batch 2 | 3600 1200 300
vgg16       |                                       | --image-size 64 --steps 4 --epochs 3   | --image-size 64 --steps 2 --epochs 2 --batch 2 | 3600 1200 300
resnet50    |                                       | --image-size 64 --steps 10 --epochs 3  | --image-size 64 --steps 2 --epochs 2 --batch 2 | 3600 1200 300
'
TASKS=(cifar10-cnn alexnet vgg16 resnet50)
# Repeat 1 runs the APIs in this order; later repeats rotate it. keras-aa is the A/A run: Keras's
# script once more, so that each repeat measures the noise between identical code (the collector's
# noise band). Opposite Keras on the rotation, it runs two places from Keras's run (one place in
# cells without tflearn: data parallel, or a narrower --only).
APIS=(tensorpack keras tflearn keras-aa)
SINGLE_DEVICE_APIS=" tflearn "        # no data-parallel trainer: only NUM_GPU 0 or 1
CIFAR_URL=${RUN_ALL_CIFAR_URL:-https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz}
KILL_GRACE_S=30
# =============================================================================================

usage() {
  cat <<'EOF'
Usage: ./run_all.sh [--out DIR] [--gpus "1 2 4 8"] [--only PATTERN] [--quick] [--repeat N]
                    [--cifar-data DIR] [--dry-run] [--help]

Runs every benchmark cell, each run in its own process under a time limit, keeps each run's whole
output in DIR/logs/<cell>.r<repeat>.log, measures the fp32 matmul peak (DIR/logs/peak.log; again
whenever the mode or its settings change), then runs tools/collect.py DIR (results.md, results.csv,
results.json, results.png). The collector counts only the runs of DIR's current plan and settings
(DIR/plan.txt, DIR/settings.txt) and lists every other log as ignored. One sweep at a time per
DIR: a second one into the same DIR exits 2 (the lock DIR/.run_all.lock is taken over when the
sweep holding it was killed).

Cells are named <task>.<api>.g<NUM_GPU>, e.g. cifar10-cnn.keras.g0, resnet50.tensorpack.g2:
  task: cifar10-cnn | alexnet | vgg16 | resnet50
  api:  tensorpack | keras | tflearn | keras-aa
  g0 = trained on the CPU; gN = N devices in data parallel. keras-aa runs the Keras script again
  (an A/A run): the spread of keras-aa/keras across repeats is the noise band a difference between
  APIs must exceed before the collector names a winner.

  --out DIR         where logs and results go (default: results/latest, with --quick: results/quick)
  --gpus "LIST"     device counts to run (default: 1 2 4 ... up to all GPUs found by nvidia-smi;
                    without GPUs: 0, i.e. the CPU). tflearn runs only counts 0 and 1. On a machine
                    without GPUs a count N >= 1 runs N replicas on the CPU.
  --only PATTERN    run only the cells matching PATTERN: a shell glob against the whole cell name
                    ('cifar10-cnn.*', '*.keras.g1') or a substring ('resnet50', 'tflearn');
                    several patterns separated by commas. The substring 'keras' selects both
                    keras and keras-aa cells; without keras-aa no ratio can be established.
  --quick           smallest settings for every selected cell (a smoke test: its results name no
                    winner; default --repeat 1)
  --repeat N        run every cell N times (default 3, with or without GPUs; 1 with --quick).
                    A ratio between two APIs needs at least 2 repeats (3 by default) to be
                    established. Within a repeat a task's cells run back to back; the API order
                    rotates from one repeat to the next (tensorpack keras tflearn keras-aa, then
                    keras tflearn keras-aa tensorpack, ...). The order is written to DIR/plan.txt.
  --cifar-data DIR  folder holding cifar-10-batches-py/, passed to the CIFAR scripts as --data.
                    Default: the cache ${XDG_CACHE_HOME:-~/.cache}/tf-api-bench/cifar10, downloaded
                    there when missing; without it the CIFAR cells are SKIPPED (not failed).
                    Generated data (tools/make_cifar_data.py DIR, marked by a GENERATED file) is
                    labelled "generated CIFAR-format data" in the results.
  --dry-run         write DIR/plan.txt and print every run's command and time limit; run nothing
  -h, --help        this text

Per-task settings (GPU / CPU / quick arguments and time limits) are the table at the top of this
file. GPU settings apply to cells with NUM_GPU >= 1 on a machine with GPUs, CPU settings otherwise.

Resuming: rerunning with the same --out keeps every run whose log holds a `summary` line and was
made with the same mode and arguments and ended `status=ok`, and reruns only what is missing,
failed or changed (the old log is moved to DIR/logs/old/). Ctrl-C (SIGINT), SIGTERM and SIGHUP
(terminal closed) stop the running benchmark's whole process group within a second or two, keep
finished logs, end the running log with `run_end ... status=interrupted`, run the collector on
what exists and exit 130, 143 or 129.

Log lines written by run_all.sh into each run's log (logfmt; quoted values may hold spaces):
  run cell=C repeat=R start=ISO-TIME load1=L cores=K other_cpu=X timeout_s=T mode=gpu|cpu|quick
      commit=SHA [data_generated=1] args="SCRIPT ARGS" cmd="PYTHON SCRIPT ARGS"
  run_end cell=C repeat=R rc=RC status=ok|failed|skipped|interrupted load1=L other_cpu=X
      wall_s=S [reason="..."]
other_cpu: cores kept busy by other work during the second before the run starts (in `run`) or
after it ends (in `run_end`), while nothing of the sweep runs; the collector warns above 0.5.

A run is ok only if it exited 0 with a summary whose images/sec is a finite positive number
matching its throughput lines (their median over epochs >= 2), and a model line of the cell's
task, API and device count (and, where it reports them, max(NUM_GPU, 1) replicas): the rule of
tools/collect.py; anything else is FAILED with its reason.

Exit status: 0 all ok (skipped CIFAR cells included); 1 a run failed (or the collector found a
missing, stray or duplicate log); 3 the collector found a fairness mismatch; 2 bad input or DIR in
use by another sweep; 130 / 143 / 129 interrupted by SIGINT / SIGTERM / SIGHUP.

Environment (for tuning and tests): RUN_ALL_EXTRA_ARGS_<cell with . and - as _> appends arguments
to that cell's command (e.g. RUN_ALL_EXTRA_ARGS_cifar10_cnn_keras_g0='--epochs 0' makes that
cell fail with exit 2); RUN_ALL_TIMEOUT_S overrides every time limit; RUN_ALL_NGPU overrides the
number of GPUs found; RUN_ALL_CIFAR_URL the CIFAR-10 download address; RUN_ALL_IDLE_SAMPLE_S the
other_cpu sampling time in seconds (default 1, at most 10); RUN_ALL_PYTHON the interpreter that
runs the benchmark scripts and the peak probe (default: the environment's; tests use a stand-in).
Time limits and counts are decimal whole numbers (no leading zeros); a bad value is exit 2.
EOF
}

die2() { echo "run_all.sh: error: $*" >&2; exit 2; }
is_uint() { [[ $1 =~ ^(0|[1-9][0-9]{0,5})$ ]]; }  # decimal, no leading zero (bash reads 010 as octal)
is_posint() { [[ $1 =~ ^[1-9][0-9]{0,5}$ ]]; }
has_newline() { [[ $1 == *$'\n'* ]]; }

# ---- command line ---------------------------------------------------------------------------
OUT="" GPUS_OPT="" ONLY="" QUICK=0 REPEAT="" CIFAR_DATA="" DRY=0
while [ $# -gt 0 ]; do
  opt=$1
  case $opt in
    --*=*) val=${opt#*=}; opt=${opt%%=*}; set -- "$opt" "$val" "${@:2}" ;;
  esac
  case $opt in
    -h|--help) usage; exit 0 ;;
    --quick) QUICK=1; shift ;;
    --dry-run) DRY=1; shift ;;
    --out|--gpus|--only|--repeat|--cifar-data)
      [ $# -ge 2 ] || die2 "$opt needs a value (see --help)"
      case $opt in
        --out) OUT=$2 ;; --gpus) GPUS_OPT=$2 ;; --only) ONLY=$2 ;; --repeat) REPEAT=$2 ;;
        --cifar-data) CIFAR_DATA=$2 ;;
      esac
      shift 2 ;;
    *) die2 "unknown option '$opt' (see --help)" ;;
  esac
done
[ -z "$REPEAT" ] || is_posint "$REPEAT" ||
  die2 "--repeat must be a decimal whole number from 1 to 999999 (no leading zero), got '$REPEAT'"
[ -z "${RUN_ALL_TIMEOUT_S:-}" ] || is_posint "$RUN_ALL_TIMEOUT_S" ||
  die2 "RUN_ALL_TIMEOUT_S must be a decimal whole number of seconds >= 1, got '$RUN_ALL_TIMEOUT_S'"
IDLE_S=${RUN_ALL_IDLE_SAMPLE_S-1}
[[ $IDLE_S =~ ^[0-9]{0,2}(\.[0-9]{1,3})?$ ]] && awk -v s="$IDLE_S" 'BEGIN { exit !(s > 0 && s <= 10) }' ||
  die2 "RUN_ALL_IDLE_SAMPLE_S must be a decimal number of seconds above 0 and at most 10, got '$IDLE_S'"
if [ -n "${RUN_ALL_PYTHON:-}" ]; then
  [ -f "$RUN_ALL_PYTHON" ] && [ -x "$RUN_ALL_PYTHON" ] ||
    die2 "RUN_ALL_PYTHON must be an executable file, got '$RUN_ALL_PYTHON'"
  RUN_ALL_PYTHON=$(cd "$(dirname "$RUN_ALL_PYTHON")" && pwd)/$(basename "$RUN_ALL_PYTHON")
fi
has_newline "$OUT$CIFAR_DATA" && die2 "--out and --cifar-data must not hold a line break"
if [ -n "$CIFAR_DATA" ]; then
  [ -d "$CIFAR_DATA/cifar-10-batches-py" ] ||
    die2 "--cifar-data: no cifar-10-batches-py/ in '$CIFAR_DATA'"
  CIFAR_DATA=$(cd "$CIFAR_DATA" && pwd)
fi
[ -n "$OUT" ] || OUT=$([ $QUICK = 1 ] && echo results/quick || echo results/latest)
case $OUT in /*) ;; *) OUT=$PWD/$OUT ;; esac
[ ! -e "$OUT" ] || [ -d "$OUT" ] || die2 "--out: '$OUT' exists and is not a folder"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$ROOT" || exit 1

q() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; s=${s//$'\n'/ }; printf '"%s"' "$s"; }
unq() {  # the value of a q()-quoted logfmt value, without its quotes and backslash escapes
  local s=$1 out="" c
  while [ -n "$s" ]; do
    c=${s:0:1}
    if [ "$c" = "\\" ]; then out+=${s:1:1}; s=${s:2}; else out+=$c; s=${s:1}; fi
  done
  printf '%s' "$out"
}

# ---- settings table -------------------------------------------------------------------------
declare -A ARGS_GPU ARGS_CPU ARGS_QUICK TO_GPU TO_CPU TO_QUICK
trim() { local s=$1; s=${s#"${s%%[![:space:]]*}"}; printf '%s' "${s%"${s##*[![:space:]]}"}"; }
while IFS='|' read -r t g c q to; do
  t=$(trim "$t"); [ -n "$t" ] || continue
  ARGS_GPU[$t]=$(trim "$g"); ARGS_CPU[$t]=$(trim "$c"); ARGS_QUICK[$t]=$(trim "$q")
  read -r TO_GPU[$t] TO_CPU[$t] TO_QUICK[$t] <<<"$to"
done <<<"$SETTINGS"

# ---- devices and the plan -------------------------------------------------------------------
if [ -n "${RUN_ALL_NGPU:-}" ]; then
  is_uint "$RUN_ALL_NGPU" || die2 "RUN_ALL_NGPU must be a decimal whole number >= 0, got '$RUN_ALL_NGPU'"
  NGPU=$RUN_ALL_NGPU
elif command -v nvidia-smi >/dev/null 2>&1; then
  NGPU=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ')
else
  NGPU=0
fi
if [ -n "$GPUS_OPT" ]; then
  read -ra COUNTS <<<"${GPUS_OPT//,/ }"
  [ ${#COUNTS[@]} -gt 0 ] || die2 "--gpus needs at least one device count"
  seen=" "
  for n in "${COUNTS[@]}"; do
    is_uint "$n" || die2 "--gpus: '$n' is not a decimal whole number >= 0 (no leading zero)"
    [[ $seen == *" $n "* ]] && die2 "--gpus: device count $n given twice"
    seen+="$n "
    [ "$NGPU" -eq 0 ] || [ "$n" -le "$NGPU" ] || die2 "--gpus: $n devices asked, $NGPU GPU(s) found"
  done
elif [ "$NGPU" -eq 0 ]; then
  COUNTS=(0)
else
  COUNTS=(); n=1
  while [ $n -le "$NGPU" ]; do COUNTS+=("$n"); n=$((n * 2)); done
  [ "${COUNTS[-1]}" -eq "$NGPU" ] || COUNTS+=("$NGPU")
fi
[ -n "$REPEAT" ] || REPEAT=$([ $QUICK = 1 ] && echo 1 || echo 3)  # 3: enough pairs for a ratio

selected() {  # cell -> is it selected by --only?
  [ -z "$ONLY" ] && return 0
  local p pats; IFS=',' read -ra pats <<<"$ONLY"
  for p in "${pats[@]}"; do
    [ -n "$p" ] || continue
    # shellcheck disable=SC2053
    [[ $1 == $p || $1 == *"$p"* ]] && return 0
  done
  return 1
}

PLAN_CELL=() PLAN_REP=()
for ((rep = 1; rep <= REPEAT; rep++)); do
  for task in "${TASKS[@]}"; do
    for n in "${COUNTS[@]}"; do
      cells=()
      for api in "${APIS[@]}"; do
        [ "$n" -gt 1 ] && [[ $SINGLE_DEVICE_APIS == *" $api "* ]] && continue
        selected "$task.$api.g$n" && cells+=("$task.$api.g$n")
      done
      k=${#cells[@]}
      for ((j = 0; j < k; j++)); do  # rotate the API order by one per repeat
        PLAN_CELL+=("${cells[$(((j + rep - 1) % k))]}"); PLAN_REP+=("$rep")
      done
    done
  done
done
TOTAL=${#PLAN_CELL[@]}
[ "$TOTAL" -gt 0 ] || die2 "--only '$ONLY' matches no cell (names look like cifar10-cnn.keras.g0)"
mkdir -p "$OUT/logs" 2>/dev/null || die2 "--out: cannot create '$OUT/logs'"

# ---- one sweep per output folder ------------------------------------------------------------
# flock(1) on DIR/.run_all.lock; the kernel releases it when the holder dies, so the lock of a
# killed sweep is free again (taken over below). Children get the descriptor closed.
LOCK=$OUT/.run_all.lock
{ exec {LOCK_FD}>>"$LOCK"; } 2>/dev/null || die2 "--out: cannot write '$LOCK'"
if ! flock -n "$LOCK_FD"; then
  holder=$(sed -n 's/^pid=\([0-9]*\).*/\1/p' "$LOCK" 2>/dev/null | head -n 1)
  die2 "'$OUT' is in use by another run_all.sh (pid ${holder:-?}); wait for it to end or use another --out"
fi
prev=$(sed -n 's/^pid=\([0-9]*\).*/\1/p' "$LOCK" 2>/dev/null | head -n 1)
[ -n "$prev" ] && echo "run_all: taking over the lock of an earlier sweep that did not end (pid $prev)"
echo "pid=$$ start=$(date -Iseconds)" >"$LOCK"
trap ': >"$LOCK"' EXIT  # an empty lock file: the last sweep ended (a killed one leaves its pid)

# ---- the command of a cell ------------------------------------------------------------------
cell_cmd() {  # cell -> CMD (array: script and args), MODE, LIMIT
  local task=${1%%.*} rest=${1#*.} api n extra var
  api=${rest%%.*}; n=${rest##*.g}
  api=${api%-aa}  # keras-aa runs exactly what the keras cell runs
  if [ "$task" = cifar10-cnn ]; then CMD=("cifar10-cnn-$api.py" "$n")
  else CMD=("imagenet-$api.py" "$n" --model "$task"); fi
  if [ $QUICK = 1 ]; then MODE=quick; read -ra extra <<<"${ARGS_QUICK[$task]}"; LIMIT=${TO_QUICK[$task]}
  elif [ "$n" -gt 0 ] && [ "$NGPU" -gt 0 ]; then MODE=gpu; read -ra extra <<<"${ARGS_GPU[$task]}"; LIMIT=${TO_GPU[$task]}
  else MODE=cpu; read -ra extra <<<"${ARGS_CPU[$task]}"; LIMIT=${TO_CPU[$task]}; fi
  CMD+=("${extra[@]}")
  [ "$task" = cifar10-cnn ] && [ -n "$CIFAR_DATA" ] && CMD+=(--data "$CIFAR_DATA")
  var=RUN_ALL_EXTRA_ARGS_${1//[.-]/_}
  read -ra extra <<<"${!var:-}"
  CMD+=("${extra[@]}")
  LIMIT=${RUN_ALL_TIMEOUT_S:-$LIMIT}
}

PEAK_ARGS="tools/peak.py$([ $QUICK = 1 ] && echo " --quick")"
MODE_DESC=$([ $QUICK = 1 ] && echo quick || { [ "$NGPU" -gt 0 ] && echo gpu || echo cpu; })
if [ -z "$CIFAR_DATA" ]; then  # the cache, when it holds the data already (downloaded below if not)
  CIFAR_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/tf-api-bench/cifar10
  [ -d "$CIFAR_CACHE/cifar-10-batches-py" ] && CIFAR_DATA=$CIFAR_CACHE
fi

write_plan() {  # DIR/plan.txt (the runs, in order) and DIR/settings.txt (their mode and arguments)
  local i cell
  : >"$OUT/plan.txt"
  for ((i = 0; i < TOTAL; i++)); do echo "r${PLAN_REP[$i]} ${PLAN_CELL[$i]}" >>"$OUT/plan.txt"; done
  { echo "# written by run_all.sh: the mode and arguments of each cell of plan.txt; tools/collect.py"
    echo "# counts only the logs made with them"
    echo "peak_probe mode=$MODE_DESC args=$(q "$PEAK_ARGS")"
    for cell in $(printf '%s\n' "${PLAN_CELL[@]}" | awk '!seen[$0]++'); do
      cell_cmd "$cell"
      echo "cell cell=$cell mode=$MODE args=$(q "${CMD[*]}")"
    done; } >"$OUT/settings.txt"
}

if [ $DRY = 1 ]; then
  write_plan
  echo "plan ($TOTAL runs, GPUs found: $NGPU, device counts: ${COUNTS[*]}, repeats: $REPEAT) -> $OUT/plan.txt"
  [ -n "$CIFAR_DATA" ] || CIFAR_DATA="<cifar-data>"
  for ((i = 0; i < TOTAL; i++)); do
    cell_cmd "${PLAN_CELL[$i]}"
    echo "r${PLAN_REP[$i]} ${PLAN_CELL[$i]}: ${CMD[*]}  (time limit ${LIMIT}s)"
  done
  exit 0
fi

# ---- environment ----------------------------------------------------------------------------
# shellcheck source=tools/venv.sh
source tools/venv.sh || { echo "run_all.sh: cannot set up the virtual environment" >&2; exit 1; }
BENCH_PY=${RUN_ALL_PYTHON:-$PY}  # runs the benchmark scripts and the peak probe
CORES=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)

# ---- helpers --------------------------------------------------------------------------------
load1() { local l _; read -r l _ </proc/loadavg 2>/dev/null && echo "$l" || echo na; }
cpu_ticks() { local _c u n s i w x y z _r; read -r _c u n s i w x y z _r </proc/stat; echo "$((u + n + s + x + y + z)) $((u + n + s + i + w + x + y + z))"; }
sample_other_cpu() {  # -> BUSY: cores busy during a short idle sample (nothing of ours runs meanwhile)
  BUSY=na
  [ -r /proc/stat ] || return
  local b1 t1 b2 t2
  read -r b1 t1 <<<"$(cpu_ticks)"
  sleep "$IDLE_S" & wait $!  # a trapped signal interrupts `wait` at once (not `sleep`)
  kill $! 2>/dev/null
  [ $INTERRUPTED = 1 ] && return
  read -r b2 t2 <<<"$(cpu_ticks)"
  BUSY=$(awk -v db=$((b2 - b1)) -v dt=$((t2 - t1)) -v c="$CORES" 'BEGIN { printf "%.2f", (dt > 0 ? db / dt * c : 0) }')
}
hms() { local s=${1%.*}; [ "$s" -ge 3600 ] && printf '%d:%02d:%02d' $((s / 3600)) $((s % 3600 / 60)) $((s % 60)) || printf '%d:%02d' $((s / 60)) $((s % 60)); }
logged() {  # LOG KEY -> the value of KEY in the log's `run` line (unquoted)
  local line v
  line=$(grep -m 1 '^run ' "$1" 2>/dev/null) || return 0
  v=$(sed -n "s/.* $2=\(\"\([^\"\\\\]\|\\\\.\)*\"\|[^ ]*\).*/\1/p" <<<"$line")
  case $v in \"*\") unq "${v:1:${#v}-2}" ;; *) printf '%s' "$v" ;; esac
}
ended_ok() { grep -q '^run_end .* status=ok\( \|$\)' "$1" 2>/dev/null; }

INTERRUPTED=0 SIGNAL_RC=0 CHILD=""
on_signal() {  # RC: stop the running child's whole process group (timeout gives it its own)
  [ $INTERRUPTED = 1 ] || SIGNAL_RC=$1
  INTERRUPTED=1
  [ -n "$CHILD" ] && { kill -TERM -- "-$CHILD" 2>/dev/null; kill -TERM "$CHILD" 2>/dev/null; }
}
trap 'on_signal 130' INT
trap 'on_signal 143' TERM
trap 'on_signal 129' HUP

run_child() {  # LOG TIMEOUT CMD... -> sets RC; the child's output is appended to LOG
  local log=$1 limit=$2; shift 2
  timeout -k "$KILL_GRACE_S" "$limit" "$@" >>"$log" 2>&1 {LOCK_FD}>&- &
  CHILD=$!
  [ $INTERRUPTED = 1 ] && on_signal "$SIGNAL_RC"  # a signal that came before CHILD was set
  while :; do
    wait "$CHILD"; RC=$?
    kill -0 "$CHILD" 2>/dev/null || break
    if [ $INTERRUPTED = 1 ]; then  # TERM was sent; give it 5 s, then KILL its process group
      for _ in $(seq 50); do kill -0 "$CHILD" 2>/dev/null || break; sleep 0.1; done
      kill -KILL -- "-$CHILD" 2>/dev/null; kill -KILL "$CHILD" 2>/dev/null
    fi
  done
  [ $INTERRUPTED = 1 ] && kill -KILL -- "-$CHILD" 2>/dev/null  # what the group left behind
  CHILD=""
}

# ---- CIFAR-10 data --------------------------------------------------------------------------
CIFAR_SKIP="" CIFAR_GEN=0
if printf '%s\n' "${PLAN_CELL[@]}" | grep -q '^cifar10-cnn\.'; then
  if [ -z "$CIFAR_DATA" ]; then
    cache=${XDG_CACHE_HOME:-$HOME/.cache}/tf-api-bench/cifar10
    if [ ! -d "$cache/cifar-10-batches-py" ]; then
      echo "CIFAR-10: no data in $cache, downloading $CIFAR_URL ..."
      mkdir -p "$cache"
      if err=$("$PY" - "$CIFAR_URL" "$cache" 2>&1 <<'PYEOF'
import os, shutil, sys, tarfile, tempfile, urllib.request
url, dest = sys.argv[1:3]
with tempfile.TemporaryDirectory(dir=dest) as tmp:
    path = os.path.join(tmp, "cifar.tar.gz")
    with urllib.request.urlopen(url, timeout=20) as r, open(path, "wb") as f:
        shutil.copyfileobj(r, f)
    with tarfile.open(path) as t:
        try:
            t.extractall(tmp, filter="data")
        except TypeError:  # Python without extraction filters
            t.extractall(tmp)
    os.rename(os.path.join(tmp, "cifar-10-batches-py"), os.path.join(dest, "cifar-10-batches-py"))
PYEOF
      ); then
        echo "CIFAR-10: extracted into $cache"
      else
        CIFAR_SKIP="no CIFAR-10 data: download of $CIFAR_URL failed ($(echo "$err" | tail -n 1 | cut -c1-150)); pass --cifar-data DIR (a folder holding cifar-10-batches-py/), or write generated data with tools/make_cifar_data.py DIR and pass that (its figures are labelled generated)"
        echo "CIFAR-10 cells SKIPPED: $CIFAR_SKIP"
      fi
    fi
    [ -d "$cache/cifar-10-batches-py" ] && CIFAR_DATA=$cache
  fi
  [ -n "$CIFAR_DATA" ] && [ -e "$CIFAR_DATA/GENERATED" ] && CIFAR_GEN=1 &&
    echo "CIFAR-10: $CIFAR_DATA holds generated CIFAR-format data; its figures are labelled so"
fi

# ---- which runs are done already ------------------------------------------------------------
write_plan
TODO=() NTODO=0
for ((i = 0; i < TOTAL; i++)); do
  log=$OUT/logs/${PLAN_CELL[$i]}.r${PLAN_REP[$i]}.log
  cell_cmd "${PLAN_CELL[$i]}"
  if ended_ok "$log" && [ "$(logged "$log" args)" = "${CMD[*]}" ] && [ "$(logged "$log" mode)" = "$MODE" ]
  then TODO+=(0)
  else TODO+=(1); NTODO=$((NTODO + 1)); fi
done
echo "run_all: $TOTAL runs planned ($((TOTAL - NTODO)) done already), settings: $MODE_DESC," \
  "GPUs found: $NGPU, device counts: ${COUNTS[*]}, repeats: $REPEAT, out: $OUT"

# ---- hardware peak (again when the mode or its settings change) -----------------------------
peak=$OUT/logs/peak.log
if ! grep -q '^peak ' "$peak" 2>/dev/null || [ "$(logged "$peak" args)" != "$PEAK_ARGS" ] ||
   [ "$(logged "$peak" mode)" != "$MODE_DESC" ]; then
  echo "measuring the fp32 matmul peak ($PEAK_ARGS) ..."
  echo "run cell=peak repeat=1 start=$(date -Iseconds) mode=$MODE_DESC args=$(q "$PEAK_ARGS")" >"$peak"
  read -ra peak_cmd <<<"$PEAK_ARGS"
  run_child "$peak" 180 "$BENCH_PY" "${peak_cmd[@]}"
  grep '^peak ' "$peak" || echo "peak: no result (rc $RC), see $peak"
fi

# ---- the runs -------------------------------------------------------------------------------
FAILED=0 DONE_RUNS=0 RUN_SECONDS=0 T0=$(date +%s)
for ((i = 0; i < TOTAL && INTERRUPTED == 0; i++)); do
  cell=${PLAN_CELL[$i]} rep=${PLAN_REP[$i]} wall=0
  log=$OUT/logs/$cell.r$rep.log
  tag="[$((i + 1))/$TOTAL] $cell r$rep"
  if [ "${TODO[$i]}" = 0 ]; then echo "$tag: done already, kept"; continue; fi
  cell_cmd "$cell"
  now=$(date +%s); left=$((NTODO - DONE_RUNS))
  eta=$([ $DONE_RUNS -gt 0 ] && hms $((RUN_SECONDS * left / DONE_RUNS)) || echo "?")
  echo "$tag  elapsed $(hms $((now - T0)))  ETA $eta"
  skip=$([ "${cell%%.*}" = cifar10-cnn ] && echo "$CIFAR_SKIP")
  [ -n "$skip" ] || sample_other_cpu
  [ $INTERRUPTED = 1 ] && break  # a signal during the idle sample: this run does not start
  if [ -e "$log" ]; then  # failed, interrupted, skipped or made with other arguments
    mkdir -p "$OUT/logs/old"
    mv "$log" "$OUT/logs/old/$cell.r$rep.$(date +%Y%m%dT%H%M%S).log"
  fi
  gen=$([ "${cell%%.*}" = cifar10-cnn ] && [ $CIFAR_GEN = 1 ] && echo " data_generated=1")
  if [ -n "$skip" ]; then
    { echo "run cell=$cell repeat=$rep start=$(date -Iseconds) load1=$(load1) cores=$CORES mode=$MODE commit=$COMMIT args=$(q "${CMD[*]}")"
      echo "run_end cell=$cell repeat=$rep rc=na status=skipped wall_s=0 reason=$(q "$skip")"; } >"$log"
    echo "    SKIPPED: no CIFAR-10 data (see --help: --cifar-data)"
    continue
  fi
  start=$(date +%s.%N)
  echo "run cell=$cell repeat=$rep start=$(date -Iseconds) load1=$(load1) cores=$CORES other_cpu=$BUSY" \
    "timeout_s=$LIMIT mode=$MODE commit=$COMMIT$gen args=$(q "${CMD[*]}") cmd=$(q "$BENCH_PY ${CMD[*]}")" >"$log"
  reason=""
  if [ ! -f "${CMD[0]}" ]; then
    RC=na
    status=failed reason="script not found: ${CMD[0]}"
    echo "$reason" >>"$log"
  else
    run_child "$log" "$LIMIT" "$BENCH_PY" "${CMD[@]}"
    wall=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    if [ $INTERRUPTED = 1 ]; then
      status=interrupted reason="interrupted (signal to run_all.sh; exit $SIGNAL_RC)"
    elif [ $RC = 124 ] || { [ $RC = 137 ] && awk -v w="$wall" -v l="$LIMIT" 'BEGIN { exit !(w >= l) }'; }; then
      status=failed reason="timed out after ${LIMIT}s"
    else  # tools/collect.py's rule for ok: exit 0, a sane summary, the cell's model line
      [ -n "$(tail -c 1 "$log")" ] && echo >>"$log"  # a killed progress bar leaves no newline
      verdict=$("$PY" tools/collect.py --check "$log" "$RC" {LOCK_FD}>&- 2>&1)
      case $verdict in
        "ok "*) status=ok ;;
        "failed "*) status=failed reason=${verdict#failed } ;;
        *) status=failed reason="the collector could not check this log: $(echo "$verdict" | tail -n 1 | cut -c1-200)" ;;
      esac
      [ $RC = 137 ] && [ $status = failed ] && reason="killed by SIGKILL (rc 137: out of memory?); $reason"
    fi
  fi
  wall=${wall:-0}
  BUSY=na
  [ $INTERRUPTED = 1 ] || sample_other_cpu
  end="run_end cell=$cell repeat=$rep rc=$RC status=$status load1=$(load1) other_cpu=$BUSY wall_s=$wall"
  [ -n "$reason" ] && end="$end reason=$(q "$reason")"
  [ -n "$(tail -c 1 "$log")" ] && echo >>"$log"  # a killed progress bar leaves no newline
  echo "$end" >>"$log"
  DONE_RUNS=$((DONE_RUNS + 1)); RUN_SECONDS=$((RUN_SECONDS + $(date +%s) - now))
  case $status in
    ok) echo "    ok: ${verdict#ok } images/sec (${wall} s)" ;;
    *) FAILED=1; echo "    ${status^^}: $reason (log: $log)" ;;
  esac
done

# ---- results --------------------------------------------------------------------------------
[ $INTERRUPTED = 1 ] && echo "interrupted: finished logs are kept; collecting what exists ..."
trap '' INT TERM HUP  # let the collector finish
"$PY" tools/collect.py "$OUT" {LOCK_FD}>&-; CRC=$?
if [ $INTERRUPTED = 1 ]; then exit "$SIGNAL_RC"; fi
case $CRC in
  0) [ $FAILED = 0 ] && exit 0 || exit 1 ;;
  3) echo "run_all: FAIRNESS MISMATCH between the APIs, see $OUT/results.md" >&2; exit 3 ;;
  *) exit 1 ;;
esac
