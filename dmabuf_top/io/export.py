"""Write the snapshot on screen to a timestamped YAML file."""

from __future__ import annotations

import os
import re
from pathlib import Path

from dmabuf_top.io.atomic import write_atomic
from dmabuf_top.io.codec import dump_snapshot
from dmabuf_top.io.errors import SnapshotError
from dmabuf_top.model import Snapshot


def export_name(snap: Snapshot) -> str:
    """``dmabuf-top-20261121T100000Z.yaml`` from the snapshot's own time."""
    when = snap.taken_at
    stamp = re.sub(r"[^0-9T]", "", when.split(".")[0]) or "snapshot"
    if when.endswith("Z"):
        stamp += "Z"
    return f"dmabuf-top-{stamp}.yaml"


def export_snapshot(snap: Snapshot, directory: str | os.PathLike[str] = ".") -> Path:
    """Write ``snap`` into ``directory`` under a new name; returns the path.
    Raises :class:`SnapshotError` (one line) when it cannot."""
    d = Path(directory).expanduser()
    if not d.is_dir():
        raise SnapshotError(f"cannot write to {d}: not a directory")
    base = export_name(snap)
    path = d / base
    n = 1
    while path.exists():
        n += 1
        path = d / base.replace(".yaml", f"-{n}.yaml")
    write_atomic(path, dump_snapshot(snap))
    return path
