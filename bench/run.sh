#!/usr/bin/env bash
# Runs every contender on every endpoint against a private Redis (and, for
# the SQL contenders, SQLite files and a private PostgreSQL) and prints the
# main table of BENCHMARKS.md, the targets it judges and the memory figure.
# Loopback only; stops everything it started. About 15 minutes with the
# defaults. To regenerate BENCHMARKS.md as a whole, this included, run
# bench/all.sh instead.
#
#   bench/run.sh                      # from the repository root
#   DURATION=10s CONCURRENCY=64 bench/run.sh
#
# Each cell (a contender on an endpoint, in a round) starts as the first
# did: Redis is emptied (FLUSHALL) and the server replaces its contender
# with a fresh one (bench/load -reset: a new Manager, an empty memstore,
# the SQL contender's rows deleted, the garbage collected).
#
# Knobs (environment): DURATION (measured, per contender and endpoint and
# round, 2s), WARMUP (0.5s), ROUNDS (3; the report gives medians),
# MEMSIZE_N (sessions for the memory figure, 100000; 0 skips it),
# MEMSIZE_JSON (also write the memory rows there, as JSON lines),
# CONCURRENCY (virtual clients, 32), POOL (go-redis PoolSize and
# database/sql's pool of every server, 64; on PostgreSQL at most 4 per core,
# bench/server/sql.go), SERVER_PROCS and LOAD_PROCS (GOMAXPROCS of the server and of
# the load generator, 1 and 1: with redis-server that is three busy threads
# on two cores), CONTENDERS and ENDPOINTS (space-separated subsets), OUT
# (keep the JSON lines in this file), SCALE (1: then run scale.sh, the
# tables of "How cost grows", about 9 minutes more; its own knobs apply).
set -euo pipefail
cd "$(dirname "$0")"

DURATION=${DURATION:-2s}
WARMUP=${WARMUP:-0.5s}
ROUNDS=${ROUNDS:-3}
MEMSIZE_N=${MEMSIZE_N:-100000}
CONCURRENCY=${CONCURRENCY:-32}
POOL=${POOL:-64}
SERVER_PROCS=${SERVER_PROCS:-1}
LOAD_PROCS=${LOAD_PROCS:-1}
CONTENDERS=${CONTENDERS:-"floor bare session-redis session-redis-farm session-mem scs gorilla floor-sqlite session-sqlite scs-sqlite floor-pg session-pg scs-pg"}
ENDPOINTS=${ENDPOINTS:-"/login /read /write /writeonly /add /take /noop"}

command -v redis-server >/dev/null || { echo "run.sh needs redis-server (apt-get install redis-server)" >&2; exit 1; }

# The PostgreSQL contenders need the server's initdb and postgres (Debian
# keeps them off PATH); without them they are left out.
pgbin=""
if command -v initdb >/dev/null; then
  pgbin=$(dirname "$(command -v initdb)")
else
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/initdb" ] && { pgbin=$d; break; }
  done
fi
if [ -z "$pgbin" ]; then
  kept=""
  for c in $CONTENDERS; do
    case $c in *-pg) echo "no PostgreSQL (apt-get install postgresql): leaving out $c" >&2 ;; *) kept="$kept $c" ;; esac
  done
  CONTENDERS=$kept
fi

work=$(mktemp -d)
pids=()
# Stops what it starts and removes $work at exit; free_port and wait_port.
. ./ports.sh

echo "building..." >&2
go build -o "$work/server" ./server
go build -o "$work/load" ./load
go build -o "$work/report" ./report
go build -o "$work/memsize" ./memsize

rport=$(free_port)
redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no \
  --dir "$work" --logfile "$work/redis.log" &
pids+=($!)
wait_port "$rport"
redis="127.0.0.1:$rport"

# A private PostgreSQL when a -pg contender runs, on a free port, in $work,
# as the postgres user when this runs as root (the server refuses root).
# synchronous_commit=off: a commit does not wait for its WAL to reach the
# disk, as Redis here does not persist at all; fsync stays on.
pg=""
case " $CONTENDERS " in *-pg\ *)
  as_pg=()
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$work"
    as_pg=(runuser -u postgres --)
  fi
  "${as_pg[@]}" "$pgbin/initdb" -D "$work/pgdata" -U postgres --auth=trust -E UTF8 --no-locale >"$work/initdb.log" 2>&1 ||
    { cat "$work/initdb.log" >&2; exit 1; }
  pport=$(free_port)
  "${as_pg[@]}" "$pgbin/postgres" -D "$work/pgdata" -p "$pport" -c listen_addresses=127.0.0.1 \
    -c unix_socket_directories= -c max_connections=500 -c synchronous_commit=off 2>>"$work/postgres.log" &
  pids+=($!)
  wait_port "$pport"
  pg="postgres://postgres@127.0.0.1:$pport/postgres?sslmode=disable"
  ;;
esac

# Every server runs from the start (idle ones cost nothing); each round
# drives every endpoint of every contender in turn, so that a slow spell of
# the machine hits all contenders alike, and the report takes the median of
# the rounds. Redis is emptied and the contender reset before each cell.
declare -A port
for c in $CONTENDERS; do
  port[$c]=$(free_port)
  GOMAXPROCS=$SERVER_PROCS "$work/server" -contender "$c" -addr "127.0.0.1:${port[$c]}" \
    -redis "$redis" -pool "$POOL" -sqlite "$work/$c.db" -pg "$pg" 2>>"$work/server.log" &
  pids+=($!)
  wait_port "${port[$c]}"
done

results=${OUT:-$work/results.jsonl}
: >"$results"
for round in $(seq "$ROUNDS"); do
  for e in $ENDPOINTS; do
    for c in $CONTENDERS; do
      echo "round $round/$ROUNDS: $c $e" >&2
      redis-cli -p "$rport" flushall >/dev/null
      GOMAXPROCS=$LOAD_PROCS timeout 120 "$work/load" -url "http://127.0.0.1:${port[$c]}" -path "$e" \
        -duration "$DURATION" -warmup "$WARMUP" -concurrency "$CONCURRENCY" \
        -redis "$redis" -contender "$c" -reset >>"$results"
    done
  done
done

echo
echo "Redis $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p'), $(go version | cut -d' ' -f3), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), concurrency $CONCURRENCY, $DURATION x $ROUNDS rounds per cell (medians), GOMAXPROCS server $SERVER_PROCS / load $LOAD_PROCS, go-redis PoolSize $POOL"
echo
"$work/report" "$results"

if [ "$MEMSIZE_N" -gt 0 ]; then
  echo
  echo "Memory per session (two small values), $MEMSIZE_N sessions:"
  echo
  GOMAXPROCS=2 timeout 300 "$work/memsize" -n "$MEMSIZE_N" -redis "$redis" ${MEMSIZE_JSON:+-json "$MEMSIZE_JSON"}
fi

if [ "${SCALE:-0}" = 1 ]; then
  echo
  echo "How cost grows (bench/scale.sh):"
  echo
  OUT= ./scale.sh
fi
