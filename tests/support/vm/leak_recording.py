"""Record a leaking scenario in the test VM with the real `dmabuf-top record`.

scenario.py --leak PERIOD runs (besides its usual landscape) leak-grow (keeps a
new 1 MiB buffer ``leak-N`` every period), leak-churn (allocates and frees a
1 MiB ``churn-N`` every period), leak-share + leak-peer (a growing set of
256 KiB ``shared-N`` buffers held by both). Here we add leak-ring: it holds
four 512 KiB ``ring-N`` buffers and replaces the oldest every period (steady
bytes and count, new inodes all the time).

Then `dmabuf-top record` samples it, and a second recorder is killed with
SIGKILL while it runs. Run as a script to refresh the committed copies::

    python -m tests.support.vm.leak_recording     # writes tests/data/vm-6.1-leak*.yaml
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.vm.guest import BUFINFO, start_scenario
from tests.support.vm.vm import VM, VMError

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]

PERIOD = 0.5
SAMPLES = 12
DATA = REPO / "tests" / "data"

RING = r"""
import os, sys, time
sys.path.insert(0, sys.argv[1])
import vgem
vgem.set_comm("leak-ring")
vgem.die_with_parent(9)
card = vgem.Card()
period = float(sys.argv[2])
n = 0
ring = []
for _ in range(4):
    n += 1
    ring.append(card.dmabuf(512 * 1024, f"ring-{n}"))
print("READY", flush=True)
while True:
    time.sleep(period)
    n += 1
    ring.append(card.dmabuf(512 * 1024, f"ring-{n}"))
    os.close(ring.pop(0))
"""


@dataclass
class LeakRecording:
    text: bytes  # the recording made with -n SAMPLES
    killed: bytes  # the recording whose recorder got SIGKILL
    killed_diff_rc: int  # `dmabuf-top diff killed.yaml` in the guest
    killed_diff_out: str
    pids: dict[str, int]  # grow, churn, share, peer, ring
    kernel: str
    bufinfo_after: str  # last line of bufinfo once everything stopped


def _dmabuf_top(vm: VM) -> list[str]:
    return [vm.python, "-m", "dmabuf_top"]


def _wait(cond, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise VMError(f"timed out waiting for {what}")
        time.sleep(0.2)


def make_leak_recording(vm: VM, samples: int = SAMPLES, period: float = PERIOD) -> LeakRecording:
    run = start_scenario(vm, "--leak", str(period), "--no-impostor", out="/tmp/leak-scenario.json")
    ring = None
    try:
        ring = vm.spawn([vm.python, "-c", RING, str(HERE), str(period)])
        _wait(lambda: "READY" in ring.output()[0], 60, "leak-ring")
        r = vm.run(
            [*_dmabuf_top(vm), "record", "--force", "-o", "/tmp/leak.yaml", "-i", str(period)]
            + ["-n", str(samples)],
            cwd=str(REPO),
            timeout=600,
        )
        if r.returncode != 0:
            raise VMError(f"dmabuf-top record failed ({r.returncode}): {r.stderr}")
        text = vm.read_file("/tmp/leak.yaml")
        # a recorder killed with SIGKILL while it records
        k = vm.spawn(
            [*_dmabuf_top(vm), "record", "--force", "-o", "/tmp/killed.yaml", "-i", "0.2"],
            cwd=str(REPO),
        )

        def enough() -> bool:
            # complete samples: a full one ends with "end: N", a delta line with "end":N}
            pattern = '^end: [0-9]+$|"end":[0-9]+}$'
            r = vm.run(["grep", "-cE", pattern, "/tmp/killed.yaml"], timeout=30)
            return r.returncode == 0 and int(r.stdout.strip() or 0) >= 4

        _wait(enough, 120, "the recorder to be killed")
        k.kill(signal.SIGKILL)
        k.wait(60)
        killed = vm.read_file("/tmp/killed.yaml")
        d = vm.run([*_dmabuf_top(vm), "diff", "/tmp/killed.yaml"], cwd=str(REPO), timeout=300)
        pids = {k: int(v) for k, v in run.record["leak"]["pids"].items()}
        pids["ring"] = ring.pid
        kernel = run.record["kernel"]
    finally:
        if ring is not None:
            ring.kill(signal.SIGKILL)
            ring.wait(60)
        run.stop()
    tail = vm.read_file(BUFINFO).decode(errors="replace").rstrip().rsplit("\n", 1)[-1]
    return LeakRecording(text, killed, d.returncode, d.stdout + d.stderr, pids, kernel, tail)


def main() -> None:
    with VM() as vm:
        rec = make_leak_recording(vm)
    DATA.mkdir(parents=True, exist_ok=True)
    (DATA / "vm-6.1-leak.yaml").write_bytes(rec.text)
    (DATA / "vm-6.1-leak-killed.yaml").write_bytes(rec.killed)
    print(f"pids {rec.pids}; kernel {rec.kernel}; bufinfo after: {rec.bufinfo_after}")
    print(f"killed recorder: diff exit {rec.killed_diff_rc}")


if __name__ == "__main__":
    main()
