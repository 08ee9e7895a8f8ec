#!/usr/bin/env bash
# The main job: set up, then run the refund desk end to end on the embedded local model for a
# refund over $100, which pauses for a human's approval. In a terminal you are asked; elsewhere
# (scripts, CI) pass --on-review approve|reject|stop, or it approves and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh local
tw=.venv/bin/taskwarden
args=("$@")
if [[ " ${args[*]-} " != *" --on-review "* ]] && [ ! -t 0 ]; then
  echo "demo: no terminal to ask in, so the review will be approved (--on-review approve)"
  args+=(--on-review approve)
fi
"$tw" model start
"$tw" seed refunds --reset
request="Hi, this is alice@example.com. Please refund my standing desk, order P1002: it arrived damaged."
echo "demo: taskwarden run refunds \"$request\""
"$tw" run refunds "$request" "${args[@]}"
echo "demo: the model server keeps running for the next run; stop it with: $tw model stop"
