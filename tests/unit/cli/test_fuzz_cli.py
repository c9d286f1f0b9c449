"""The CLI end to end on hostile files: ``dmabuf-top --load FILE --once`` (and the
other commands that read files) on random bytes and mutated real files prints a table
or exactly one error line, never a traceback; a command that fails leaves the files
already on disk as they were."""

from __future__ import annotations

import contextlib
import gzip
import io
from pathlib import Path

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from dmabuf_top.cli import main
from tests.support.fuzz import examples, fuzzed_bytes
from tests.support.paths import DATA

SEEDS = [(DATA / "adb" / "vm-6.1-uid2000.yaml").read_bytes()]
SEEDS += [(DATA / "vm-6.1-leak.yaml").read_bytes()[:12000]]  # a recording, cut


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def one_line_or_table(code: int, out: str, err: str) -> None:
    assert "Traceback" not in err
    if code == 0:
        event("table")
        # a recording cut mid-sample loads, with one warning line naming what was left out
        assert out and (not err or (err.count("\n") == 1 and "was cut short" in err))
    else:
        event(f"exit {code}")
        assert code == 2 and err.count("\n") == 1 and err.startswith("dmabuf-top: error: ")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-cli")


@settings(max_examples=examples(300))
@given(data=st.binary(min_size=1, max_size=4096), gz=st.booleans())
def test_random_bytes_are_one_error_line(workdir: Path, data: bytes, gz: bool) -> None:
    f = workdir / ("random.yaml.gz" if gz else "random.yaml")
    f.write_bytes(gzip.compress(data) if gz else data)
    code, out, err = run(["--load", str(f), "--once"])
    assert code == 2 and out == "" and err.count("\n") == 1 and "Traceback" not in err


@settings(max_examples=examples(300))
@given(data=fuzzed_bytes(SEEDS, max_ops=8), view=st.sampled_from(["buffers", "processes"]))
def test_mutated_files_are_a_table_or_one_error_line(workdir: Path, data: bytes, view: str) -> None:
    f = workdir / "mutated.yaml"
    f.write_bytes(data)
    one_line_or_table(*run(["--load", str(f), "--once", "--view", view]))


def test_the_issue_4k_of_random_bytes(tmp_path):
    """The issue's report: a traceback (UnicodeEncodeError, surrogates not allowed)."""
    f = tmp_path / "random.bin"
    f.write_bytes(bytes((i * 7919 + 13) % 256 for i in range(4096)))
    code, out, err = run(["--load", str(f), "--once"])
    assert (code, out) == (2, "")
    assert err == f"dmabuf-top: error: {f}: not a snapshot: not UTF-8 text (byte 1)\n"


def test_failed_snapshot_leaves_the_old_file(tmp_path):
    old = tmp_path / "out.yaml"
    old.write_text("precious\n")
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"\xff\xfe")
    code, _, err = run(["snapshot", "--load", str(bad), "-o", str(old)])
    assert code == 2 and err.count("\n") == 1
    assert old.read_text() == "precious\n" and sorted(tmp_path.iterdir()) == [bad, old]
