"""Samples already loaded from snapshot or recording files, as a static backend that
is also a :class:`~dmabuf_top.collect.contract.Recording` (step between samples).

Several files open as one recording, in time order (``--load before.yaml
after.yaml``; :func:`dmabuf_top.io.loader.load_files` reads them). A recording's samples
are rebuilt when asked for (:mod:`dmabuf_top.io.record_samples`), not held as copies."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from dmabuf_top.model import DmabufEvent, Snapshot


class FileBackend:
    kind = "file"
    live = False

    def __init__(
        self, samples: Sequence[tuple[Snapshot, Path]], at: int = -1,
        notes: Sequence[str] = (),
    ) -> None:
        """``at``: the sample shown first (negative: from the end; default the last,
        what a user wants to see of a recording). ``notes``: what loading left out
        (a recording cut mid-sample), one line each."""
        if not samples:
            raise ValueError("a file backend needs at least one sample")
        #: kept as given: a loaded recording rebuilds a sample when it is asked for
        self._samples = samples
        self.notes = list(notes)
        self._index = 0
        self.seek(at if at >= 0 else len(samples) + at)

    @property
    def sample_count(self) -> int:
        return len(self._samples)

    @property
    def index(self) -> int:
        return self._index

    def seek(self, index: int) -> int:
        self._index = max(0, min(index, len(self._samples) - 1))
        return self._index

    def sample(self, index: int) -> Snapshot:
        return self._samples[index][0]

    @property
    def path(self) -> Path:
        """The file the sample shown comes from."""
        return self._samples[self._index][1]

    @property
    def events(self) -> Sequence[DmabufEvent]:
        """The dma-buf events the files recorded (io/events_codec.py), in time order."""
        return getattr(self._samples, "events", ())

    @property
    def events_lost(self) -> int:
        """The events the files' recorders counted lost (the ring buffer was full)."""
        return int(getattr(self._samples, "events_lost", 0))

    def describe(self) -> str:
        return self.path.name

    def collect(self) -> Snapshot:
        return self._samples[self._index][0]
