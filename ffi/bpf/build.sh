#!/bin/sh
# Builds the process tracker's BPF object (CO-RE) with Debian's clang: ffi/bpf/attribution.bpf.o,
# which wiresight embeds and libbpf loads (ffi/libbpf.ts).
# Usage: ffi/bpf/build.sh [OUT.o]          build (default: ffi/bpf/attribution.bpf.o)
#        ffi/bpf/build.sh --vmlinux        regenerate vmlinux.h from this machine's kernel
#
# vmlinux.h is committed, not generated at build time: it is a dump of one kernel's types, and
# building against the running kernel's would give different bytes on every machine, so the
# committed object could not be checked for staleness (tests/bpf_build_test.ts compares bytes).
# Nothing is lost by fixing it: CO-RE relocations make libbpf fit each field access to the
# running kernel's BTF at load time. It was dumped from Linux 6.18 (x86_64) with
#   bpftool btf dump file /sys/kernel/btf/vmlinux format c
# The bytes also depend on the compiler: Debian 12's clang 14 (apt-get install clang libbpf-dev
# llvm). Paths are mapped to "." so the checkout's location does not show in the object, and
# only DWARF is stripped: .BTF and .BTF.ext (types, CO-RE relocations) are what libbpf reads.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if [ "${1:-}" = "--vmlinux" ]; then
  bpftool btf dump file /sys/kernel/btf/vmlinux format c >"$here/vmlinux.h"
  exit 0
fi
out=${1:-$here/attribution.bpf.o}
case "$out" in /*) ;; *) out=$(pwd)/$out ;; esac
clang=${WIRESIGHT_CLANG:-clang}
strip=${WIRESIGHT_LLVM_STRIP:-llvm-strip}
if ! command -v "$clang" >/dev/null || ! command -v "$strip" >/dev/null || [ ! -f /usr/include/bpf/bpf_helpers.h ]; then
  echo "build:bpf needs clang, llvm and libbpf's headers: apt-get install -y clang llvm libbpf-dev" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$here"
"$clang" -target bpf -O2 -g -Wall -Werror -fdebug-compilation-dir=. -fdebug-prefix-map="$here"=. \
  -c attribution.bpf.c -o "$tmp/full.o"
"$strip" -g "$tmp/full.o" -o "$out"
