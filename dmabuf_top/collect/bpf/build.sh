#!/bin/sh
# Rebuild the committed BPF objects from their sources with Debian's clang and bpftool
# (packages clang, llvm, bpftool, libbpf-dev for <bpf/bpf_helpers.h>):
#   dmabuf_top.bpf.c -> dmabuf_top.bpf.o          the scan's iterators
#   dmabuf_events.bpf.c -> dmabuf_events.bpf.o    the event source
#   sh dmabuf_top/collect/bpf/build.sh [OUTDIR]   (default: next to the sources)
# The objects are committed; tests/unit/collect/test_bpf_object.py rebuilds them and
# fails when a result differs. Deterministic: no build paths in the debug info, and
# `bpftool gen object` (libbpf's static linker) keeps only code, BTF and BTF.ext.
set -eu
cd "$(dirname "$0")"
dir=${1:-$PWD}
case $dir in /*) ;; *) dir=$OLDPWD/$dir ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for name in dmabuf_top dmabuf_events; do
  "${CLANG:-clang}" -O2 -g -target bpf -fdebug-prefix-map="$PWD"=. -fno-ident \
    -Wall -Werror -c "$name.bpf.c" -o "$tmp/compiled.o"
  "${BPFTOOL:-bpftool}" gen object "$tmp/linked.o" "$tmp/compiled.o"
  mv "$tmp/linked.o" "$dir/$name.bpf.o"
done
