#!/usr/bin/env python3
"""What the dma-buf event path costs, per 1,000 events, on real kernels in the test VM
(TCG: a software CPU, so absolute numbers are many times a real machine's; the ratios
side by side are what to read).

    python bench/events_bench.py [--kernels 6.18,6.1] [--seconds 10] [--rate 10000]

For each kernel: tests/support/vm/storm.c makes vgem export/release pairs for S seconds
at up to RATE a second, once with nothing watching and once with
``dmabuf-top events --format json > /dev/null`` running. Printed:

- the storm's rate and its own CPU per 1,000 pairs, without and with the programs
  attached (what the hooks cost the process making buffers, kernel side included);
- the BPF programs' run time per event (``kernel.bpf_stats_enabled``: bpftool's
  run_time_ns / run_cnt of the event programs);
- the reader's CPU (``dmabuf-top events``: ring buffer, decode, JSON, write) per
  1,000 events delivered, and how many were delivered and counted lost.

Not a test: a script that prints numbers.

Measured (--seconds 10 --rate 10000, TCG with 1 vCPU on 6.18 and 2 on 6.1, 2 host
cores shared with other jobs):

                 pairs/s        storm CPU ms/1k pairs  BPF     reader CPU      events
    kernel       alone watched  alone  watched         ns/ev   ms/1k events  delivered    lost
    6.18.15      9578    4948    89.3    193.3          7963          949.4      83028   15932
    6.1.0-57     5933    3604   160.8    253.4         12021          782.8     102636    5490
    7.3.4        4851    1398   193.3    443.7         13907         1081.7      41672     307

(7.3 boots with 1 vCPU: there the reader and the storm share it, so the storm slows more.)

(The reader's Python on the host, natively: decode 3.3 ms and JSON 4.9 ms per 1,000
events; under TCG everything is about a hundred times slower.)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.vm.storm import install_storm  # noqa: E402
from tests.support.vm.vm import VM  # noqa: E402

GUEST = r"""
import json, os, resource, select, signal, subprocess, sys
dt, storm, secs, rate = sys.argv[1:5]

def cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime

def run_storm():
    before = cpu()
    out = json.loads(subprocess.run([storm, secs, rate], capture_output=True, check=True).stdout)
    out["cpu"] = cpu() - before
    return out

with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
    f.write("1")
alone = run_storm()
p = subprocess.Popen([dt, "events", "--format", "json"], stdout=subprocess.DEVNULL,
                     stderr=subprocess.PIPE, text=True)
line = p.stderr.readline()
assert "watching" in line, line
progs = json.loads(subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True,
                                  check=True).stdout)
watched = run_storm()
progs = json.loads(subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True,
                                  check=True).stdout)
ours = [q for q in progs if q.get("name", "").startswith(("fn_", "tp_"))]
before = cpu()
p.send_signal(signal.SIGINT)
err = p.stderr.read()
p.wait()
reader = cpu() - before  # the reader's CPU, from its start (only child left)
last = err.strip().splitlines()[-1]  # "dmabuf-top: N events, M lost"
events, lost = (int(w.split()[0]) for w in last.split(": ", 1)[1].split(", "))
print(json.dumps({
    "alone": alone, "watched": watched, "reader_cpu": reader, "events": events, "lost": lost,
    "bpf_ns": sum(q.get("run_time_ns", 0) for q in ours),
    "bpf_runs": sum(q.get("run_cnt", 0) for q in ours),
}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kernels", default="6.18,6.1")
    ap.add_argument("--seconds", default="10")
    ap.add_argument("--rate", default="10000")
    args = ap.parse_args()
    rows = []
    for series in args.kernels.split(","):
        with VM(series=series) as vm:
            storm = install_storm(vm)
            dt = str(Path(vm.python).parent / "dmabuf-top")
            r = vm.run([vm.python, "-c", GUEST, dt, storm, args.seconds, args.rate],
                       timeout=900)
            if r.returncode != 0:
                print(r.stderr, file=sys.stderr)
                return 1
            d = json.loads(r.stdout)
            rows.append((vm.kernel_release, d))
    head = ("kernel", "pairs/s alone", "pairs/s watched", "storm CPU ms/1k pairs alone",
            "watched", "BPF ns/event", "reader CPU ms/1k events", "delivered", "lost")
    print("  ".join(head))
    for release, d in rows:
        a, w = d["alone"], d["watched"]
        print("  ".join(str(x) for x in (
            release,
            f"{a['pairs'] / a['seconds']:.0f}",
            f"{w['pairs'] / w['seconds']:.0f}",
            f"{1000 * 1000 * a['cpu'] / a['pairs']:.1f}",
            f"{1000 * 1000 * w['cpu'] / w['pairs']:.1f}",
            f"{d['bpf_ns'] / max(1, d['bpf_runs']):.0f}",
            f"{1000 * 1000 * d['reader_cpu'] / max(1, d['events']):.1f}",
            d["events"], d["lost"],
        )))
    return 0


if __name__ == "__main__":
    sys.exit(main())
