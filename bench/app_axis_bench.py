#!/usr/bin/env python3
"""What the app axis costs a local refresh, in the real-kernel VM.

    python bench/app_axis_bench.py [--series 6.18] [--procs 200] [--repeat 7] [--rounds 3]
                                   [--source proc]

Boots the test VM once, starts the app scene (tests/support/vm/apps_scene.py) with
PROCS more holders in ten app scopes, and times in the guest, taking turns call by
call, warm ``fetch()`` of ``LocalBackend(source=SOURCE)`` as it is (each holder's
``/proc/PID/cgroup`` and its cgroup's dmem files read) and with that step left out,
and the step alone (median of REPEAT each). Prints the times and the ratio. Not a
test: a script that prints numbers (qemu TCG: ~10x a real machine's times; the ratio
is what counts).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.vm.guest import start_scenario  # noqa: E402
from tests.support.vm.vm import VM  # noqa: E402

APPS_SCENE = REPO / "tests" / "support" / "vm" / "apps_scene.py"

PY_BENCH = """
import json, statistics, sys, time
from dmabuf_top.collect.local import LocalBackend
repeat, source = int(sys.argv[1]), sys.argv[2]
with_axis = LocalBackend(source=source)
without = LocalBackend(source=source)
without._read_app_axis = lambda raw, pids: None
def interleaved(calls):
    # the median seconds of each call, the calls taking turns (load hits them alike)
    for call in calls:
        call()  # warm-up
    times = [[] for _ in calls]
    for _ in range(repeat):
        for t, call in zip(times, calls):
            t0 = time.perf_counter()
            call()
            t.append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]
raw = with_axis.fetch()
pids = set(raw.cgroups)
w, wo, step = interleaved([with_axis.fetch, without.fetch,
                           lambda: with_axis._read_app_axis(raw, pids)])
out = {"with": w, "without": wo, "step": step, "holders": len(pids),
       "cgroups": len(raw.cgroup_files)}
print(json.dumps(out))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--series", default="6.18")
    ap.add_argument("--procs", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--source", default="proc", choices=("proc", "bpf"))
    args = ap.parse_args()
    rounds = []
    with VM(series=args.series) as vm:
        print(f"VM: Linux {vm.kernel_release}, booted in {vm.boot_time:.1f}s")
        with start_scenario(vm, "--extra", str(args.procs), script=APPS_SCENE,
                            out="/tmp/apps.json", timeout=1800):
            for _ in range(args.rounds):
                p = vm.run([vm.python, "-c", PY_BENCH, str(args.repeat), args.source],
                           cwd=str(REPO), timeout=3600)
                if p.returncode:
                    print(p.stderr, file=sys.stderr)
                    return 1
                rounds.append(json.loads(p.stdout))
    med = statistics.median
    last = rounds[-1]
    ratios = [r["with"] / r["without"] for r in rounds]
    print(f"LocalBackend(source={args.source!r}).fetch(), {last['holders']} holders in "
          f"{last['cgroups']} cgroups, {len(rounds)} rounds x median of {args.repeat}:")
    print(f"  without the app axis: {med([r['without'] for r in rounds]) * 1000:8.1f} ms")
    print(f"  with it:              {med([r['with'] for r in rounds]) * 1000:8.1f} ms"
          f"  = {med(ratios):.3f}x [{' '.join(f'{x:.3f}' for x in ratios)}]")
    print(f"  the step alone:       {med([r['step'] for r in rounds]) * 1000:8.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
