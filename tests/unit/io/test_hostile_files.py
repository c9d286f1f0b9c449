"""Inputs the loader fuzz tests (test_fuzz_loaders.py) found raising something else than
a one-line SnapshotError, kept as regular tests."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import pytest
import yaml

from dmabuf_top.io.codec import dump_snapshot
from dmabuf_top.io.errors import SnapshotError
from dmabuf_top.io.loader import MAX_FILE_MIB, gunzip_complete, load_snapshots, loads_snapshots
from tests.support.fuzz import gzip_bomb
from tests.support.paths import DATA, REPO

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


@pytest.mark.parametrize(
    "line, problem",
    [
        ("taken_at: " + "9" * 5000, "Exceeds the limit"),  # int() refuses it
        ("taken_at: 2026-13-45", "month must be in 1..12"),  # a date that is none
    ],
)
def test_yaml_scalars_the_constructor_refuses(line, problem):
    assert problem in one_line_error(loads_snapshots, "schema: dmabuf-top/1\n" + line + "\n")


@pytest.mark.parametrize(
    "key, value, problem",
    [
        ("unreadable_pids", [None], "unreadable_pids: expected a list of integers"),
        ("unreadable_pids", ["3- 4"], "unreadable_pids: expected a list of integers"),
        ("kernel", {"meminfo_kb": {"dmabuf": None}}, "'meminfo_kb['dmabuf']' has the wrong"),
        ("kernel", {"meminfo_kb": {"\n": 10**30}}, "'meminfo_kb['\\n']' is out of range"),
        ("kernel", {"total_bytes": 10**400}, "'total_bytes' is out of range"),
    ],
)
def test_wrong_values_in_a_snapshot(key, value, problem):
    doc = yaml.safe_load(SNAPSHOT)
    doc[key] = value
    assert problem in one_line_error(loads_snapshots, yaml.safe_dump(doc))


def test_huge_sizes_and_addresses_are_refused():
    """A size or map end of 400 digits loaded, then the tables (float) and the writer
    (Pss) raised OverflowError."""
    doc = yaml.safe_load(SNAPSHOT)
    doc["buffers"][0]["size"] = 10**400
    assert "'size' is out of range" in one_line_error(loads_snapshots, yaml.safe_dump(doc))
    doc = yaml.safe_load(SNAPSHOT)
    held = next(b for b in doc["buffers"] if any(h["maps"] for h in b["holders"]))
    next(h for h in held["holders"] if h["maps"])["maps"][0]["end"] = 10**400
    assert "'end' is out of range" in one_line_error(loads_snapshots, yaml.safe_dump(doc))


def test_values_that_are_only_shown_are_taken_as_text():
    """A non-string adb serial reached Source.label() (str.join: TypeError); a huge
    scan_seconds raised OverflowError in float()."""
    doc = yaml.safe_load(SNAPSHOT)
    doc["source"].update(kind="adb", serial=[1, 2], model=7)
    doc["scan_seconds"] = 10**400
    snap = loads_snapshots(yaml.safe_dump(doc))[0]
    assert snap.source.label().startswith("7 [1, 2]") and snap.scan_seconds is None
    dump_snapshot(snap)


def _delta(extra: str) -> str:
    head, _, _ = RECORDING.partition("\n--- {")
    first_delta = RECORDING[len(head) + 1 :].split("\n", 1)[0]
    doc = json.loads(first_delta[4:])
    return head + "\n--- " + json.dumps(doc)[:-1] + extra + "}\n" + "---\nschema: x\n"


@pytest.mark.parametrize(
    "extra, problem",
    [
        (', "x": ' + "[" * 100000 + "]" * 100000, "nested too deeply"),  # RecursionError
        (', "x": "\\udcb5"', "invalid text: not UTF-8"),  # json.loads gives a lone surrogate
        (', "x": "\udcb5"', "invalid text: not UTF-8"),
    ],
)
def test_hostile_delta_lines(extra, problem):
    """Deep nesting raised RecursionError; a lone surrogate (escaped or raw) in a
    delta went into the names and broke every writer of them."""
    assert problem in one_line_error(loads_snapshots, _delta(extra), "f")


def test_random_bytes_through_the_cli_are_one_line(tmp_path, capsys):
    from dmabuf_top.cli import main

    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes((i * 7919 + 13) % 256 for i in range(4096)))
    assert main(["--load", str(junk), "--once"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "not UTF-8" in err


def test_a_gz_that_inflates_past_the_cap_is_refused_with_one_line():
    """Issue 21: 2 MB of gzip inflated to 4 GB; it stops at the cap now."""
    bomb = gzip.compress(bytes(4 << 20)) + gzip.compress(bytes(4 << 20))
    with pytest.raises(SnapshotError) as e:
        gunzip_complete(bomb, "bomb.yaml.gz", limit=6 << 20)
    assert str(e.value) == f"bomb.yaml.gz: exceeds {MAX_FILE_MIB} MiB (decompressed): refusing"
    assert len(gunzip_complete(bomb, "ok.gz", limit=8 << 20)) == 8 << 20


def test_a_file_past_the_cap_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    import dmabuf_top.io.loader as loader

    monkeypatch.setattr(loader, "MAX_FILE_BYTES", 1000)
    path = tmp_path / "big.yaml"
    path.write_text(SNAPSHOT)
    assert one_line_error(load_snapshots, path) == (
        f"{path}: exceeds {MAX_FILE_MIB} MiB: refusing"
    )


def test_a_gz_bomb_is_one_line_and_exit_2_for_the_cli(tmp_path):
    """The real cap: a .gz of MAX_FILE_MIB + 64 MiB of zeros (~600 KiB on disk)."""
    bomb = gzip_bomb(tmp_path / "bomb.yaml.gz", MAX_FILE_MIB + 64)
    p = subprocess.run(
        [sys.executable, "-m", "dmabuf_top", "--load", str(bomb), "--once"],
        capture_output=True, text=True, timeout=120, cwd=str(REPO),
    )
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.splitlines() == [
        f"dmabuf-top: error: {bomb}: exceeds {MAX_FILE_MIB} MiB (decompressed): refusing"
    ]


@pytest.mark.parametrize("command", [["--once", "--load"], ["diff"]])  # one loader under all
def test_deep_nesting_for_the_pure_python_loader_is_one_line(tmp_path, command):
    """5,000 nested ``[``: libyaml stops at its depth limit, but a ``\\uDCxx`` escape
    sends the text to PyYAML's pure-Python loader, whose recursion ran out (a
    RecursionError traceback from --load, diff, suspects, export)."""
    path = tmp_path / "deep.yaml"
    path.write_text('name: "\\uDC80"\nx: ' + "[" * 5_000 + "\n")
    assert one_line_error(load_snapshots, path).startswith(f"{path}: invalid YAML")
    p = subprocess.run([sys.executable, "-m", "dmabuf_top", *command, str(path)],
                       capture_output=True, text=True, cwd=REPO, timeout=120)  # fmt: skip
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.startswith("dmabuf-top: error: ") and p.stderr.count("\n") == 1, p.stderr
