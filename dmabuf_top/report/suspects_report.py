"""Growth suspects for people (a text table) and for machines (data, schema
``dmabuf-top-suspects/1``)."""

from __future__ import annotations

from typing import Any

from dmabuf_top.analysis.lifecycle import Makers, MakerShare
from dmabuf_top.analysis.suspects import Suspect
from dmabuf_top.model import Snapshot
from dmabuf_top.report.table import align
from dmabuf_top.textsafe import printable
from dmabuf_top.units import human_bytes, size_text

SUSPECTS_SCHEMA = "dmabuf-top-suspects/1"


def makers_to_list(shares: list[MakerShare]) -> list[dict[str, Any]]:
    return [{"pid": m.pid, "comm": m.comm if m.pid is not None else None,
             "buffers": m.buffers, "bytes": m.bytes} for m in shares]


def suspects_to_dict(suspects: list[Suspect], makers: Makers | None = None
                     ) -> list[dict[str, Any]]:
    """Plain data for ``--format yaml``; ``makers`` (from recorded events) adds who
    made the buffers each suspect gained."""
    docs = [
        {
            "kind": s.kind,
            "key": s.key,
            "label": s.label,
            "since": s.since,
            "since_sample": s.since_index + 1,
            "seconds": round(s.seconds, 3),
            "bytes": {"start": s.bytes_start, "now": s.bytes_now},
            "buffers": {"start": s.buffers_start, "now": s.buffers_now},
            "bytes_per_min": round(s.bytes_per_min, 1),
            "buffers_per_min": round(s.buffers_per_min, 3),
            "pss": None if s.pss_now is None else {"start": s.pss_start, "now": s.pss_now},
            "pss_per_min": None if s.pss_per_min is None else round(s.pss_per_min, 1),
            "grew": [m for m, ok in (("bytes", s.grew_bytes), ("buffers", s.grew_buffers)) if ok],
        }
        for s in suspects
    ]
    if makers is not None:
        for doc, s in zip(docs, suspects, strict=True):
            doc["makers"] = makers_to_list(makers.get((s.kind, s.key), []))
    return docs


def suspects_doc(
    found: list[Suspect], file: str, sample: int, samples: int, window: int,
    makers: Makers | None = None,
) -> dict[str, Any]:
    """The whole ``--format yaml`` document: where the suspects were looked for."""
    return {
        "schema": SUSPECTS_SCHEMA,
        "file": file,
        "sample": sample,
        "samples": samples,
        "window": min(window, sample),
        "suspects": suspects_to_dict(found, makers),
    }


def _rate(v: float, raw: bool) -> str:
    if raw:
        return f"{v:+.0f}/min"
    return ("+" if v >= 0 else "-") + human_bytes(abs(v)) + "/min"


def render_text(
    found: list[Suspect], label: str, snap: Snapshot, sample: int, samples: int, window: int,
    raw_bytes: bool = False, makers: Makers | None = None,
) -> str:
    """A line saying where and over which window, then a table of the suspects, then
    (with ``makers``, from recorded events) who made the buffers each one gained."""
    w = min(max(window, 2), sample)
    out = [
        f"{printable(label)}: sample {sample} of {samples} ({snap.taken_at}), "
        f"window: last {w} samples"
    ]
    if not found:
        out.append("no suspects: nothing grew over the window without falling back")
        return "\n".join(out) + "\n"
    heads = ["KIND", "WHAT", "BYTES", "BYTES/MIN", "BUFS", "BUFS/MIN", "PSS/MIN", "GROWING SINCE"]
    rows = [
        [
            s.kind,
            printable(s.label),
            size_text(s.bytes_now, raw_bytes),
            _rate(s.bytes_per_min, raw_bytes),
            str(s.buffers_now),
            f"{s.buffers_per_min:+.1f}/min",
            "-" if s.pss_per_min is None else _rate(s.pss_per_min, raw_bytes),
            f"{s.since} (sample {s.since_index + 1})",
        ]
        for s in found
    ]
    out += align(heads, rows, {2, 3, 4, 5, 6})
    if makers:
        out += _maker_lines(found, makers, raw_bytes)
    return "\n".join(out) + "\n"


def maker_text(m: MakerShare, raw_bytes: bool = False) -> str:
    """``comm (pid): N buffers, SIZE``; the unknown maker as ``made before the events``."""
    who = f"{printable(m.comm)} ({m.pid})" if m.pid is not None else "made before the events"
    n = f"{m.buffers} buffer{'s' if m.buffers != 1 else ''}"
    return f"{who}: {n}, {size_text(m.bytes, raw_bytes)}"


def _maker_lines(found: list[Suspect], makers: Makers, raw_bytes: bool) -> list[str]:
    out = ["", "made by (the buffers each suspect gained, from the recorded events):"]
    for s in found:
        shares = makers.get((s.kind, s.key))
        if shares:
            made = "; ".join(maker_text(m, raw_bytes) for m in shares)
            out.append(f"  {s.kind} {printable(s.label)}: {made}")
    return out
