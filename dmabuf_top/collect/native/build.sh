#!/bin/sh
# Rebuild the committed native collectors from collector.c and its parts (*.c, native.h)
# with zig's C compiler
# (PyPI's ziglang, pinned: ZIG_VERSION below and .ci/constraints.txt), static musl,
# one per Android ABI: collector-arm64-v8a (aarch64) and collector-x86_64. (arm32,
# armeabi-v7a, is left out: zig builds musl for each target, ~2 min of CI each, and a
# 32-bit-only device keeps the shell collector.)
#   sh dmabuf_top/collect/native/build.sh [OUTDIR]   (default: next to the source)
# PYTHON: the python whose ziglang builds (default python3). The binaries are
# committed; tests/unit/collect/test_native_build.py rebuilds them and fails when one
# differs. Deterministic: stripped, no build id, no comment section, no path (the
# source is compiled from this directory by its relative name), no date. ZIG_CACHE:
# a directory for zig's cache (its musl builds; default a fresh temporary one).
set -eu
ZIG_VERSION=0.17.1
cd "$(dirname "$0")"
dir=${1:-$PWD}
case $dir in /*) ;; *) dir=$OLDPWD/$dir ;; esac
PY=${PYTHON:-python3}
got=$("$PY" -m ziglang version)
[ "$got" = "$ZIG_VERSION" ] || { echo "build.sh: zig $got, want $ZIG_VERSION (pip install ziglang==$ZIG_VERSION)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export ZIG_GLOBAL_CACHE_DIR="${ZIG_CACHE:-$tmp/cache}" ZIG_LOCAL_CACHE_DIR="$tmp/local"
for pair in aarch64-linux-musl:arm64-v8a x86_64-linux-musl:x86_64; do
  target=${pair%%:*} abi=${pair#*:}
  "$PY" -m ziglang cc -target "$target" -static -O2 -s -fno-ident -Wall -Werror \
    -ffile-prefix-map="$PWD"=. -Wl,--build-id=none -o "$tmp/collector-$abi" \
    collector.c files.c md5.c diff.c procstat.c walk.c stream.c localwalk.c
  mv "$tmp/collector-$abi" "$dir/collector-$abi"
done
