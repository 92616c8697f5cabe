#!/usr/bin/env bash
# How cost grows (issue 13 item 5): prints the markdown tables of
# BENCHMARKS.md "How cost grows", one per dimension, each as req/s and p99
# next to CPU and Redis figures per request. Loopback only, on private
# redis-servers it starts on free ports (never 6379); stops all it started.
#
#   bench/scale.sh                      # every table, from the repository root
#   bench/scale.sh sessions keys        # some: sessions keys clients cluster
#   flock /tmp/bench.lock bench/scale.sh keys   # taking turns with others
#
# About 9 minutes for every table with the defaults.
#
# sessions  N sessions stored (preloaded by bench/server -preload, in each
#           contender's own layout); the load's clients spread their
#           requests over all N in turn. Memory per session from used_memory
#           (Redis) and the Go heap (memstore).
# keys      sessions holding K values; /read reads one, /writeonly writes
#           one; hash-hgetall and hash-hmget read redisstore's hashes with
#           one command, all fields or only the one asked for.
# clients   C virtual clients, each with its own connection and session.
# cluster   a Redis Cluster of 1 and of 3 masters; commands per request on
#           each master.
#
# Knobs (environment): DURATION (1.5s) and WARMUP (0.5s) per cell, ROUNDS
# (2; medians), POOL (go-redis PoolSize, 64), SERVER_PROCS and LOAD_PROCS
# (GOMAXPROCS, 1 and 1, as run.sh), ENDPOINTS ("/read /writeonly"),
# SESSIONS ("10000 100000 1000000"), SESSION_CONTENDERS, KEYS
# ("1 10 100 256"), KEY_SESSIONS (sessions per point, 10000),
# KEY_CONTENDERS, CLIENTS ("32 256 1024"), CLIENT_CONTENDERS,
# CLUSTER_SIZES ("1 3"), CLUSTER_SESSIONS (10000), CLUSTER_CONTENDERS,
# CONCURRENCY (clients of the tables other than clients', 32), OUT (a
# directory to keep the JSON lines and each table's load averages in,
# which bench/docgen reads), LOCK (a file that each contender's
# point holds with flock while it preloads and measures, so that people
# benchmarking on one machine take turns point by point; empty, the
# default: none. Do not set it when the whole command runs under flock of
# the same file: the inner flock would wait for the outer one forever).
set -euo pipefail
cd "$(dirname "$0")"

DURATION=${DURATION:-1.5s}
WARMUP=${WARMUP:-0.5s}
ROUNDS=${ROUNDS:-2}
POOL=${POOL:-64}
SERVER_PROCS=${SERVER_PROCS:-1}
LOAD_PROCS=${LOAD_PROCS:-1}
CONCURRENCY=${CONCURRENCY:-32}
ENDPOINTS=${ENDPOINTS:-"/read /writeonly"}
SESSIONS=${SESSIONS:-"10000 100000 1000000"}
SESSION_CONTENDERS=${SESSION_CONTENDERS:-"floor session-redis session-mem scs gorilla"}
KEYS=${KEYS:-"1 10 100 256"}
KEY_SESSIONS=${KEY_SESSIONS:-10000}
KEY_CONTENDERS=${KEY_CONTENDERS:-"session-redis hash-hgetall hash-hmget session-mem scs"}
CLIENTS=${CLIENTS:-"32 256 1024"}
CLIENT_CONTENDERS=${CLIENT_CONTENDERS:-"floor session-redis scs gorilla"}
CLUSTER_SIZES=${CLUSTER_SIZES:-"1 3"}
CLUSTER_SESSIONS=${CLUSTER_SESSIONS:-10000}
CLUSTER_CONTENDERS=${CLUSTER_CONTENDERS:-"floor session-redis gorilla"}
LOCK=${LOCK:-}
tables=${*:-sessions keys clients cluster}

for t in $tables; do
  case $t in sessions | keys | clients | cluster) ;; *) echo "unknown table $t: want sessions, keys, clients or cluster" >&2; exit 2 ;; esac
done
command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
  { echo "scale.sh needs redis-server and redis-cli (apt-get install redis-server)" >&2; exit 1; }
# 1024 clients are 1024 sockets in the load generator and as many in the server.
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"

work=$(mktemp -d)
pids=()     # every process started, killed at exit
redis=()    # the current Redis: one address, or a Cluster's masters
# Stops what it starts and removes $work at exit; free_port and wait_port.
. ./ports.sh

# start_redis starts a redis-server with the options "$@" on a free port, in
# a directory of its own, and adds its address to redis.
start_redis() {
  local p
  p=$(free_port)
  mkdir -p "$work/redis-$p"
  redis-server --port "$p" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$work/redis-$p" --logfile "$work/redis-$p.log" "$@" </dev/null >/dev/null 2>&1 9>&- &
  pids+=($!)
  wait_port "$p"
  redis+=("127.0.0.1:$p")
}

# stop_redis stops every Redis started so far (a table's).
stop_redis() {
  local a
  for a in "${redis[@]}"; do redis-cli -p "${a##*:}" shutdown nosave >/dev/null 2>&1 || true; done
  redis=()
}

# start_cluster starts a Redis Cluster of $1 masters without replicas and
# waits until every master reports cluster_state:ok. One master cannot go
# through redis-cli --cluster create (it wants three): it takes every slot
# with CLUSTER ADDSLOTSRANGE.
start_cluster() {
  local n=$1 i a
  redis=()
  for i in $(seq "$n"); do
    start_redis --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000
  done
  if [ "$n" = 1 ]; then
    redis-cli -p "${redis[0]##*:}" cluster addslotsrange 0 16383 >/dev/null
  else
    redis-cli --cluster create "${redis[@]}" --cluster-replicas 0 --cluster-yes >"$work/cluster-create.log" 2>&1 ||
      { cat "$work/cluster-create.log" >&2; return 1; }
  fi
  for a in "${redis[@]}"; do
    for i in $(seq 200); do
      redis-cli -p "${a##*:}" cluster info | grep -q 'cluster_state:ok' && break
      [ "$i" = 200 ] && { echo "Cluster node $a never reported cluster_state:ok" >&2; return 1; }
      sleep 0.1
    done
  done
}

# flush empties every Redis node (a Cluster's masters each).
flush() {
  local a
  for a in "${redis[@]}"; do redis-cli -p "${a##*:}" flushall >/dev/null; done
}

echo "building..." >&2
go build -o "$work/server" ./server
go build -o "$work/load" ./load
go build -o "$work/report" ./report

out=${OUT:-$work}
mkdir -p "$out"

# point measures contender $1 at the point labelled $2, with $3 clients,
# on the current Redis: it starts the server (the rest of the arguments
# are the server's, such as -preload), runs every endpoint ROUNDS times,
# appending to $out/$table.jsonl, and stops the server. A contender whose
# server was preloaded spreads its requests over the sessions preloaded.
point() {
  local c=$1 label=$2 clients=$3; shift 3
  local sp port args=() cookies=() e r
  port=$(free_port)
  if [ "${#redis[@]}" -gt 1 ] || [ "$table" = cluster ]; then
    args=(-cluster "$(IFS=,; echo "${redis[*]}")")
  else
    args=(-redis "${redis[0]}")
  fi
  case " $* " in *" -preload "*) cookies=(-cookies "$work/tokens") ;; esac
  [ -n "$LOCK" ] && flock 9
  flush
  GOMAXPROCS=$SERVER_PROCS "$work/server" -contender "$c" -addr "127.0.0.1:$port" "${args[@]}" -pool "$POOL" \
    -tokens "$work/tokens" -preload-report "$out/$table-preload.jsonl" -label "$label" "$@" 2>>"$work/server.log" 9>&- &
  sp=$!
  pids+=($sp)
  wait_port "$port"
  for r in $(seq "$ROUNDS"); do
    for e in $ENDPOINTS; do
      echo "$table $label: $c $e, round $r/$ROUNDS" >&2
      GOMAXPROCS=$LOAD_PROCS timeout 120 "$work/load" -url "http://127.0.0.1:$port" -path "$e" \
        -duration "$DURATION" -warmup "$WARMUP" -concurrency "$clients" "${cookies[@]}" \
        -redis "$(IFS=,; echo "${redis[*]}")" -contender "$c" -label "$label" >>"$out/$table.jsonl" 9>&-
    done
  done
  kill "$sp"; wait "$sp" 2>/dev/null || true
  [ -n "$LOCK" ] && flock -u 9
  return 0
}

[ -n "$LOCK" ] && exec 9>>"$LOCK"
echo "Redis $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p'), $(go version | cut -d' ' -f3), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -m | awk '/^Mem:/ {print $2 " MB memory, " $7 " MB available"}'), $DURATION x $ROUNDS rounds per cell (medians), GOMAXPROCS server $SERVER_PROCS / load $LOAD_PROCS, go-redis PoolSize $POOL, commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
for table in $tables; do
  : >"$out/$table.jsonl"
  : >"$out/$table-preload.jsonl"
  load_before=$(cut -d' ' -f1-3 /proc/loadavg)
  case $table in
  sessions)
    start_redis
    for n in $SESSIONS; do
      for c in $SESSION_CONTENDERS; do point "$c" "$n" "$CONCURRENCY" -preload "$n" -keys 2; done
    done
    ;;
  keys)
    start_redis
    for k in $KEYS; do
      for c in $KEY_CONTENDERS; do point "$c" "$k" "$CONCURRENCY" -preload "$KEY_SESSIONS" -keys "$k"; done
    done
    ;;
  clients)
    start_redis
    for n in $CLIENTS; do
      for c in $CLIENT_CONTENDERS; do point "$c" "$n" "$n"; done
    done
    ;;
  cluster)
    for n in $CLUSTER_SIZES; do
      start_cluster "$n"
      for c in $CLUSTER_CONTENDERS; do point "$c" "$n" "$CONCURRENCY" -preload "$CLUSTER_SESSIONS" -keys 2; done
      stop_redis
    done
    ;;
  esac
  stop_redis
  echo
  load_after=$(cut -d' ' -f1-3 /proc/loadavg)
  printf 'load_before=%s\nload_after=%s\n' "$load_before" "$load_after" >"$out/$table.env"
  echo "### $table (load average $load_before before, $load_after after)"
  echo
  "$work/report" -scale "$table" -preload "$out/$table-preload.jsonl" "$out/$table.jsonl"
done
