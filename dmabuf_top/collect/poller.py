"""Scans on demand, at most once per interval, for one or several sources (the
exporter's scrapes): the last result of each device, whether it answered, what its
scans cost; a recording replays one sample per scan.

A scan that fails (a lost device, an adbd restart, anything a backend raises) marks
that device down, counts an error and logs one line; the next scan tries it again (the
adb backend reconnects by itself), and a device that answers again is up."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from dmabuf_top.collect.contract import Backend, BackendError, recording_of
from dmabuf_top.model import Snapshot
from dmabuf_top.textsafe import shown_line

log = logging.getLogger("dmabuf_top.serve")


@dataclass
class DeviceScan:
    """One device as the last scan left it."""

    #: adb serial, else the host name (labels every series of the device)
    device: str
    model: str
    up: bool
    #: the last scan's snapshot; None while the device is down
    snapshot: Snapshot | None
    #: seconds the last scan took (failed or not)
    seconds: float
    scans: int
    errors: int
    #: wall-clock time of the last successful scan (epoch seconds), None before one
    last_success: float | None


def _one_line(e: BaseException) -> str:
    text = shown_line(" ".join(str(e).split()))
    if isinstance(e, BackendError):
        return text or "scan failed"
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


class _Device:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.state = DeviceScan(
            device=backend.describe(), model="", up=False, snapshot=None, seconds=0.0,
            scans=0, errors=0, last_success=None,
        )
        self._last_error = ""

    def scan(self) -> None:
        st = self.state
        rec = recording_of(self.backend)
        if rec is not None and st.scans:
            rec.seek(rec.index + 1)
        t0 = time.perf_counter()
        try:
            snap = self.backend.collect()
        except Exception as e:  # a bad scan must never stop the exporter
            st.seconds = time.perf_counter() - t0
            st.scans += 1
            st.errors += 1
            msg = _one_line(e)
            if st.up or msg != self._last_error:
                log.warning("%s: scan failed: %s", st.device, msg)
            self._last_error = msg
            st.up, st.snapshot = False, None
            return
        st.seconds = time.perf_counter() - t0
        st.scans += 1
        if not st.up and st.scans > 1:
            log.warning("%s: scanning again", st.device)
        src = snap.source
        st.device = src.serial or src.host or st.device
        st.model = src.model or ""
        st.up, st.snapshot, st.last_success = True, snap, time.time()
        self._last_error = ""


class CachedScanner:
    """Scans every source when asked, unless the last scan started less than
    ``min_interval`` seconds ago (then the last results stand); thread-safe: scrapes
    that come in during a scan wait for it and share its result."""

    def __init__(
        self,
        backends: Sequence[Backend],
        min_interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not backends:
            raise ValueError("a scanner needs at least one source")
        self.min_interval = min_interval
        self._clock = clock
        self._devices = [_Device(b) for b in backends]
        self._lock = threading.Lock()
        self._started: float | None = None
        self._pool = ThreadPoolExecutor(len(backends)) if len(backends) > 1 else None

    def scans(self) -> list[DeviceScan]:
        """Every device's state, scanning first when the last scan is old enough."""
        with self._lock:
            now = self._clock()
            if self._started is None or now - self._started >= self.min_interval:
                self._started = now
                if self._pool is None:
                    self._devices[0].scan()
                else:
                    list(self._pool.map(_Device.scan, self._devices))
            return [_copy(d.state) for d in self._devices]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)


def _copy(s: DeviceScan) -> DeviceScan:
    return DeviceScan(**vars(s))
