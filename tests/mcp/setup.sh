#!/usr/bin/env bash
# Installs the third-party MCP test software into tests/mcp/ (idempotent):
#   node_modules/  from package-lock.json (npm ci): server-everything, server-filesystem, TS SDK
#   .venv/         from requirements.txt (pip): the official Python SDK `mcp`, used by client.py
# Skips work when the stamp file matches the hash of the lock files (and the installs exist).
# Usage: tests/mcp/setup.sh [--force]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

die() { echo "tests/mcp/setup.sh: ERROR: $*" >&2; exit 1; }
say() { echo "tests/mcp/setup.sh: $*"; }

command -v node >/dev/null 2>&1 || die "node is not installed (need Node.js >= 20 for the MCP test servers)"
command -v npm >/dev/null 2>&1 || die "npm is not installed (needed to install the MCP test servers)"
command -v python3 >/dev/null 2>&1 || die "python3 is not installed (need Python >= 3.10 for the MCP Python SDK)"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || die "node $(node -v) is too old; need >= 20"
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
  || die "python3 $(python3 -V 2>&1) is too old; need >= 3.10"

force=0
[ "${1:-}" = "--force" ] && force=1

hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

# --- Node side
npm_stamp="node_modules/.warden-stamp"
npm_hash="$(hash_of package.json package-lock.json) node-$node_major"
if [ $force -eq 0 ] && [ -f "$npm_stamp" ] && [ "$(cat "$npm_stamp")" = "$npm_hash" ] \
   && [ -f node_modules/@modelcontextprotocol/server-everything/dist/index.js ] \
   && [ -f node_modules/@modelcontextprotocol/server-filesystem/dist/index.js ]; then
  say "node_modules up to date (stamp matches), skipped npm ci"
else
  say "running npm ci in $here"
  npm ci --no-audit --no-fund --loglevel=error || die "npm ci failed"
  echo "$npm_hash" > "$npm_stamp"
  say "installed: $(npm ls --depth=0 --parseable --long 2>/dev/null | tail -n +2 | sed 's/.*node_modules\///' | cut -d: -f2 | tr '\n' ' ')"
fi

# --- Python side
py_stamp=".venv/.warden-stamp"
py_hash="$(hash_of requirements.txt) $(python3 -V 2>&1)"
if [ $force -eq 0 ] && [ -f "$py_stamp" ] && [ "$(cat "$py_stamp")" = "$py_hash" ] \
   && [ -x .venv/bin/python ] && compgen -G '.venv/lib/python3*/site-packages/mcp/__init__.py' >/dev/null; then
  say ".venv up to date (stamp matches), skipped pip install"
else
  if [ ! -x .venv/bin/python ]; then
    say "creating venv at $here/.venv"
    python3 -m venv .venv || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
  fi
  say "running pip install -r requirements.txt"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt \
    || die "pip install -r requirements.txt failed"
  echo "$py_hash" > "$py_stamp"
  say "installed: mcp $(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("mcp"))')"
fi

say "ready: node $(node -v), $(.venv/bin/python -V), driver: $here/client.py"
