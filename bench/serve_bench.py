#!/usr/bin/env python3
"""Scrape latency of ``dmabuf-top serve`` with a 4,000-buffer scene: cached vs fresh.

    python bench/serve_bench.py [--buffers 4000] [--samples 40] [--scrapes 40] [--baseline DIR]

Writes a recording of the bench/record_bench.py scene (BUFFERS buffers over 200
processes, 1% churn per sample), then runs two real exporters on loopback ports side by
side, both ``--load`` that recording (a recording replays one sample per scan):

* cached: ``--min-interval 3600``: every scrape after the first gets the last scan;
* fresh: ``--min-interval 0.001``: every scrape scans (the next sample: a new snapshot
  to compute every metric from).

Scrapes them in turns over HTTP (urllib) and prints the median and 95th percentile
latency of each and their ratio, the exposition size and series count. A file source
has no device I/O: a fresh scan of a phone adds the collector's time (bench/adb_bench.py).
Not a test: a script that prints numbers.

Measured (2 shared cores, quiet): cached median 4.5 ms (p95 8.0), fresh 18.2 ms (p95 24.6),
4.03x; exposition 20,669 bytes, 175 series.
With ``--baseline`` the same exporters of another checkout are scraped in the same turns.
The bounded HTTP side (serve_http.py) against prometheus_client's server it replaced
(``--baseline`` of that checkout, 2 cores loaded by other engineers' VMs, two runs):
cached 0.93x and 0.65x, fresh 1.10x and 0.99x (medians): no slower within the noise.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from record_bench import Scene  # noqa: E402

from dmabuf_top.io.record_writer import RecordingWriter  # noqa: E402
from tests.support import serve_harness  # noqa: E402
from tests.support.serve_harness import Exporter  # noqa: E402


def scrape(url: str) -> tuple[float, bytes]:
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as r:
        body = r.read()
    return time.perf_counter() - t0, body


def ms(xs: list[float]) -> str:
    q = statistics.quantiles(xs, n=20)[-1] if len(xs) > 1 else xs[0]
    return f"median {statistics.median(xs) * 1e3:7.1f} ms  p95 {q * 1e3:7.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--buffers", type=int, default=4000)
    ap.add_argument("--samples", type=int, default=40)
    ap.add_argument("--scrapes", type=int, default=40)
    ap.add_argument("--baseline", type=Path, metavar="CHECKOUT",
                    help="also run another checkout's exporters, scraped in the same turns")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rec = Path(tmp) / "scene.yaml"
        scene = Scene(args.buffers, 200)
        with RecordingWriter(rec, interval=2.0) as w:
            for i in range(args.samples):
                if i:
                    scene.churn(max(1, args.buffers // 100))
                w.add(scene.snapshot(i))
        exporters = {
            "cached": Exporter("--load", str(rec), "--min-interval", "3600", timeout=300),
            "fresh": Exporter("--load", str(rec), "--min-interval", "0.001", timeout=300),
        }
        if args.baseline:  # the same exporters run from the other checkout (its cwd)
            serve_harness.REPO = args.baseline.resolve()
            for name in ("cached", "fresh"):
                interval = "3600" if name == "cached" else "0.001"
                exporters[f"{name} (baseline)"] = Exporter(
                    "--load", str(rec), "--min-interval", interval, timeout=300)
            serve_harness.REPO = REPO
        try:
            times: dict[str, list[float]] = {name: [] for name in exporters}
            body = b""
            for e in exporters.values():
                scrape(e.url)  # warm-up
            for _ in range(args.scrapes):
                for name, e in exporters.items():
                    dt, body = scrape(e.url)
                    times[name].append(dt)
        finally:
            for e in exporters.values():
                e.stop()
    series = sum(1 for ln in body.decode().splitlines() if ln and not ln.startswith("#"))
    print(f"scene: {args.buffers} buffers, 200 processes; exposition {len(body):,} bytes, "
          f"{series} series (top 50 processes + other)")
    for name in times:
        print(f"{name:<18} {ms(times[name])}  ({args.scrapes} scrapes)")
    ratio = statistics.median(times["fresh"]) / statistics.median(times["cached"])
    print(f"fresh / cached (medians): {ratio:.2f}x")
    if args.baseline:
        for name in ("cached", "fresh"):
            r = statistics.median(times[name]) / statistics.median(times[f"{name} (baseline)"])
            print(f"{name}: this checkout / baseline (medians): {r:.2f}x")


if __name__ == "__main__":
    main()
