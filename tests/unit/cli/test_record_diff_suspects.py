"""`dmabuf-top record / diff / suspects` end to end, with a synthetic backend;
recorders stopped by SIGTERM and killed by SIGKILL (also while blocked in the
middle of writing a sample)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

import dmabuf_top.cli.record as recording
from dmabuf_top.cli import main
from dmabuf_top.io.codec import dump_snapshot
from dmabuf_top.io.loader import load_snapshots
from tests.support.fake_recorder import FakeBackend, sample
from tests.support.paths import REPO
from tests.support.synth import complete_samples

#: the recorder as a child process (``python -m`` from the repository root)
CHILD = [sys.executable, "-m", "tests.support.fake_recorder"]


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setattr(recording, "open_backend", lambda args: FakeBackend(False))


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_record_count(fake, tmp_path, capsys):
    out = tmp_path / "r.yaml"
    assert main(["record", "-o", str(out), "-n", "4", "-i", "0.01"]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err  # no progress when stderr is not a terminal
    assert err.startswith("recorded 4 samples to ")
    got = load_snapshots(out)
    assert [dump_snapshot(s) for s in got] == [dump_snapshot(sample(i, False)) for i in range(4)]


@pytest.mark.timeout(120)  # a recorder that never stops fails here
def test_record_duration_and_gz(fake, tmp_path, capsys):
    out = tmp_path / "r.yaml.gz"
    t0 = time.monotonic()
    assert main(["record", "-o", str(out), "--duration", "0.25", "-i", "0.05"]) == 0
    # it sampled until the end of the duration (a busy machine only makes it later),
    # at most once a slot: 0, 0.05, ..., 0.2 (a slow scan skips the slots it missed)
    assert time.monotonic() - t0 >= 0.2
    n = len(load_snapshots(out))
    assert 1 <= n <= 5
    assert out.read_bytes()[:2] == b"\x1f\x8b"


def test_record_progress_on_a_tty(fake, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(["record", "-o", str(tmp_path / "r.yaml"), "-n", "2", "-i", "0.01"]) == 0
    err = capsys.readouterr().err
    assert "\r1 samples" in err and "\r2 samples" in err and " buffers" in err


def test_record_usage_errors(fake, tmp_path, capsys):
    out = tmp_path / "r.yaml"
    out.write_text("precious\n")
    assert main(["record", "-o", str(out), "-n", "1"]) == 2
    assert "exists (use --force" in one_error_line(capsys.readouterr().err)
    assert out.read_text() == "precious\n"
    assert main(["record", "-o", str(out), "-n", "1", "--force", "-i", "0.01"]) == 0
    assert len(load_snapshots(out)) == 1
    capsys.readouterr()
    for argv, msg in [
        (["record"], "required: -o"),
        (["record", "-o", str(tmp_path / "x"), "--load", str(out)], "live source"),
        (["record", "-o", str(tmp_path / "no" / "x.yaml")], "no such directory"),
        (["record", "-o", str(tmp_path)], "is a directory"),
        (["record", "-o", "x", "-n", "0"], "must be at least 1"),
        (["record", "-o", "x", "-n", "2", "--duration", "3"], "not allowed with"),
        (["record", "-o", "x", "-i", "-1"], "greater than 0"),
    ]:
        assert main(argv) == 2, argv
        assert msg in one_error_line(capsys.readouterr().err), argv


@pytest.fixture
def rec(fake, tmp_path, capsys) -> Path:
    out = tmp_path / "rec.yaml"
    assert main(["record", "-o", str(out), "-n", "6", "-i", "0.01"]) == 0
    capsys.readouterr()
    return out


def test_diff_cli(rec, tmp_path, capsys):
    assert main(["diff", str(rec)]) == 1  # first vs last
    out = capsys.readouterr().out
    assert f"A: {rec}@1" in out and f"B: {rec}@6" in out
    assert "leak-#" in out and "+5.0M" in out
    proc_section = out.split("processes (")[1].split("exporters:")[0]
    assert "leaker" in proc_section and "steady" not in proc_section
    assert main(["diff", f"{rec}@2", f"{rec}@-1"]) == 1
    assert f"A: {rec}@2" in capsys.readouterr().out
    assert main(["diff", str(rec), "--from", "3", "--to", "3"]) == 0
    assert "no change" in capsys.readouterr().out
    assert main(["diff", f"{rec}@1", f"{rec}@2", "--format", "yaml", "--bytes"]) == 1
    doc = yaml.safe_load(capsys.readouterr().out)
    assert doc["changed"] and [e["name"] for e in doc["appeared"]] == ["churn", "leak-1"]
    assert main(["diff", f"{rec}@1", f"{rec}@2", "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out) == doc  # the same document, bytes as integers
    # two single-snapshot files
    one = tmp_path / "one.yaml"
    one.write_text(dump_snapshot(sample(0, False)))
    assert main(["diff", str(one), str(one)]) == 0
    assert main(["diff", str(one), f"{rec}@1"]) == 0
    capsys.readouterr()


def test_diff_cli_errors(rec, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema: [oops\n")
    for argv, msg in [
        (["diff", f"{rec}@9"], "no sample 9 (it has 6"),
        (["diff", f"{rec}@0"], "not 0"),
        (["diff", f"{rec}@" + "9" * 5000], "sample number too large"),  # was a traceback
        (["diff", str(tmp_path / "missing.yaml")], "no such file"),
        (["diff", str(bad), str(rec)], "invalid YAML"),
        (["diff", str(rec), "--from", "x"], "not a sample number"),
        (["diff"], "required"),
        (["diff", str(rec), "--format", "xml"], "invalid choice"),
    ]:
        assert main(argv) == 2, argv
        assert msg in one_error_line(capsys.readouterr().err), argv


def test_suspects_cli(rec, capsys):
    assert main(["suspects", str(rec), "--window", "5"]) == 1
    out = capsys.readouterr().out
    assert "leaker (200)" in out and "leak-#" in out and "steady" not in out
    assert "+30.0M/min" in out  # 1 MiB per 2 s
    assert main(["suspects", str(rec), "--at", "1"]) == 0
    assert "no suspects" in capsys.readouterr().out
    assert main(["suspects", f"{rec}@3", "--format", "yaml"]) == 1
    doc = yaml.safe_load(capsys.readouterr().out)
    assert doc["sample"] == 3 and doc["samples"] == 6
    assert {s["label"] for s in doc["suspects"]} == {"leaker (200)", "leak-#", "drm"}
    assert main(["suspects", f"{rec}@3", "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out) == doc


_complete = complete_samples


def _wait_for(path: Path, samples: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and _complete(path.read_bytes()) >= samples:
            return
        time.sleep(0.02)
    raise AssertionError(f"recorder did not write {samples} samples in {timeout}s")


def test_sigterm_stops_cleanly(tmp_path):
    out = tmp_path / "t.yaml"
    p = subprocess.Popen(
        [*CHILD, "-o", str(out), "-i", "0.01"], stderr=subprocess.PIPE, cwd=REPO
    )
    _wait_for(out, 3)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=20)
    assert p.returncode == 0 and b"recorded " in err
    data = out.read_bytes()
    assert data.endswith(f"{_complete(data) - 1}}}\n".encode())
    assert len(load_snapshots(out)) == _complete(data)


def test_sigkill_regular_file(tmp_path, capsys):
    out = tmp_path / "k.yaml"
    p = subprocess.Popen(
        [*CHILD, "-o", str(out), "-i", "0.002"], stderr=subprocess.DEVNULL, cwd=REPO
    )
    _wait_for(out, 4)
    p.kill()
    p.wait(20)
    data = out.read_bytes()
    got = load_snapshots(out)
    assert len(got) == _complete(data) >= 4
    assert [dump_snapshot(s) for s in got] == [
        dump_snapshot(sample(i, False)) for i in range(len(got))
    ]
    assert main(["diff", str(out)]) == 1
    assert "leak-#" in capsys.readouterr().out


def test_sigkill_mid_sample(tmp_path, capsys):
    """The recorder writes into a pipe that is read slowly, so it is blocked
    inside the write of a ~150 KB sample when SIGKILL hits: the file gets a
    sample cut in the middle, and must still load up to the last complete one."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    p = subprocess.Popen(
        [*CHILD, "--big", "-o", str(fifo), "-i", "0.001"], stderr=subprocess.DEVNULL, cwd=REPO
    )
    try:
        fd = os.open(fifo, os.O_RDONLY)  # blocks until the recorder opens it
        data = b""
        # read two complete samples and the first KB of the third: the recorder is
        # then inside the single write() of that ~150 KB sample, and stays blocked
        # there once the 64 KB pipe is full
        while _complete(data) < 2 or len(data) - data.rfind(b"end: 1\n") < 1024:
            chunk = os.read(fd, 4096)
            assert chunk, "recorder closed the pipe early"
            data += chunk
        time.sleep(0.3)
        p.kill()
        p.wait(20)
        while chunk := os.read(fd, 65536):
            data += chunk
        os.close(fd)
    finally:
        if p.poll() is None:
            p.kill()
    n = _complete(data)
    assert not data.endswith(b"\n") or not data.endswith(f"end: {n - 1}\n".encode()), (
        "no cut sample at the end"
    )
    out = tmp_path / "cut.yaml"
    out.write_bytes(data)
    got = load_snapshots(out)
    assert len(got) == n >= 2
    for i, s in enumerate(got):
        assert dump_snapshot(s) == dump_snapshot(sample(i, True))
    assert main(["diff", str(out), "--format", "yaml"]) == 1
    doc = yaml.safe_load(capsys.readouterr().out)
    assert doc["b"]["label"] == f"{out}@{n}"
    assert len(doc["appeared"]) == 600 and len(doc["disappeared"]) == 600
