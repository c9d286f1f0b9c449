"""Write what is on screen to a timestamped file: the snapshot (YAML), the screen (SVG,
through :func:`screenshot_text`, as every saved screenshot)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from dmabuf_top.io.atomic import write_atomic
from dmabuf_top.io.codec import dump_snapshot
from dmabuf_top.io.errors import SnapshotError
from dmabuf_top.model import Snapshot
from dmabuf_top.textsafe import printable
from dmabuf_top.timefmt import utc_now


def export_name(when: str, suffix: str = ".yaml") -> str:
    """``dmabuf-top-20261121T100000Z.yaml`` from a time (``taken_at``, ISO-8601)."""
    stamp = re.sub(r"[^0-9T]", "", when.split(".")[0]) or "snapshot"
    if when.endswith("Z"):
        stamp += "Z"
    return f"dmabuf-top-{stamp}{suffix}"


def export_text(text: str, directory: str | os.PathLike[str], name: str) -> Path:
    """Write ``text`` into ``directory`` as ``name`` (``name-2``... when taken), at once
    or not at all; returns the path. Raises :class:`SnapshotError` (one line)."""
    d = Path(directory).expanduser()
    if not d.is_dir():
        raise SnapshotError(f"cannot write to {printable(str(d))}: not a directory")
    stem, dot, suffix = name.rpartition(".")
    path = d / name
    for n in range(2, 10_000):
        try:
            write_atomic(path, text, replace=False)  # never over anything there, links too
            return path
        except FileExistsError:
            path = d / f"{stem}-{n}{dot}{suffix}"
    raise SnapshotError(f"cannot write to {printable(str(d))}: too many files named {name}")


def export_snapshot(snap: Snapshot, directory: str | os.PathLike[str] = ".") -> Path:
    """Write ``snap`` into ``directory`` under a new name, from its time; returns the
    path. Raises :class:`SnapshotError` (one line) when it cannot."""
    return export_text(dump_snapshot(snap), directory, export_name(snap.taken_at))


def screenshot_text(svg: str) -> str:
    """A screenshot (Rich's SVG) as every file of one is written: ``xml:space="preserve"``
    on its root, or librsvg (and the viewers built on it) drops each text run's leading
    and trailing spaces and the columns collapse."""
    head, sep, rest = svg.partition("<svg ")
    if not sep or "xml:space=" in rest.split(">", 1)[0]:
        return svg
    return f'{head}<svg xml:space="preserve" {rest}'


def export_screenshot(svg: str, directory: str | os.PathLike[str] = ".") -> Path:
    """Write a screenshot (SVG text) into ``directory``, named from now."""
    return export_text(screenshot_text(svg), directory, export_name(utc_now(), ".svg"))
