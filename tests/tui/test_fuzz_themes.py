"""Property-based fuzzing of the theme reader (tui/themes.py): the bundled theme files
mutated as bytes, and their documents with fields swapped for any value; a file gives
a Theme or a one-line ThemeError naming it, nothing else."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import event, given, settings
from hypothesis import strategies as st
from textual.theme import Theme

from dmabuf_top.textsafe import is_printable
from dmabuf_top.tui.themes import ThemeError, bundled_theme_dir, load_theme_file, theme_from_dict
from tests.support.fuzz import examples, fuzzed_bytes

FILES = sorted(bundled_theme_dir().glob("*.yaml"))
SEEDS = [p.read_bytes() for p in FILES]
DOCS = [yaml.safe_load(s) for s in SEEDS]
SEEDS.append(SEEDS[0] + b"luminosity_spread: 0.15\ntext_alpha: 1\n")  # numbers to break
KEYS = sorted({k for d in DOCS for k in d}) + ["variables.dmabuf-new", "nope"]
VALUES = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.sampled_from([10**400, float("inf")]),
        st.floats(), st.text(max_size=12), st.sampled_from(["#fff", "red", "ansi_red", ""]),
    ),
    lambda kids: st.lists(kids, max_size=3)
    | st.dictionaries(st.text(max_size=6), kids, max_size=3),
    max_leaves=5,
)


def theme_or_says_why(load: Any, *args: Any) -> None:
    try:
        theme = load(*args)
    except ThemeError as e:
        assert str(e) and is_printable(str(e))  # one line, nothing for a terminal
        event("ThemeError: " + str(e).split(": ", 2)[-1][:24])
        return
    event("theme")
    assert isinstance(theme, Theme)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-themes")


@settings(max_examples=examples(600))
@given(data=fuzzed_bytes(SEEDS, max_ops=8))
def test_theme_file_loads_or_says_why(workdir: Path, data: bytes) -> None:
    path = workdir / "theme.yaml"
    path.write_bytes(data)
    theme_or_says_why(load_theme_file, path)


@st.composite
def damaged(draw: st.DrawFn) -> Any:
    doc = copy.deepcopy(draw(st.sampled_from(DOCS)))
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(KEYS))
        node, _, sub = key.rpartition(".")
        target = doc.get(node) if node else doc
        if not isinstance(target, dict):
            continue  # an earlier change took the variables away
        if draw(st.booleans()):
            target.pop(sub, None)
        else:
            target[sub] = draw(VALUES)
    return doc if draw(st.integers(0, 9)) else draw(VALUES)


@settings(max_examples=examples(1500))
@given(damaged())
def test_theme_documents_with_wrong_values_give_a_theme_or_say_why(doc: Any) -> None:
    theme_or_says_why(theme_from_dict, doc, "t.yaml")
