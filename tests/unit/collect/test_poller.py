"""The exporter's scanner: at most one scan per interval, shared by concurrent
scrapes; a scan that raises anything marks the device down (a metric and one log
line), the next good one brings it back."""

from __future__ import annotations

import logging
import threading

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from dmabuf_top.collect.assemble import assemble
from dmabuf_top.collect.contract import BackendError
from dmabuf_top.collect.poller import CachedScanner
from dmabuf_top.collect.selfstats import tool_usage
from dmabuf_top.model import Snapshot
from dmabuf_top.report.prometheus import SnapshotCollector
from tests.support.rawscans import scene


class Flaky:
    """A live source whose scans fail while ``failure`` is set."""

    kind = "local"
    live = True

    def __init__(self) -> None:
        self.calls = 0
        self.failure: BaseException | None = None

    def describe(self) -> str:
        return "flaky"

    def collect(self) -> Snapshot:
        self.calls += 1
        if self.failure is not None:
            raise self.failure
        return assemble(scene())


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def metrics(scanner: CachedScanner) -> dict[str, dict]:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(SnapshotCollector(scanner.scans, tool_usage))
    text = generate_latest(reg).decode()
    return {f.name: {tuple(sorted(s.labels.items())): s.value for s in f.samples}
            for f in text_string_to_metric_families(text)}


def test_one_scan_per_interval():
    src, clock = Flaky(), Clock()
    scanner = CachedScanner([src], min_interval=2.0, clock=clock)
    scanner.scans()
    scanner.scans()
    clock.now = 1.9
    scanner.scans()
    assert src.calls == 1
    clock.now = 2.0
    assert scanner.scans()[0].scans == 2 and src.calls == 2


def test_concurrent_scrapes_share_one_scan():
    src, clock = Flaky(), Clock()
    scanner = CachedScanner([src], min_interval=5.0, clock=clock)
    threads = [threading.Thread(target=scanner.scans) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert src.calls == 1


def test_a_failing_scan_is_a_metric_and_one_log_line(caplog):
    src, clock = Flaky(), Clock()
    scanner = CachedScanner([src], min_interval=1.0, clock=clock)
    m = metrics(scanner)
    dev = (("device", "h"),)  # no empty label (the model is on dmabuf_device_info)
    assert m["dmabuf_up"][dev] == 1 and m["dmabuf_bytes"][dev] == 15 << 20
    caplog.set_level(logging.WARNING, logger="dmabuf_top.serve")
    for k, failure in enumerate([RuntimeError("boom\nsecond line"),
                                 RuntimeError("boom\nsecond line"),
                                 BackendError("device h disconnected; retrying")]):
        clock.now += 1
        src.failure = failure
        m = metrics(scanner)  # the collector never raises
        assert m["dmabuf_up"][dev] == 0 and dev not in m["dmabuf_bytes"]
        assert m["dmabuf_scan_errors"][dev] == k + 1
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [  # a repeated error is logged once
        "h: scan failed: RuntimeError: boom second line",
        "h: scan failed: device h disconnected; retrying",
    ]
    clock.now += 1
    src.failure = None
    m = metrics(scanner)
    assert m["dmabuf_up"][dev] == 1 and m["dmabuf_scans"][dev] == 5
    assert caplog.records[-1].getMessage() == "h: scanning again"
