"""The recordings committed from the VM (tests/support/vm/leak_recording.py): a leaking
scenario recorded by the real `dmabuf-top record` on Debian 6.1, and one whose
recorder was killed with SIGKILL."""

from __future__ import annotations

import yaml

from dmabuf_top.cli import main
from dmabuf_top.io.codec import dump_snapshot
from dmabuf_top.io.loader import load_snapshots
from tests.support.leak_checks import check_diff, check_suspects
from tests.support.paths import DATA
from tests.support.synth import complete_samples, last_sample_start

LEAK = DATA / "vm-6.1-leak.yaml"
KILLED = DATA / "vm-6.1-leak-killed.yaml"


def test_committed_leak_recording_diff():
    snaps = load_snapshots(LEAK)
    assert len(snaps) == 12
    assert snaps[0].source.kernel.startswith("6.1.")
    check_diff(snaps)


def test_committed_leak_recording_suspects():
    check_suspects(load_snapshots(LEAK))


def test_committed_leak_cli(capsys):
    assert main(["diff", str(LEAK), "--format", "yaml"]) == 1
    doc = yaml.safe_load(capsys.readouterr().out)
    assert doc["processes"][0]["comm"] == "leak-grow"
    assert main(["suspects", str(LEAK), "--window", "8"]) == 1
    out = capsys.readouterr().out
    assert "leak-grow" in out and "leak-#" in out and "leak-ring" not in out


def test_killed_recording_and_a_cut_tail(tmp_path, capsys):
    snaps = load_snapshots(KILLED)
    data = KILLED.read_bytes()
    n = complete_samples(data)
    assert len(snaps) == n >= 4
    assert main(["diff", str(KILLED)]) == 1
    assert "leak-grow" in capsys.readouterr().out
    # the same file cut in the middle of its last sample, at several places
    start = last_sample_start(data)
    for cut in (start + 4, (start + len(data)) // 2, len(data) - 2):
        p = tmp_path / "cut.yaml"
        p.write_bytes(data[:cut])
        got = load_snapshots(p)
        assert [dump_snapshot(s) for s in got] == [dump_snapshot(s) for s in snaps[:-1]]
        assert main(["diff", str(p), "--from", "1", "--to", "-1"]) == 1
        assert f"{p}@{n - 1}" in capsys.readouterr().out
