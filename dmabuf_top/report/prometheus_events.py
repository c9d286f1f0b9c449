"""dma-buf event counters for ``dmabuf-top serve`` (prometheus_client): exports and
releases per exporter, as counts and bytes (``dmabuf_exports_total``,
``dmabuf_export_bytes_total``, ``dmabuf_releases_total``,
``dmabuf_release_bytes_total``), and the events the kernel dropped
(``dmabuf_events_lost_total``). Each scrape adds the events read since the last one.
Exporter names are untrusted: escaped with ``printable()``; their number is bounded."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from dmabuf_top.model import DmabufEvent
from dmabuf_top.report.prometheus import DEVICE, add
from dmabuf_top.textsafe import printable

#: exporters kept apart; more go to exporter="other" (bounded label cardinality)
MAX_EXPORTERS = 64
OTHER = "other"
_KINDS = {"export": 0, "release": 1}


class EventCounters:
    """Running counts and bytes of exports and releases per exporter."""

    def __init__(self) -> None:
        #: exporter -> [exports, export bytes, releases, release bytes]
        self.by_exporter: dict[str, list[int]] = {}
        self.lost = 0

    def add(self, events: Sequence[DmabufEvent], lost: int) -> None:
        for e in events:
            k = _KINDS.get(e.kind)
            if k is None:
                continue
            name = printable(e.exporter)
            row = self.by_exporter.get(name)
            if row is None:
                if len(self.by_exporter) >= MAX_EXPORTERS:
                    name = OTHER
                row = self.by_exporter.setdefault(name, [0, 0, 0, 0])
            row[2 * k] += 1
            row[2 * k + 1] += e.size
        self.lost = lost

    def families(self, device: str) -> list[Metric]:
        fams = [
            CounterMetricFamily("dmabuf_exports", "dma-bufs exported (seen by the event "
                                "source)"),
            CounterMetricFamily("dmabuf_export_bytes", "bytes of the dma-bufs exported"),
            CounterMetricFamily("dmabuf_releases", "dma-bufs released (their last reference "
                                "gone)"),
            CounterMetricFamily("dmabuf_release_bytes", "bytes of the dma-bufs released"),
        ]
        for exporter, row in sorted(self.by_exporter.items()):
            for fam, v in zip(fams, row, strict=True):
                add(fam, {DEVICE: device, "exporter": exporter}, v)
        lost = CounterMetricFamily("dmabuf_events_lost", "dma-buf events the kernel dropped "
                                   "(ring buffer full)")
        add(lost, {DEVICE: device}, self.lost)
        return [*fams, lost]


class EventCollector(Collector):
    """Adds the events ``take()`` gives at each scrape, then yields the counters."""

    def __init__(self, take: Callable[[], tuple[list[DmabufEvent], int]],
                 device: str) -> None:
        self._take = take
        self.device = device
        self.counters = EventCounters()
        self._lock = threading.Lock()

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            self.counters.add(*self._take())
            yield from self.counters.families(self.device)
