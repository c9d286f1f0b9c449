"""Growth suspects in the TUI, on the recording made in the real-kernel VM
(tests/support/vm/leak_recording.py): leak-grow keeps a new 1 MiB ``leak-N`` buffer
per period, leak-churn and leak-ring allocate and free at the same rate,
leak-share and leak-peer share a growing set of ``shared-N`` buffers."""

from __future__ import annotations

import pytest

from dmabuf_top.analysis.suspects import find_suspects
from dmabuf_top.cli import main
from dmabuf_top.io.loader import load_snapshots
from dmabuf_top.report.live_columns import GROW_MARK
from dmabuf_top.report.suspects_report import suspects_to_dict
from dmabuf_top.tui.app import DmabufTopApp
from dmabuf_top.tui.growth import name_regex, step_window
from dmabuf_top.tui.screens.detail import ProcessScreen
from dmabuf_top.tui.screens.main import MainScreen
from dmabuf_top.units import human_bytes, human_delta
from tests.support.leak_checks import STEADY, pids_by_comm
from tests.support.pilot import SIZE, THEME, VM_RECORDING, ScriptedBackend, file_backend, settle
from tests.support.table_readers import cell_of

SNAPS = load_snapshots(VM_RECORDING)
PIDS = pids_by_comm(SNAPS)
GROWERS = ("leak-grow", "leak-share", "leak-peer")


def main_screen(app: DmabufTopApp) -> MainScreen:
    assert isinstance(app.screen, MainScreen), type(app.screen)
    return app.screen


def cell(app: DmabufTopApp, key: str, col: str) -> str:
    return str(cell_of(main_screen(app).table(), key, col))


def suspect_keys(app: DmabufTopApp) -> list[str]:
    screen = main_screen(app)
    assert screen.view == "suspects"
    return screen.table().keys()


def info(app: DmabufTopApp) -> str:
    return str(main_screen(app).query_one("#suspects-info").render())


async def test_suspects_view_on_the_recorded_leak():
    app = DmabufTopApp(file_backend(VM_RECORDING), delay=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("right_curly_bracket", "4")
        await settle(pilot)
        keys = suspect_keys(app)
        # the leaker and its buffer-name pattern; the sharers and theirs
        for comm in GROWERS:
            assert f"process:{PIDS[comm]}" in keys, comm
        assert "name:'leak-#'" in keys and "name:'shared-#'" in keys
        # never the steady ones, their names, nor the rest of the landscape
        for comm in STEADY + ("compositor", "renderer", "camera", "decoder"):
            assert f"process:{PIDS[comm]}" not in keys, comm
        assert "name:'ring-#'" not in keys and "name:'churn-#'" not in keys
        assert set(keys) <= {f"process:{PIDS[c]}" for c in GROWERS} | {
            "name:'leak-#'", "name:'shared-#'", "exporter:'drm'"}
        assert "across the last 10 samples" in info(app) and f"{len(keys)} suspects" in info(app)
        # what the rows say: the leaker's label, rates, current bytes and count
        rows = {r.key: r.obj for r in app.session.prepared.rows["suspects"]}
        grow = rows[f"process:{PIDS['leak-grow']}"]
        k = f"process:{PIDS['leak-grow']}"
        assert cell(app, k, "what") == f"leak-grow ({PIDS['leak-grow']})"
        assert cell(app, k, "rate") == human_delta(int(grow.bytes_per_min))
        assert grow.bytes_per_min > 0 and grow.buffers_per_min > 0
        assert cell(app, k, "bytes") == human_bytes(grow.bytes_now)
        assert cell(app, k, "buffers") == str(grow.buffers_now)
        assert cell(app, k, "since") == SNAPS[grow.since_index].taken_at[11:19]
        assert cell(app, k, "pssrate") == cell(app, k, "rate")  # sole holder: Pss = Rss
        # the shared set: each sharer's Pss grows at half its Rss rate
        for comm in ("leak-share", "leak-peer"):
            s = rows[f"process:{PIDS[comm]}"]
            assert s.pss_per_min == pytest.approx(s.bytes_per_min / 2, rel=0.1), comm
            assert cell(app, f"process:{PIDS[comm]}", "pssrate") == human_delta(
                int(s.pss_per_min))
            assert cell(app, f"process:{PIDS[comm]}", "pss") == human_bytes(s.pss_now)
        # the same suspects as the core finds over the recording
        assert {r.key for r in app.session.prepared.rows["suspects"]} == {
            f"{s.kind}:{s.key!r}" for s in find_suspects(SNAPS, window=10)}
        # sorted by bytes/min, fastest first; r again reverses
        rates = [rows[key].bytes_per_min for key in keys]
        assert rates == sorted(rates, reverse=True)
        await pilot.press("r")
        await pilot.pause()
        rates = [rows[key].bytes_per_min for key in suspect_keys(app)]
        assert rates == sorted(rates) and rates[0] < rates[-1]

        # flagged in their rows in the other views
        await pilot.press("2")
        await settle(pilot)
        for comm, flagged in [(c, True) for c in GROWERS] + [(c, False) for c in STEADY]:
            assert (cell(app, str(PIDS[comm]), "grow") == GROW_MARK) is flagged, comm
        await pilot.press("3")
        await settle(pilot)
        assert cell(app, "drm", "grow") == GROW_MARK
        first_drm = sum(b.size for b in SNAPS[0].buffers.values() if b.exporter == "drm")
        now_drm = sum(b.size for b in SNAPS[-1].buffers.values() if b.exporter == "drm")
        assert cell(app, "drm", "delta") == human_delta(now_drm - first_drm)
        await pilot.press("1")
        await settle(pilot)
        last = SNAPS[-1]
        for inode, b in last.buffers.items():
            name = b.name or ""
            flagged = cell(app, str(inode), "grow") == GROW_MARK
            assert flagged == name.startswith(("leak-", "shared-")), (inode, name)
            new = inode not in SNAPS[0].buffers
            assert (cell(app, str(inode), "since") == "new") is new, (inode, name)


async def test_enter_on_suspects_opens_the_process_or_the_buffers():
    app = DmabufTopApp(file_backend(VM_RECORDING), delay=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("right_curly_bracket", "4")
        await settle(pilot)
        screen = main_screen(app)
        table = screen.table()
        table.move_cursor(row=table.keys().index(f"process:{PIDS['leak-grow']}"))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ProcessScreen) and app.screen.pid == PIDS["leak-grow"]
        await pilot.press("escape")
        await settle(pilot)
        table.move_cursor(row=table.keys().index("name:'leak-#'"))
        await pilot.press("enter")
        await settle(pilot)
        assert screen.view == "buffers"
        names = {str(cell_of(screen.table(), k, "name")) for k in screen.table().keys()}
        assert names and all(n.startswith("leak-") and n[5:].isdigit() for n in names), names


async def test_first_sample_has_no_suspects_and_the_window_keys():
    app = DmabufTopApp(file_backend(VM_RECORDING), delay=3600, suspect_window=4)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("right_curly_bracket", "4")
        await settle(pilot)
        assert suspect_keys(app)
        await pilot.press("left_curly_bracket")
        await settle(pilot)
        assert suspect_keys(app) == [] and app.session.prepared.suspects == []
        empty = str(main_screen(app).query_one("#empty").render())
        assert "1 of 4" in empty and "collecting, 1 of 4" in info(app)
        await pilot.press("2")
        await settle(pilot)
        assert all(cell(app, k, "grow") == "" for k in main_screen(app).table().keys())
        await pilot.press("4", "right_square_bracket", "right_square_bracket")
        await settle(pilot)
        assert suspect_keys(app) == []  # 3 samples, a window of 4
        await pilot.press("left_parenthesis")  # window 3: no new scan, same sample
        await settle(pilot)
        session = app.session
        assert session.suspect_window == session.prepared.window == 3 and session.backend.index == 2
        assert f"process:{PIDS['leak-grow']}" in suspect_keys(app)
        await pilot.press("right_parenthesis")
        await settle(pilot)
        assert app.session.prepared.window == 4 and suspect_keys(app) == []


async def test_a_recording_bounds_the_window_to_its_samples():
    """A window of 15 asked of a 12-sample recording is 12 (issue 25: "last 90 samples"
    on a 12-sample file, and an empty list); ) past it stays there."""
    app = DmabufTopApp(file_backend(VM_RECORDING), delay=3600, suspect_window=15)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.session.sample_count == 12 and app.session.suspect_window == 12
        await pilot.press("4")
        await settle(pilot)  # at the last sample (12 of 12): all of it is the window
        info = str(main_screen(app).query_one("#suspects-info").render())
        assert "last 12 samples" in info and suspect_keys(app)
        await pilot.press("right_parenthesis")  # no further: the recording has 12
        await settle(pilot)
        assert app.session.suspect_window == 12 and app.session.prepared.window == 12
        await pilot.press("left_curly_bracket")  # the first sample: 11 more to step on
        await settle(pilot)
        empty = str(main_screen(app).query_one("#empty").render())
        assert "step on in the recording, 11 more" in empty


async def test_live_over_recorded_samples_flags_the_leaker_after_enough_refreshes():
    """A live backend handing out the VM recording's samples one per refresh."""
    backend = ScriptedBackend(list(SNAPS))
    app = DmabufTopApp(backend, delay=3600, suspect_window=5)
    grow = str(PIDS["leak-grow"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2")
        for _ in range(3):
            await pilot.press("ctrl+r")
            await settle(pilot)
        assert backend.calls == 4 and app.session.prepared.have == 4
        assert app.session.prepared.suspects == [] and cell(app, grow, "grow") == ""
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert backend.calls == 5
        assert cell(app, grow, "grow") == GROW_MARK
        for comm in STEADY:
            assert cell(app, str(PIDS[comm]), "grow") == "", comm
        assert cell(app, grow, "delta").startswith("+")  # ΔRSS since start
        await pilot.press("4")
        await settle(pilot)
        assert f"process:{PIDS['leak-grow']}" in suspect_keys(app)
        assert "name:'leak-#'" in suspect_keys(app)
        # the same as the core over the same samples
        want = suspects_to_dict(find_suspects(SNAPS[:5], window=5))
        assert suspects_to_dict(app.session.prepared.suspects) == want
        # a shorter window is applied to the sample shown, with no new scan
        await pilot.press("left_parenthesis")
        await settle(pilot)
        assert backend.calls == 5 and app.session.prepared.window == 4


def test_window_ladder_and_name_regex():
    assert step_window(10, 1) == 12 and step_window(10, -1) == 8
    assert step_window(3, -1) == 3 and step_window(120, 1) == 120
    import re

    rx = re.compile(name_regex("cam[0]-#.buf#"))
    assert rx.search("cam[0]-17.buf2") and not rx.search("cam[0]-x.buf2")
    assert not rx.search("cam0-1.buf2")


def test_suspect_window_option_is_checked(capsys):
    assert main(["--load", str(VM_RECORDING), "--suspect-window", "1"]) == 2
    assert "--suspect-window" in capsys.readouterr().err


def test_suspects_view_snapshot(snap_compare):
    """The last sample of the recording, at the size and theme of the others."""

    async def before(pilot) -> None:
        await settle(pilot)
        await pilot.press("right_curly_bracket", "4")
        await settle(pilot)

    app = DmabufTopApp(file_backend(VM_RECORDING), theme=THEME)
    assert snap_compare(app, terminal_size=SIZE, run_before=before)
