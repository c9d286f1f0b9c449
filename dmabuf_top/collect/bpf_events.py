"""The dma-buf event source: load collect/bpf/dmabuf_events.bpf.o through the
loader of bpf_loader.py (the system's libbpf via ctypes), attach its programs (the
``dma_buf/*`` tracepoints on 7.0+, fentry/fexit on older BTF kernels) and read its
ring buffer on a thread of its own.

Only fetching lives here: the records stay binary until ``parsers/events.py``
decodes them. Every way it can fail raises ``BpfUnavailable`` with one line.
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from dmabuf_top.collect.bpf_loader import (
    BpfUnavailable,
    _errno_text,
    _libbpf,
    close_object,
    kernel_btf_names,
    load_object,
    open_object,
)
from dmabuf_top.collect.parsers.events import decode_events
from dmabuf_top.model import DmabufEvent

EVENTS_OBJECT_PATH = Path(__file__).with_name("bpf") / "dmabuf_events.bpf.o"

_BTF_KIND_TYPEDEF, _BTF_KIND_FUNC = 8, 12
#: program -> the kernel function it hooks (fentry/fexit), for kernels before 7.0
FUNCTIONS = {
    "fn_export": "dma_buf_export", "fn_fd": "dma_buf_fd", "fn_get": "dma_buf_get",
    "fn_attach": "dma_buf_dynamic_attach", "fn_detach": "dma_buf_detach",
    "fn_mmap": "dma_buf_mmap_internal",
}
#: program -> its tracepoint (Linux 7.0+)
TRACEPOINTS = {
    "tp_export": "dma_buf_export", "tp_fd": "dma_buf_fd", "tp_get": "dma_buf_get",
    "tp_attach": "dma_buf_dynamic_attach", "tp_detach": "dma_buf_detach",
    "tp_mmap": "dma_buf_mmap_internal",
}
#: both ways: the last reference to the file (no tracepoint fires then)
RELEASE = ("fn_release", "dma_buf_file_release")
_POLL_MS = 100
#: records read but not yet taken, at most (32 MiB): more are counted lost
MAX_PENDING = 1 << 18
_SAMPLE_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)


def boot_to_wall() -> float:
    """Seconds to add to CLOCK_BOOTTIME to get the wall clock, now."""
    return time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)


def choose_programs(have: set[str]) -> tuple[str, list[str]]:
    """(how, programs) for a kernel whose BTF has the names in ``have``: the
    tracepoints when there are (``btf_trace_dma_buf_export``), else the functions
    that exist; the release hook either way."""
    if "btf_trace_dma_buf_export" in have:
        progs = [p for p, tp in TRACEPOINTS.items() if f"btf_trace_{tp}" in have]
        how = "tracepoints"
    else:
        if FUNCTIONS["fn_export"] not in have:
            raise BpfUnavailable("the kernel's BTF has no dma_buf_export (no dma-buf support?)")
        progs = [p for p, fn in FUNCTIONS.items() if fn in have]
        how = "fentry"
    if RELEASE[1] in have:
        progs.append(RELEASE[0])
    return how, progs


class EventSource:
    """The loaded event programs and their ring buffer, read on a daemon thread
    once :meth:`start` is called. :meth:`take` returns the events since the last
    call; :attr:`lost` is how many the kernel could not queue (ring buffer full)."""

    def __init__(self, obj_path: Path = EVENTS_OBJECT_PATH) -> None:
        lib = _libbpf()
        wanted = {f"btf_trace_{tp}": _BTF_KIND_TYPEDEF for tp in TRACEPOINTS.values()}
        wanted.update({fn: _BTF_KIND_FUNC for fn in (*FUNCTIONS.values(), RELEASE[1])})
        self.how, self.programs = choose_programs(kernel_btf_names(lib, wanted))
        self._lib = lib
        self._links: list[int] = []
        self._rb: int | None = None
        #: filled by the reading thread, emptied by take(): deque ends are thread-safe
        self._chunks: deque[bytes] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.received = 0
        #: called on the reading thread after a poll that read records (a consumer's
        #: wake-up, say the TUI's events view posting itself a message); it must not block
        self.on_events: Callable[[], None] | None = None
        #: records read while MAX_PENDING were waiting to be taken (counted in lost)
        self.dropped = 0
        obj = self._obj = open_object(lib, obj_path)
        try:
            progs = {}
            for name in (*FUNCTIONS, *TRACEPOINTS, RELEASE[0]):
                prog = lib.bpf_object__find_program_by_name(obj, name.encode())
                if not prog:
                    raise BpfUnavailable(f"{obj_path} has no program {name}")
                lib.bpf_program__set_autoload(prog, name in self.programs)
                progs[name] = prog
            load_object(lib, obj)
            for name in self.programs:
                link = lib.bpf_program__attach(progs[name])
                if not link:
                    raise BpfUnavailable(
                        f"attaching {name} failed: {_errno_text(ctypes.get_errno())}"
                    )
                self._links.append(link)
            self._lost_fd = lib.bpf_map__fd(lib.bpf_object__find_map_by_name(obj, b"lost"))
            ring_fd = lib.bpf_map__fd(lib.bpf_object__find_map_by_name(obj, b"events"))
            self._callback = _SAMPLE_FN(self._sample)  # kept alive as long as the ring
            self._rb = lib.ring_buffer__new(ring_fd, self._callback, None, None)
            if not self._rb:
                raise BpfUnavailable(
                    f"opening the ring buffer failed: {_errno_text(ctypes.get_errno())}"
                )
            self._ncpus = max(1, lib.libbpf_num_possible_cpus())
        except BaseException:
            self.close()
            raise

    def _sample(self, ctx: int, data: int, size: int) -> int:
        if len(self._chunks) >= MAX_PENDING:
            self.dropped += 1
        else:
            self._chunks.append(ctypes.string_at(data, size))
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                if self._rb is None:
                    return
                got = self._lib.ring_buffer__poll(self._rb, _POLL_MS)
            wake = self.on_events
            if got > 0 and wake is not None:
                wake()

    def start(self) -> EventSource:
        """Read the ring buffer on a thread of its own from now on."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="dmabuf-events", daemon=True)
            self._thread.start()
        return self

    def _join(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self._thread = None

    def stop(self) -> None:
        """Stop the reading thread, then read what the ring buffer still holds: after
        it, every event is in :meth:`take` or counted in :attr:`lost`."""
        self._join()
        with self._lock:
            if self._rb:
                self._lib.ring_buffer__consume(self._rb)

    def take_raw(self) -> bytes:
        """The binary records read since the last call, concatenated."""
        pop = self._chunks.popleft
        chunks = [pop() for _ in range(len(self._chunks))]
        self.received += len(chunks)
        return b"".join(chunks)

    def take(self) -> list[DmabufEvent]:
        """The events read since the last call, decoded, in the order they came."""
        return decode_events(self.take_raw(), boot_to_wall())

    @property
    def lost(self) -> int:
        """Events lost: the kernel's (ring buffer full, summed over the CPUs) and
        those read while too many waited to be taken."""
        values = (ctypes.c_uint64 * self._ncpus)()
        key = ctypes.c_uint32(0)
        if self._lib.bpf_map_lookup_elem(self._lost_fd, ctypes.byref(key), values) != 0:
            return self.dropped
        return sum(values) + self.dropped

    def close(self) -> None:
        self._join()
        with self._lock:
            if self._rb:
                self._lib.ring_buffer__free(self._rb)
            self._rb = None
        close_object(self._lib, self._obj, self._links)
        self._links = []
        self._obj = None

    def __enter__(self) -> EventSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_event_source() -> tuple[EventSource | None, str]:
    """(the event source, reading on its thread, "") when it loads here, else
    (None, one line saying why): the callers go on without events."""
    try:
        return EventSource().start(), ""
    except BpfUnavailable as e:
        return None, str(e)
