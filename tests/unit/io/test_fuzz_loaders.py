"""Property-based fuzzing of the snapshot and recording loaders (io/loader.py): random
bytes, the real files of tests/data mutated and cut, plain and .gz, deep nesting, huge
numbers, wrong types in any field. A file loads (and what loads renders and writes
back) or SnapshotError says why in one line; nothing else escapes."""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import event, given, settings
from hypothesis import strategies as st

from dmabuf_top.io.codec import dump_snapshot
from dmabuf_top.io.decode import snapshot_from_dict
from dmabuf_top.io.errors import SnapshotError
from dmabuf_top.io.loader import load_snapshots, loads_snapshots
from dmabuf_top.io.record_reader import replay, split_documents
from dmabuf_top.io.record_writer import DELTA_SCHEMA
from dmabuf_top.io.yamltext import dump_yaml
from dmabuf_top.report.once import render_table
from dmabuf_top.textsafe import is_printable
from tests.support.fuzz import decode, examples, fuzzed_bytes
from tests.support.paths import DATA

RECORDINGS = [DATA / "vm-6.1-leak.yaml", DATA / "vm-6.1-leak-killed.yaml"]
SNAPSHOTS = [DATA / "vm-6.1" / "snapshot.yaml", DATA / "adb" / "vm-6.1-uid2000.yaml"]


def _docs(text: str) -> list[Any]:
    return [
        json.loads(c[4:]) if c.startswith("--- {") else yaml.safe_load(c)
        for c in split_documents(text)
    ]


def _trimmed(path: Path, keep: int = 4) -> bytes:
    """A recording with its full samples cut to ``keep`` buffers (block YAML as the
    writer writes it; the deltas as they are): small enough to parse thousands of times."""
    out = []
    for chunk in split_documents(path.read_text()):
        if chunk.startswith("--- {") or not chunk.strip():
            out.append(chunk)
            continue
        doc = yaml.safe_load(chunk)
        doc["buffers"] = doc["buffers"][:keep]
        doc["processes"] = doc["processes"][:keep]
        out.append("---\n" + dump_yaml(doc))
    return "".join(out).encode()


SEEDS = [p.read_bytes() for p in SNAPSHOTS] + [_trimmed(p) for p in RECORDINGS]


#: the parsed documents of each file (a recording: full and delta samples)
DOCS = [[d for d in _docs(s.decode()) if d is not None] for s in SEEDS]


def loads_or_says_why(load: Any, *args: Any) -> None:
    """What the CLI does with a file: load it, show every sample, write one back."""
    try:
        snaps = load(*args)
    except SnapshotError as e:
        assert str(e) and is_printable(str(e))  # one line, nothing for a terminal
        event("SnapshotError: " + str(e).split(": ", 2)[-1][:30])
        return
    event("loaded")
    assert snaps
    for snap in snaps[:3]:
        for view in ("buffers", "processes", "exporters"):
            render_table(snap, view, None)
        dump_snapshot(snap)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-loaders")


@settings(max_examples=examples(1500))
@given(fuzzed_bytes(SEEDS, max_ops=12))
def test_text_loads_or_says_why(data: bytes) -> None:
    loads_or_says_why(loads_snapshots, decode(data), "f")


@settings(max_examples=examples(500))
@given(data=fuzzed_bytes(SEEDS, max_ops=8), gz=st.booleans())
def test_file_loads_or_says_why(workdir: Path, data: bytes, gz: bool) -> None:
    path = workdir / ("f.yaml.gz" if gz else "f.yaml")
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    loads_or_says_why(load_snapshots, path)


@settings(max_examples=examples(300))
@given(seed=st.sampled_from(SEEDS[2:]), members=st.integers(1, 6), cut=st.integers(0, 1 << 20))
def test_gz_recording_cut_anywhere_loads_or_says_why(
    workdir: Path, seed: bytes, members: int, cut: int
) -> None:
    chunks = split_documents(seed.decode())
    size = max(1, len(chunks) // members)
    packed = b"".join(
        gzip.compress("".join(chunks[i : i + size]).encode(), mtime=0)
        for i in range(0, len(chunks), size)
    )
    path = workdir / "cut.yaml.gz"
    path.write_bytes(packed[: cut % (len(packed) + 1)])
    loads_or_says_why(load_snapshots, path)


HUGE = st.sampled_from([10**400, -(10**400), 2**64, -1, 1e308 * 10, float("nan")])
LEAF = st.one_of(
    st.none(), st.booleans(), st.integers(), HUGE, st.floats(), st.text(max_size=8),
    st.binary(max_size=4),
)
VALUES = st.recursive(
    LEAF,
    lambda kids: st.lists(kids, max_size=3)
    | st.dictionaries(st.text(max_size=6), kids, max_size=3),
    max_leaves=6,
)


def _paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:4]):
            out += _paths(v, (*prefix, i))
    return out


PATHS = [[_paths(d) for d in docs] for docs in DOCS]
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@st.composite
def damaged_docs(draw: st.DrawFn) -> list[Any]:
    """A file's documents with some fields (anywhere) swapped for any value, or dropped."""
    f = draw(st.integers(0, len(DOCS) - 1))
    docs = copy.deepcopy(DOCS[f])
    for _ in range(draw(st.integers(1, 4))):
        d = draw(st.integers(0, len(docs) - 1))
        path = draw(st.sampled_from(PATHS[f][d]))
        if not path:
            docs[d] = draw(VALUES)
            continue
        node = docs[d]
        try:
            for key in path[:-1]:
                node = node[key]
            if draw(st.booleans()) and isinstance(node, dict):
                node.pop(path[-1], None)
            else:
                node[path[-1]] = draw(VALUES)
        except (KeyError, IndexError, TypeError):
            pass  # an earlier change took that path away
    return docs


@settings(max_examples=examples(800))
@given(damaged_docs())
def test_documents_with_wrong_types_load_or_say_why(docs: list[Any]) -> None:
    if any(isinstance(d, dict) and d.get("schema") == DELTA_SCHEMA for d in docs):
        loads_or_says_why(replay, docs, "f")
    else:
        loads_or_says_why(lambda: [snapshot_from_dict(d, "f") for d in docs])


@settings(max_examples=examples(300))
@given(damaged_docs())
def test_damaged_documents_written_as_text_load_or_say_why(docs: list[Any]) -> None:
    parts = []
    for d in docs:
        if isinstance(d, dict) and d.get("schema") == DELTA_SCHEMA:
            parts.append("--- " + json.dumps(d, default=repr) + "\n")
        else:
            parts.append("---\n" + yaml.dump(d, Dumper=DUMPER))
    loads_or_says_why(loads_snapshots, "".join(parts), "f")
