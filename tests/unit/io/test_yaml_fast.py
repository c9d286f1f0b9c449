"""The fast YAML writer and parser: every text they write reads back with
``yaml.safe_load`` to exactly the data the PyYAML writer produced, hostile strings
included; the fast parser gives the same data and Snapshot as PyYAML's path for
every writer output and leaves any other YAML to PyYAML."""

from __future__ import annotations

import math
import re

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dmabuf_top.io.codec import dump_snapshot, snapshot_to_dict
from dmabuf_top.io.decode import snapshot_from_dict
from dmabuf_top.io.loader import loads_snapshots
from dmabuf_top.io.record_writer import RecordEncoder
from dmabuf_top.io.yaml_parse import NotOurs, parse
from dmabuf_top.io.yamltext import dump_yaml, load_one
from dmabuf_top.model import Buffer, Holder, KernelInfo, MapRange, Process, Snapshot, Source
from dmabuf_top.textsafe import is_printable
from tests.support.pyyaml_ref import pyyaml_dump, pyyaml_dump_snapshot, pyyaml_load

NON_UTF8 = b"cam\xff\xfe-\xc3(".decode("utf-8", "surrogateescape")
HOSTILE = [
    "", " ", "  ", " lead", "trail ", "a  b", "'", '"', "it's", 'say "hi"', "\\", "back\\slash",
    "a: b", "a:", ":", ": x", "a:b", "kworker/u8:2", "0000:03:00.0", "#", "a #b", "a#b", "#c",
    "-", "- x", "-x", "?", "? x", "?x", "---", "...", "--- x", "|", ">", "!tag", "&a", "*a",
    "%x", "@x", "`x", "[a]", "{a: 1}", "a, b", "<<", "=", "~", "null", "Null", "NULL", "none",
    "yes", "Yes", "YES", "no", "No", "on", "On", "off", "OFF", "y", "Y", "n", "N", "true",
    "True", "FALSE", "123", "-5", "+5", "007", "0x1f", "0o17", "0b101", "1_000", "1e5",
    "1.5", "1.5e3", ".5", "1:20", "190:20:30", ".inf", "-.inf", ".NaN", "2026-11-21",
    "2026-11-21T10:00:00Z", "line\nbreak", "\n", "trailing\n", "tab\there", "\t", "cr\rlf",
    "\x00", "\x07", "\x1b[2J", "\x7f", "\x85", "\xa0", "\u2028", "\u2029", "\ufeff",
    "\ufffe", "é", "éclair", "日本語", "e\U0001f600", "\ud83d\ude00", "\udc80", NON_UTF8,
    "[red]x[/red]", "x" * 3000, "a\u2028b: c", "dmabuf-top/1",
    # bidi, format and zero-width characters: YAML escapes, never raw (issue 21 item 11)
    "evil\u202eexe", "a\u061cb", "zw\u200bsp", "j\u200dj", "\u2066iso\u2069", "tag\U000e0041",
    "soft\u00adhyphen", "lit\\e[31m",
]

#: characters that matter to YAML, mixed with ordinary ones
_YAMLISH = st.text(
    alphabet=st.sampled_from(list(" :#-?'\"\\\n\t\r\x00\x1b\x85\u2028\ufeff,[]{}&*!|>%@`~.01eyno")),
    max_size=12,
)
STRINGS = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=20),
    st.text(st.characters(exclude_categories=()), max_size=8),  # surrogates too
    _YAMLISH,
)
#: a snapshot's integers: under 2**64 either way (the loader refuses others)
INTS = st.integers(-(2**64) + 1, 2**64 - 1)
OPT_INTS = st.none() | INTS
OPT_STRS = st.none() | STRINGS
FLOATS = st.floats(allow_nan=False)


@st.composite
def buffers(draw: st.DrawFn, inode: int) -> Buffer:
    holders = [
        Holder(
            pid=pid,
            fds=draw(st.lists(INTS, max_size=3)),
            maps=draw(st.lists(st.builds(MapRange, INTS, INTS, STRINGS, INTS), max_size=2)),
        )
        for pid in draw(st.lists(st.integers(0, 50), max_size=3, unique=True))
    ]
    return Buffer(
        inode=inode, size=draw(INTS), exporter=draw(OPT_STRS), name=draw(OPT_STRS),
        count=draw(OPT_INTS), attachments=draw(st.lists(STRINGS, max_size=2)),
        fences=draw(st.lists(STRINGS, max_size=2)), holders=holders,
        sources=draw(st.lists(STRINGS, max_size=2)), flags=draw(OPT_INTS),
        mode=draw(OPT_INTS), heap=draw(st.booleans()),
    )


@st.composite
def snapshots(draw: st.DrawFn) -> Snapshot:
    # sorted, as assemble() and the loader keep them (Pss sums floats in this order)
    inodes = sorted(draw(st.lists(INTS, max_size=4, unique=True)))
    bufs = {ino: draw(buffers(ino)) for ino in inodes}
    pids = {h.pid for b in bufs.values() for h in b.holders} | set(draw(st.lists(INTS, max_size=2)))
    procs = {
        pid: Process(pid, draw(STRINGS), draw(STRINGS), draw(OPT_INTS), draw(OPT_INTS),
                     draw(OPT_INTS))
        for pid in sorted(pids)
    }
    ancestors = {
        pid: Process(pid, draw(STRINGS), ppid=draw(OPT_INTS), start_time=draw(OPT_INTS))
        for pid in sorted(draw(st.lists(INTS, max_size=2, unique=True)))
    }
    source = Source(
        draw(STRINGS), draw(STRINGS), draw(STRINGS), draw(OPT_STRS), draw(OPT_STRS),
        draw(OPT_STRS), draw(OPT_STRS), draw(STRINGS),
    )
    kernel = KernelInfo(
        draw(st.lists(STRINGS, max_size=2)), draw(OPT_INTS), draw(OPT_INTS), draw(OPT_INTS),
        draw(st.lists(STRINGS, max_size=2)), draw(OPT_INTS),
        draw(st.dictionaries(STRINGS, INTS, max_size=3)),
    )
    return Snapshot(
        taken_at=draw(STRINGS), source=source, boot_id=draw(STRINGS), buffers=bufs,
        processes=procs, kernel=kernel, warnings=draw(st.lists(STRINGS, max_size=3)),
        unreadable_pids=draw(st.lists(INTS, max_size=2)), scan_seconds=draw(st.none() | FLOATS),
        ancestors=ancestors,
    )


def old_data(snap: Snapshot) -> object:
    """What ``yaml.safe_load`` read from the PyYAML writer's file; PyYAML could not
    write surrogateescape'd bytes at all, so there the plain data is the reference."""
    try:
        return yaml.safe_load(pyyaml_dump_snapshot(snap))
    except UnicodeEncodeError:
        return snapshot_to_dict(snap)


def terminal_safe(text: str) -> bool:
    """No line of ``text`` holds a control, bidi, format or zero-width character."""
    return all(is_printable(line) for line in text.split("\n"))


def check_snapshot(snap: Snapshot) -> None:
    text = dump_snapshot(snap)
    assert terminal_safe(text)
    data = yaml.safe_load(text)
    assert data == old_data(snap)
    assert data == snapshot_to_dict(snap)
    long_key = any(len(k) > 100 for k in snap.kernel.meminfo_kb)
    if not long_key:  # the fast path reads every writer output (long keys: ``? key``)
        assert parse(text) == data
    loaded = loads_snapshots(text)
    assert loaded == [snapshot_from_dict(data)]
    assert dump_snapshot(loaded[0]) == text


@pytest.mark.parametrize("s", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_string_in_every_field(s):
    b = Buffer(
        inode=7, size=4096, exporter=s, name=s, count=1, attachments=[s], fences=[s, "x"],
        holders=[Holder(pid=100, fds=[3], maps=[MapRange(0x7F00, 0x8F00, s, 0)])], sources=[s],
    )
    snap = Snapshot(
        taken_at=s, source=Source("adb", s, s, s, s, s, s, s), boot_id=s, buffers={7: b},
        processes={100: Process(100, s, s, 1000)},
        kernel=KernelInfo(sources=[s], heaps=[s], meminfo_kb={s or "k": 5}),
        warnings=[s], unreadable_pids=[1], scan_seconds=0.25,
    )
    check_snapshot(snap)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(snapshots())
def test_random_snapshots_read_the_same_everywhere(snap):
    check_snapshot(snap)


SCALARS = st.none() | st.booleans() | st.integers() | FLOATS | STRINGS
DOCS = st.dictionaries(
    STRINGS,
    st.recursive(
        SCALARS,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(STRINGS, inner, max_size=3),
        max_leaves=12,
    ),
    max_size=5,
)


@settings(max_examples=200, deadline=None)
@given(DOCS)
def test_any_plain_document_reads_back_the_same(doc):
    text = dump_yaml(doc)
    assert terminal_safe(text)
    data = yaml.safe_load(text)
    assert data == doc
    try:
        old = yaml.safe_load(pyyaml_dump(doc))
    except UnicodeEncodeError:
        old = doc
    assert data == old
    assert load_one(text) == doc
    try:
        assert parse(text) == doc
    except NotOurs:
        # only keys too long for a simple key (``? key``) leave the fast path
        assert re.search(r"^[ -]*\? ", text, re.M)


@pytest.mark.parametrize("v, text", [
    (1e-05, "1.0e-05"), (1e16, "1.0e+16"), (2.0, "2.0"), (-0.5, "-0.5"),
    (math.inf, ".inf"), (-math.inf, "-.inf"),
])
def test_floats_stay_floats(v, text):
    out = dump_yaml({"k": v})
    assert out == f"k: {text}\n"
    assert yaml.safe_load(out) == {"k": v} == parse(out)


def test_nan():
    assert math.isnan(parse(dump_yaml({"k": math.nan}))["k"])
    assert math.isnan(yaml.safe_load(dump_yaml({"k": math.nan}))["k"])


@pytest.mark.parametrize("text", [
    "schema: dmabuf-top/1\nbuffers: [{inode: 1, size: 2}]\n",  # flow style
    "schema: dmabuf-top/1  # a comment\n",
    "# a comment\nschema: dmabuf-top/1\n",
    "a: &x 5\nb: 6\n",  # an anchor (an alias is refused: test_yamltext.py)
    "a: !!str 5\n",  # tags
    "a: yes\n",  # YAML 1.1 bool
    "a: 'quoted'\n",
    "a: 0o17\n",
    "a: 017\n",
    "a:\n  - 1\n",  # indented sequence
    "a:\n    b: 1\n",  # other indentation
    "a: 1\na: 2\n",  # duplicate key
    "a: 1",  # no final newline
    "a: 1\n---\nb: 2\n",
    "a: |\n  text\n",
    "a: \"x\\u00e9\"\n",  # an escape the writer does not write (lower-case hex)
    "a: x\u2028b\n",
    "a:\tb\n",
    "",
])
def test_other_yaml_goes_to_pyyaml(text):
    with pytest.raises(NotOurs):
        parse(text)
    try:
        expected = pyyaml_load(text)  # the loader of before, libyaml's
    except yaml.YAMLError:
        with pytest.raises(yaml.YAMLError):
            load_one(text)
    else:
        assert load_one(text) == expected


def test_hand_edited_snapshot_loads_through_pyyaml():
    snap = Snapshot(
        taken_at="2026-11-21T10:00:00Z",
        buffers={5: Buffer(inode=5, size=4096, name="yes", holders=[Holder(1, [3])])},
        processes={1: Process(1, "on", "/bin/x")},
    )
    text = dump_snapshot(snap).replace("inode: 5\n", "inode: 5  # edited\n")
    with pytest.raises(NotOurs):
        parse(text)
    assert loads_snapshots(text) == [snapshot_from_dict(yaml.safe_load(text))]
    assert loads_snapshots(text)[0].buffers[5].name == "yes"


def test_full_recording_samples_take_the_fast_path():
    snap = Snapshot(
        taken_at="2026-11-21T10:00:00Z", boot_id="b",
        buffers={5: Buffer(inode=5, size=4096, name=NON_UTF8, holders=[Holder(1, [3])])},
        processes={1: Process(1, "a: b", "/bin/x --flag")},
    )
    chunk = RecordEncoder(interval=2.0).encode(snap)
    assert chunk.startswith("---\n")
    assert parse(chunk) == yaml.safe_load(chunk)
    assert parse(chunk)["end"] == 0
