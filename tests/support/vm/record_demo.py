"""Record the bundled demo (dmabuf_top/data/demo.yaml, what ``dmabuf-top --demo`` shows)
in the real-kernel VM, in one command (from the repository root, with a python that has
dmabuf-top installed, e.g. a venv made by ``pip install -e .``)::

    python -m tests.support.vm.record_demo

Boots the 6.18 kernel (vgem, vivid, the system heap, udmabuf), starts demo_scene.py
(real GStreamer pipelines and a v4l2-ctl stream on vivid; staged weston, pipewire,
chromium and its GPU process, which leaks a raster tile every 2 s; shared, mapped,
map-only, attached and kernel-only buffers) and records it with the app's own
``dmabuf-top record`` (12 samples, 2 s apart). The file must not mention the test
harness (no path under tests/, no /tmp, no pytest): checked before it is written.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from tests.support.vm.vm import VM

HERE = Path(__file__).resolve().parent
DEMO = HERE.parents[2] / "dmabuf_top" / "data" / "demo.yaml"
SCENE = HERE / "demo_scene.py"
SERIES = "6.18"
SAMPLES, INTERVAL = 12, 2
OUT, PIDFILE = "/tmp/demo.yaml", "/tmp/demo-scene.pid"
#: what would give the harness away
HARNESS = re.compile(rb"tests/|/tmp|pytest|python|scenario|dtvm_")
#: the desktop's user (uid 1000 of demo_scene.py) as the guest's passwd names it (the
#: guest's root is the host's: its own uid 1000, if any, is replaced in the guest only)
DEMO_USER = "alice:x:1000:1000:Alice:/home/alice:/bin/sh"


def main() -> int:
    with VM(series=SERIES) as vm:
        vm.run(["sed", "-i", "/^[^:]*:[^:]*:1000:/d", "/etc/passwd"], timeout=60, check=True)
        vm.run(f"echo '{DEMO_USER}' >> /etc/passwd", timeout=60, check=True)
        r = vm.run([vm.python, str(SCENE), "--pidfile", PIDFILE,
                    "--leak-period", str(INTERVAL)], timeout=600)
        if r.returncode != 0 or not r.stdout.startswith("READY"):
            log = vm.run(["cat", "/tmp/demo-scene.log"], timeout=30).stdout
            print(f"demo_scene.py: {r.stdout}{r.stderr}{log}", file=sys.stderr)
            return 1
        scene = r.stdout.split()[1]
        try:
            exe = str(Path(vm.python).parent / "dmabuf-top")
            r = vm.run([exe, "record", "-o", OUT, "-n", str(SAMPLES), "-i", str(INTERVAL)],
                       timeout=900)
        finally:
            vm.run(["kill", scene], timeout=30)
        if r.returncode != 0:
            print(r.stderr, file=sys.stderr)
            return 1
        data = vm.read_file(OUT)
    found = sorted({m.group().decode() for m in HARNESS.finditer(data)})
    if found:
        print(f"the recording mentions the test harness: {found}", file=sys.stderr)
        return 1
    DEMO.write_bytes(data)
    print(f"wrote {DEMO} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
