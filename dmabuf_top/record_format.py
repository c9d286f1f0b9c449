"""Recordings: many samples in one append-only multi-document YAML file.

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
  (pid, comm, cmdline, uid of added or changed processes). An unchanged sample
  is about 120 bytes. JSON because it loads ~16x faster than block YAML.
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
import re
from pathlib import Path
from typing import Any

import yaml

from .model import Buffer, Snapshot
from .snapshot_io import (
    SCHEMA,
    SnapshotError,
    buffer_from_dict,
    buffer_to_dict,
    dump_yaml,
    kernel_from_dict,
    kernel_to_dict,
    process_from_dict,
    snapshot_from_dict,
    snapshot_to_dict,
    source_from_dict,
    source_to_dict,
    yaml_loader,
)

RECORD_FORMAT = "dmabuf-top-record/1"
DELTA_SCHEMA = "dmabuf-top/1-delta"

#: top-level keys a delta repeats only when they changed
_HEADER_KEYS = ("source", "boot_id", "kernel", "warnings", "unreadable_pids")


# ---------------------------------------------------------------- writing


def _recorded_processes(snap: Snapshot) -> dict[int, tuple[str, str, int | None]]:
    """The processes a snapshot document keeps: those holding a buffer
    (what ``snapshot_to_dict`` lists), as (comm, cmdline, uid)."""
    out: dict[int, tuple[str, str, int | None]] = {}
    for buf in snap.buffers.values():
        for h in buf.holders:
            if h.pid not in out:
                p = snap.processes.get(h.pid)
                out[h.pid] = (p.comm, p.cmdline, p.uid) if p else ("", "", None)
    return out


def _header(snap: Snapshot) -> dict[str, Any]:
    return {
        "source": source_to_dict(snap.source),
        "boot_id": snap.boot_id,
        "kernel": kernel_to_dict(snap.kernel),
        "warnings": list(snap.warnings),
        "unreadable_pids": list(snap.unreadable_pids),
    }


class RecordEncoder:
    """Turns consecutive snapshots into recording documents (text, no I/O)."""

    def __init__(self, interval: float | None = None, full_every: int = 0) -> None:
        self.interval = interval
        #: also write a full sample every this many samples (0: only when needed)
        self.full_every = full_every
        self.seq = 0
        self._prev: Snapshot | None = None
        self._prev_procs: dict[int, tuple[str, str, int | None]] = {}
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
        return "---\n" + dump_yaml(doc)

    def _full(self, snap: Snapshot) -> dict[str, Any]:
        body = snapshot_to_dict(snap)
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
        procs: dict[int, tuple[str, str, int | None]],
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
            doc["processes"] = [
                {"pid": pid, "comm": procs[pid][0], "cmdline": procs[pid][1], "uid": procs[pid][2]}
                for pid in sorted(new)
            ]
        doc["end"] = self.seq
        return doc


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
        flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | os.O_APPEND
        flags |= os.O_TRUNC if overwrite else os.O_EXCL
        try:
            self._fd: int | None = os.open(self.path, flags, 0o644)
        except FileExistsError:
            raise SnapshotError(f"cannot write {path}: file exists") from None
        except OSError as e:
            raise SnapshotError(f"cannot write {path}: {e.strerror or e}") from None
        self.size = 0

    @property
    def samples(self) -> int:
        return self.encoder.seq

    def add(self, snap: Snapshot) -> int:
        """Append one sample; returns the bytes written."""
        if self._fd is None:
            raise SnapshotError(f"cannot write {self.path}: recording closed")
        data = self.encoder.encode(snap).encode("utf-8", "surrogateescape")
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


# ---------------------------------------------------------------- reading


_RECORD_KEY = re.compile(r"^(?:record:|--- \{\"schema\":\"dmabuf-top/1-delta\")", re.M)
_DOC_START = re.compile(r"^---(?=[ \t\n]|$)", re.M)


def looks_like_recording(text: str) -> bool:
    """Whether the text holds recording documents (a top-level ``record:`` key
    or a delta line)."""
    return _RECORD_KEY.search(text) is not None


def split_documents(text: str) -> list[str]:
    """The text of each document, split at the ``---`` lines."""
    starts = [m.start() for m in _DOC_START.finditer(text)]
    if not starts or (starts[0] != 0 and text[: starts[0]].strip()):
        starts.insert(0, 0)
    return [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)], strict=True)]


def _parse(chunk: str) -> Any:
    if chunk.startswith("--- {"):
        return json.loads(chunk[4:])
    return yaml.load(chunk, Loader=yaml_loader())


def load_recording(text: str, where: str, tolerate_tail: bool = True) -> list[Snapshot]:
    """Snapshots of every complete sample of a recording's text. With
    ``tolerate_tail`` a last sample cut short (a killed recorder) is dropped."""
    if tolerate_tail and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]  # every document ends with a newline
    chunks = split_documents(text)
    docs: list[Any] = []
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        w = f"{where} (document {i + 1})"
        try:
            doc = _parse(chunk)
        except (ValueError, yaml.YAMLError) as e:
            if last and tolerate_tail and docs:
                break
            mark = getattr(e, "problem_mark", None)
            at = f" (line {mark.line + 1})" if mark is not None else ""
            problem = getattr(e, "problem", None) or str(e).split("\n")[0] or "invalid"
            raise SnapshotError(f"{w}: invalid YAML{at}: {problem}") from None
        if doc is None:
            continue
        if is_record_doc(doc) and not is_complete(doc):
            if last and tolerate_tail and docs:
                break  # the sample being written when the recorder stopped
            if last and not docs:
                raise SnapshotError(f"{where}: no complete sample in the recording")
            raise SnapshotError(f"{w}: incomplete sample (no matching 'end' key)")
        docs.append(doc)
    if not docs:
        raise SnapshotError(f"{where}: empty file, no snapshot in it")
    return replay(docs, where)


def is_record_doc(doc: Any) -> bool:
    return isinstance(doc, dict) and ("record" in doc or doc.get("schema") == DELTA_SCHEMA)


def _seq(doc: dict[str, Any]) -> int | None:
    rec = doc.get("record")
    seq = rec.get("seq") if isinstance(rec, dict) else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None


def is_complete(doc: dict[str, Any]) -> bool:
    """A recording document is complete when it ends with ``end: <its seq>``."""
    seq = _seq(doc)
    end = doc.get("end")
    return seq is not None and isinstance(end, int) and not isinstance(end, bool) and end == seq


def _int_list(val: Any, where: str) -> list[int]:
    if val is None:
        return []
    if not isinstance(val, list) or not all(
        isinstance(x, int) and not isinstance(x, bool) for x in val
    ):
        raise SnapshotError(f"{where}: expected a list of integers")
    return val


def _merge_section(
    prev: dict[int, Any], doc: dict[str, Any], name: str, parse: Any, key_of: Any, where: str
) -> dict[int, Any]:
    """``prev`` with the delta's ``NAME_removed`` keys dropped and its ``NAME``
    entries added or replaced; keys stay sorted."""
    out = dict(prev)
    for k in _int_list(doc.get(f"{name}_removed"), f"{where}: {name}_removed"):
        out.pop(k, None)
    raw = doc.get(name) or []
    if not isinstance(raw, list):
        raise SnapshotError(f"{where}: '{name}' has the wrong type ({type(raw).__name__})")
    # new keys above every known one (the usual case: the kernel counts inodes
    # and pids up) are appended in order; anything else re-sorts
    top = next(reversed(out), None)
    in_order = True
    for i, d in enumerate(raw):
        item = parse(d, f"{where}: {name}[{i}]")
        k = key_of(item)
        if k not in out:
            if top is not None and k < top:
                in_order = False
            top = k if top is None else max(top, k)
        out[k] = item
    return out if in_order else dict(sorted(out.items()))


def apply_delta(prev: Snapshot, doc: dict[str, Any], where: str) -> Snapshot:
    """The snapshot a delta document describes, given the sample before it."""
    buffers = _merge_section(
        prev.buffers, doc, "buffers", buffer_from_dict, lambda b: b.inode, where
    )
    processes = _merge_section(
        prev.processes, doc, "processes", process_from_dict, lambda p: p.pid, where
    )
    taken_at = doc.get("taken_at")
    scan = doc.get("scan_seconds")
    src = doc.get("source")
    kd = doc.get("kernel")
    if "source" in doc and not isinstance(src, dict):
        raise SnapshotError(f"{where}: 'source' has the wrong type")
    if "kernel" in doc and not isinstance(kd, dict):
        raise SnapshotError(f"{where}: 'kernel' has the wrong type")
    warnings = doc.get("warnings", prev.warnings)
    if not isinstance(warnings, list):
        raise SnapshotError(f"{where}: 'warnings' has the wrong type")
    return Snapshot(
        taken_at=taken_at if isinstance(taken_at, str) else str(taken_at or ""),
        source=source_from_dict(src) if isinstance(src, dict) else prev.source,
        boot_id=str(doc["boot_id"] or "") if "boot_id" in doc else prev.boot_id,
        buffers=buffers,
        processes=processes,
        kernel=kernel_from_dict(kd, where) if isinstance(kd, dict) else prev.kernel,
        warnings=[str(w) for w in warnings],
        unreadable_pids=_int_list(doc.get("unreadable_pids", prev.unreadable_pids), where),
        scan_seconds=float(scan) if isinstance(scan, (int, float)) else None,
    )


def replay(docs: list[Any], where: str) -> list[Snapshot]:
    """Snapshots of a recording's parsed documents (plain snapshot documents
    may be mixed in: each stands for itself)."""
    out: list[Snapshot] = []
    prev: Snapshot | None = None
    prev_seq: int | None = None
    for i, doc in enumerate(docs):
        w = f"{where} (document {i + 1})"
        if is_record_doc(doc) and not is_complete(doc):
            raise SnapshotError(f"{w}: incomplete sample (no matching 'end' key)")
        seq = _seq(doc) if isinstance(doc, dict) else None
        if isinstance(doc, dict) and doc.get("schema") == DELTA_SCHEMA:
            if prev is None:
                raise SnapshotError(f"{w}: a delta sample with no full sample before it")
            if prev_seq is None or seq != prev_seq + 1:
                raise SnapshotError(
                    f"{w}: sample {seq} does not follow sample {prev_seq}: the recording is damaged"
                )
            snap = apply_delta(prev, doc, w)
        else:
            if isinstance(doc, dict) and doc.get("schema") not in (SCHEMA, None):
                raise SnapshotError(
                    f"{w}: unsupported schema {doc.get('schema')!r} (expected {SCHEMA})"
                )
            snap = snapshot_from_dict(doc, w)
        out.append(snap)
        prev, prev_seq = snap, seq
    return out
