#!/usr/bin/env bash
# Measures `warden discover` (release) against `rg --files` over the same
# tree in the same run: files/s, MB/s and the ratio, each the median of RUNS
# runs after one warm-up run of each (so both read from the page cache).
#
#   scripts/bench-discover.sh [TREE] [RUNS]
#
# TREE defaults to the Cargo registry's sources ($CARGO_HOME/registry/src).
# rg walks with the same rules as discover: hidden files included, .git and
# node_modules skipped, .gitignore honoured outside git repositories too.
# Both wall-clock times include process start; discover's own figure (from
# its JSON report, without start-up) is printed beside it. Needs rg
# (`cargo install ripgrep` or the distribution's package) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."

TREE=${1:-${CARGO_HOME:-$HOME/.cargo}/registry/src}
RUNS=${2:-5}
BIN=${WARDEN_BIN:-${CARGO_TARGET_DIR:-target}/release/warden}
if [[ ! -x $BIN ]]; then
  cargo build --release -p warden --locked
fi
command -v rg >/dev/null || { echo "rg not found: cargo install ripgrep" >&2; exit 1; }
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

now() { date +%s%N; }

rg_run() {
  local start end
  start=$(now)
  rg --files --hidden --no-require-git -g '!.git' -g '!node_modules' "$TREE" > "$OUT/rg.txt"
  end=$(now)
  echo $(( end - start ))
}

discover_run() {
  local start end
  start=$(now)
  "$BIN" discover --no-config --format json "$TREE" > "$OUT/discover.json" 2>/dev/null
  end=$(now)
  echo $(( end - start ))
}

rg_run > /dev/null
discover_run > /dev/null
rg_ns=(); discover_ns=()
for _ in $(seq "$RUNS"); do
  rg_ns+=("$(rg_run)")
  discover_ns+=("$(discover_run)")
done

python3 - "$OUT" "$TREE" "${rg_ns[*]}" "${discover_ns[*]}" <<'EOF'
import json, os, statistics, sys
out, tree, rg_ns, discover_ns = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
rg_s = statistics.median(int(n) for n in rg_ns.split()) / 1e9
d_s = statistics.median(int(n) for n in discover_ns.split()) / 1e9
report = json.load(open(os.path.join(out, "discover.json")))
s = report["scanned"]
rg_files = sum(1 for _ in open(os.path.join(out, "rg.txt")))
mb = s["bytes"] / 1e6
print(f"tree: {tree}: {s['files']} files (rg: {rg_files}), {mb:.1f} MB; "
      f"discover read {s['files_read']} files ({s['bytes_read'] / 1e6:.1f} MB), "
      f"{len(report['findings'])} findings")
print(f"rg --files:       {rg_s:.3f} s  {rg_files / rg_s:>10,.0f} files/s  {mb / rg_s:>8,.1f} MB/s")
print(f"warden discover:  {d_s:.3f} s  {s['files'] / d_s:>10,.0f} files/s  {mb / d_s:>8,.1f} MB/s"
      f"   (its own figure, without start-up: {s['seconds']:.3f} s, {s['files_per_second']:,.0f} files/s)")
print(f"ratio (discover / rg, files/s): {(s['files'] / d_s) / (rg_files / rg_s):.2f}")
EOF
