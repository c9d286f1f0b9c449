#!/bin/sh
# Rebuild dmabuf_top.bpf.o from dmabuf_top.bpf.c with Debian's clang and bpftool
# (packages clang, llvm, bpftool, libbpf-dev for <bpf/bpf_helpers.h>).
#   sh dmabuf_top/collect/bpf/build.sh [OUT]      (default: the committed object)
# The object is committed; tests/unit/collect/test_bpf_object.py rebuilds it and fails
# when the result differs. Deterministic: no build paths in the debug info, and
# `bpftool gen object` (libbpf's static linker) keeps only code, BTF and BTF.ext.
set -eu
cd "$(dirname "$0")"
out=${1:-dmabuf_top.bpf.o}
case $out in /*) ;; *) out=$OLDPWD/$out ;; esac
[ "${1:-}" ] || out=$PWD/dmabuf_top.bpf.o
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"${CLANG:-clang}" -O2 -g -target bpf -fdebug-prefix-map="$PWD"=. -fno-ident \
  -Wall -Werror -c dmabuf_top.bpf.c -o "$tmp/compiled.o"
"${BPFTOOL:-bpftool}" gen object "$tmp/linked.o" "$tmp/compiled.o"
mv "$tmp/linked.o" "$out"
