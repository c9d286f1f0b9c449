"""``--dmabuf-dump``: the layout of Android's dmabuf_dump, compared line by line with
what dmabuf_dump's own format strings print for a real VM snapshot
(tests/data/dmabuf_dump/README.md says how the fixtures were made)."""

from __future__ import annotations

import pytest

from dmabuf_top.cli import main
from dmabuf_top.collect.assemble import assemble
from dmabuf_top.io.loader import load_snapshots
from dmabuf_top.report.dmabuf_dump import NOT_FOUND, render_dump
from tests.support.paths import DATA
from tests.support.rawscans import scene

VM_SNAPSHOT = DATA / "vm-6.1" / "snapshot.yaml"
FIXTURES = DATA / "dmabuf_dump"


@pytest.mark.parametrize("view", ["p", "a", "b"])
def test_layout_is_dmabuf_dumps_line_by_line(view):
    snap = load_snapshots(VM_SNAPSHOT)[0]
    want = (FIXTURES / f"vm-6.1-{view}.txt").read_text().split("\n")
    got = render_dump(snap, view).split("\n")
    for i, (w, g) in enumerate(zip(want, got, strict=False)):
        assert g == w, f"line {i + 1}"
    assert len(got) == len(want)


def test_cli_dmabuf_dump_views(capsys):
    snap = str(VM_SNAPSHOT)
    for flag, view in (("--dmabuf-dump", "p"), ("--dmabuf-dump=a", "a"),
                       ("--dmabuf-dump=b", "b")):
        assert main(["--load", snap, flag]) == 0  # implies --once
        assert capsys.readouterr().out == (FIXTURES / f"vm-6.1-{view}.txt").read_text()
    assert main(["--load", snap, "--dmabuf-dump=ab"]) == 0
    b, a = (FIXTURES / "vm-6.1-b.txt").read_text(), (FIXTURES / "vm-6.1-a.txt").read_text()
    assert capsys.readouterr().out == b + "\n\n" + a


def test_totals_line_matches_the_snapshot_totals():
    snap = load_snapshots(VM_SNAPSHOT)[0]
    last = render_dump(snap).split("\n")[-2]
    assert last == (
        "dmabuf total: 50304 kB kernel_rss: 6144 kB userspace_rss: 48256 kB "
        "userspace_pss: 44160 kB"
    )
    assert 50304 * 1024 == snap.kernel.total_bytes


def test_no_kernel_total_and_no_buffers():
    raw = scene(with_kernel=False)
    out = render_dump(assemble(raw))
    assert "Warning: Could not get total exported dmabufs. Kernel size will be 0.\n" in out
    assert "kernel_rss: 0 kB" in out
    raw.procs = []
    assert render_dump(assemble(raw)) == NOT_FOUND


def test_untrusted_text_is_escaped():
    snap = load_snapshots(VM_SNAPSHOT)[0]
    out = render_dump(snap) + render_dump(snap, "a")
    assert "\x1b" not in out and "\t" not in out
    assert "[bold]evil\\e[31m[/bold]" in out and "tab\\tname" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--dmabuf-dump=x"], "invalid choice: 'x'"),
        (["--dmabuf-dump", "--format", "json"], "no --format"),
    ],
)
def test_errors(argv, message, capsys):
    assert main(["--load", str(VM_SNAPSHOT), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
