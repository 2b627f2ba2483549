#!/usr/bin/env bash
# Starts every node of a cluster config as background processes, for those who prefer a shell
# script to `tally cluster up`. Ctrl-C (or SIGTERM) stops them all. Usage:
#   scripts/cluster.sh [config-file]        (default: cluster.config.json; run `npm run build` first)
set -euo pipefail
cd "$(dirname "$0")/.."
config="${1:-cluster.config.json}"
main=dist/src/cli/main.js
[ -f "$main" ] || { echo "build first: npm run build" >&2; exit 1; }

ids=$(node -e 'const c=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));console.log(c.nodes.map(n=>n.id).join(" "))' "$config")
keyfile=$(node -e '
  const p=require("path"),c=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));
  const k=c.auth&&c.auth.keyFile; if(k) console.log(p.resolve(p.dirname(p.resolve(process.argv[1])),k));' "$config")
if [ -n "$keyfile" ] && [ ! -f "$keyfile" ]; then
  mkdir -p "$(dirname "$keyfile")"
  node "$main" keygen --out "$keyfile"
  echo "created gossip key $keyfile"
fi

# Each node's environment: its malloc as `tally cluster up` chooses it from the config's "allocator"
# (jemalloc where installed: src/util/allocator.ts), printed as NAME=value lines for env(1).
nodeenv=$(node --input-type=module -e '
  import { readFileSync } from "node:fs";
  import { nodeEnv } from "./dist/src/util/allocator.js";
  const c = JSON.parse(readFileSync(process.argv[1], "utf8"));
  try {
    const { env } = nodeEnv(process.env, c.allocator ?? "auto");
    for (const k of ["LD_PRELOAD", "MALLOC_CONF"]) if (env[k] !== process.env[k]) console.log(`${k}=${env[k]}`);
  } catch (e) { console.error(`tally: ${e.message}`); process.exit(1); }' "$config")
envs=()
while IFS= read -r line; do [ -n "$line" ] && envs+=("$line"); done <<< "$nodeenv"

pids=()
stop() {
  echo "stopping nodes: ${pids[*]}"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  exit 0
}
trap stop INT TERM

for id in $ids; do
  # Process substitution keeps $! the node's own pid, so the trap stops the node, not the prefixer.
  env ${envs[@]+"${envs[@]}"} node --max-semi-space-size=16 "$main" node --config "$config" --id "$id" > >(sed -u "s/^/[$id] /") 2>&1 &
  pids+=($!)
done
echo "started: $ids (Ctrl-C stops them)"
wait
