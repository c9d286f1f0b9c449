"""Regenerate tests/data/vm-6.18-events/recording.yaml: `dmabuf-top record` on a real
6.18 kernel (fentry/fexit events) while tests/support/vm/event_sequence.py runs its
scripted life three times (a system-heap, a udmabuf and a vgem buffer) and a holder
keeps two buffers it made and one it passed on for the whole recording.

    python -m tests.support.vm.capture_events [--dest tests/data/vm-6.18-events]
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from tests.support.serve_harness import wait_for
from tests.support.vm.vm import VM

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
DEFAULT_DEST = REPO / "tests" / "data" / "vm-6.18-events"

HOLDER = r"""
import os, socket, sys, time
sys.path.insert(0, sys.argv[1])
import vgem
from vgem import recv_fds, send_fds
vgem.die_with_parent(9)
a, b = socket.socketpair()
if os.fork() == 0:
    vgem.set_comm("keeper")
    recv_fds(b, 1)
    time.sleep(3600)
vgem.set_comm("maker")
card = vgem.Card()
kept = [card.dmabuf(1 << 20, "kept-1"), card.dmabuf(1 << 20, "kept-2")]
given = card.dmabuf(1 << 19, "given")
send_fds(a, [given])
os.close(given)
print("READY", flush=True)
time.sleep(3600)
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dest", type=Path, default=DEFAULT_DEST)
    args = p.parse_args(argv)
    with VM(series="6.18") as vm:
        dt = str(Path(vm.python).parent / "dmabuf-top")
        rec = vm.spawn([dt, "record", "--force", "-o", "/tmp/events.yaml", "-i", "1"])
        wait_for(lambda: vm.run(["test", "-s", "/tmp/events.yaml"], timeout=30).returncode == 0,
                 120, "the first sample")
        holder = vm.spawn([vm.python, "-c", HOLDER, str(HERE)])
        wait_for(lambda: "READY" in vm.output(holder)[0], 120, "the holder")
        for kind in ("heap", "udmabuf", "vgem"):
            vm.run([vm.python, str(HERE / "event_sequence.py"), "--kind", kind], timeout=300,
                   check=True)
        n = vm.read_file("/tmp/events.yaml").count(b"\n---")
        wait_for(lambda: vm.read_file("/tmp/events.yaml").count(b"\n---") >= n + 2, 120,
                 "two more samples")
        rec.kill(signal.SIGTERM)
        rec.wait(120)
        holder.kill(signal.SIGKILL)
        text = vm.read_file("/tmp/events.yaml")
        release = vm.kernel_release
    args.dest.mkdir(parents=True, exist_ok=True)
    (args.dest / "recording.yaml").write_bytes(text)
    print(f"captured a recording with events on Linux {release}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
