#!/usr/bin/env bash
# Set up (with the embedded model and test tools), then run every test: unit tests on scripted
# models with the network blocked, and integration tests on the real embedded model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh "local,test"
exec .venv/bin/python -m pytest "$@"
