"""Inputs the loader fuzz tests (test_fuzz_loaders.py) found raising something else than
a one-line SnapshotError, kept as regular tests."""

from __future__ import annotations

import gzip

import pytest

from dmabuf_top.io.errors import SnapshotError
from dmabuf_top.io.loader import load_snapshots, loads_snapshots
from tests.support.paths import DATA

SNAPSHOT = (DATA / "vm-6.1" / "snapshot.yaml").read_text()
RECORDING = (DATA / "vm-6.1-leak.yaml").read_text()


def one_line_error(load, *args) -> str:
    with pytest.raises(SnapshotError) as e:
        load(*args)
    msg = str(e.value)
    assert msg and "\n" not in msg
    return msg


@pytest.mark.parametrize("name", ["bytes.yaml", "bytes.yaml.gz"])
def test_invalid_utf8_file(tmp_path, name):
    """The issue's case: 4 KiB of random bytes gave UnicodeEncodeError (surrogates
    not allowed) from the YAML parser, after a surrogateescape decode."""
    data = b"\x80\xb5" + bytes(range(256)) * 16
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    assert one_line_error(load_snapshots, path) == (
        f"{path}: not a snapshot: not UTF-8 text (byte 0)"
    )


def test_text_with_a_lone_surrogate():
    msg = one_line_error(loads_snapshots, "schema: \udcb5\n", "f")
    assert msg == "f: invalid text: not UTF-8"


def test_a_character_cut_at_the_end_of_a_recording_drops_only_that_sample(tmp_path):
    path = tmp_path / "rec.yaml"
    tail = b"---\nschema: dmabuf-top/1\nrecord:\n  seq: 12\nname: \xc3"  # killed mid-character
    path.write_bytes(RECORDING.encode() + tail)
    assert len(load_snapshots(path)) == RECORDING.count("\n---") + 1


def test_random_bytes_through_the_cli_are_one_line(tmp_path, capsys):
    from dmabuf_top.cli import main

    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes((i * 7919 + 13) % 256 for i in range(4096)))
    assert main(["--load", str(junk), "--once"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "not UTF-8" in err
