#!/bin/sh
# Rebuild the URL-filter eBPF objects from their restricted C (src/apps/http/bpf/*.c -> *.o).
#   tools/build-http-bpf.sh           rebuild in place
#   tools/build-http-bpf.sh --check   rebuild into a temp dir and compare the programs' instructions with
#                                     the committed objects (exit 1 when they differ)
set -eu
cd "$(dirname "$0")/../src/apps/http/bpf"
CLANG="${CLANG:-clang}"
out=.
if [ "${1:-}" = "--check" ]; then out=$(mktemp -d); trap 'rm -rf "$out"' EXIT; fi
for src in http_filter_v1.c http_filter_v2.c http_filter_full.c; do
  obj="$out/${src%.c}.o"
  # The full filter uses 32-bit subregisters and jumps (ISA v3, Linux >= 5.1): a third fewer instructions
  # than v1's shift pairs, for the kernel's JIT and the VM's alike. v1/v2 stay as the classic design built them.
  cpu=v1
  if [ "$src" = http_filter_full.c ]; then cpu=v3; fi
  "$CLANG" -O2 -g -target bpf -mcpu=$cpu -Wall -Werror -c "$src" -o "$obj"
  if [ "$out" != "." ]; then
    # Compare code, not bytes: debug info embeds paths that differ between checkouts.
    a=$(llvm-objdump -d --no-show-raw-insn "$obj" | tail -n +3)
    b=$(llvm-objdump -d --no-show-raw-insn "${src%.c}.o" | tail -n +3)
    if [ "$a" != "$b" ]; then echo "${src%.c}.o is stale: rebuild with tools/build-http-bpf.sh" >&2; exit 1; fi
  fi
done
if [ "$out" = "." ]; then
  # The parsed objects, cached beside them for bpfkit urls' start-up (src/apps/http/filter-spec-cache.ts;
  # needs a build: npm run -s build). A cache that does not match its object is ignored, never used.
  node --input-type=module -e "const m = await import('../../../../dist/src/apps/http/filter-spec-cache.js');
    await m.writeSpecCaches(['http_filter_v1.o', 'http_filter_v2.o', 'http_filter_full.o']);"
  echo "URL-filter objects built"
else echo "URL-filter objects match their sources"; fi
