"""A snapshot file (or a recording of several) as a static backend."""

from __future__ import annotations

from pathlib import Path

from ..model import Snapshot
from ..snapshot_io import load_snapshots


class FileBackend:
    kind = "file"
    live = False

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.snapshots: list[Snapshot] = load_snapshots(self.path)
        self.index = 0

    def describe(self) -> str:
        snap = self.snapshots[self.index]
        n = len(self.snapshots)
        extra = f" sample {self.index + 1}/{n}" if n > 1 else ""
        return f"{self.path.name}{extra} ({snap.taken_at})"

    def collect(self) -> Snapshot:
        return self.snapshots[self.index]
