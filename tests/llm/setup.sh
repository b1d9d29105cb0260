#!/usr/bin/env bash
# Installs what the LLM proxy's end-to-end tests need into tests/llm/ (idempotent):
#   .venv/  from requirements.txt (pip): the official `openai` and `anthropic` Python SDKs,
#           used by llm_test.py; fake_upstream.py needs only the standard library
# Skips work when the stamp file matches the hash of requirements.txt and the Python version
# (and the SDKs are installed), then checks that both SDKs import.
# Usage: tests/llm/setup.sh [--force]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

die() { echo "tests/llm/setup.sh: ERROR: $*" >&2; exit 1; }
say() { echo "tests/llm/setup.sh: $*"; }

command -v python3 >/dev/null 2>&1 || die "python3 is not installed (need Python >= 3.9 for the openai and anthropic SDKs)"
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' \
  || die "python3 $(python3 -V 2>&1) is too old; need >= 3.9"

force=0
[ "${1:-}" = "--force" ] && force=1

hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }
versions() {
  .venv/bin/python -c 'import importlib.metadata as m; print("openai", m.version("openai") + ", anthropic", m.version("anthropic"))'
}

py_stamp=".venv/.warden-stamp"
py_hash="$(hash_of requirements.txt) $(python3 -V 2>&1)"
if [ $force -eq 0 ] && [ -f "$py_stamp" ] && [ "$(cat "$py_stamp")" = "$py_hash" ] \
   && [ -x .venv/bin/python ] \
   && compgen -G '.venv/lib/python3*/site-packages/openai/__init__.py' >/dev/null \
   && compgen -G '.venv/lib/python3*/site-packages/anthropic/__init__.py' >/dev/null; then
  say ".venv up to date (stamp matches), skipped pip install"
else
  if [ ! -x .venv/bin/python ]; then
    say "creating venv at $here/.venv"
    python3 -m venv .venv || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
  fi
  say "running pip install -r requirements.txt"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt \
    || die "pip install -r requirements.txt failed"
  .venv/bin/python -c 'import openai, anthropic' || die "the SDKs do not import (see above)"
  echo "$py_hash" > "$py_stamp"
  say "installed: $(versions)"
fi

say "ready: $(.venv/bin/python -V), $(versions); driver: $here/llm_test.py, fake: $here/fake_upstream.py"
