# Sourced by all.sh, run.sh and scale.sh, after each sets $work (a
# temporary directory: the servers' files and logs) and pids (every process
# it starts): stops those processes and removes $work at exit, and finds and
# waits for the ports of the servers they start.

cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port picks a loopback port nobody listens on, nor on the port 10000
# above it (a Cluster node's bus), never Redis's 6379: from 20000 to 22767,
# so that the bus stays below Linux's ephemeral ports (32768 and up), which
# the load generator's and the servers' own connections take.
free_port() {
  local p
  for p in $(shuf -i 20000-22767 -n 50); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && ! (exec 3<>"/dev/tcp/127.0.0.1/$((p + 10000))") 2>/dev/null; then
      echo "$p"; return
    fi
  done
  echo "no free port found" >&2; return 1
}

# wait_port waits until something listens on port $1.
wait_port() {
  local i
  for i in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "nothing listens on 127.0.0.1:$1; the logs:" >&2
  tail -n 20 "$work"/*.log >&2 2>/dev/null || true
  return 1
}
