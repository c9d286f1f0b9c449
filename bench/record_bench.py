#!/usr/bin/env python3
"""Size (and speed) of recordings: ``python bench/record_bench.py [--samples N] [--buffers N]``.

Builds a synthetic scene with the model classes (default 4,000 buffers over 200
processes, a quarter of them shared by two processes, some mapped), then writes
two recordings of N samples (default 1,000) with the real RecordingWriter,
plain and ``.gz``:

* unchanging: the same scene every sample (only the time moves);
* 1% churn: every sample 1% of the buffers change: half of them are freed and
  replaced by new buffers (new inodes), the other half gain or lose an fd.

Prints file sizes, bytes per sample, write and load times, and checks that the
loaded samples equal what was written.

``--memory``: the 1%-churn recording's load time and peak RSS, each way in its own
process, side by side: ``all copies`` holds every sample as a full Snapshot (what
the loader returned before samples were rebuilt on demand: ``list()`` of them);
``on demand`` keeps the decoded deltas and a keyframe every 32 samples, then steps
through every sample once (as ``]`` does) and reads 100 at random; with
``--before REV`` the loader of that git revision too (``git archive``).
Not a test: a script that prints numbers.

Measured (``--memory --before cc2e851 --repeat 3``, 1,000 samples x 4,000 buffers,
9.6 MB, 2 shared cores): the loader before (every sample a full copy) 3.04 s and
283.8 MiB peak RSS; on demand 2.40 s and 83.9 MiB (0.30x the memory); the next
sample 1.2 ms, a random one up to 16 ms (at most 31 deltas from its keyframe). Again
with the 64 last rebuilt samples kept (--repeat 2): before 1.80 s / 283.7 MiB, on
demand 2.03 s / 84.6 MiB (load times vary with the load of the shared cores).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dmabuf_top.io.codec import dump_snapshot  # noqa: E402
from dmabuf_top.io.loader import load_snapshots  # noqa: E402
from dmabuf_top.io.record_writer import RecordingWriter  # noqa: E402
from dmabuf_top.model import (  # noqa: E402
    Buffer,
    Holder,
    KernelInfo,
    MapRange,
    Process,
    Snapshot,
    Source,
)

T0 = datetime(2026, 11, 21, 10, 0, 0, tzinfo=timezone.utc)
SIZES = [4096, 65536, 1 << 20, 4 << 20, 8 << 20, 8294400]
NAMES = [None, "gralloc-buffer", "scanout", "tex atlas", "camera preview", "video frame"]


class Scene:
    def __init__(self, n_buffers: int, n_procs: int, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.next_inode = 1000
        self.procs = {
            pid: Process(pid=pid, comm=f"app{pid}", cmdline=f"/system/bin/app{pid} --x", uid=10000)
            for pid in range(1000, 1000 + n_procs)
        }
        self.next_fd = dict.fromkeys(self.procs, 10)
        self.buffers: dict[int, Buffer] = {}
        for _ in range(n_buffers):
            self.add_buffer()

    def _fd(self, pid: int) -> int:
        self.next_fd[pid] += 1
        return self.next_fd[pid]

    def add_buffer(self) -> None:
        rng = self.rng
        ino = self.next_inode
        self.next_inode += 1
        pids = sorted(rng.sample(list(self.procs), 2 if rng.random() < 0.25 else 1))
        holders = []
        for pid in pids:
            maps = []
            if rng.random() < 0.3:
                start = 0x7F0000000000 + ino * 0x1000000
                maps.append(MapRange(start, start + 0x100000, "rw-s", 0))
            holders.append(Holder(pid=pid, fds=[self._fd(pid)], maps=maps))
        self.buffers[ino] = Buffer(
            inode=ino,
            size=rng.choice(SIZES),
            exporter=rng.choice(["system", "system", "drm", "qcom,system"]),
            name=rng.choice(NAMES),
            count=len(holders) + sum(len(h.maps) for h in holders),
            holders=holders,
            sources=["fdinfo", "bpf"],
        )

    def churn(self, n: int) -> None:
        """Free n/2 buffers and allocate n/2 new ones; n/2 others gain or lose an fd."""
        rng = self.rng
        half = max(1, n // 2)
        for ino in rng.sample(list(self.buffers), half):
            del self.buffers[ino]
        for _ in range(half):
            self.add_buffer()
        for ino in rng.sample(list(self.buffers), n - half):
            old = self.buffers[ino]
            h0 = old.holders[0]
            fds = h0.fds[:-1] if len(h0.fds) > 1 else h0.fds + [self._fd(h0.pid)]
            holders = [Holder(h0.pid, fds, list(h0.maps))] + old.holders[1:]
            self.buffers[ino] = Buffer(
                inode=ino,
                size=old.size,
                exporter=old.exporter,
                name=old.name,
                count=len(fds) + len(old.holders) - 1,
                holders=holders,
                sources=list(old.sources),
            )

    def snapshot(self, i: int) -> Snapshot:
        buffers = dict(self.buffers)  # Buffer objects are replaced, never mutated
        held = {h.pid for b in buffers.values() for h in b.holders}
        return Snapshot(
            taken_at=(T0 + timedelta(seconds=2 * i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            source=Source(kind="adb", host="", kernel="6.6.50-android15", serial="R5CT0"),
            boot_id="0b7c6f7e-5d2a-4c39-9d52-6c1c1d0e9a11",
            buffers=buffers,
            processes={pid: self.procs[pid] for pid in sorted(held)},
            kernel=KernelInfo(
                sources=["bpf"], total_bytes=sum(b.size for b in buffers.values()) + (64 << 20)
            ),
            scan_seconds=round(0.25 + self.rng.random() / 10, 4),
        )


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    raise AssertionError


def run(
    name: str, samples: int, buffers: int, churn: int, directory: Path, gz: bool, load: bool
) -> None:
    scene = Scene(buffers, 200)
    path = directory / f"{name}.yaml{'.gz' if gz else ''}"
    written = []
    t0 = time.perf_counter()
    with RecordingWriter(path, interval=2.0) as w:
        for i in range(samples):
            if i and churn:
                scene.churn(churn)
            snap = scene.snapshot(i)
            w.add(snap)
            if i in (0, samples // 2, samples - 1):
                written.append((i, dump_snapshot(snap)))
    t_write = time.perf_counter() - t0
    size = path.stat().st_size
    t_load = float("nan")
    if load:
        t0 = time.perf_counter()
        loaded = load_snapshots(path)
        t_load = time.perf_counter() - t0
        assert len(loaded) == samples, (len(loaded), samples)
        for i, text in written:
            assert dump_snapshot(loaded[i]) == text, f"sample {i} differs after load"
    print(
        f"{name:<10} {'gz' if gz else 'yaml':<4} {samples:>6} samples x {buffers} buffers: "
        f"{human(size):>10}  ({size:,} bytes, {size / samples:,.0f} B/sample)  "
        f"write {t_write:.1f}s  load " + (f"{t_load:.1f}s" if load else "-")
    )


MEASURE = r"""
import json, random, resource, sys, time
sys.path.insert(0, sys.argv[1])
from dmabuf_top.io.loader import load_snapshots
way, path = sys.argv[2], sys.argv[3]
t0 = time.perf_counter()
samples = load_snapshots(path)
if way == "all copies":
    samples = list(samples)
t_load = time.perf_counter() - t0
t0 = time.perf_counter()
for s in samples:
    pass
t_walk = time.perf_counter() - t0
rng = random.Random(1)
t0 = time.perf_counter()
for i in rng.sample(range(len(samples)), 100):
    samples[i].buffers
t_random = (time.perf_counter() - t0) / 100
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"load": t_load, "walk": t_walk / len(samples), "random": t_random,
                  "rss": rss, "n": len(samples)}))
"""


def memory(
    samples: int, buffers: int, directory: Path, before: str | None, repeat: int,
    path: Path | None,
) -> None:  # fmt: skip
    """Load time and peak RSS of the 1%-churn recording, each way in its own process,
    the ways taking turns ``repeat`` times (the best time and the highest RSS shown)."""
    if path is None:
        scene = Scene(buffers, 200)
        path = directory / "memory.yaml"
        with RecordingWriter(path, interval=2.0) as w:
            for i in range(samples):
                if i:
                    scene.churn(max(1, buffers // 100))
                w.add(scene.snapshot(i))
    repo = str(Path(__file__).resolve().parent.parent)
    ways = [("all copies", repo), ("on demand", repo)]
    if before:
        old = directory / "before"
        old.mkdir()
        tar = subprocess.run(["git", "-C", repo, "archive", before, "dmabuf_top"],
                             check=True, capture_output=True).stdout  # fmt: skip
        subprocess.run(["tar", "-x", "-C", str(old)], input=tar, check=True)
        ways.insert(0, (f"at {before}", str(old)))
    print(f"loading {path.name} ({path.stat().st_size:,} B), best of {repeat}:")
    best: dict[str, dict] = {}
    for _ in range(repeat):
        for way, tree in ways:
            r = subprocess.run([sys.executable, "-c", MEASURE, tree, way, str(path)],
                               check=True, capture_output=True, text=True)  # fmt: skip
            m, b = json.loads(r.stdout), best.get(way)
            best[way] = m if b is None else {
                "rss": max(b["rss"], m["rss"]),
                **{k: min(b[k], m[k]) for k in ("load", "walk", "random")},
            }
    for way, _tree in ways:
        m = best[way]
        print(
            f"  {way:<18} load {m['load']:6.2f}s  peak RSS {human(m['rss']):>10}  "
            f"next sample {m['walk'] * 1000:6.2f} ms  random sample {m['random'] * 1000:6.2f} ms"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--buffers", type=int, default=4000)
    ap.add_argument("--only", choices=("unchanging", "1%-churn"), help="one scene only")
    ap.add_argument("--no-gz", action="store_true", help="plain YAML only")
    ap.add_argument("--no-load", action="store_true", help="do not time loading")
    ap.add_argument("--memory", action="store_true", help="load time and peak RSS only")
    ap.add_argument("--before", metavar="REV", help="--memory: also the loader of git REV")
    ap.add_argument("--repeat", type=int, default=3, help="--memory: turns of each way")
    ap.add_argument("--recording", type=Path, help="--memory: load this file (not written)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        if args.memory:
            memory(args.samples, args.buffers, d, args.before, args.repeat, args.recording)
            return
        one = Scene(args.buffers, 200).snapshot(0)
        full = len(dump_snapshot(one).encode())
        print(f"one full snapshot of {args.buffers} buffers: {human(full)} ({full:,} bytes)")
        print(f"{args.samples} full copies would be {human(full * args.samples)}")
        churn = max(1, args.buffers // 100)
        for gz in (False,) if args.no_gz else (False, True):
            for name, n in (("unchanging", 0), ("1%-churn", churn)):
                if args.only in (None, name):
                    run(name, args.samples, args.buffers, n, d, gz, not args.no_load)


if __name__ == "__main__":
    main()
