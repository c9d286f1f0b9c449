"""Record the bundled demo snapshot (dmabuf_top/data/demo.yaml) in the real-kernel VM.

    python tests/vm/record_demo.py

Boots the VM, runs scenario.py (named, shared, dup'ed, map-only and kernel-only
buffers across several processes), and saves the real `dmabuf-top snapshot`.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from guest import start_scenario  # noqa: E402
from vm import VM  # noqa: E402

DEMO = HERE.parents[1] / "dmabuf_top" / "data" / "demo.yaml"


def main() -> int:
    with VM() as vm, start_scenario(vm):
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
