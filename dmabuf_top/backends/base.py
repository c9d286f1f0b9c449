"""What every backend offers the app: ``collect() -> Snapshot``."""

from __future__ import annotations

from typing import Protocol

from ..model import Snapshot


class Backend(Protocol):
    #: local | adb | file
    kind: str
    #: True when collect() gives fresh data each call (refresh makes sense)
    live: bool

    def collect(self) -> Snapshot:
        """One full scan (blocking; the TUI calls it from a worker thread)."""
        ...

    def describe(self) -> str:
        """One line naming the source (host + kernel, device, file)."""
        ...


class BackendError(Exception):
    """A backend could not produce a snapshot; str() is one line."""
