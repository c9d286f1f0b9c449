"""A dmabuf-top recording as promtool's ``input_series``: each sample is what ``dmabuf-top
serve`` would have answered at that scan (the same collector computes it), one value per
sample, one test step apart on promtool's time axis.

    python contrib/prometheus/recording_series.py REC.yaml [--top N] > series.yml

The recording's own spacing (often 0.5-2 s) is replaced by the step of the test
(``interval:`` in a promtool test file), so the rules' windows of minutes see the
recording's real shape. Only the series a snapshot makes are written (info, up, totals,
exporters, processes), not the exporter's own (scans, their duration and times)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from dmabuf_top.collect.poller import DeviceScan
from dmabuf_top.io.errors import SnapshotError
from dmabuf_top.io.loader import load_snapshots
from dmabuf_top.io.yaml_emit import dump_yaml
from dmabuf_top.model import Snapshot
from dmabuf_top.report.prometheus import DEFAULT_TOP, device_families

#: families of the exporter itself, not of what it saw: left out
SCAN_FAMILIES = ("dmabuf_scan", "dmabuf_last_scan")


class _Families(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> list[Metric]:
        return self.families


def exposition(snap: Snapshot, top: int = DEFAULT_TOP) -> dict[str, float]:
    """``name{labels}`` -> value of every series serve makes of ``snap``."""
    src = snap.source
    scan = DeviceScan(device=src.serial or src.host or "?", model=src.model or "", up=True,
                      snapshot=snap, seconds=0.0, scans=1, errors=0, last_success=None)
    fams = [f for f in device_families([scan], top) if not f.name.startswith(SCAN_FAMILIES)]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(fams))
    out: dict[str, float] = {}
    for line in generate_latest(registry).decode("utf-8").splitlines():
        if line and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            out[series] = float(value)
    return out


def _value(v: float | None) -> str:
    if v is None:
        return "_"  # promtool: no sample at this step
    return str(int(v)) if v.is_integer() else repr(v)


def input_series(snaps: list[Snapshot], top: int = DEFAULT_TOP) -> list[dict[str, str]]:
    """promtool's input_series of ``snaps`` (a series missing from a sample: ``_``)."""
    per_sample = [exposition(s, top) for s in snaps]
    names: dict[str, None] = {}
    for sample in per_sample:
        names.update(dict.fromkeys(sample))
    return [{"series": name, "values": " ".join(_value(s.get(name)) for s in per_sample)}
            for name in names]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("recording", type=Path, help="a dmabuf-top recording (or snapshot)")
    ap.add_argument("--top", type=int, default=DEFAULT_TOP, help="serve's --top")
    args = ap.parse_args(argv)
    try:
        snaps = load_snapshots(args.recording)
    except (OSError, SnapshotError) as e:
        print(f"recording_series: {e}", file=sys.stderr)
        return 1
    sys.stdout.write(dump_yaml({"input_series": input_series(snaps, args.top)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
