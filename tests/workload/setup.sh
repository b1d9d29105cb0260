#!/usr/bin/env bash
# Installs the third-party Workload API client into tests/workload/.venv (idempotent):
# py-spiffe (PyPI `spiffe`) and its dependencies, pinned in requirements.txt, used by
# client.py in the tests of crates/warden-workload.
# Skips work when the stamp file matches the hash of requirements.txt (and the install exists).
# Usage: tests/workload/setup.sh [--force]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

die() { echo "tests/workload/setup.sh: ERROR: $*" >&2; exit 1; }
say() { echo "tests/workload/setup.sh: $*"; }

command -v python3 >/dev/null 2>&1 || die "python3 is not installed (need Python >= 3.10 for py-spiffe)"
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
  || die "python3 $(python3 -V 2>&1) is too old; need >= 3.10"

force=0
[ "${1:-}" = "--force" ] && force=1

stamp=".venv/.warden-stamp"
hash="$(sha256sum requirements.txt | cut -d' ' -f1) $(python3 -V 2>&1)"
if [ $force -eq 0 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ] \
   && [ -x .venv/bin/python ] && compgen -G '.venv/lib/python3*/site-packages/spiffe/__init__.py' >/dev/null; then
  say ".venv up to date (stamp matches), skipped pip install"
else
  if [ ! -x .venv/bin/python ]; then
    say "creating venv at $here/.venv"
    python3 -m venv .venv || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
  fi
  say "running pip install -r requirements.txt"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt \
    || die "pip install -r requirements.txt failed"
  echo "$hash" > "$stamp"
  say "installed: spiffe $(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("spiffe"))')"
fi

say "ready: $(.venv/bin/python -V), driver: $here/client.py"
