"""Samples named on the command line: ``FILE`` or ``FILE@N`` (1 = first, -1 = last),
each file loaded once (``diff`` and ``suspects``)."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

from dmabuf_top.cli.options import UsageError, sample_index, warn
from dmabuf_top.io.loader import load_snapshots
from dmabuf_top.model import Snapshot


class SampleFiles:
    """Loads each file once; picks samples by number (1 = first, -1 = last)."""

    def __init__(self) -> None:
        self._loaded: dict[str, Sequence[Snapshot]] = {}

    def load(self, path: str) -> Sequence[Snapshot]:
        if path not in self._loaded:
            dropped: list[str] = []
            self._loaded[path] = load_snapshots(path, dropped)
            warn(dropped)
        return self._loaded[path]

    def pick(self, spec: str, default: int) -> tuple[Sequence[Snapshot], int, str]:
        """(all samples of the file, index of the one ``spec`` names, label)."""
        path, number = split_spec(spec)
        snaps = self.load(path)
        count = len(snaps)
        idx = sample_index(default if number is None else number, count, path)
        label = path if count == 1 else f"{path}@{idx + 1}"
        return snaps, idx, label


def split_spec(spec: str) -> tuple[str, int | None]:
    """``FILE@N`` -> (FILE, N); a path that exists as given is taken whole."""
    if os.path.exists(spec):
        return spec, None
    m = re.fullmatch(r"(.+)@(-?[0-9]+)", spec)
    if m is None:
        return spec, None
    if len(m.group(2).lstrip("-")) > 18:  # no file has that many; int() may refuse it
        raise UsageError(f"{m.group(1)}: sample number too large")
    n = int(m.group(2))
    if n == 0:
        raise UsageError(f"{spec}: samples count from 1 (first) or -1 (last), not 0")
    return m.group(1), n
