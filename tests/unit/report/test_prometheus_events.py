"""``serve``'s event counters (report/prometheus_events.py) over the events of a real
6.18 recording (tests/data/vm-6.18-events/): exports and releases per exporter, count
and bytes, ``_total`` counters that add up scrape after scrape; hostile exporter names
escaped; the number of exporter series bounded."""

from __future__ import annotations

from dataclasses import replace

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from dmabuf_top.io.loader import load_snapshots
from dmabuf_top.report.prometheus_events import MAX_EXPORTERS, EventCollector, EventCounters
from tests.support.paths import DATA

EVENTS = load_snapshots(DATA / "vm-6.18-events" / "recording.yaml").events


def scrape(registry) -> dict[tuple, float]:
    out = {}
    for fam in text_string_to_metric_families(generate_latest(registry).decode()):
        for s in fam.samples:
            out[(s.name, s.labels.get("exporter"))] = s.value
    return out


def test_exports_and_releases_per_exporter_add_up_over_scrapes():
    batches = [(EVENTS[:3], 0), (EVENTS[3:], 2), ([], 2)]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(EventCollector(lambda: batches.pop(0), "dtvm"))
    first = scrape(registry)
    assert first[("dmabuf_exports_total", "drm")] == 3
    assert first[("dmabuf_export_bytes_total", "drm")] == 2 * 1048576 + 524288
    assert ("dmabuf_releases_total", "system") not in first
    second = scrape(registry)
    assert second[("dmabuf_exports_total", "drm")] == 4
    assert second[("dmabuf_exports_total", "system")] == 1
    assert second[("dmabuf_releases_total", "udmabuf")] == 1
    assert second[("dmabuf_release_bytes_total", "system")] == 65536
    assert second[("dmabuf_events_lost_total", None)] == 2
    assert scrape(registry) == second


def test_hostile_exporters_are_escaped_and_bounded():
    c = EventCounters()
    e = EVENTS[0]
    c.add([replace(e, exporter=f'x"\n{i}\x1b') for i in range(MAX_EXPORTERS + 10)], 0)
    assert len(c.by_exporter) == MAX_EXPORTERS + 1 and c.by_exporter["other"][0] == 10
    assert all("\n" not in k and "\x1b" not in k for k in c.by_exporter)
