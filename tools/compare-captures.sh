#!/usr/bin/env bash
# Compare `bpfkit urls` with tshark on every capture file given (or found under the directories given):
# one line per file where the request counts differ, or where bpfkit exits with a status other than 0
# (found or nothing to find) and 1 (a warning: frames it could not decode), then totals.
#
#   tools/compare-captures.sh [--udp] DIR-OR-FILE...
#
# tshark runs with out-of-order reassembly on and counts the requests of its `http.request` frames (a frame
# may hold several); bpfkit counts its output lines. Each run is bounded (20 s for bpfkit, 60 s for
# tshark). Public test captures that this was run on, and what the differences were, are in docs/urls.md
# ("Other projects' captures").
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bpfkit=(node "$here/bin/bpfkit.js")
extra=()
if [ "${1:-}" = "--udp" ]; then
  extra=(--udp)
  shift
fi
[ $# -gt 0 ] || { echo "usage: $0 [--udp] DIR-OR-FILE..." >&2; exit 2; }
command -v tshark >/dev/null || { echo "$0: tshark is needed (apt-get install tshark)" >&2; exit 3; }
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
files=0 same=0 status=0
while IFS= read -r -d '' f; do
  files=$((files + 1))
  timeout 20 "${bpfkit[@]}" urls "$f" -q "${extra[@]}" >"$out" 2>/dev/null
  rc=$?
  ours=$(grep -c . "$out")
  # (a frame holding several pipelined requests lists their methods comma-separated: count each)
  theirs=$(timeout 60 tshark -r "$f" -o tcp.reassemble_out_of_order:TRUE -Y http.request -T fields \
    -e http.request.method 2>/dev/null | tr ',' '\n' | grep -c .)
  if [ "$ours" = "$theirs" ]; then same=$((same + 1)); fi
  if [ "$rc" -gt 1 ]; then status=$((status + 1)); fi
  if [ "$ours" != "$theirs" ] || [ "$rc" -gt 1 ]; then
    printf '%s\tbpfkit %s (exit %s)\ttshark %s\n' "$f" "$ours" "$rc" "$theirs"
  fi
done < <(find "$@" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' -o -name '*.pcap.gz' \
  -o -name '*.pcapng.gz' -o -name '*.pcap.zst' -o -name '*.snoop' \) -print0 | sort -z)
echo "$files files: $same with the same request count as tshark, $status with an exit status past 1"
