"""Host-side helpers on top of VM: run scenario.py (or another guest script that writes
its record and waits, such as gem_many.py) in the guest and read its record; the
kernel's bufinfo read independently of dmabuf_top."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from tests.support.vm.vm import VM, Spawned, VMError

SCENARIO = Path(__file__).resolve().parent / "scenario.py"
GEM_MANY = Path(__file__).resolve().parent / "gem_many.py"
BUFINFO = "/sys/kernel/debug/dma_buf/bufinfo"


class ScenarioRun:
    """A running scenario.py in the guest; `record` is its ground truth (see scenario.py)."""

    def __init__(self, vm: VM, proc: Spawned, out: str, record: dict) -> None:
        self.vm, self.proc, self.out, self.record = vm, proc, out, record
        self._truth = json.dumps(record)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def fresh(self) -> ScenarioRun:
        """The same run with its record as written (a test may have changed its copy)."""
        self.record = json.loads(self._truth)
        return self

    def intact(self) -> bool:
        """It still runs, and the kernel's dma-bufs are exactly its record's (inode, size,
        name, exporter, count: every fd and mapping still held, nothing added): the next
        test may take it over as if it had just started."""
        if self.proc.poll() is not None:
            return False
        rows, _ = kernel_bufinfo(self.vm.read_file(BUFINFO).decode(errors="replace"))
        want = json.loads(self._truth)["buffers"]
        return {i: (r["size"], r["name"], r["exporter"], r["count"]) for i, r in rows.items()} \
            == {int(i): (b["size"], b["name"], b["exporter"], b["count"]) for i, b in want.items()}

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM the scenario (it stops its children) and wait for it."""
        if self.proc.poll() is None:
            self.proc.kill(signal.SIGTERM, group=False)
        try:
            return self.proc.wait(timeout)
        except Exception:
            self.proc.kill(signal.SIGKILL)
            return self.proc.wait(timeout)

    def __enter__(self) -> ScenarioRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_scenario(
    vm: VM, *args: str, out: str = "/tmp/scenario.json", timeout: float = 600,
    script: Path = SCENARIO,
) -> ScenarioRun:
    """Start scenario.py (or ``script``) with `args` in the guest, wait until its
    record is written."""
    vm.run(["rm", "-f", out], timeout=30)
    proc = vm.spawn([vm.python, str(script), "--out", out, *args])
    deadline = time.monotonic() + timeout
    while True:
        r = vm.run(["cat", out], timeout=60)
        if r.returncode == 0:
            return ScenarioRun(vm, proc, out, json.loads(r.stdout))
        if proc.poll() is not None:
            stdout, stderr = proc.output()
            raise VMError(f"{script.name} exited with {proc.poll()}:\n{stdout}\n{stderr}")
        if time.monotonic() > deadline:
            proc.kill(signal.SIGKILL)
            raise VMError(f"{script.name} not ready after {timeout}s")
        time.sleep(0.2)


def dmabuf_fds(vm: VM, pid: int | None = None) -> dict[str, str]:
    """{"/proc/PID/fd/N": link} for every dma-buf fd in the guest (or of one pid)."""
    script = (
        "import os,sys,json\n"
        "pids=[sys.argv[1]] if len(sys.argv)>1 else [p for p in os.listdir('/proc') "
        "if p.isdigit()]\n"
        "out={}\n"
        "for p in pids:\n"
        "    d=f'/proc/{p}/fd'\n"
        "    try: names=os.listdir(d)\n"
        "    except OSError: continue\n"
        "    for n in names:\n"
        "        try: link=os.readlink(f'{d}/{n}')\n"
        "        except OSError: continue\n"
        "        if link.startswith(('/dmabuf','anon_inode:dmabuf')): out[f'{d}/{n}']=link\n"
        "print(json.dumps(out))\n"
    )
    argv = [vm.python, "-c", script] + ([str(pid)] if pid is not None else [])
    r = vm.run(argv, timeout=120, check=True)
    return json.loads(r.stdout)


def kernel_bufinfo(text: str) -> tuple[dict[int, dict], tuple[int, int]]:
    """Independent reading of bufinfo rows (names here hold no newline): 5.19+ print
    ``<none>`` for no name, 5.3-5.18 an empty name after the inode."""
    rows = {}
    total = (-1, -1)
    row: dict | None = None
    devices = False
    for line in text.split("\n"):
        fields = line.split("\t", 6)
        if len(fields) == 7 and fields[0].isdigit():
            size, _fl, _mode, count, exp, ino, name = fields
            row = rows[int(ino)] = {
                "size": int(size),
                "count": int(count),
                "exporter": exp,
                "name": None if name in ("<none>", "") else name,
                "fences": [],
                "attachments": [],
            }
            devices = False
        elif row is not None and line.startswith("\t"):
            if line == "\tAttached Devices:":
                devices = True
            elif devices:
                row["attachments"].append(line.strip())
            elif "fence" in line.lower():  # 5.10: "Exclusive fence: ..."; 5.19+: "write fence:..."
                row["fences"].append(line.strip())
        elif line.startswith("Total ") and "objects" in line:
            words = line.split()
            total = (int(words[1]), int(words[3]))
    return rows, total


def assert_no_dmabufs_left(vm: VM, who: str) -> None:
    """After a scene stops: bufinfo's footer says no dma-buf is left in the guest."""
    tail = vm.read_file(BUFINFO).decode(errors="replace").rstrip().rsplit("\n", 1)[-1]
    assert tail == "Total 0 objects, 0 bytes", f"dma-bufs left behind by {who}: {tail}"
