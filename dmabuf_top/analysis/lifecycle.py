"""Buffer lives from dma-buf events (pure): for each buffer born while dmabuf-top
watched, its maker (the exporting process, its comm, when), its importers (who called
``dma_buf_get`` on it), its attachments (device, attach and detach times), its
mappings and its release, kept after the maker's fd is gone and after the release,
for as long as the events stay in the recording or the window.

The events come from collect/bpf_events.py (live) or a recording's events documents
(io/events_codec.py); nothing here reads them, it only derives from the list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from dmabuf_top.analysis import accounting
from dmabuf_top.analysis.suspects import Key, Suspect
from dmabuf_top.model import DmabufEvent, Snapshot
from dmabuf_top.timefmt import parse_time


@dataclass(frozen=True)
class Actor:
    """A process at a moment: who made, imported or released a buffer."""

    pid: int
    comm: str
    time: float


@dataclass
class Attachment:
    """One device attached to a buffer: when, by which process, and when detached."""

    device: str
    pid: int
    attached: float
    detached: float | None = None


@dataclass
class BufferStory:
    """What the events say of one buffer (an inode)."""

    inode: int
    exporter: str
    size: int
    #: the exporting process (None: born before the events begin)
    maker: Actor | None = None
    importers: list[Actor] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    #: processes that mapped it (through the dma-buf fd)
    mappers: list[Actor] = field(default_factory=list)
    #: the last reference went (who dropped it, when); None while it lives
    released: Actor | None = None

    @property
    def devices(self) -> list[str]:
        """Every device that attached, once each, in order."""
        return list(dict.fromkeys(a.device for a in self.attachments))


def buffer_stories(events: Iterable[DmabufEvent], until: float | None = None
                 ) -> dict[int, BufferStory]:
    """inode -> its life, from ``events`` in time order (those after ``until`` left
    out). An export of an inode whose buffer was released starts a new life (kernels
    before 5.18 reuse inode numbers); a buffer seen only after its birth has no maker."""
    lives: dict[int, BufferStory] = {}
    for e in events:
        if until is not None and e.time > until:
            break
        life = lives.get(e.inode)
        if life is None or (e.kind == "export" and life.released is not None):
            life = lives[e.inode] = BufferStory(e.inode, e.exporter, e.size)
        who = Actor(e.pid, e.comm, e.time)
        if e.kind == "export":
            if life.maker is None:
                life.maker = who
        elif e.kind == "get":
            life.importers.append(who)
        elif e.kind == "attach":
            life.attachments.append(Attachment(e.device or "", e.pid, e.time))
        elif e.kind == "detach":
            for a in life.attachments:
                if a.device == (e.device or "") and a.detached is None:
                    a.detached = e.time
                    break
        elif e.kind == "mmap":
            life.mappers.append(who)
        elif e.kind == "release":
            life.released = who
    return lives


def makers(lives: dict[int, BufferStory]) -> dict[int, Actor]:
    """inode -> its maker, for the buffers whose birth was seen."""
    return {ino: life.maker for ino, life in lives.items() if life.maker is not None}


def life_story(life: BufferStory, clock: Callable[[float], str]) -> list[str]:
    """The life as lines for people, oldest first; ``clock`` turns an event time into
    text. Untrusted text (comm, device) is returned as it is: render it safely."""
    steps: list[tuple[float, str]] = []
    if life.maker is not None:
        steps.append((life.maker.time, f"made by {life.maker.comm} ({life.maker.pid})"))
    steps += [(w.time, f"imported by {w.comm} ({w.pid})") for w in life.importers]
    steps += [(w.time, f"mapped by {w.comm} ({w.pid})") for w in life.mappers]
    for a in life.attachments:
        steps.append((a.attached, f"attached to {a.device} (by {a.pid})"))
        if a.detached is not None:
            steps.append((a.detached, f"detached from {a.device}"))
    if life.released is not None:
        r = life.released
        steps.append((r.time, f"released by {r.comm} ({r.pid})"))
    steps.sort(key=lambda s: s[0])
    return [f"{clock(t)}  {text}" for t, text in steps]


@dataclass(frozen=True)
class MakerShare:
    """Who made how many of the buffers a suspect gained (pid None: made before the
    events begin, or where no events were recorded)."""

    pid: int | None
    comm: str
    buffers: int
    bytes: int


def _members(snap: Snapshot, kind: str, key: object) -> dict[int, int]:
    """inode -> size of the buffers of one suspect (analysis/suspects.py's kinds)."""
    if kind == "process":
        return {i: b.size for i, b in snap.buffers.items() if key in b.pids}
    key_of = accounting.GROUP_KEYS[kind]
    return {i: b.size for i, b in snap.buffers.items() if key_of(b) == key}


def growth_makers(start: Snapshot, end: Snapshot, kind: str, key: object,
                  lives: dict[int, BufferStory]) -> list[MakerShare]:
    """The makers of the buffers the suspect ``(kind, key)`` holds in ``end`` and did
    not in ``start`` (the growth), most buffers first."""
    before = _members(start, kind, key)
    shares: dict[tuple[int | None, str], list[int]] = {}
    for ino, size in _members(end, kind, key).items():
        if ino in before:
            continue
        life = lives.get(ino)
        maker = life.maker if life is not None else None
        who = (maker.pid, maker.comm) if maker is not None else (None, "")
        s = shares.setdefault(who, [0, 0])
        s[0] += 1
        s[1] += size
    out = [MakerShare(pid, comm, n, b) for (pid, comm), (n, b) in shares.items()]
    out.sort(key=lambda m: (-m.buffers, m.pid is None, m.pid or 0))
    return out


#: (kind, key) of a suspect -> who made the buffers it gained
Makers = dict[Key, list[MakerShare]]


def suspect_makers(found: list[Suspect], snaps: Sequence[Snapshot], idx: int,
                   events: Sequence[DmabufEvent]) -> Makers:
    """Who made the buffers each suspect gained from its ``since`` sample to sample
    ``idx``, from the ``events`` up to that sample's time."""
    lives = buffer_stories(events, until=parse_time(snaps[idx].taken_at))
    return {
        (s.kind, s.key): growth_makers(snaps[s.since_index], snaps[idx], s.kind, s.key, lives)
        for s in found
    }
