#!/usr/bin/env python3
"""What the kernel's BPF verifier spends on each program of dmabuf-top's BPF objects, in
the real-kernel VM: instructions processed (the limit is 1,000,000: past it the load
fails with E2BIG, "BPF program is too complex"), states, and verification time.

    python bench/verifier_bench.py [--series 7.3] [OBJECT[:PROGRAM] ...]

Default: every program of dmabuf_top/collect/bpf/dmabuf_top.bpf.o. Each program is
loaded alone through the system's libbpf with log level 4 (the verifier's statistics
only). Not a test: a script that prints numbers; times are under qemu TCG.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dmabuf_top.collect.bpf_loader import OBJECT_PATH, TARGETS  # noqa: E402
from tests.support.vm.vm import VM  # noqa: E402

GUEST = r"""
import ctypes, sys, time
lib = ctypes.CDLL("libbpf.so.1", use_errno=True)
vp, cp = ctypes.c_void_p, ctypes.c_char_p
for name, res, args in (
    ("bpf_object__open_file", vp, (cp, vp)), ("bpf_object__next_program", vp, (vp, vp)),
    ("bpf_program__name", cp, (vp,)),
    ("bpf_program__set_autoload", ctypes.c_int, (vp, ctypes.c_bool)),
    ("bpf_program__set_log_level", ctypes.c_int, (vp, ctypes.c_uint)),
    ("bpf_program__set_log_buf", ctypes.c_int, (vp, vp, ctypes.c_size_t)),
    ("bpf_object__load", ctypes.c_int, (vp,)), ("bpf_object__close", None, (vp,)),
):
    getattr(lib, name).restype, getattr(lib, name).argtypes = res, args
path, want = sys.argv[1], sys.argv[2]
obj = lib.bpf_object__open_file(path.encode(), None)
buf, prog = ctypes.create_string_buffer(1 << 20), None
while True:
    prog = lib.bpf_object__next_program(obj, prog)
    if not prog:
        break
    mine = lib.bpf_program__name(prog).decode() == want
    lib.bpf_program__set_autoload(prog, mine)
    if mine:
        lib.bpf_program__set_log_level(prog, 4)
        lib.bpf_program__set_log_buf(prog, buf, len(buf))
t = time.monotonic()
rc = lib.bpf_object__load(obj)
took = time.monotonic() - t
lines = buf.value.decode(errors="replace").splitlines()
stats = [ln for ln in lines if ln.startswith(("processed ", "verification time"))]
print(f"{want}: {'loaded' if rc == 0 else f'FAILED ({rc})'} in {took:.2f} s; " + "; ".join(stats))
lib.bpf_object__close(obj)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", default="7.3")
    ap.add_argument("objects", nargs="*", help="OBJECT[:PROGRAM] (default: every program)")
    args = ap.parse_args()
    todo = []
    for o in args.objects or [str(OBJECT_PATH)]:
        obj, _, prog = o.partition(":")
        todo += [(obj, prog)] if prog else [(obj, p) for p in TARGETS]
    with VM(series=args.series) as vm:
        print(f"VM: Linux {vm.kernel_release}")
        vm.write_file("/run/verifier_stats.py", GUEST)
        for obj, prog in todo:
            vm.write_file("/run/object.o", Path(obj).read_bytes())
            r = vm.run(["python3", "/run/verifier_stats.py", "/run/object.o", prog], timeout=900)
            print(f"{Path(obj).name} " + (r.stdout.strip() or r.stderr.strip()))


if __name__ == "__main__":
    main()
