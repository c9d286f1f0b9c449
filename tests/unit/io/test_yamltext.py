"""YAML aliases in loaded files (issue 21, item 9): a "billion laughs" file of nested
aliases is refused with one line, fast, by the library reader and by every loader command."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import yaml

from dmabuf_top.io.errors import SnapshotError
from dmabuf_top.io.loader import loads_snapshots
from dmabuf_top.io.yamltext import ALIAS_PROBLEM, AliasError, load_all, load_one


def laughs(levels: int = 8, width: int = 9) -> str:
    """A snapshot whose ``taken_at`` is ``width ** levels`` strings through nested
    aliases (the decoder's ``str()`` of it walked all of them: over 60 s, 2 GB)."""
    lines = ["schema: dmabuf-top/1", "a0: &a0 [" + ",".join(["lol"] * width) + "]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]")
    lines += [f"taken_at: *a{levels}", "buffers: []"]
    return "\n".join(lines) + "\n"


def test_the_file_is_small():
    assert len(laughs().encode()) < 700


@pytest.mark.parametrize("load", [load_one, lambda t: list(load_all(t))])
def test_the_library_reader_refuses_an_alias(load):
    with pytest.raises(AliasError) as e:
        load("a: &x [1]\nb: *x\n")
    assert e.value.problem == ALIAS_PROBLEM


def test_a_recursive_alias_is_refused():
    with pytest.raises(AliasError):
        load_one("a: &a [*a]\n")


def test_an_anchor_without_alias_and_plain_stars_still_load():
    assert load_one('a: &x 1\nb: "*x"\nc: x*y\n') == {"a": 1, "b": "*x", "c": "x*y"}
    assert list(load_all("a: 1\n---\nb: [1, 2]\n")) == [{"a": 1}, {"b": [1, 2]}]
    assert load_one("") is None


def test_documents_before_the_alias_are_yielded():
    docs = load_all("a: 1\n---\nb: &x [1]\nc: *x\n")
    assert next(docs) == {"a": 1}
    with pytest.raises(yaml.YAMLError):
        next(docs)


def test_the_loader_answers_in_under_a_second():
    # of CPU: this process's own time, however busy the machine (expanding the
    # aliases would take far longer)
    t0 = time.process_time()
    with pytest.raises(SnapshotError) as e:
        loads_snapshots(laughs(), "bomb.yaml")
    assert time.process_time() - t0 < 1.0
    assert str(e.value) == f"bomb.yaml: invalid YAML (line 2): {ALIAS_PROBLEM}"


@pytest.mark.parametrize(
    "args",
    [
        ["--load", "{f}", "--once"],
        ["diff", "{f}", "{f}"],
        ["suspects", "{f}"],
        ["export", "{f}", "-o", "{out}"],
        ["serve", "--load", "{f}", "--listen", "127.0.0.1:0"],
    ],
    ids=["load", "diff", "suspects", "export", "serve"],
)
def test_every_loader_command_refuses_it_with_one_line(tmp_path, args):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(laughs())
    argv = [a.format(f=bomb, out=tmp_path / "out.json") for a in args]
    # today's code walks 9**8 strings; the timeout is the condition, not a wait
    p = subprocess.run(
        [sys.executable, "-m", "dmabuf_top", *argv],
        capture_output=True, text=True, timeout=10,
    )
    assert p.returncode != 0
    assert p.stdout == ""
    lines = p.stderr.splitlines()
    assert len(lines) == 1, p.stderr
    assert ALIAS_PROBLEM in lines[0] and str(bomb) in lines[0]
    assert not (tmp_path / "out.json").exists()
