"""The backend contract: what every source offers (``collect``, ``describe``, live or
static), the optional abilities of a recording (samples to step through) and of a live
source whose processes can be signalled (:class:`Signaller`), a view of the first
samples of a recording, BackendError."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, overload, runtime_checkable

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


class SamplesUpTo(Sequence[Snapshot]):
    """The first ``count`` samples of a recording as a sequence, each got when indexed
    (a loaded recording rebuilds it: nothing is copied up front)."""

    def __init__(self, count: int, get: Callable[[int], Snapshot]) -> None:
        self._count, self._get = count, get

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> Snapshot: ...

    @overload
    def __getitem__(self, index: slice) -> list[Snapshot]: ...

    def __getitem__(self, index: int | slice) -> Snapshot | list[Snapshot]:
        if isinstance(index, slice):
            return [self._get(i) for i in range(*index.indices(self._count))]
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError("sample index out of range")
        return self._get(index)


@dataclass(frozen=True)
class SeenProcess:
    """A process as the user saw it when choosing it for a signal: the pid, and what
    tells that pid's process from a later one (start time, boot id)."""

    pid: int
    comm: str
    #: clock ticks since boot (``/proc/PID/stat`` field 22); None: not known
    start_time: int | None = None
    #: the boot it was seen in ("": not known)
    boot_id: str = ""


@runtime_checkable
class Signaller(Protocol):
    """An optional ability: a live source that can send a signal to one of its
    processes (this machine: a pidfd; a device: ``kill`` in its shell), only while the
    pid is still the process seen. Static sources (files) do not have it."""

    def send_signal(self, seen: SeenProcess, signum: int) -> None:
        """Send ``signum`` to ``seen`` (blocking); :class:`ProcessChanged` when the
        pid is no longer that process, :class:`BackendError` (one line) when the
        signal could not be sent."""
        ...


def signaller_of(backend: Backend) -> Signaller | None:
    """The backend's signal ability, when it is live and has one, else None."""
    if backend.live and isinstance(backend, Signaller):
        return backend
    return None


class BackendError(Exception):
    """A backend could not produce a snapshot; str() is one line."""


class ProcessChanged(BackendError):
    """A signal refused: the pid is no longer the process the user saw."""
