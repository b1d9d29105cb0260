#!/usr/bin/env bash
# Installs what the console's browser tests need into tests/console/ (idempotent):
#   /usr/bin/chromium  Debian's `chromium` package (apt-get; sudo when not root)
#   pdftoppm           Debian's `poppler-utils` (apt-get): the compliance report's PDF check
#   .venv/             from requirements.txt (pip): Playwright for Python, pointed at that chromium
#                      (`playwright install` is never run: no browser is downloaded)
#   node_modules/      from package-lock.json (npm ci): axe-core, injected into each page
# Skips work when the stamp files match the hash of the lock files (and the installs exist),
# then checks that chromium starts headless under Playwright.
# Usage: tests/console/setup.sh [--force]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

die() { echo "tests/console/setup.sh: ERROR: $*" >&2; exit 1; }
say() { echo "tests/console/setup.sh: $*"; }

command -v npm >/dev/null 2>&1 || die "npm is not installed (needed to install axe-core)"
command -v python3 >/dev/null 2>&1 || die "python3 is not installed (need Python >= 3.10 for Playwright)"
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
  || die "python3 $(python3 -V 2>&1) is too old; need >= 3.10"

force=0
[ "${1:-}" = "--force" ] && force=1

hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

# --- Chromium (Debian's package)
chromium=/usr/bin/chromium
if [ ! -x "$chromium" ]; then
  say "installing Debian's chromium with apt-get"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 || {
    $sudo apt-get update -qq >/dev/null 2>&1 || true
    $sudo apt-get install -y --no-install-recommends chromium >/dev/null \
      || die "apt-get install chromium failed"
  }
  [ -x "$chromium" ] || die "$chromium is missing after installing the chromium package"
fi
# pdftoppm (poppler-utils): the compliance report test turns report.pdf's first page into an image.
if ! command -v pdftoppm >/dev/null 2>&1; then
  say "installing Debian's poppler-utils (pdftoppm) with apt-get"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends poppler-utils >/dev/null \
    || die "apt-get install poppler-utils failed"
fi

# --- Node side: axe-core
npm_stamp="node_modules/.warden-stamp"
npm_hash="$(hash_of package.json package-lock.json)"
if [ $force -eq 0 ] && [ -f "$npm_stamp" ] && [ "$(cat "$npm_stamp")" = "$npm_hash" ] \
   && [ -f node_modules/axe-core/axe.min.js ]; then
  :
else
  say "running npm ci in $here"
  npm ci --no-audit --no-fund --loglevel=error || die "npm ci failed"
  echo "$npm_hash" > "$npm_stamp"
  say "installed: axe-core $(node -p 'require("./node_modules/axe-core/package.json").version')"
fi

# --- Python side: Playwright
py_stamp=".venv/.warden-stamp"
py_hash="$(hash_of requirements.txt) $(python3 -V 2>&1)"
if [ $force -eq 0 ] && [ -f "$py_stamp" ] && [ "$(cat "$py_stamp")" = "$py_hash" ] \
   && [ -x .venv/bin/python ] && compgen -G '.venv/lib/python3*/site-packages/playwright/__init__.py' >/dev/null; then
  :
else
  if [ ! -x .venv/bin/python ]; then
    say "creating venv at $here/.venv"
    python3 -m venv .venv || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
  fi
  say "running pip install -r requirements.txt"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt \
    || die "pip install -r requirements.txt failed"
  echo "$py_hash" > "$py_stamp"
  rm -f .venv/.warden-launched
  say "installed: playwright $(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("playwright"))')"
fi

# --- Does chromium start headless under Playwright? Checked once per install
# of either (the stamp holds chromium's version).
launch_stamp=".venv/.warden-launched"
chromium_version="$("$chromium" --version 2>/dev/null || echo unknown)"
if [ $force -eq 0 ] && [ -f "$launch_stamp" ] && [ "$(cat "$launch_stamp")" = "$chromium_version" ]; then
  :
else
  .venv/bin/python - "$chromium" <<'PY' || die "chromium does not start headless under Playwright (see above)"
import sys
from playwright.sync_api import sync_playwright
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path=sys.argv[1], headless=True)
    page = browser.new_page()
    page.set_content("<title>ok</title><p id=x>ok</p>")
    assert page.text_content("#x") == "ok"
    print("tests/console/setup.sh: chromium", browser.version, "starts headless under Playwright")
    browser.close()
PY
  echo "$chromium_version" > "$launch_stamp"
fi

say "ready: $("$chromium" --version 2>/dev/null), playwright $(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("playwright"))'), axe-core $(node -p 'require("./node_modules/axe-core/package.json").version')"
