#!/usr/bin/env bash
# Runs every test, with the PostgreSQL suite enabled.
#
# Besides what cargo fetches, it installs the MCP software the end-to-end
# tests put Warden between (tests/mcp/setup.sh: the official Python SDK from
# PyPI into tests/mcp/.venv, the reference servers and the TypeScript SDK from
# npm into tests/mcp/node_modules; needs python3 >= 3.10 and Node.js >= 20;
# a second run skips it), what the console's browser tests drive
# (tests/console/setup.sh: Debian's `chromium` with apt-get, Playwright for
# Python from PyPI into tests/console/.venv, axe-core from npm into
# tests/console/node_modules), the official OpenAI and Anthropic Python SDKs
# the LLM proxy's tests drive (tests/llm/setup.sh: from PyPI into
# tests/llm/.venv), py-spiffe for the Workload API's tests (tests/workload/setup.sh:
# from PyPI into tests/workload/.venv), and promtool (Debian's `prometheus` package, with
# apt-get). The tests also need a PostgreSQL server.
# WARDEN_TEST_POSTGRES defaults to the local server at
# 127.0.0.1:5432 (user postgres, database test); this script starts it if it is
# installed but stopped. Set WARDEN_TEST_POSTGRES= (empty) to skip the
# PostgreSQL tests; they then say loudly that they were skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${WARDEN_TEST_POSTGRES+set}" ]]; then
  export WARDEN_TEST_POSTGRES="postgres://postgres@127.0.0.1:5432/test"
fi
if [[ -z "${WARDEN_TEST_POSTGRES}" ]]; then
  unset WARDEN_TEST_POSTGRES
  echo "warning: WARDEN_TEST_POSTGRES is empty: PostgreSQL tests will be SKIPPED" >&2
elif command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null && [[ -d /etc/postgresql ]]; then
    echo "starting the local PostgreSQL cluster" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
fi

bash tests/mcp/setup.sh
bash tests/console/setup.sh
bash tests/llm/setup.sh
bash tests/workload/setup.sh

# The metrics test checks /metrics with Prometheus's own promtool (Debian's
# `prometheus` package).
if ! command -v promtool >/dev/null; then
  echo "installing promtool (Debian package prometheus) for the metrics test" >&2
  sudo=""
  [[ "$(id -u)" -ne 0 ]] && sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends prometheus >/dev/null \
    || echo "warning: promtool could not be installed; the metrics test will fail in strict mode" >&2
fi

# With PostgreSQL configured, nothing may be skipped: a test that would skip
# fails instead.
if [[ -n "${WARDEN_TEST_POSTGRES:-}" ]]; then
  export WARDEN_TEST_STRICT=1
fi

cargo test --workspace --locked "$@"
