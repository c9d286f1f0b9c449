"""Record real collector output in the 6.1 VM for tests/test_adb_stream.py.

    python -m tests.support.adb_record        # rewrites tests/data/adb/

Boots the VM, starts tests/support/vm/scenario.py (with a newline in a name) plus a
uid-2000 process holding dma-bufs (one named like collector markers), then
records, at the same moment:

- ``vm-6.1-root.out``: collector.sh run by dash + GNU tools as root, raw bytes
  (with the ``ino`` option: the fd inodes are listed as for kernels < 5.14);
  ``vm-6.1-root.yaml``: ``dmabuf-top snapshot`` of the local backend, as root;
- ``vm-6.1-uid2000.out`` / ``.yaml``: the same as uid 2000 (no su).
"""

from __future__ import annotations

import signal
import sys
import time

from dmabuf_top.collect.adb_stream import collector_script
from tests.support.paths import DATA, REPO, VM_DIR
from tests.support.vm.guest import start_scenario
from tests.support.vm.vm import VM

OUT = DATA / "adb"
UID = 2000
HOSTILE_NAME = "x\n@@0 f\n\n@@1 end\n"


def main() -> int:
    from tests.support.adb_harness import UNPRIVILEGED_HOLDER

    OUT.mkdir(parents=True, exist_ok=True)
    with VM() as vm, start_scenario(vm, "--newline-name") as sc:
        code = UNPRIVILEGED_HOLDER.replace('"shell buf"', repr(HOSTILE_NAME))
        holder = vm.spawn([vm.python, "-c", code, str(VM_DIR), str(UID)], cwd="/")
        while "READY" not in holder.output()[0]:
            assert holder.poll() is None, holder.output()
            time.sleep(0.2)
        script = collector_script()
        local_as = (
            "import os, sys\n"
            "from dmabuf_top.collect.local import LocalBackend\n"
            "from dmabuf_top.io.codec import dump_snapshot\n"
            "uid = int(sys.argv[1])\n"
            "if uid: os.setgroups([]); os.setgid(uid); os.setuid(uid)\n"
            "sys.stdout.write(dump_snapshot(LocalBackend(source='proc').collect()))\n"
        )
        drop = ["setpriv", "--reuid", str(UID), "--regid", str(UID), "--clear-groups"]
        # as root with the "ino" option: the fd inodes too, as on kernels < 5.14
        for tag, prefix, uid, opt in (("root", [], 0, "ino"), (f"uid{UID}", drop, UID, "")):
            argv = [*prefix, "sh", "-c", script, "dmabuf-top", opt]
            r = vm.run(argv, timeout=300, text=False)
            assert r.returncode == 0, r.stderr
            (OUT / f"vm-6.1-{tag}.out").write_bytes(r.stdout)
            r = vm.run([vm.python, "-c", local_as, str(uid)], timeout=300, cwd=str(REPO))
            assert r.returncode == 0, r.stderr
            (OUT / f"vm-6.1-{tag}.yaml").write_text(r.stdout)
            print(f"{tag}: {len(r.stdout)} bytes of snapshot", file=sys.stderr)
        holder.kill(signal.SIGTERM)
        holder.wait(60)
        print(f"scenario: {len(sc.record['buffers'])} buffers", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
