"""Static sources are honest: a single snapshot's Suspects view says it cannot show
growth and gives the record command; a recording opens at its last sample; a
recording cut mid-sample says in the header (and ?) what was left out."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from dmabuf_top.cli.options import open_backend
from dmabuf_top.cli.top import build_parser
from dmabuf_top.io.loader import load_snapshots
from dmabuf_top.tui.app import DmabufTopApp
from dmabuf_top.tui.table.layout import text_width
from tests.support.pilot import SIZE, THEME, VM_RECORDING, file_backend, settle


def shown(app: DmabufTopApp, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


async def test_single_snapshot_suspects_give_the_record_command():
    app = DmabufTopApp(file_backend(), theme=THEME)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        info = shown(app, "#suspects-info")
        empty = shown(app, "#empty")
        assert "single snapshot" in info
        assert "A single snapshot cannot show growth" in empty
        assert "dmabuf-top record -o rec.yaml" in empty
        assert "dmabuf-top --load rec.yaml" in empty
        assert "wait for more refreshes" not in empty + info


async def test_recording_opens_at_its_last_sample_and_at_picks_one():
    samples = load_snapshots(VM_RECORDING)
    n = len(samples)
    for argv, index in (([], n - 1), (["--at", "1"], 0), (["--at", "-3"], n - 3)):
        backend = open_backend(build_parser().parse_args(["--load", str(VM_RECORDING), *argv]))
        app = DmabufTopApp(backend, theme=THEME)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert app.session.prepared.snap == samples[index]
            assert f"sample {index + 1}/{n}" in shown(app, "#header-source")
            # the suspects of the sample shown: the history up to it was replayed
            assert app.session.prepared.have == index + 1


async def test_a_cut_recording_is_named_in_the_header_and_help(tmp_path, capsys, monkeypatch):
    text = VM_RECORDING.read_text()
    # named relative to the working directory: the note then fits 200 columns wherever
    # pytest puts tmp_path (an xdist worker's is longer)
    monkeypatch.chdir(tmp_path)
    cut = Path("cut.yaml")
    cut.write_text(text[: len(text) - 40])
    backend = open_backend(build_parser().parse_args(["--load", str(cut)]))
    note = f"{cut}: sample 12 was cut short mid-write and is left out (11 complete samples loaded)"
    assert capsys.readouterr().err == f"dmabuf-top: warning: {note}\n"
    app = DmabufTopApp(backend, theme=THEME)
    async with app.run_test(size=(200, 40)) as pilot:
        await settle(pilot)
        status = shown(app, "#header-status")
        assert f"⚠ {note}" in status, status
        assert "sample 11/11" in shown(app, "#header-source")
        await pilot.press("question_mark")
        await settle(pilot)
        help_lines = [str(w.render()) for w in app.screen.query(Static)]
        assert any(note in line for line in help_lines), help_lines
    async with DmabufTopApp(backend, theme=THEME).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        status = pilot.app.screen.query_one("#header-status", Static)
        text = shown(pilot.app, "#header-status")
        assert "⚠ " + note[:20] in text and text.endswith("…"), text
        assert text_width(text) <= status.content_region.width
