#!/usr/bin/env bash
# npm run cluster:test — Caseway across machines, on one machine (network namespaces; needs root).
# Builds the project, then cluster/main.ts makes the bed, runs the scenarios, prints the table and removes the bed.
# Settings: see the header of cluster/main.ts (CLUSTER_CASES, CLUSTER_SCENARIOS, ...).
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "cluster:test: skipped, not running as root; the multi-host bed needs root and Linux network namespaces (iproute2). Nothing was run."
  exit 0
fi
if ! command -v ip >/dev/null 2>&1; then
  echo "cluster:test: skipped, iproute2 (ip) is not installed. Nothing was run."
  exit 0
fi

npx tsc -p tsconfig.build.json || exit 1

node dist/cluster/main.js &
driver=$!
# The driver removes its namespaces itself, on success, failure and interrupt; this passes the interrupt on to it.
trap 'kill -TERM "$driver" 2>/dev/null' INT TERM
wait "$driver"
code=$?
# wait returns early when a trapped signal arrives: wait for the driver's own cleanup to finish.
while kill -0 "$driver" 2>/dev/null; do wait "$driver"; code=$?; done
exit "$code"
