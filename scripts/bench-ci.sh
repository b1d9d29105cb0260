#!/usr/bin/env bash
# CI's short performance check: the decision API's throughput as a share of a
# bare handler that only parses the same bodies, both loaded in one run of the
# load harness (release build), for each audit durability. It fails when a
# share fell below half of the one recorded in
# crates/warden-gateway/benches/baseline.json (wide enough for a noisy
# machine: a regression beyond 2x). Re-record the baseline from a quiet run of
# `cargo bench -p warden-gateway --bench load` when a change moves it on
# purpose.
set -euo pipefail
cd "$(dirname "$0")/.."
baseline="$PWD/crates/warden-gateway/benches/baseline.json"
for durability in sync batched; do
  WARDEN_LOAD_DURABILITY="$durability" WARDEN_LOAD_SECS="${WARDEN_LOAD_SECS:-3}" \
    WARDEN_LOAD_CONCURRENCY=16 WARDEN_LOAD_BASELINE="$baseline" \
    cargo bench --locked -p warden-gateway --bench load
done
