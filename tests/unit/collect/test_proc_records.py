"""A process's fd records and maps entries kept refresh after refresh
(collect/proc_records.py): a process whose texts changed parses again only the texts
that changed, and gives what a fresh parse gives."""

from __future__ import annotations

import copy

from dmabuf_top.collect.parsers.maps import parse_maps_line
from dmabuf_top.collect.proc_records import ProcRecords, fd_records
from dmabuf_top.collect.rawscan import ProcText
from tests.support.rawscans import fdinfo, maps_line, scale_scene


def _infos(records: list) -> dict[int, object]:
    return {rec[2]: rec[3] for _, rec in records}


def _one_refresh(fds: int) -> tuple[ProcRecords, list, list, ProcText]:
    """A process of ``fds`` dma-buf fds asked for in one refresh: the records kept, what
    they gave, and a copy of the process (the next fetch, to change)."""
    proc = scale_scene(1, fds).procs[0]
    kept = ProcRecords()
    kept.turn()
    fds_, maps = kept(proc)
    kept.turn()
    return kept, fds_, maps, copy.deepcopy(proc)


def test_a_changed_process_parses_again_only_what_changed() -> None:
    kept, fds, maps, again = _one_refresh(8)  # the next fetch: one fd, one mapping new
    again.fdinfo[11] = fdinfo(5000, 4096, 1, "new")
    again.maps.append(maps_line(0x7E0000000000, 4096, 5000, "new"))
    fds2, maps2 = kept(again)
    assert fds2 == fd_records(again)
    assert maps2 == [e for e in map(parse_maps_line, again.maps) if e is not None]
    before, now = _infos(fds), _infos(fds2)
    assert now[11] is not before[11]
    assert all(now[fd] is before[fd] for fd in now if fd != 11)  # not parsed again
    assert all(a is b for a, b in zip(maps, maps2[: len(maps)], strict=True))
    kept.turn()
    assert kept(again) == (fds2, maps2) and len(kept) == 1


def test_only_the_last_refresh_is_reused() -> None:
    """A process not asked for in a refresh is forgotten: the next one parses anew."""
    kept, fds, _, again = _one_refresh(4)
    kept.turn()
    again.fdinfo[10] = fdinfo(5000, 4096, 1, "new")
    fds2, _ = kept(again)
    assert fds2 == fd_records(again)
    assert not set(map(id, _infos(fds2).values())) & set(map(id, _infos(fds).values()))
