#!/usr/bin/env bash
# The long fuzzing campaign: every fuzz property, in release mode, with
# WARDEN_FUZZ_CASES cases each (default 20000), one target after another,
# timing each. `cargo test` runs the same properties with 256 cases.
#
#   WARDEN_FUZZ_CASES=200000 scripts/fuzz.sh
#
# A failure is saved by proptest under the crate's proptest-regressions/
# and re-run first next time; turn it into a named regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
export WARDEN_FUZZ_CASES="${WARDEN_FUZZ_CASES:-20000}"

run() {
  local start=$SECONDS
  echo "== $* (WARDEN_FUZZ_CASES=$WARDEN_FUZZ_CASES)"
  cargo test --release --locked "$@"
  echo "-- $* took $((SECONDS - start)) s"
}

run -p warden-policy --test it fuzz
run -p warden-mcp --test it fuzz
run -p warden-classify --test it -- fuzz robust
run -p warden-address --test it properties
run -p warden-gateway --lib sse::fuzz
run -p warden-gateway --test it fuzz
