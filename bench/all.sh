#!/usr/bin/env bash
# The one command behind BENCHMARKS.md: runs every benchmark it reports and
# rewrites its generated blocks in place (bench/docgen), leaving the prose
# around them as it is. From the repository root, on a quiet machine:
#
#   flock /tmp/bench.lock bench/all.sh      # about 35 minutes with the defaults
#
# In order, each step's output kept in RESULTS:
#   1. bench/run.sh: every contender on every endpoint (the main table,
#      the farm features on included) and bench/memsize; about 15 minutes.
#   2. bench/scale.sh: the tables of "How cost grows"; about 9 minutes.
#   3. bench/rediscpu: Redis CPU per store operation and per candidate write
#      path; about 3 minutes.
#   4. the library's go test benchmarks (BenchmarkMiddleware on memstore,
#      BenchmarkMiddlewareRedis on a private Redis, BenchmarkObservability);
#      about 6 minutes.
#   5. bench/docgen: the targets of issue 13, met or missed, computed from
#      the figures of 1 to 4, and every table, into BENCHMARKS.md.
# A step that is skipped or fails leaves its blocks saying "not measured"
# and why; a failed step makes the command exit 1 after writing.
#
# Knobs (environment), besides run.sh's and scale.sh's own (DURATION,
# WARMUP, ROUNDS, CONCURRENCY, CONTENDERS, ENDPOINTS, MEMSIZE_N, SESSIONS,
# KEYS, CLIENTS, ...: see their tops; DURATION and ROUNDS apply to both):
#   SCALE=0       skip step 2        RCPU=0     skip step 3
#   MICRO=0       skip step 4        WRITE=0    leave BENCHMARKS.md alone
#   RCPU_N        operations per rediscpu case and round (30000)
#   RCPU_ROUNDS   rediscpu rounds (5)
#   MICRO_COUNT   runs of each go test benchmark (-count, 5)
#   BENCHTIME     go test -benchtime (1s)
#   RESULTS       a directory to keep the raw results in (default: a
#                 temporary one, removed at the end unless WRITE=0)
# A quick check that everything works (about 3 minutes):
#   DURATION=0.3s WARMUP=0.1s ROUNDS=1 MEMSIZE_N=2000 SESSIONS=1000 \
#     KEYS="1 10" CLIENTS=32 RCPU_N=500 RCPU_ROUNDS=1 MICRO_COUNT=1 \
#     BENCHTIME=2000x bench/all.sh
# and then git diff BENCHMARKS.md: only the generated blocks change.
set -euo pipefail
cd "$(dirname "$0")"

SCALE=${SCALE:-1}
RCPU=${RCPU:-1}
MICRO=${MICRO:-1}
WRITE=${WRITE:-1}
RCPU_N=${RCPU_N:-30000}
RCPU_ROUNDS=${RCPU_ROUNDS:-5}
MICRO_COUNT=${MICRO_COUNT:-5}
BENCHTIME=${BENCHTIME:-1s}

command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
  { echo "all.sh needs redis-server and redis-cli (apt-get install redis-server)" >&2; exit 1; }

work=$(mktemp -d)
if [ -n "${RESULTS:-}" ]; then
  mkdir -p "$RESULTS"
  RESULTS=$(cd "$RESULTS" && pwd)
elif [ "$WRITE" = 1 ]; then
  RESULTS=$work/results
  mkdir -p "$RESULTS"
else
  RESULTS=$(mktemp -d -t bench-results.XXXXXX) # kept: WRITE=0 is for looking at them
fi
pids=()
# Stops what it starts and removes $work at exit; free_port and wait_port.
. ./ports.sh

start=$(date +%s)
machine=$RESULTS/machine.env
dirty=0
git status --porcelain --untracked-files=no 2>/dev/null | grep -qv ' BENCHMARKS.md$' && dirty=1
{
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "dirty=$dirty"
  echo "date=$(date -u +%Y-%m-%d)"
  echo "go=$(go version | cut -d' ' -f3)"
  echo "redis=$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')"
  echo "cores=$(nproc)"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "memory=$(free -g | awk '/^Mem:/ {print $2 " GB (" $7 " GB available)"}')"
  echo "load_start=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "settings=DURATION=${DURATION:-default} WARMUP=${WARMUP:-default} ROUNDS=${ROUNDS:-default} CONCURRENCY=${CONCURRENCY:-32} MEMSIZE_N=${MEMSIZE_N:-100000} SCALE=$SCALE RCPU=$RCPU (n $RCPU_N, $RCPU_ROUNDS rounds) MICRO=$MICRO (count $MICRO_COUNT, benchtime $BENCHTIME)"
} >"$machine"

failed=()
# step runs "$@" as step $1 of the run, logging to $RESULTS/$1.log; a failure
# is recorded for docgen and the exit status, and the run goes on.
step() {
  local name=$1; shift
  echo "== $name: $*" >&2
  if ! "$@" 2> >(tee "$RESULTS/$name.log" >&2); then
    echo "skip_$name=the step failed (see $name.log of the results)" >>"$machine"
    failed+=("$name")
  fi
}

# 1. The main table and the memory figure.
[ "${MEMSIZE_N:-100000}" -gt 0 ] || echo "skip_memsize=MEMSIZE_N=0" >>"$machine"
step main env OUT="$RESULTS/main.jsonl" MEMSIZE_JSON="$RESULTS/memsize.jsonl" SCALE=0 ./run.sh >"$RESULTS/run.md"

# 2. How cost grows.
if [ "$SCALE" = 1 ]; then
  mkdir -p "$RESULTS/scale"
  step scale env OUT="$RESULTS/scale" ./scale.sh >"$RESULTS/scale.md"
else
  echo "skip_scale=SCALE=0" >>"$machine"
fi

# 3. Redis CPU per store operation, from 32 clients as run.sh's servers.
if [ "$RCPU" = 1 ]; then
  go build -o "$work/rediscpu" ./rediscpu
  step rediscpu "$work/rediscpu" -concurrency 32 -n "$RCPU_N" -rounds "$RCPU_ROUNDS" >"$RESULTS/rediscpu.md"
else
  echo "skip_rediscpu=RCPU=0" >>"$machine"
fi

# 4. The library's benchmarks, BenchmarkMiddlewareRedis on a private Redis.
if [ "$MICRO" = 1 ]; then
  rport=$(free_port)
  redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$work" --logfile "$work/redis.log" &
  pids+=($!)
  wait_port "$rport"
  bench='^(BenchmarkMiddleware|BenchmarkMiddlewareRedis|BenchmarkObservability)$'
  echo "gobench=go test -run '^\$' -bench '$bench' -benchmem -count $MICRO_COUNT -benchtime $BENCHTIME (GOMAXPROCS $(nproc); REDIS_ADDR a private Redis)" >>"$machine"
  step gobench env REDIS_ADDR="127.0.0.1:$rport" sh -c "cd .. && go test -run '^\$' -bench '$bench' -benchmem -count '$MICRO_COUNT' -benchtime '$BENCHTIME' ." >"$RESULTS/gobench.txt"
else
  echo "skip_gobench=MICRO=0" >>"$machine"
fi

{
  echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "minutes=$(( ($(date +%s) - start + 30) / 60 ))"
} >>"$machine"

# 5. BENCHMARKS.md.
if [ "$WRITE" = 1 ]; then
  go run ./docgen -results "$RESULTS" -doc ../BENCHMARKS.md
  echo "BENCHMARKS.md rewritten from $RESULTS; git diff BENCHMARKS.md shows what moved." >&2
else
  echo "WRITE=0: BENCHMARKS.md left alone; the results are in $RESULTS" >&2
fi
if [ "${#failed[@]}" -gt 0 ]; then
  echo "failed steps: ${failed[*]} (their blocks say so)" >&2
  exit 1
fi
