"""Reading recordings (format ``dmabuf-top-record/1``, written by
:mod:`dmabuf_top.io.record_writer`): every complete sample, deltas replayed onto the
sample before; a last sample cut short by a killed recorder is dropped."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from dmabuf_top.io.codec import SCHEMA
from dmabuf_top.io.decode import (
    ancestors_from_list,
    buffer_from_dict,
    int_list,
    kernel_from_dict,
    process_from_dict,
    seconds,
    snapshot_from_dict,
    source_from_dict,
    unverified_from_list,
)
from dmabuf_top.io.errors import SnapshotError
from dmabuf_top.io.record_writer import DELTA_SCHEMA
from dmabuf_top.io.yamltext import invalid_yaml, load_one
from dmabuf_top.model import Snapshot

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
    """One document; ValueError or YAMLError when it is not one."""
    if chunk.startswith("--- {"):
        try:
            doc = json.loads(chunk[4:])
        except RecursionError:
            raise ValueError("nested too deeply") from None
        # the writer's JSON is ASCII; a lone surrogate (raw, or escaped) is no text
        if not chunk.isascii():
            chunk.encode("utf-8")  # UnicodeEncodeError
        if "\\ud" in chunk or "\\uD" in chunk:
            json.dumps(doc, ensure_ascii=False).encode("utf-8")
        return doc
    return load_one(chunk)


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
            raise SnapshotError(invalid_yaml(w, e)) from None
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


def _merge_section(
    prev: dict[int, Any], doc: dict[str, Any], name: str, parse: Any, key_of: Any, where: str
) -> dict[int, Any]:
    """``prev`` with the delta's ``NAME_removed`` keys dropped and its ``NAME``
    entries added or replaced; keys stay sorted."""
    out = dict(prev)
    for k in int_list(doc.get(f"{name}_removed"), f"{where}: {name}_removed"):
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
        unreadable_pids=int_list(doc.get("unreadable_pids", prev.unreadable_pids), where),
        unverified_maps=(
            unverified_from_list(doc["unverified_maps"], where)
            if "unverified_maps" in doc else prev.unverified_maps
        ),
        ancestors=(
            ancestors_from_list(doc["ancestors"], where) if "ancestors" in doc else prev.ancestors
        ),
        scan_seconds=seconds(scan),
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
