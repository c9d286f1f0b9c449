"""Reading recordings (format ``dmabuf-top-record/1``, written by
:mod:`dmabuf_top.io.record_writer`): every complete sample, deltas replayed onto the
sample before (kept as deltas, see :mod:`dmabuf_top.io.record_samples`); a last sample
cut short by a killed recorder is dropped."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from dmabuf_top.io.codec import SCHEMA
from dmabuf_top.io.decode import snapshot_from_dict
from dmabuf_top.io.errors import SnapshotError
from dmabuf_top.io.events_codec import events_from_doc, is_events_doc
from dmabuf_top.io.record_samples import RecordedSamples, decode_delta
from dmabuf_top.io.record_writer import DELTA_SCHEMA
from dmabuf_top.io.yamltext import invalid_yaml, load_one

_RECORD_KEY = re.compile(r"^(?:record:|--- \{\"schema\":\"dmabuf-top/1-delta\")", re.M)
_DOC_START = re.compile(r"^---(?=[ \t\n]|$)", re.M)


def looks_like_recording(text: str) -> bool:
    """Whether the text holds recording documents (a top-level ``record:`` key
    or a delta line)."""
    return _RECORD_KEY.search(text) is not None


def document_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each document's text, split at the ``---`` lines."""
    starts = [m.start() for m in _DOC_START.finditer(text)]
    if not starts or (starts[0] != 0 and text[: starts[0]].strip()):
        starts.insert(0, 0)
    return list(zip(starts, starts[1:] + [len(text)], strict=True))


def split_documents(text: str) -> list[str]:
    """The text of each document, split at the ``---`` lines."""
    return [text[a:b] for a, b in document_spans(text)]


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


def cut_sample_note(where: str, kept: int) -> str:
    """The one line saying a recording's last sample was cut short and left out."""
    return (
        f"{where}: sample {kept + 1} was cut short mid-write and is left out "
        f"({kept} complete sample{'s' if kept != 1 else ''} loaded)"
    )


def load_recording(
    text: str, where: str, tolerate_tail: bool = True, dropped: list[str] | None = None
) -> RecordedSamples:
    """Every complete sample of a recording's text (rebuilt on demand from the
    decoded deltas: :class:`~dmabuf_top.io.record_samples.RecordedSamples`). With
    ``tolerate_tail`` a last sample cut short (a killed recorder) is dropped, and a
    line saying so is appended to ``dropped``."""
    cut = False
    if tolerate_tail and not text.endswith("\n"):
        end = text.rfind("\n") + 1  # every document ends with a newline
        cut = bool(text[end:].strip())
        text = text[:end]
    spans = document_spans(text)  # each document parsed and replayed in turn: the
    out = _Replay(where)  # parsed documents are not all held at once
    for i, (a, b) in enumerate(spans):
        last = i == len(spans) - 1
        w = f"{where} (document {i + 1})"
        try:
            doc = _parse(text[a:b])
        except (ValueError, yaml.YAMLError) as e:
            if last and tolerate_tail and len(out.samples):
                cut = True
                break
            raise SnapshotError(invalid_yaml(w, e)) from None
        if doc is None:
            continue
        if is_record_doc(doc) and not is_complete(doc):
            if last and tolerate_tail and len(out.samples):
                cut = True
                break  # the sample being written when the recorder stopped
            if last and not len(out.samples):
                raise SnapshotError(f"{where}: no complete sample in the recording")
            raise SnapshotError(f"{w}: incomplete sample (no matching 'end' key)")
        out.add(doc)
    if not len(out.samples):
        raise SnapshotError(f"{where}: empty file, no snapshot in it")
    if cut and dropped is not None:
        dropped.append(cut_sample_note(where, len(out.samples)))
    return out.samples


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


class _Replay:
    """Documents in, samples out: each delta decoded onto the sample before."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.samples = RecordedSamples()
        self.prev_seq: int | None = None

    def add(self, doc: Any) -> None:
        out = self.samples
        w = f"{self.where} (document {len(out) + 1})"
        if is_events_doc(doc):  # the events seen before the next sample
            events, out.events_lost = events_from_doc(doc, w)
            out.events.extend(events)
            return
        if is_record_doc(doc) and not is_complete(doc):
            raise SnapshotError(f"{w}: incomplete sample (no matching 'end' key)")
        seq = _seq(doc) if isinstance(doc, dict) else None
        if isinstance(doc, dict) and doc.get("schema") == DELTA_SCHEMA:
            if out.last is None:
                raise SnapshotError(f"{w}: a delta sample with no full sample before it")
            prev_seq = self.prev_seq
            if prev_seq is None or seq != prev_seq + 1:
                raise SnapshotError(
                    f"{w}: sample {seq} does not follow sample {prev_seq}: the recording is damaged"
                )
            out.add_delta(decode_delta(doc, w))
        else:
            if isinstance(doc, dict) and doc.get("schema") not in (SCHEMA, None):
                raise SnapshotError(
                    f"{w}: unsupported schema {doc.get('schema')!r} (expected {SCHEMA})"
                )
            out.add_full(snapshot_from_dict(doc, w))
        self.prev_seq = seq


def replay(docs: list[Any], where: str) -> RecordedSamples:
    """The samples of a recording's parsed documents (plain snapshot documents
    may be mixed in: each stands for itself), deltas decoded and kept as such."""
    r = _Replay(where)
    for doc in docs:
        r.add(doc)
    return r.samples
