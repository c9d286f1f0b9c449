"""A buffer name made to forge debugfs bufinfo records (issue 21, item 7), on a real
kernel in the test VM: ``DMA_BUF_SET_NAME`` with the issue's 31-byte name, a newline and
a row of a 100 PB buffer with exporter ``pwn`` and inode 7 (which, read line by line,
made a phantom kernel-only buffer and moved the real buffer's attachments onto it), on
a buffer a process holds (imported into vgem: attached, where the kernel has the system
heap) and on a kernel-only buffer whose name forges an ``Attached Devices:`` block.
``dmabuf-top snapshot`` in the guest shows no phantom, both real names, the real
attachments and totals, and warns."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from tests.support.vm.guest import BUFINFO

pytestmark = pytest.mark.kernels

VGEM_DIR = Path(__file__).resolve().parents[1] / "support" / "vm"
#: 31 bytes: the issue's forging name (a row: 10**17 bytes, exporter pwn, inode 7)
PHANTOM = b"\n100000000000000000\t0\t0\t0\tpwn\t7"
#: 29 bytes: a forged attachments block
DEVICES = b"\n\tAttached Devices:\n\tevil-gpu"

GUEST = """
import json, os, signal, sys
sys.path.insert(0, sys.argv[1])
import vgem
card = vgem.Card()
attached = os.path.exists(vgem.SYSTEM_HEAP)
if attached:
    held = vgem.heap_alloc(65536)
    card.import_fd(held)  # vgem attaches to it while its handle is open
else:
    held = card.dmabuf(65536)
vgem.set_name(held, bytes.fromhex(sys.argv[2]))
kfd = card.dmabuf(8192, name=bytes.fromhex(sys.argv[3]))
ko = vgem.inode_of(kfd)
card.import_fd(kfd)  # the GEM handle keeps it: kernel-only once its fd is closed
os.close(kfd)
print(json.dumps({"held": vgem.inode_of(held), "kernel_only": ko, "attached": attached}),
      flush=True)
signal.pause()
"""


def dmabuf_top(vm) -> str:
    return str(Path(vm.python).parent / "dmabuf-top")


def footer(text: str) -> tuple[int, int]:
    words = text.rstrip("\n").rsplit("\n", 1)[-1].split()
    assert words[0] == "Total" and words[2] == "objects,", text[-200:]
    return int(words[1]), int(words[3])


def test_a_forging_name_makes_no_phantom(vm):
    proc = vm.spawn([vm.python, "-c", GUEST, str(VGEM_DIR), PHANTOM.hex(), DEVICES.hex()])
    try:
        deadline = time.monotonic() + 120
        while not (out := proc.output()[0]):
            assert proc.poll() is None, proc.output()
            assert time.monotonic() < deadline, "the guest program did not start"
            time.sleep(0.2)
        made = json.loads(out)
        raw = vm.read_file(BUFINFO).decode("utf-8", "replace")
        assert "\tpwn\t7\n" in raw  # the kernel printed the forged line as it is
        r = vm.run([dmabuf_top(vm), "snapshot", "--source", "proc", "-o", "/tmp/forge.yaml"],
                   timeout=300)
        assert r.returncode == 0, r.stderr
        doc = yaml.safe_load(vm.read_file("/tmp/forge.yaml"))
    finally:
        proc.kill()
        proc.wait(60)
    bufs = {b["inode"]: b for b in doc["buffers"]}
    assert not [b for b in bufs.values() if b["exporter"] == "pwn" or b["size"] >= 10**15]
    held, ko = bufs[made["held"]], bufs[made["kernel_only"]]
    assert held["name"] == PHANTOM.decode() and held["size"] == 65536
    assert held["holders"] and "bufinfo" in held["sources"]
    assert held["attachments"] == (["vgem"] if made["attached"] else [])
    assert ko["name"] == DEVICES.decode() and ko["size"] == 8192 and not ko["holders"]
    assert ko["attachments"] == []
    objects, total = footer(raw)
    assert doc["kernel"]["bufinfo_objects"] == objects == len(bufs)
    assert doc["kernel"]["total_bytes"] == total == sum(b["size"] for b in bufs.values())
    assert any("made to look like bufinfo records" in w for w in doc["warnings"]), doc["warnings"]
