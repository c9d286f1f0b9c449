"""The backend contract: what every source offers (``collect``, ``describe``, live or
static), the optional ability of a recording (samples to step through), BackendError."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from dmabuf_top.model import Snapshot


class Backend(Protocol):
    """A source of snapshots: this machine, a device over adb, or files."""

    #: local | adb | file
    kind: str
    #: True when collect() gives fresh data each call (refresh makes sense)
    live: bool

    def collect(self) -> Snapshot:
        """One full scan, or the sample shown of a static source (blocking; the TUI
        calls it from a worker thread)."""
        ...

    def describe(self) -> str:
        """One line naming the source: host and kernel, device, or the file shown
        (raw text: untrusted parts are escaped when shown)."""
        ...


@runtime_checkable
class Recording(Protocol):
    """An optional ability: a static source holding several samples in time order,
    one of which is the one ``collect()`` returns."""

    @property
    def sample_count(self) -> int:
        """How many samples there are (at least 1)."""
        ...

    @property
    def index(self) -> int:
        """The sample ``collect()`` returns (0 = first)."""
        ...

    def seek(self, index: int) -> int:
        """Make sample ``index`` (clamped to the samples there are) the one
        ``collect()`` returns; returns the index now shown."""
        ...

    def sample(self, index: int) -> Snapshot:
        """Sample ``index`` (0 = first), without moving to it."""
        ...


def recording_of(backend: Backend) -> Recording | None:
    """The backend as a recording when it holds more than one sample, else None."""
    if isinstance(backend, Recording) and backend.sample_count > 1:
        return backend
    return None


class BackendError(Exception):
    """A backend could not produce a snapshot; str() is one line."""
