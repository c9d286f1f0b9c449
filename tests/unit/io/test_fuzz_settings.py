"""Property-based fuzzing of the settings reader (io/settings.py): a real settings file
mutated as bytes, and its document with fields swapped for any value; the reader gives
Settings that hold only known views, columns and values, or one printable SettingsError."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import event, given, settings
from hypothesis import strategies as st

from dmabuf_top.io.settings import (
    INTERVAL_RANGE,
    UNITS,
    Settings,
    SettingsError,
    read_settings,
    settings_doc,
    settings_from_doc,
    write_settings,
)
from dmabuf_top.textsafe import is_printable
from tests.support.fuzz import examples, fuzzed_bytes

VIEWS = {"buffers": ["inode", "size", "name", "holders"], "processes": ["pid", "rss", "comm"]}
SEED = Settings(
    theme="dmabuf-dark", view="processes", interval=2.0, units="human",
    sort={"buffers": ("size", True), "processes": ("pid", False)},
    hidden_columns={"buffers": ["inode", "name"], "processes": ["comm"]},
)
DOC = settings_doc(SEED)
KEYS = [*DOC, "sort.buffers", "sort.processes", "hidden_columns.buffers", "nope"]
VALUES = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12),
        st.sampled_from(["buffers", "size", "bytes", "human", "\x1b[2J", "[bold]x", 10**400]),
    ),
    lambda kids: st.lists(kids, max_size=3)
    | st.dictionaries(st.sampled_from(["column", "reversed", "buffers", "x"]), kids, max_size=3),
    max_leaves=6,
)


def check(s: Settings) -> None:
    """Everything the reader let through is something the app knows."""
    assert s.theme is None or (s.theme and is_printable(s.theme))
    assert s.view is None or s.view in VIEWS
    lo, hi = INTERVAL_RANGE
    assert s.interval is None or (math.isfinite(s.interval) and lo <= s.interval <= hi)
    assert s.units is None or s.units in UNITS
    for view, (col, rev) in s.sort.items():
        assert col in VIEWS[view] and isinstance(rev, bool)
    for view, hidden in s.hidden_columns.items():
        assert set(hidden) < set(VIEWS[view])


def settings_or_says_why(load: Any, *args: Any) -> None:
    try:
        s = load(*args)
    except SettingsError as e:
        msg = str(e)
        assert msg and is_printable(msg)  # one line, nothing for a terminal
        event("SettingsError: " + msg.split(": ", 2)[-1][:24])
        return
    event("settings")
    check(s)


@pytest.fixture(scope="module")
def seed_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("seed") / "config.yaml"
    write_settings(path, SEED)
    return path.read_bytes()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-settings")


def test_the_seed_is_a_settings_file(seed_bytes: bytes) -> None:
    assert yaml.safe_load(seed_bytes) == DOC


@settings(max_examples=examples(600))
@given(program=st.data())
def test_a_settings_file_reads_or_says_why(workdir: Path, seed_bytes: bytes, program) -> None:
    data = program.draw(fuzzed_bytes([seed_bytes], max_ops=8))
    path = workdir / "config.yaml"
    path.write_bytes(data)
    settings_or_says_why(read_settings, path, VIEWS)


@st.composite
def damaged(draw: st.DrawFn) -> Any:
    doc = copy.deepcopy(DOC)
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(KEYS))
        node, _, sub = key.rpartition(".")
        target = doc.get(node) if node else doc
        if not isinstance(target, dict):
            continue
        if draw(st.booleans()):
            target.pop(sub, None)
        else:
            target[sub] = draw(VALUES)
    return doc if draw(st.integers(0, 9)) else draw(VALUES)


@settings(max_examples=examples(1500))
@given(damaged())
def test_settings_documents_with_wrong_values_read_or_say_why(doc: Any) -> None:
    settings_or_says_why(settings_from_doc, doc, VIEWS, "config.yaml")
