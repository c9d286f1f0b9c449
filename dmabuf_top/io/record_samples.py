"""A loaded recording's samples without holding one full copy per sample: the decoded
deltas, a full snapshot (a keyframe) every :data:`KEYFRAME_EVERY` samples, and a sample
rebuilt on demand from the keyframe before it (stepping on from the sample asked for
last costs one delta)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

from dmabuf_top.io.decode import (
    ancestors_from_list,
    buffer_from_dict,
    charges_from_list,
    int_list,
    kernel_from_dict,
    process_from_dict,
    seconds,
    source_from_dict,
    unverified_from_list,
)
from dmabuf_top.io.errors import SnapshotError
from dmabuf_top.model import (
    Buffer,
    CgroupCharge,
    DmabufEvent,
    KernelInfo,
    Process,
    Snapshot,
    Source,
    UnverifiedMap,
)

#: a full snapshot is kept every this many samples: memory ~ samples / KEYFRAME_EVERY
#: copies, a sample reached in at most KEYFRAME_EVERY - 1 deltas
KEYFRAME_EVERY = 32
#: samples rebuilt lately, kept: asked again, a sample is the same object (caches
#: keyed by snapshot, like the suspects', keep working)
RECENT = 64
_KEEP = object()  # a field the delta leaves as it was


def _entries(doc: dict[str, Any], name: str, parse: Any, where: str) -> list[Any]:
    raw = doc.get(name) or []
    if not isinstance(raw, list):
        raise SnapshotError(f"{where}: '{name}' has the wrong type ({type(raw).__name__})")
    return [parse(d, f"{where}: {name}[{i}]") for i, d in enumerate(raw)]


def _merge(prev: dict[int, Any], removed: list[int], items: list[Any], key_of: Any) -> dict:
    """``prev`` without the ``removed`` keys, with ``items`` added or replaced; keys
    stay sorted."""
    out = dict(prev)
    for k in removed:
        out.pop(k, None)
    # new keys above every known one (the usual case: the kernel counts inodes
    # and pids up) are appended in order; anything else re-sorts
    top = next(reversed(out), None)
    in_order = True
    for item in items:
        k = key_of(item)
        if k not in out:
            if top is not None and k < top:
                in_order = False
            top = k if top is None else max(top, k)
        out[k] = item
    return out if in_order else dict(sorted(out.items()))


@dataclass
class Delta:
    """One delta document, decoded and checked: what changed since the sample before."""

    taken_at: str
    scan_seconds: float | None
    buffers_removed: list[int]
    buffers: list[Buffer]
    processes_removed: list[int]
    processes: list[Process]
    source: Source | Any = _KEEP
    boot_id: str | Any = _KEEP
    kernel: KernelInfo | Any = _KEEP
    warnings: list[str] | Any = _KEEP
    unreadable_pids: list[int] | Any = _KEEP
    unverified_maps: list[UnverifiedMap] | Any = _KEEP
    ancestors: dict[int, Process] | Any = _KEEP
    charges: dict[str, CgroupCharge] | Any = _KEEP

    def apply(self, prev: Snapshot) -> Snapshot:
        """The sample this delta describes, given the one before it (unchanged
        Buffer and Process objects are shared with it)."""

        def kept(value: Any, old: Any) -> Any:
            return old if value is _KEEP else value

        return Snapshot(
            taken_at=self.taken_at,
            source=kept(self.source, prev.source),
            boot_id=kept(self.boot_id, prev.boot_id),
            buffers=_merge(prev.buffers, self.buffers_removed, self.buffers, lambda b: b.inode),
            processes=_merge(
                prev.processes, self.processes_removed, self.processes, lambda p: p.pid
            ),
            kernel=kept(self.kernel, prev.kernel),
            warnings=kept(self.warnings, prev.warnings),
            unreadable_pids=kept(self.unreadable_pids, prev.unreadable_pids),
            unverified_maps=kept(self.unverified_maps, prev.unverified_maps),
            ancestors=kept(self.ancestors, prev.ancestors),
            charges=kept(self.charges, prev.charges),
            scan_seconds=self.scan_seconds,
        )


def decode_delta(doc: dict[str, Any], where: str) -> Delta:
    """A delta document (schema ``dmabuf-top/1-delta``) decoded; SnapshotError (one
    line) for a field of the wrong type."""
    taken_at = doc.get("taken_at")
    scan = doc.get("scan_seconds")
    src = doc.get("source")
    kd = doc.get("kernel")
    if "source" in doc and not isinstance(src, dict):
        raise SnapshotError(f"{where}: 'source' has the wrong type")
    if "kernel" in doc and not isinstance(kd, dict):
        raise SnapshotError(f"{where}: 'kernel' has the wrong type")
    delta = Delta(
        taken_at=taken_at if isinstance(taken_at, str) else str(taken_at or ""),
        scan_seconds=seconds(scan),
        buffers_removed=int_list(doc.get("buffers_removed"), f"{where}: buffers_removed"),
        buffers=_entries(doc, "buffers", buffer_from_dict, where),
        processes_removed=int_list(doc.get("processes_removed"), f"{where}: processes_removed"),
        processes=_entries(doc, "processes", process_from_dict, where),
    )
    if isinstance(src, dict):
        delta.source = source_from_dict(src)
    if "boot_id" in doc:
        delta.boot_id = str(doc["boot_id"] or "")
    if isinstance(kd, dict):
        delta.kernel = kernel_from_dict(kd, where)
    if "warnings" in doc:
        if not isinstance(doc["warnings"], list):
            raise SnapshotError(f"{where}: 'warnings' has the wrong type")
        delta.warnings = [str(w) for w in doc["warnings"]]
    if "unreadable_pids" in doc:
        delta.unreadable_pids = int_list(doc["unreadable_pids"], where)
    if "unverified_maps" in doc:
        delta.unverified_maps = unverified_from_list(doc["unverified_maps"], where)
    if "ancestors" in doc:
        delta.ancestors = ancestors_from_list(doc["ancestors"], where)
    if "charges" in doc:
        delta.charges = charges_from_list(doc["charges"], where)
    return delta


class RecordedSamples(Sequence[Snapshot]):
    """The samples of a recording, in order; built by appending each sample's full
    snapshot or delta in turn (:meth:`add_full`, :meth:`add_delta`). Samples share
    the Buffer and Process objects that did not change: treat them as read-only.
    Safe to read from several threads."""

    def __init__(self, keyframe_every: int = KEYFRAME_EVERY) -> None:
        self.keyframe_every = max(1, keyframe_every)
        #: per sample: its Delta, or its Snapshot when it was a full document
        self._steps: list[Delta | Snapshot] = []
        #: sample index -> full snapshot (full documents and every keyframe_every-th)
        self._keyframes: dict[int, Snapshot] = {}
        self._last: Snapshot | None = None  # the sample appended last
        self._cursor: tuple[int, Snapshot] | None = None  # the sample asked for last
        self._recent: OrderedDict[int, Snapshot] = OrderedDict()
        self._lock = threading.Lock()
        #: the dma-buf events recorded between the samples (io/events_codec.py), in order
        self.events: list[DmabufEvent] = []
        #: events the kernel dropped while recording (ring buffer full), so far
        self.events_lost = 0

    @property
    def keyframe_count(self) -> int:
        """How many full snapshots are held (full documents and keyframes)."""
        return len(self._keyframes)

    @property
    def last(self) -> Snapshot | None:
        """The sample appended last (None before the first)."""
        return self._last

    def add_full(self, snap: Snapshot) -> None:
        self._keyframes[len(self._steps)] = snap
        self._steps.append(snap)
        self._last = snap

    def add_delta(self, delta: Delta) -> None:
        """Append a delta sample; there must be a sample before it."""
        assert self._last is not None, "a delta needs a sample before it"
        snap = delta.apply(self._last)
        i = len(self._steps)
        if i % self.keyframe_every == 0:
            self._keyframes[i] = snap
        self._steps.append(delta)
        self._last = snap

    def __len__(self) -> int:
        return len(self._steps)

    def _get(self, index: int) -> Snapshot:
        if index < 0:
            index += len(self._steps)
        if not 0 <= index < len(self._steps):
            raise IndexError("sample index out of range")
        with self._lock:
            hit = self._keyframes.get(index)
            if hit is not None:
                return hit
            hit = self._recent.get(index)
            if hit is not None:
                self._recent.move_to_end(index)
                return hit
            at = index
            while at not in self._keyframes:
                at -= 1
            snap = self._keyframes[at]
            cur = self._cursor
            if cur is not None and at <= cur[0] <= index:
                at, snap = cur
            for step in self._steps[at + 1 : index + 1]:
                snap = step if isinstance(step, Snapshot) else step.apply(snap)
            self._cursor = (index, snap)
            self._recent[index] = snap
            if len(self._recent) > RECENT:
                self._recent.popitem(last=False)
            return snap

    @overload
    def __getitem__(self, index: int) -> Snapshot: ...

    @overload
    def __getitem__(self, index: slice) -> list[Snapshot]: ...

    def __getitem__(self, index: int | slice) -> Snapshot | list[Snapshot]:
        if isinstance(index, slice):
            return [self._get(i) for i in range(*index.indices(len(self)))]
        return self._get(index)

    def __iter__(self) -> Iterator[Snapshot]:
        for i in range(len(self)):
            yield self._get(i)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by content
