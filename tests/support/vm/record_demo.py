"""Record the bundled demo snapshot (dmabuf_top/data/demo.yaml) in the real-kernel VM.

    python -m tests.support.vm.record_demo

Boots the VM, runs scenario.py (named, shared, dup'ed, map-only and kernel-only
buffers across several processes), and saves the real `dmabuf-top snapshot`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.support.vm.guest import start_scenario
from tests.support.vm.vm import VM

HERE = Path(__file__).resolve().parent

DEMO = HERE.parents[2] / "dmabuf_top" / "data" / "demo.yaml"


def main() -> int:
    with VM() as vm, start_scenario(vm, "--no-impostor"):
        exe = str(Path(vm.python).parent / "dmabuf-top")
        r = vm.run([exe, "snapshot", "-o", "/tmp/demo.yaml"], timeout=300)
        if r.returncode != 0:
            print(r.stderr, file=sys.stderr)
            return 1
        DEMO.write_bytes(vm.read_file("/tmp/demo.yaml"))
    print(f"wrote {DEMO}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
