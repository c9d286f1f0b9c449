"""The command line: headless tables, snapshot files, one-line errors."""

import re
import subprocess
import sys

import pytest

from dmabuf_top.cli import main
from dmabuf_top.cli.options import DEMO_RECORDING
from dmabuf_top.collect.assemble import assemble
from dmabuf_top.io.codec import dump_snapshot
from dmabuf_top.io.loader import load_snapshots
from tests.support.rawscans import scene


@pytest.fixture
def snapfile(tmp_path):
    raw = scene()
    raw.procs[0].comm = "[red]evil\x1b]0;pwned\x07"
    path = tmp_path / "s.yaml"
    path.write_text(dump_snapshot(assemble(raw)))
    return path


def test_once_buffers_sorted_by_size(snapfile, capsys):
    assert main(["--load", str(snapfile), "--once"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    # a file's header: the file, which sample and when; where it was recorded
    assert re.fullmatch(rf"dmabuf-top  file {re.escape(str(snapfile))}  sample 1 of 1  \S+Z",
                        lines[0]), lines[0]
    assert lines[1].startswith("recorded from: local h")
    assert lines[2].startswith("buffers: 4  total: 15.0M (bufinfo)")
    header = next(i for i, ln in enumerate(lines) if ln.startswith("INODE"))
    end = lines.index("", header)
    inodes = [int(ln.split()[0]) for ln in lines[header + 1 : end]]
    assert inodes == [10, 11, 12, 13]  # 8M, 4M, 2M, 1M
    # the footer: what this run cost (the file holds no scan time)
    (cost,) = lines[end + 1 :]
    assert re.fullmatch(r"cost of this run: cpu \d+\.\ds \d+\.\d%  rss \d+(\.\d)?[KMG]",
                        cost), cost
    assert "\x1b" not in out and "\x07" not in out
    assert "[red]evil\\e]0;pwned\\x07(100)" in out


def test_once_processes_bytes_and_sort(snapfile, capsys):
    assert main(["--load", str(snapfile), "--once", "--view", "processes", "--bytes"]) == 0
    out = capsys.readouterr().out
    rows = [ln.split() for ln in out.splitlines() if ln[:1] == " " or ln[:1].isdigit()]
    assert [r[0] for r in rows] == ["200", "100"]  # by rss, largest first
    assert rows[0][6:8] == [str(14 << 20), str(10 << 20)]
    assert main(["--load", str(snapfile), "--once", "--view", "processes", "--sort", "pid"]) == 0
    out = capsys.readouterr().out
    rows = [ln.split() for ln in out.splitlines() if ln[:1] == " " or ln[:1].isdigit()]
    assert [r[0] for r in rows] == ["100", "200"]


def test_once_exporters(snapfile, capsys):
    assert main(["--load", str(snapfile), "--once", "--view", "exporters"]) == 0
    out = capsys.readouterr().out
    assert "drm" in out and "86.7%" in out and "heap" in out


def test_snapshot_to_file_roundtrip(snapfile, tmp_path, capsys):
    out = tmp_path / "again.yaml"
    assert main(["snapshot", "--load", str(snapfile), "-o", str(out)]) == 0
    assert load_snapshots(out)[0] == load_snapshots(snapfile)[0]
    assert out.read_text() == snapfile.read_text()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--once", "--view", "nope"], "unknown view 'nope'"),
        (["--once", "--sort", "nope"], "unknown column 'nope'"),
        (["--once", "--load", "/nonexistent/x.yaml"], "no such file"),
        (["snapshot", "-o", "/nonexistent/dir/x.yaml"], "no such directory"),
        (["--bogus"], "unrecognized arguments"),
        (["-d", "0"], "must be greater than 0"),
    ],
)
def test_errors_are_one_line(argv, message, capsys):
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc != 0
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_once_of_a_recording_names_the_sample_and_keeps_the_recorded_cost_apart(capsys):
    """Issue 25: ``--once`` of a file looked live ("local dtvm ...", no file, no sample)
    and showed the recording's scan time as this run's ``cost:``."""
    shown = load_snapshots(DEMO_RECORDING)[2]
    assert main(["--once", "--demo", "--at", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"dmabuf-top  file {DEMO_RECORDING}  sample 3 of 12  {shown.taken_at}"
    assert lines[1] == f"recorded from: local {shown.source.label()}  {shown.source.privilege}"
    assert not any(ln.startswith("cost:") for ln in lines)
    assert re.fullmatch(r"cost of this run: cpu \d+\.\ds \d+\.\d%  rss \S+", lines[-2])
    assert lines[-1] == f"cost when recorded: scan {shown.scan_seconds:.2f}s"


def test_invalid_yaml_file(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema: [unterminated\n")
    assert main(["--load", str(bad), "--once"]) == 2
    err = capsys.readouterr().err
    assert "invalid YAML" in err and err.count("\n") == 1


def test_snapshot_unwritable_keeps_existing_file(tmp_path, snapfile, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    target = ro / "s.yaml"
    target.write_text("precious\n")
    ro.chmod(0o500)
    try:
        rc = main(["snapshot", "--load", str(snapfile), "-o", str(target)])
    finally:
        ro.chmod(0o700)
    if rc == 0:  # root ignores directory permissions
        assert load_snapshots(target)[0] == load_snapshots(snapfile)[0]
    else:
        assert target.read_text() == "precious\n"
        assert "cannot write" in capsys.readouterr().err


def test_headless_path_does_not_import_textual_or_adbutils(snapfile):
    code = (
        "import sys; from dmabuf_top.cli import main; "
        f"main(['--load', {str(snapfile)!r}, '--once']); "
        "assert 'textual' not in sys.modules and 'adbutils' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_python_dash_m(snapfile):
    r = subprocess.run(
        [sys.executable, "-m", "dmabuf_top", "--load", str(snapfile), "--once"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0 and "INODE" in r.stdout


def test_once_shows_dumpsys_meminfo_totals(tmp_path, capsys):
    raw = scene(with_kernel=False)
    raw.meminfo = " DMA-BUF:   817,715K (      152K mapped +   817,563K unmapped)\n"
    path = tmp_path / "m.yaml"
    path.write_text(dump_snapshot(assemble(raw)))
    assert main(["--load", str(path), "--once", "--bytes"]) == 0
    out = capsys.readouterr().out
    assert f"dumpsys meminfo: DMA-BUF {817715 * 1024}  mapped {152 * 1024}" in out


def test_once_shows_gpu_memory_only_where_the_kernel_has_it(tmp_path, capsys):
    raw = scene()
    raw.proc_meminfo = "MemTotal:  4096 kB\nGPUActive:  2048 kB\nGPUReclaim:  0 kB\n"
    path = tmp_path / "gpu.yaml"
    path.write_text(dump_snapshot(assemble(raw)))
    assert main(["--load", str(path), "--once"]) == 0
    assert "gpu memory (meminfo): active 2.0M  reclaim 0B\n" in capsys.readouterr().out
    raw.proc_meminfo = "MemTotal:  4096 kB\n"  # before 7.0: no line (not a 0)
    path.write_text(dump_snapshot(assemble(raw)))
    assert main(["--load", str(path), "--once"]) == 0
    assert "gpu memory" not in capsys.readouterr().out.lower()
