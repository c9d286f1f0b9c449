"""YAML snapshots: the contract, losslessness, atomic writes, bad input."""

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from dmabuf_top.collect.assemble import assemble
from dmabuf_top.io import decode
from dmabuf_top.io.atomic import write_atomic
from dmabuf_top.io.codec import dump_snapshot, snapshot_to_dict
from dmabuf_top.io.decode import buffer_from_dict
from dmabuf_top.io.errors import SnapshotError
from dmabuf_top.io.loader import load_snapshots, loads_snapshots
from tests.support.rawscans import scene


def test_contract_shape():
    snap = assemble(scene())
    doc = yaml.safe_load(dump_snapshot(snap))
    assert doc["schema"] == "dmabuf-top/1"
    assert doc["taken_at"] == "2026-11-21T10:00:00Z"
    assert doc["source"]["kind"] == "local" and doc["source"]["kernel"] == "6.1.0"
    assert set(doc["totals"]) >= {
        "buffers",
        "bytes",
        "userspace_bytes",
        "kernel_only_bytes",
        "userspace_rss",
        "userspace_pss",
    }
    b = next(b for b in doc["buffers"] if b["inode"] == 10)
    assert b["exporter"] == "drm" and b["name"] == "shared" and b["count"] == 3
    assert b["holders"][0] == {"pid": 100, "comm": "compositor", "fds": [5, 6], "maps": []}
    m = next(b for b in doc["buffers"] if b["inode"] == 12)["holders"][0]["maps"][0]
    assert m["start"] == 0x7F0000000000 and m["perms"] == "rw-s"
    assert next(b for b in doc["buffers"] if b["inode"] == 11)["name"] is None
    p = next(p for p in doc["processes"] if p["pid"] == 200)
    assert (p["comm"], p["rss"], p["pss"]) == ("camera", 14 << 20, 10 << 20)
    assert (p["fds"], p["maps"]) == (2, 1)
    assert {e["name"] for e in doc["exporters"]} == {"drm", "system"}
    assert doc["warnings"] == []


def test_hex_addresses_in_text():
    text = dump_snapshot(assemble(scene()))
    assert "start: 0x7f0000000000" in text


def test_roundtrip_lossless_with_hostile_names():
    raw = scene()
    raw.procs[0].comm = "[red]evil\x1b[2J"
    raw.procs[0].cmdline = "x\ty\nz [/b]"
    snap = assemble(raw)
    snap.buffers[11].name = "[bold]\x1bname\twith\nstuff: yes"
    text = dump_snapshot(snap)
    again = loads_snapshots(text)[0]
    assert again == snap
    assert dump_snapshot(again) == text


def test_write_atomic_never_leaves_half_file(tmp_path):
    target = tmp_path / "snap.yaml"
    target.write_text("old content\n")
    write_atomic(target, "new content\n")
    assert target.read_text() == "new content\n"
    assert [p.name for p in tmp_path.iterdir()] == ["snap.yaml"]


def test_write_atomic_unwritable_dir_keeps_old(tmp_path):
    target = tmp_path / "missing" / "snap.yaml"
    with pytest.raises(SnapshotError, match="cannot write"):
        write_atomic(target, "x")


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty file"),
        ("{a: [1, 2", "invalid YAML"),
        ("- 1\n- 2\n", "expected a mapping"),
        ("schema: other/9\n", "unsupported schema"),
        ("schema: dmabuf-top/1\nbuffers: [{size: 3}]\n", "missing key 'inode'"),
        ("schema: dmabuf-top/1\nbuffers: [{inode: x, size: 3}]\n", "wrong type"),
        ("!!python/object:os.system {}\n", "invalid YAML"),
    ],
)
def test_bad_input_is_one_line_error(text, message):
    with pytest.raises(SnapshotError, match=message) as info:
        loads_snapshots(text)
    assert "\n" not in str(info.value)


def test_load_missing_and_directory(tmp_path):
    with pytest.raises(SnapshotError, match="no such file"):
        load_snapshots(tmp_path / "nope.yaml")[0]
    with pytest.raises(SnapshotError, match="is a directory"):
        load_snapshots(tmp_path)[0]


def test_to_dict_totals_match_accounting():
    d = snapshot_to_dict(assemble(scene()))
    assert d["totals"]["bytes"] == 15 << 20
    assert d["totals"]["kernel_only_bytes"] == 1 << 20


# ------------------------------------------- buffer entries: the quick path agrees

#: integers at and past the 64 bits a snapshot holds (the careful path refuses them:
#: so must the quick one)
_EDGE = st.sampled_from([2**64 - 1, 2**64, -(2**64) + 1, -(2**64), 10**400])
_ANY = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), _EDGE, st.text(max_size=2), st.floats(0, 1),
    st.lists(st.one_of(st.integers(0, 3), _EDGE, st.text(max_size=1), st.booleans()), max_size=2),
)
_MAP = st.fixed_dictionaries(
    {},
    optional={
        "start": st.integers(0, 9) | _ANY, "end": st.integers(0, 9) | _ANY,
        "perms": st.just("rw-s") | _ANY, "offset": st.integers(0, 9) | _ANY,
    },
)
_HOLDER = st.fixed_dictionaries(
    {"pid": st.integers(0, 9) | _ANY},
    optional={
        "comm": st.text(max_size=3) | _ANY,
        "fds": st.lists(st.integers(0, 9) | _EDGE, max_size=2) | _ANY,
        "maps": st.lists(_MAP | _ANY, max_size=2) | _ANY,
    },
)
_STRS = st.lists(st.text(max_size=3), max_size=2) | _ANY
_ENTRY = st.fixed_dictionaries(
    {"inode": st.integers(0, 99) | _ANY, "size": st.integers(0, 99) | _ANY},
    optional={
        "exporter": st.text(max_size=3) | _ANY, "name": st.none() | _ANY,
        "count": st.none() | _ANY, "flags": st.none() | _ANY, "mode": st.none() | _ANY,
        "heap": st.booleans() | _ANY, "sources": _STRS, "attachments": _STRS,
        "fences": _STRS, "holders": st.lists(_HOLDER | _ANY, max_size=2) | _ANY,
    },
)


def _outcome(fn, bd):
    comms: dict[int, str] = {}
    try:
        return "ok", fn(bd, "w", comms), comms
    except SnapshotError as e:
        return "error", str(e)


@settings(max_examples=500, deadline=None)
@given(_ENTRY | _ANY)
def test_buffer_entries_read_the_same_on_the_quick_path(bd):
    assert _outcome(buffer_from_dict, bd) == _outcome(decode._buffer_careful, bd)


#: what a snapshot's integers may be: under 2**64 either way
_INT64 = st.integers(-(2**64) + 1, 2**64 - 1)
def _entries(ints: st.SearchStrategy[int], pids: st.SearchStrategy[int]) -> st.SearchStrategy:
    """Buffer entries of the writer's types, with integers drawn from ``ints``."""
    return st.fixed_dictionaries(
        {"inode": ints, "size": ints},
        optional={
            "exporter": st.none() | st.text(max_size=3), "name": st.none() | st.text(max_size=3),
            "count": st.none() | ints, "flags": st.none() | ints,
            "mode": st.none() | ints, "heap": st.booleans(),
            "sources": st.lists(st.text(max_size=3), max_size=2),
            "attachments": st.none() | st.lists(st.text(max_size=3), max_size=2),
            "fences": st.lists(st.text(max_size=3), max_size=2),
            "holders": st.none() | st.lists(st.fixed_dictionaries(
                {"pid": pids},
                optional={
                    "comm": st.text(max_size=3), "fds": st.lists(ints, max_size=2),
                    "maps": st.lists(st.fixed_dictionaries({
                        "start": ints, "end": ints, "perms": st.text(max_size=4),
                    }, optional={"offset": ints}), max_size=2),
                    "handles": st.none() | st.lists(st.fixed_dictionaries(
                        {"fd": ints, "handle": ints},
                        optional={"device": st.text(max_size=3),
                                  "driver": st.none() | st.text(max_size=3)},
                    ), max_size=2),
                },
            ), max_size=3),
        },
    )


_VALID_ENTRY = _entries(_INT64, st.integers(0, 9))


@settings(max_examples=300, deadline=None)
@given(_VALID_ENTRY)
def test_well_typed_entries_take_the_quick_path(bd):
    assert decode._buffer_checked(bd, {}) is not None
    assert _outcome(buffer_from_dict, bd) == _outcome(decode._buffer_careful, bd)


@settings(max_examples=300, deadline=None)
@given(_entries(_INT64 | _EDGE, st.integers(0, 9) | _EDGE))
def test_integers_past_64_bits_are_refused_on_the_quick_path_too(bd):
    """A first port of the range checks failed 5 tests: the quick path took integers
    the careful one refuses. Any integer field past 64 bits: both say the same."""
    assert _outcome(buffer_from_dict, bd) == _outcome(decode._buffer_careful, bd)


def test_parents_start_times_and_ancestors_round_trip():
    """ppid/start_time of holders and the ancestors list are written when known and
    read back (fast reader and PyYAML alike); files without them still load."""
    raw = scene()
    stat = "{} (p) S {} 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 {} 0 0\n"
    raw.procs[0].stat = stat.format(100, 1, 900)
    raw.procs[1].stat = stat.format(200, 100, 950)
    raw.ancestor_stats = {1: "1 (init) S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 3 0 0\n"}
    snap = assemble(raw)
    text = dump_snapshot(snap)
    doc = yaml.safe_load(text)
    assert [(p["ppid"], p["start_time"]) for p in doc["processes"]] == [(1, 900), (100, 950)]
    assert doc["ancestors"] == [{"pid": 1, "comm": "init", "ppid": 0, "start_time": 3}]
    (got,) = loads_snapshots(text)
    assert got == snap
    assert decode.snapshot_from_dict(doc) == snap
    old = assemble(scene())  # as every file before: neither key
    old_text = dump_snapshot(old)
    assert "ppid" not in old_text and "ancestors" not in old_text
    assert loads_snapshots(old_text) == [old]
    doc["processes"][0]["start_time"] = "900"
    with pytest.raises(SnapshotError, match=r"processes\[0\]: 'start_time' has the wrong type"):
        decode.snapshot_from_dict(doc)


def test_gem_handles_round_trip_and_are_absent_from_files_without_them():
    """Holders' GEM handles (new optional keys) are written only where there are
    some, read back by the fast reader as PyYAML reads them, and by every path."""
    from dmabuf_top.io.yaml_parse import parse
    from dmabuf_top.model import GemHandle, Holder

    snap = assemble(scene())
    plain = dump_snapshot(snap)
    assert "handles" not in plain and "handle_bytes" not in plain
    snap.buffers[10].holders[0].handles.append(GemHandle(7, 3, "card0", "vgem"))
    snap.buffers[11].holders.append(Holder(pid=100, handles=[GemHandle(7, 1, "renderD128", None)]))
    text = dump_snapshot(snap)
    assert (
        "    handles:\n    - fd: 7\n      handle: 3\n      device: card0\n      driver: vgem\n"
    ) in text
    doc = yaml.safe_load(text)
    assert parse(text) == doc
    assert doc["buffers"][1]["holders"][-1]["handles"] == [
        {"fd": 7, "handle": 1, "device": "renderD128", "driver": None}
    ]
    (p,) = [p for p in doc["processes"] if p["pid"] == 100]
    assert (p["handles"], p["handle_bytes"]) == (2, snap.buffers[11].size)
    (got,) = loads_snapshots(text)
    assert got == snap and decode.snapshot_from_dict(doc) == snap
    doc["buffers"][1]["holders"][-1]["handles"][0]["handle"] = "1"
    with pytest.raises(SnapshotError, match=r"holders\[1\]\.handles\[0\]: 'handle' has the wrong"):
        decode.snapshot_from_dict(doc)
