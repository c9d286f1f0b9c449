"""A recording opens at its last sample (``--once --load``, ``snapshot --load``),
``--at N`` picks another (numbered as ``diff FILE@N``), and a recording cut
mid-sample loads with one warning line naming what was left out."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dmabuf_top.cli import main
from dmabuf_top.io.codec import dump_snapshot
from dmabuf_top.io.loader import load_snapshots
from dmabuf_top.io.record_writer import RecordingWriter
from tests.support.paths import REPO
from tests.support.synth import leak_series


@pytest.fixture
def rec(tmp_path):
    """Five samples of a leak: sample k holds k leaky frames."""
    path = tmp_path / "rec.yaml"
    with RecordingWriter(path, interval=2.0) as w:
        for s in leak_series(5):
            w.add(s)
    return path


def once_buffers(argv, capsys) -> int:
    """The buffer count ``--once`` reports for the sample it shows."""
    assert main(["--once", *argv]) == 0
    first = capsys.readouterr().out.splitlines()[2]
    assert first.startswith("buffers: ")
    return int(first.split()[1])


def test_once_shows_the_last_sample_and_at_picks_another(rec, capsys):
    counts = [len(s.buffers) for s in load_snapshots(rec)]
    assert len(set(counts)) == 5  # each sample has its own count
    assert once_buffers(["--load", str(rec)], capsys) == counts[-1]
    assert once_buffers(["--load", str(rec), "--at", "1"], capsys) == counts[0]
    assert once_buffers(["--load", str(rec), "--at", "-2"], capsys) == counts[-2]
    assert once_buffers(["--load", str(rec), "--at", "3"], capsys) == counts[2]


def test_snapshot_load_writes_the_last_sample_or_at(rec, tmp_path, capsys):
    samples = load_snapshots(rec)
    out = tmp_path / "one.yaml"
    assert main(["snapshot", "--load", str(rec), "-o", str(out)]) == 0
    assert out.read_text() == dump_snapshot(samples[-1])
    assert main(["snapshot", "--load", str(rec), "--at", "1"]) == 0
    assert capsys.readouterr().out == dump_snapshot(samples[0])


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--at", "6"], "no sample 6 (it has 5: 1..5, or -1..-5 from the end)"),
        (["--at", "-6"], "no sample -6"),
        (["--at", "0"], "samples count from 1 (first) or -1 (last), not 0"),
        (["--at", "x"], "not a sample number: 'x'"),
    ],
)
def test_bad_at_is_one_line(rec, capsys, argv, message):
    for cmd in (["--once"], ["snapshot"]):
        assert main([*cmd, "--load", str(rec), *argv]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err


def test_at_needs_a_file(capsys):
    assert main(["snapshot", "--at", "1"]) == 2
    assert "--at picks a sample of a recording: use it with --load FILE" in capsys.readouterr().err


def test_a_recording_cut_mid_sample_warns_on_stderr(rec, tmp_path):
    text = rec.read_text()
    cut = tmp_path / "cut.yaml"
    cut.write_text(text[: len(text) - 25])  # into the last sample
    run = subprocess.run(
        [sys.executable, "-m", "dmabuf_top", "--once", "--load", str(cut)],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stderr == (
        f"dmabuf-top: warning: {cut}: sample 5 was cut short mid-write and is left out "
        "(4 complete samples loaded)\n"
    )
    assert run.stdout.splitlines()[2].startswith(
        f"buffers: {len(load_snapshots(rec)[3].buffers)} "
    )  # the last complete sample
    whole = subprocess.run(
        [sys.executable, "-m", "dmabuf_top", "--once", "--load", str(rec)],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert whole.returncode == 0 and whole.stderr == ""


@pytest.mark.parametrize("command", [
    ["diff", "{cut}@1", "{cut}@-1"],
    ["suspects", "{cut}", "--window", "3"],
    ["export", "{cut}", "-o", "{out}"],
])
def test_every_command_reading_a_cut_recording_warns_once(command, rec, tmp_path, capsys):
    text = rec.read_text()
    cut = tmp_path / "cut.yaml"
    cut.write_text(text[: len(text) - 25])  # into the last sample
    argv = [a.format(cut=cut, out=tmp_path / "trace.json") for a in command]
    assert main(argv) in (0, 1)  # (diff, suspects: 1 = something grew)
    err = capsys.readouterr().err
    assert err.count("dmabuf-top: warning:") == 1, err  # (diff reads the file once)
    assert f"dmabuf-top: warning: {cut}: sample 5 was cut short mid-write" in err
