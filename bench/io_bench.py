#!/usr/bin/env python3
"""Snapshot and recording I/O, PyYAML vs the fast writer/parser side by side in one run:
``python bench/io_bench.py [--buffers N] [--samples N] [--repeat K]``.

Uses record_bench.py's scene (default 4,000 buffers over 200 processes). Before:
the PyYAML writer (tests/support/pyyaml_ref.py, what dump_snapshot was) and the
same product code with the fast paths switched off (every document read by
PyYAML's safe loader, libyaml's; every buffer entry by the checking path; the
garbage collector running), as before. After: the product as it is.
Times are CPU seconds of this process (best of K: the machine is shared), for

* dump: one snapshot to YAML text;
* load: that text back to a Snapshot (each writer's own text);
* diff: ``dmabuf-top diff A B`` of two such snapshot files (run in-process);
* recording load / suspects: a recording of N samples with 1% churn per sample
  (RecordingWriter), and ``dmabuf-top suspects`` of it; the peak RSS of loading it
  is measured in a fresh child process for each side.

Not a test: a script that prints numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from record_bench import Scene  # noqa: E402

import dmabuf_top.io.decode as decode  # noqa: E402
import dmabuf_top.io.loader as loader  # noqa: E402
import dmabuf_top.io.yamltext as yamltext  # noqa: E402
from dmabuf_top.cli.dispatch import main as cli_main  # noqa: E402
from dmabuf_top.io.codec import dump_snapshot  # noqa: E402
from dmabuf_top.io.loader import load_snapshots, loads_snapshots  # noqa: E402
from dmabuf_top.io.record_writer import RecordingWriter  # noqa: E402
from dmabuf_top.io.yaml_parse import NotOurs  # noqa: E402
from tests.support.pyyaml_ref import pyyaml_dump_snapshot  # noqa: E402


def _never(text: str) -> Any:
    raise NotOurs("the fast parser is switched off")


def _unchecked(bd: Any, comms: Any) -> None:
    return None


@contextlib.contextmanager
def pyyaml_only() -> Iterator[None]:
    """Loading as before: every document read by PyYAML's safe loader (the fast
    parser switched off) and the garbage collector left running."""
    fast, paused, checked = yamltext.parse, loader.loads_snapshots, decode._buffer_checked
    yamltext.parse = _never
    loader.loads_snapshots = paused.__wrapped__  # type: ignore[attr-defined]
    decode._buffer_checked = _unchecked  # every buffer entry by the checking path, as before
    try:
        yield
    finally:
        yamltext.parse, loader.loads_snapshots, decode._buffer_checked = fast, paused, checked


def best(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


def cli(*argv: str) -> int:
    with contextlib.redirect_stdout(io.StringIO()):
        return cli_main(list(argv))


def row(what: str, before: float, after: float) -> None:
    ratio = before / after if after else float("inf")
    print(f"{what:<34} before {before:8.3f} s   after {after:7.3f} s   {ratio:6.1f}x")


def vm_kib(field: str) -> int:
    """A field of /proc/self/status in KiB (VmRSS now, VmHWM the peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def child_load(path: str, old: bool) -> None:
    """In a fresh process: load a recording, print seconds, the RSS before, the
    peak RSS and the RSS with every sample still held."""
    base = vm_kib("VmHWM")
    t0 = time.process_time()
    with pyyaml_only() if old else contextlib.nullcontext():
        snaps = load_snapshots(path)
    took = time.process_time() - t0
    print(f"{took} {base} {vm_kib('VmHWM')} {vm_kib('VmRSS')} {len(snaps)}")


def measure_child(path: Path, old: bool) -> tuple[float, int, int, int]:
    """(seconds, KiB before loading, peak KiB added, KiB added and kept)."""
    argv = [sys.executable, __file__, "--child-load", str(path)] + (["--old"] if old else [])
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout.split()
    took, base, peak, held = float(out[0]), int(out[1]), int(out[2]), int(out[3])
    return took, base, peak - base, held - base


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--buffers", type=int, default=4000)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child-load", help=argparse.SUPPRESS)
    ap.add_argument("--old", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_load:
        child_load(args.child_load, args.old)
        return
    k = args.repeat
    scene = Scene(args.buffers, 200)
    snap_a = scene.snapshot(0)
    scene.churn(max(1, args.buffers // 100))
    snap_b = scene.snapshot(1)
    old_text, new_text = pyyaml_dump_snapshot(snap_a), dump_snapshot(snap_a)
    assert loads_snapshots(new_text) == loads_snapshots(old_text)
    print(
        f"snapshot: {args.buffers} buffers, {len(snap_a.processes)} processes; YAML "
        f"{len(old_text.encode()):,} bytes (PyYAML) / {len(new_text.encode()):,} bytes (fast)"
    )
    t_old = best(lambda: pyyaml_dump_snapshot(snap_a), k)
    row("dump", t_old, best(lambda: dump_snapshot(snap_a), k))
    with pyyaml_only():
        t_old = best(lambda: loads_snapshots(old_text), k)
    row("load", t_old, best(lambda: loads_snapshots(new_text), k))
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        for tag, dump in (("old", pyyaml_dump_snapshot), ("new", dump_snapshot)):
            (d / f"a-{tag}.yaml").write_text(dump(snap_a))
            (d / f"b-{tag}.yaml").write_text(dump(snap_b))
        with pyyaml_only():
            t_old = best(lambda: cli("diff", str(d / "a-old.yaml"), str(d / "b-old.yaml")), k)
        t_new = best(lambda: cli("diff", str(d / "a-new.yaml"), str(d / "b-new.yaml")), k)
        row("dmabuf-top diff A B", t_old, t_new)

        rec = d / "rec.yaml"
        scene = Scene(args.buffers, 200)
        with RecordingWriter(rec, interval=2.0) as w:
            for i in range(args.samples):
                if i:
                    scene.churn(max(1, args.buffers // 100))
                w.add(scene.snapshot(i))
        size = rec.stat().st_size
        print(f"recording: {args.samples} samples, 1% churn, {size:,} bytes")
        with pyyaml_only():
            t_old = best(lambda: load_snapshots(rec), k)
        row("recording load", t_old, best(lambda: load_snapshots(rec), k))
        with pyyaml_only():
            t_old = best(lambda: cli("suspects", str(rec)), k)
        row("dmabuf-top suspects REC", t_old, best(lambda: cli("suspects", str(rec)), k))
        with pyyaml_only():
            t_old = best(lambda: cli("diff", str(rec)), k)
        row("dmabuf-top diff REC (first/last)", t_old, best(lambda: cli("diff", str(rec)), k))
        for side, old in (("before", True), ("after", False)):
            took, base, peak, held = measure_child(rec, old)
            print(
                f"recording load in a fresh process, {side}: {took:.3f} s, RSS before "
                f"{base / 1024:.0f} MiB, peak +{peak / 1024:.0f} MiB, "
                f"all samples held +{held / 1024:.0f} MiB"
            )
        one = len(new_text.encode())
        print(f"({args.samples} full copies of one snapshot's YAML would be "
              f"{one * args.samples / (1 << 20):.0f} MiB)")


if __name__ == "__main__":
    main()
