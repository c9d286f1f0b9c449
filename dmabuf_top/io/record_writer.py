"""Writing recordings: many samples in one append-only multi-document YAML file.

Format ``dmabuf-top-record/1`` (what :class:`RecordingWriter` writes and
:func:`load_recording` reads; ``load_snapshots`` calls it for any file that
holds it):

* Every document starts with a ``---`` line, is a mapping whose second key is
  ``record: {seq: N, ...}`` and whose **last** key is ``end: N`` (the same N),
  and ends with a newline. ``seq`` counts the samples of one recording from 0.
* A *full* sample is an ordinary ``dmabuf-top/1`` snapshot document in block
  YAML (every key of ``dmabuf-top snapshot``) plus ``record`` and ``end``. The
  first sample is always full, and so is any sample where more than half the
  buffers changed or the boot id changed.
* A *delta* sample is ONE line, ``--- {...}``: a JSON object (which is a YAML
  flow mapping, so any YAML reader still reads the file) with
  ``"schema": "dmabuf-top/1-delta"`` holding only what changed since the
  sample before it: ``taken_at`` and ``scan_seconds`` always; ``source``,
  ``boot_id``, ``kernel``, ``warnings``, ``unreadable_pids`` when they
  changed; ``buffers_removed`` (inodes) and ``buffers`` (entries of added or
  changed buffers, as in a snapshot, minus the keys that hold their default:
  null, false, empty list); ``processes_removed`` (pids) and ``processes``
  (pid, comm, cmdline, uid, and ppid/start_time when known, of added or
  changed processes); ``ancestors`` when they changed. An unchanged sample
  is about 120 bytes. JSON because it loads ~16x faster than block YAML.
* An optional *events* document (``dmabuf-top-events/1``, :mod:`dmabuf_top.io.events_codec`)
  may come before a sample, in the same write: the dma-buf events seen since the
  sample before. It is not a sample (no ``record`` key); older recordings have none.
* A ``.gz`` recording is the same text, one gzip member per sample.

Why ``end``: the writer appends one whole document per sample with a single
write, but a writer killed (or a disk filling up) mid-write can leave a
document cut at any byte, and YAML cut at a line boundary often still parses
as a shorter, valid document. So the loader cuts a last line without its
newline, splits the text at the ``---`` lines itself, and a document that does
not parse or whose ``end`` is missing or differs from its ``seq`` is
incomplete: dropped when it is the last one, an error anywhere else. A delta
whose ``seq`` does not follow the sample before it is an error too (a sample
is missing, so its changes cannot be replayed).

Loaded snapshots share the Buffer and Process objects that did not change
between samples (memory stays proportional to the changes): treat them as
read-only.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dmabuf_top.io.atomic import create_file
from dmabuf_top.io.codec import (
    ancestors_to_list,
    app_keys,
    buffer_to_dict,
    charges_to_list,
    holder_comms,
    kernel_to_dict,
    snapshot_to_dict,
    source_to_dict,
    tree_keys,
    unverified_to_list,
)
from dmabuf_top.io.errors import SnapshotError
from dmabuf_top.io.events_codec import events_line
from dmabuf_top.io.yamltext import dump_yaml
from dmabuf_top.model import Buffer, DmabufEvent, Process, Snapshot

RECORD_FORMAT = "dmabuf-top-record/1"
DELTA_SCHEMA = "dmabuf-top/1-delta"

#: what a recording keeps of a process: comm, cmdline, uid, ppid, start_time, and
#: the app axis (user, app, cgroup)
_RecordedProcess = tuple[str, str, int | None, int | None, int | None, str, str, str]

#: top-level keys a delta repeats only when they changed
_HEADER_KEYS = (
    "source", "boot_id", "kernel", "warnings", "unreadable_pids", "unverified_maps", "ancestors",
    "charges",
)


def _recorded_processes(snap: Snapshot) -> dict[int, _RecordedProcess]:
    """The processes a snapshot document keeps: those holding a buffer
    (what ``snapshot_to_dict`` lists), as (comm, cmdline, uid, ppid, start_time)."""
    out: dict[int, _RecordedProcess] = {}
    for buf in snap.buffers.values():
        for h in buf.holders:
            if h.pid not in out:
                p = snap.processes.get(h.pid)
                out[h.pid] = (
                    (p.comm, p.cmdline, p.uid, p.ppid, p.start_time, p.user, p.app, p.cgroup)
                    if p else ("", "", None, None, None, "", "", "")
                )
    return out


def _header(snap: Snapshot) -> dict[str, Any]:
    return {
        "source": source_to_dict(snap.source),
        "boot_id": snap.boot_id,
        "kernel": kernel_to_dict(snap.kernel),
        "warnings": list(snap.warnings),
        "unreadable_pids": list(snap.unreadable_pids),
        "unverified_maps": unverified_to_list(snap.unverified_maps),
        "ancestors": ancestors_to_list(snap.ancestors),
        "charges": charges_to_list(snap.charges),
    }


class RecordEncoder:
    """Turns consecutive snapshots into recording documents (text, no I/O)."""

    def __init__(self, interval: float | None = None, full_every: int = 0) -> None:
        self.interval = interval
        #: also write a full sample every this many samples (0: only when needed)
        self.full_every = full_every
        self.seq = 0
        self._prev: Snapshot | None = None
        self._prev_procs: dict[int, _RecordedProcess] = {}
        self._prev_header: dict[str, Any] = {}

    def encode(self, snap: Snapshot) -> str:
        """The document for the next sample (starts with ``---``, ends with a newline)."""
        procs = _recorded_processes(snap)
        header = _header(snap)
        prev = self._prev
        doc: dict[str, Any] | None = None
        if (
            prev is not None
            and prev.boot_id == snap.boot_id
            and not (self.full_every and self.seq % self.full_every == 0)
        ):
            doc = self._delta(prev, snap, procs, header)
        if doc is None:
            doc = self._full(snap)
        self._prev, self._prev_procs, self._prev_header = snap, procs, header
        self.seq += 1
        if doc["schema"] == DELTA_SCHEMA:  # one line of JSON (a YAML flow mapping)
            return "--- " + json.dumps(doc, ensure_ascii=True, separators=(",", ":")) + "\n"
        return "---\n" + dump_yaml(doc, holder_comms(snap))

    def _full(self, snap: Snapshot) -> dict[str, Any]:
        body = snapshot_to_dict(snap, buffer_objects=True)
        rec: dict[str, Any] = {"format": RECORD_FORMAT, "seq": self.seq}
        if self.interval is not None:
            rec["interval"] = self.interval
        doc: dict[str, Any] = {"schema": body.pop("schema"), "record": rec}
        doc.update(body)
        doc["end"] = self.seq
        return doc

    def _delta(
        self,
        prev: Snapshot,
        snap: Snapshot,
        procs: dict[int, _RecordedProcess],
        header: dict[str, Any],
    ) -> dict[str, Any] | None:
        old = prev.buffers
        removed = [ino for ino in old if ino not in snap.buffers]
        changed = [b for ino, b in snap.buffers.items() if old.get(ino) != b]
        if len(snap.buffers) >= 16 and len(removed) + len(changed) > len(snap.buffers) // 2:
            return None  # a full sample is about as small and needs no base
        doc: dict[str, Any] = {
            "schema": DELTA_SCHEMA,
            "record": {"seq": self.seq},
            "taken_at": snap.taken_at,
            "scan_seconds": snap.scan_seconds,
        }
        for key in _HEADER_KEYS:
            if header[key] != self._prev_header.get(key):
                doc[key] = header[key]
        if removed:
            doc["buffers_removed"] = sorted(removed)
        if changed:
            comm = {pid: p[0] for pid, p in procs.items()}
            changed.sort(key=_inode)
            doc["buffers"] = [_compact(buffer_to_dict(b, comm)) for b in changed]
        gone = [pid for pid in self._prev_procs if pid not in procs]
        if gone:
            doc["processes_removed"] = sorted(gone)
        new = [pid for pid, p in procs.items() if self._prev_procs.get(pid) != p]
        if new:
            doc["processes"] = [_process_entry(pid, procs[pid]) for pid in sorted(new)]
        doc["end"] = self.seq
        return doc


def _process_entry(pid: int, p: _RecordedProcess) -> dict[str, Any]:
    comm, cmdline, uid, ppid, start_time, user, app, cgroup = p
    d = tree_keys({"pid": pid, "comm": comm, "cmdline": cmdline, "uid": uid}, ppid, start_time)
    return app_keys(d, Process(pid, user=user, app=app, cgroup=cgroup))


def _inode(b: Buffer) -> int:
    return b.inode


def _compact(bd: dict[str, Any]) -> dict[str, Any]:
    """A buffer entry without the keys that hold their default (null, false,
    empty): the loader fills the same defaults back in."""
    out = {k: v for k, v in bd.items() if k in ("inode", "size") or v not in (None, False, [])}
    for h in out.get("holders", ()):
        if not h["maps"]:
            del h["maps"]
    return out


class RecordingWriter:
    """Appends one document per sample to a recording file, each with a single
    write() (and one gzip member per sample for ``.gz``), so a writer killed at
    any moment leaves every earlier sample readable."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        interval: float | None = None,
        compress: bool | None = None,
        overwrite: bool = True,
        full_every: int = 0,
    ) -> None:
        self.path = Path(path)
        self.compress = self.path.suffix == ".gz" if compress is None else compress
        self.encoder = RecordEncoder(interval=interval, full_every=full_every)
        #: replace: a new file renamed over FILE (--force); else FILE must not exist
        self._fd: int | None = create_file(self.path, replace=overwrite)
        self.size = 0
        self._lost = 0

    @property
    def samples(self) -> int:
        return self.encoder.seq

    def add(
        self, snap: Snapshot, events: Sequence[DmabufEvent] = (), events_lost: int = 0
    ) -> int:
        """Append one sample, after the dma-buf ``events`` seen since the sample before
        (an events document, in the same write, when there are any or ``events_lost``
        changed); returns the bytes written."""
        if self._fd is None:
            raise SnapshotError(f"cannot write {self.path}: recording closed")
        text = self.encoder.encode(snap)
        if events or events_lost != self._lost:
            text = events_line(events, events_lost) + text
            self._lost = events_lost
        data = text.encode("utf-8", "surrogateescape")
        if self.compress:
            data = gzip.compress(data, compresslevel=6, mtime=0)
        view = memoryview(data)
        try:
            while view:
                n = os.write(self._fd, view)
                view = view[n:]
        except OSError as e:
            raise SnapshotError(f"cannot write {self.path}: {e.strerror or e}") from None
        self.size += len(data)
        return len(data)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
