"""Regenerate tests/data/vm-6.18-bpf/: one scene read both ways on a real 6.18 kernel.

    python -m tests.support.vm.capture_bpf [--dest tests/data/vm-6.18-bpf]

Boots the 6.18 VM, runs scenario.py, then in the guest fetches the scene with the BPF
iterators (debugfs unmounted) and with the /proc walk (debugfs mounted), back to
back, and keeps the two RawScans (JSON, the iterators' own records in the BPF one),
bufinfo and the scenario's record: what the parser and assemble() tests compare.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tests.support.vm.guest import BUFINFO, start_scenario
from tests.support.vm.vm import VM

REPO = Path(__file__).resolve().parents[3]
DEFAULT_DEST = REPO / "tests" / "data" / "vm-6.18-bpf"

GUEST = r"""
import json, subprocess, sys
from dmabuf_top.collect.local import LocalBackend
from tests.support.rawscan_json import rawscan_to_json
subprocess.run(["umount", "/sys/kernel/debug"], check=True)
try:
    bpf = LocalBackend(source="bpf")
    raw_bpf = bpf.fetch()
    bpf.close()
finally:
    subprocess.run(["mount", "-t", "debugfs", "none", "/sys/kernel/debug"], check=True)
raw_proc = LocalBackend(source="proc").fetch()
json.dump({"bpf": rawscan_to_json(raw_bpf), "proc": rawscan_to_json(raw_proc)}, sys.stdout)
"""


def dest_dir(argv: list[str] | None, doc: str, default: Path) -> Path:
    """The ``--dest`` directory of a capture script (made if missing)."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--dest", type=Path, default=default)
    dest: Path = p.parse_args(argv).dest
    dest.mkdir(parents=True, exist_ok=True)
    return dest


def main(argv: list[str] | None = None) -> int:
    dest = dest_dir(argv, __doc__, DEFAULT_DEST)
    with VM(series="6.18") as vm:
        with start_scenario(vm) as run:
            r = vm.run(
                ["env", f"PYTHONPATH={REPO}", vm.python, "-c", GUEST], timeout=600, check=True
            )
            scans = json.loads(r.stdout)
            bufinfo = vm.read_file(BUFINFO).decode()
            record = run.record
        release = vm.kernel_release
    (dest / "rawscan-bpf.json").write_text(scans["bpf"])
    (dest / "rawscan-proc.json").write_text(scans["proc"])
    (dest / "bufinfo.txt").write_text(bufinfo)
    (dest / "scenario.json").write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    (dest / "uname-r.txt").write_text(release + "\n")
    print(f"captured Linux {release} into {dest}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
