"""The dma-buf events captured in the 6.18 VM (tests/data/vm-6.18-events/), as
DmabufEvent records (the JSON lines ``dmabuf-top events --format json`` printed)."""

from __future__ import annotations

import json

from dmabuf_top.model import DmabufEvent
from tests.support.paths import REPO

EVENTS_JSONL = REPO / "tests" / "data" / "vm-6.18-events" / "events.jsonl"


def event_of(doc: dict) -> DmabufEvent:
    return DmabufEvent(time=doc["time"], kind=doc["event"], pid=doc["pid"], comm=doc["comm"],
                       inode=doc["inode"], exporter=doc["exporter"], size=doc["size"],
                       fd=doc["fd"], device=doc["device"])


def vm_events() -> list[DmabufEvent]:
    return [event_of(json.loads(ln)) for ln in EVENTS_JSONL.read_text().splitlines()]
