"""Reading snapshot files: the one loader that picks the format (a snapshot, several
documents, or a recording), ``.gz`` files, and several files as one recording."""

from __future__ import annotations

import os
import zlib
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, overload

import yaml

from dmabuf_top.inflate import TooLarge, inflate_member
from dmabuf_top.io.decode import snapshot_from_dict
from dmabuf_top.io.errors import SnapshotError
from dmabuf_top.io.gcpause import gc_paused
from dmabuf_top.io.record_reader import load_recording, looks_like_recording
from dmabuf_top.io.yamltext import invalid_yaml, load_all
from dmabuf_top.model import DmabufEvent, Snapshot
from dmabuf_top.timefmt import parse_time

#: the most text a file to load may hold, once inflated (MiB): a day's recording at
#: 2 s is ~40,000 samples of a few KiB (deltas): far under it. Past it the file is
#: refused once that much is read (or inflated: a small .gz can inflate to terabytes).
MAX_FILE_MIB = 512
MAX_FILE_BYTES = MAX_FILE_MIB << 20


def _too_large(where: str, decompressed: bool) -> SnapshotError:
    what = " (decompressed)" if decompressed else ""
    return SnapshotError(f"{where}: exceeds {MAX_FILE_MIB} MiB{what}: refusing")


def gunzip_complete(
    data: bytes, where: str = "file", dropped: list[str] | None = None,
    limit: int = MAX_FILE_BYTES,
) -> bytes:
    """Decompress concatenated gzip members (a recording writes one per sample).
    A member cut short by a killed writer is dropped with everything after it (a
    line saying so is appended to ``dropped``); raises SnapshotError when not even
    one member is complete, or when the text inflates past ``limit`` bytes (the
    inflating stops there: memory stays bounded)."""
    out = []
    left = limit
    rest = data
    while rest:
        try:
            member = inflate_member(rest, left)
        except TooLarge:
            raise _too_large(where, decompressed=True) from None
        except zlib.error:
            if not out:
                raise SnapshotError(f"{where}: not a gzip file") from None
            break
        if not member.complete:
            break  # truncated member: an incomplete sample
        out.append(member.data)
        left -= len(member.data)
        rest = member.rest
    if not out and data:
        raise SnapshotError(f"{where}: truncated gzip file, no complete document in it")
    if rest and dropped is not None:
        dropped.append(
            f"{where}: the last sample (gzip member {len(out) + 1}) was cut short "
            f"mid-write and is left out ({len(out)} complete member"
            f"{'s' if len(out) != 1 else ''} loaded)"
        )
    return b"".join(out)


def utf8_text(data: bytes, where: str) -> str:
    """``data`` as UTF-8; SnapshotError when it is not. A character cut short at the
    very end (a writer killed mid-write) is left out: the loader drops a cut tail."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.end == len(data) and e.reason == "unexpected end of data":
            return data[: e.start].decode("utf-8")
        raise SnapshotError(f"{where}: not a snapshot: not UTF-8 text (byte {e.start})") from None


def read_text(path: str | os.PathLike[str], dropped: list[str] | None = None) -> str:
    """A snapshot file's text (``.gz`` decompressed: see :func:`gunzip_complete`)."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise _too_large(str(path), decompressed=False)
        if p.suffix == ".gz":
            data = gunzip_complete(data, str(path), dropped)
        return utf8_text(data, str(path))
    except FileNotFoundError:
        raise SnapshotError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise SnapshotError(f"{path}: is a directory") from None
    except OSError as e:
        raise SnapshotError(f"{path}: cannot read: {e.strerror or e}") from None


def _documents_after(text: str, err: yaml.YAMLError) -> bool:
    """Whether a document starts after the place a YAML error was found (then
    the broken document is not the last one: not a cut tail but damage)."""
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    if mark is None:
        return False
    idx = max(0, mark.index - 1)
    return text.find("\n---", idx) != -1


@gc_paused
def loads_snapshots(
    text: str, where: str = "snapshot", tolerate_tail: bool = True,
    dropped: list[str] | None = None,
) -> Sequence[Snapshot]:
    """Parse one or more YAML documents: a snapshot, several, or a recording
    (see :mod:`dmabuf_top.io.record_reader`). With ``tolerate_tail``, a broken or
    incomplete last document (a recording cut mid-write) is dropped when
    earlier ones parsed, and a line naming it is appended to ``dropped``."""
    if looks_like_recording(text):
        return load_recording(text, where, tolerate_tail, dropped)
    docs: list[Any] = []
    try:
        for doc in load_all(text):
            if doc is not None:
                docs.append(doc)
    except (yaml.YAMLError, ValueError) as e:  # ValueError: int(), dates, surrogates
        if not (tolerate_tail and docs) or _documents_after(text, e):
            raise SnapshotError(invalid_yaml(where, e)) from None
        if dropped is not None:
            dropped.append(_cut_document(where, len(docs)))
    if not docs:
        raise SnapshotError(f"{where}: empty file, no snapshot in it")
    out = []
    for i, doc in enumerate(docs):
        w = where if len(docs) == 1 else f"{where} (document {i + 1})"
        try:
            out.append(snapshot_from_dict(doc, w))
        except SnapshotError:
            if tolerate_tail and i == len(docs) - 1 and out:
                if dropped is not None:
                    dropped.append(_cut_document(where, len(out)))
                break
            raise
    return out


def _cut_document(where: str, kept: int) -> str:
    return (
        f"{where}: document {kept + 1} was cut short mid-write and is left out "
        f"({kept} complete document{'s' if kept != 1 else ''} loaded)"
    )


def load_snapshots(
    path: str | os.PathLike[str], dropped: list[str] | None = None
) -> Sequence[Snapshot]:
    """Every sample of one file; what a cut tail left out goes to ``dropped``."""
    return loads_snapshots(read_text(path, dropped), where=str(path), dropped=dropped)

class LoadedFiles(Sequence[tuple[Snapshot, Path]]):
    """Every sample of several files, each with the file it came from, in the order
    given or in time order; a recording's samples stay as it keeps them (rebuilt
    on demand), nothing is copied."""

    def __init__(self, parts: list[tuple[Sequence[Snapshot], Path]], by_time: bool) -> None:
        self._parts = parts
        self._order = [(k, i) for k, (seq, _) in enumerate(parts) for i in range(len(seq))]
        if by_time:
            times = [parse_time(parts[k][0][i].taken_at) for k, i in self._order]
            if all(t is not None for t in times):  # equal times keep the order given
                pairs = sorted(zip(times, self._order, strict=True), key=lambda p: p[0] or 0.0)
                self._order = [ki for _, ki in pairs]

    @cached_property
    def events(self) -> list[DmabufEvent]:
        """The dma-buf events the recordings among the files hold, in time order
        (sorted once: the files do not change once loaded)."""
        found = [e for seq, _ in self._parts for e in getattr(seq, "events", ())]
        return sorted(found, key=lambda e: e.time)

    @property
    def events_lost(self) -> int:
        """The events the recorders among the files counted lost, summed."""
        return sum(getattr(seq, "events_lost", 0) for seq, _ in self._parts)

    def __len__(self) -> int:
        return len(self._order)

    def _get(self, index: int) -> tuple[Snapshot, Path]:
        k, i = self._order[index]
        seq, path = self._parts[k]
        return seq[i], path

    @overload
    def __getitem__(self, index: int) -> tuple[Snapshot, Path]: ...

    @overload
    def __getitem__(self, index: slice) -> list[tuple[Snapshot, Path]]: ...

    def __getitem__(
        self, index: int | slice
    ) -> tuple[Snapshot, Path] | list[tuple[Snapshot, Path]]:
        if isinstance(index, slice):
            return [self._get(i) for i in range(*index.indices(len(self)))]
        return self._get(index)


def load_files(
    paths: list[str | os.PathLike[str]], dropped: list[str] | None = None
) -> LoadedFiles:
    """Every sample of every file, with the file it came from. Several files are
    put in time order when every sample has a time (equal times keep the order
    given): ``--load before.yaml after.yaml`` is one recording. A line per cut
    tail left out goes to ``dropped``."""
    parts = [(load_snapshots(p, dropped), Path(p)) for p in paths]
    return LoadedFiles(parts, by_time=len(paths) > 1)
