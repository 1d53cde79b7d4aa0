#!/usr/bin/env bash
# Builds emberd and serves deploy/example-repository in the foreground.
#
#   scripts/run.sh                          # on 0.0.0.0:8001
#   EMBER_ADDRESS=127.0.0.1:9000 scripts/run.sh --poll_interval=1s
#
# Extra arguments go to emberd. Ctrl-C (SIGINT) drains and stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
bazel build //server:emberd

address="${EMBER_ADDRESS:-0.0.0.0:8001}"
port_file="$(mktemp)"
trap 'rm -f "$port_file"' EXIT

bazel-bin/server/emberd --model_repository="$PWD/deploy/example-repository" \
  --grpc_address="$address" --port_file="$port_file" "$@" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null; wait "$pid"; rm -f "$port_file"' INT TERM

while [[ ! -s "$port_file" ]]; do
  kill -0 "$pid" 2>/dev/null || { wait "$pid"; exit $?; }
  sleep 0.1
done
echo "emberd serving deploy/example-repository on ${address%:*}:$(cat "$port_file")"
wait "$pid"
