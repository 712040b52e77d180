#!/bin/sh
# The corpus of the verifier's selftest sweep (docs/verifier.md, "Running the sweep"): the BPF programs of
# Linux 6.12's tools/testing/selftests/bpf/progs, from Debian's linux-source-6.12, compiled as the
# selftests compile them, one object per progs/*.c, against a vmlinux.h made from the running kernel's BTF.
#
#   apt-get install -y linux-source-6.12
#   sh scripts/selftests-corpus.sh [DIR]        (DIR defaults to /tmp/selftests)
#
# Leaves DIR/src (the unpacked sources and the generated headers), DIR/obj/NAME.o, and DIR/compile.log
# (clang's errors for the files that did not compile). Prints how many compiled and which did not.
# Needs clang-19, bpftool, python3 and xz; takes a few minutes on two CPUs.
set -eu

DIR=${1:-/tmp/selftests}
TARBALL=/usr/src/linux-source-6.12.tar.xz
[ -f "$TARBALL" ] || { echo "selftests-corpus: $TARBALL missing: apt-get install linux-source-6.12" >&2; exit 3; }
for tool in clang-19 bpftool python3 xz; do
  command -v "$tool" >/dev/null || { echo "selftests-corpus: $tool not found" >&2; exit 3; }
done

SRC=$DIR/src
TREE=$SRC/linux-source-6.12
SELF=$TREE/tools/testing/selftests/bpf
GEN=$SRC/gen
mkdir -p "$SRC" "$GEN" "$DIR/obj"

# Only what the programs include: the selftests' own headers and progs, libbpf's headers (tools/lib/bpf),
# the tools' copies of the kernel headers, and the script that writes bpf_helper_defs.h.
if [ ! -d "$SELF/progs" ]; then
  tar -xJf "$TARBALL" -C "$SRC" \
    linux-source-6.12/tools/testing/selftests/bpf \
    linux-source-6.12/tools/lib \
    linux-source-6.12/tools/include \
    linux-source-6.12/scripts/bpf_doc.py
fi

# libbpf's build generates bpf_helper_defs.h from the uapi header's helper documentation, as here; the
# selftests' Makefile makes vmlinux.h from the kernel it builds, here from the kernel that will judge.
python3 "$TREE/scripts/bpf_doc.py" --header --file "$TREE/tools/include/uapi/linux/bpf.h" >"$GEN/bpf_helper_defs.h"
bpftool btf dump file /sys/kernel/btf/vmlinux format c >"$GEN/vmlinux.h"

# The selftests' BPF_CFLAGS and CLANG_BPF_BUILD_RULE (tools/testing/selftests/bpf/Makefile): its include
# directory (here GEN and tools/lib for libbpf's bpf/*.h), the selftests' own directory and the tools'
# uapi headers, not tools/include (whose linux/types.h clashes with vmlinux.h); without -Werror
# (clang 19 warns where 6.12's clang did not), -DENABLE_ATOMICS_TESTS and the per-file -fno-strict-aliasing
# and -fno-inline, as the sweep recorded in docs/verifier.md was compiled. The host's system include
# directories come last (-idirafter), as the Makefile's get_sys_includes adds them.
SYS=$(clang-19 -v -E - </dev/null 2>&1 | sed -n '/<...> search starts here:/,/End of search list./s|^ \(/.*\)|-idirafter \1|p')
CFLAGS="-g -O2 --target=bpf -mcpu=v3 -mlittle-endian -D__TARGET_ARCH_x86 -Wno-compare-distinct-pointer-types
  -I$GEN -I$SELF/progs -I$SELF -I$TREE/tools/lib -I$TREE/tools/include/uapi"

: >"$DIR/compile.log"
# Two clang processes at a time (xargs -P 2); each prints nothing on success, its file name on failure.
# An object already in DIR/obj is kept (remove DIR/obj to build all again).
# shellcheck disable=SC2086 # CFLAGS and SYS are word lists
find "$SELF/progs" -maxdepth 1 -name '*.c' | sort |
  CFLAGS="$CFLAGS $SYS" OBJ="$DIR/obj" LOG="$DIR/compile.log" xargs -P 2 -I{} sh -c '
    f={}; n=$(basename "$f" .c)
    [ -f "$OBJ/$n.o" ] && exit 0
    clang-19 $CFLAGS -c "$f" -o "$OBJ/$n.o" 2>"$OBJ/$n.err" || { echo "$n"; cat "$OBJ/$n.err" >>"$LOG"; rm -f "$OBJ/$n.o"; }
    rm -f "$OBJ/$n.err"' >"$DIR/failed.txt"

total=$(find "$SELF/progs" -maxdepth 1 -name '*.c' | wc -l)
failed=$(wc -l <"$DIR/failed.txt")
echo "selftests-corpus: $((total - failed)) of $total progs/*.c compiled to $DIR/obj; $failed did not (clang's errors in $DIR/compile.log):"
sort "$DIR/failed.txt" | tr '\n' ' '
echo
