"""Snapshot files (or recordings of several samples) as a static backend.

Several files open as one recording, in time order: ``--load before.yaml
after.yaml`` steps between them and shows the change since the first."""

from __future__ import annotations

import os
from pathlib import Path

from ..model import Snapshot
from ..snapshot_io import load_snapshots
from ..suspects import parse_time


class FileBackend:
    kind = "file"
    live = False

    def __init__(self, paths: str | os.PathLike[str] | list[str | os.PathLike[str]]) -> None:
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        loaded: list[tuple[Snapshot, Path]] = []
        for p in paths:
            path = Path(p)
            loaded += [(s, path) for s in load_snapshots(path)]
        if len(paths) > 1 and all(parse_time(s.taken_at) is not None for s, _ in loaded):
            # in time order (sort is stable: equal times keep the given order)
            loaded.sort(key=lambda sp: parse_time(sp[0].taken_at) or 0.0)
        self.snapshots: list[Snapshot] = [s for s, _ in loaded]
        self._paths = [p for _, p in loaded]
        self.index = 0

    @property
    def path(self) -> Path:
        """The file the sample shown comes from."""
        return self._paths[self.index]

    def describe(self) -> str:
        snap = self.snapshots[self.index]
        n = len(self.snapshots)
        extra = f" sample {self.index + 1}/{n}" if n > 1 else ""
        return f"{self.path.name}{extra} ({snap.taken_at})"

    def collect(self) -> Snapshot:
        return self.snapshots[self.index]
