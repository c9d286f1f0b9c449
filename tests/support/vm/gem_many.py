"""One process with many GEM handles, some of them dma-bufs (run in the test VM as root,
vgem loaded)::

    python tests/support/vm/gem_many.py --out /tmp/gem.json [--handles 10000] [--exported 2000]

Creates HANDLES vgem buffers (4 KiB each) on one DRM file, exports EXPORTED of them spread
evenly over the handle numbers and closes each exported fd (the handle keeps the buffer),
writes ``{"pid", "drm_fd", "device", "handles", "exported": {handle: inode}}`` atomically
to --out, then waits for SIGTERM. What the BPF scan's walk of a DRM file's handles
(an xarray of 10,000 entries, 157 leaf nodes) must list whole: tests/integration/
test_vm_gem.py and bench/scan_bench.py.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgem  # noqa: E402
from scenario import write_atomic  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--handles", type=int, default=10_000)
    p.add_argument("--exported", type=int, default=2_000)
    args = p.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    vgem.set_comm("gem-many")
    card = vgem.Card()
    handles = [card.create_handle(vgem.PAGE) for _ in range(args.handles)]
    step = max(1, args.handles // max(1, args.exported))
    exported = {}
    for handle in handles[::step][: args.exported]:
        fd = card.export(handle)
        exported[str(handle)] = vgem.inode_of(fd)
        os.close(fd)
    write_atomic(args.out, {
        "pid": os.getpid(), "drm_fd": card.fd, "device": os.path.basename(card.path),
        "handles": len(handles), "exported": exported,
    })
    print(f"READY {args.out}", flush=True)
    while True:
        signal.pause()


if __name__ == "__main__":
    sys.exit(main())
