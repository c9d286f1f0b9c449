"""Pilot: the Apps view (``5``) of a snapshot taken on a real 6.18 kernel
(tests/data/vm-6.18-apps/: holders in two systemd-like app scopes and a docker-like
container scope): one row per app whose Rss and Pss are the sums of its processes',
Enter drills down to exactly its processes; the Processes view has USER and APP."""

from __future__ import annotations

import json

from dmabuf_top.io.loader import load_snapshots
from dmabuf_top.tui.app import DmabufTopApp
from dmabuf_top.tui.screens.main import MainScreen
from dmabuf_top.units import human_bytes
from tests.support.paths import DATA
from tests.support.pilot import THEME, file_backend, settle
from tests.support.table_readers import cell_of, row_count, shown_columns

APPS = DATA / "vm-6.18-apps"


def main(app: DmabufTopApp) -> MainScreen:
    assert isinstance(app.screen, MainScreen)
    return app.screen


async def test_apps_view_sums_its_processes_and_enter_shows_them():
    snap = load_snapshots(APPS / "snapshot.yaml")[0]
    scene = json.loads((APPS / "scene.json").read_text())
    by_app: dict[str, list] = {}
    for p in snap.processes.values():
        by_app.setdefault(p.app, []).append(p.pid)
    assert set(by_app) == {"org.gnome.Foo", "org.gnome.Bar", "docker:3f9a0c3f9a0c"}
    held = {h["pid"]: sum(h["held"].values()) for h in scene["holders"]}

    app = DmabufTopApp(file_backend(APPS / "snapshot.yaml"), theme=THEME)
    async with app.run_test(size=(200, 40)) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        screen = main(app)
        assert screen.view == "apps"
        table = screen.table()
        assert sorted(table.keys()) == sorted(by_app)
        procs = {p.pid: p for p in app.session.prepared.procs}
        for name, pids in by_app.items():
            rss = sum(procs[pid].rss for pid in pids)
            assert rss == sum(held[pid] for pid in pids)  # what the holders really hold
            assert cell_of(table, name, "rss") == human_bytes(rss)
            assert cell_of(table, name, "pss") == human_bytes(
                sum(procs[pid].pss for pid in pids))
            assert cell_of(table, name, "procs") == str(len(pids))

        # Enter on Foo: the Processes view with Foo's two processes only
        await pilot.press("end" if table.keys()[-1] == "org.gnome.Foo" else "home")
        while table.cursor_key != "org.gnome.Foo":
            await pilot.press("down")
        await pilot.press("enter")
        await settle(pilot)
        assert screen.view == "processes"
        ptable = screen.table()
        assert sorted(int(k) for k in ptable.keys()) == sorted(by_app["org.gnome.Foo"])
        shown = shown_columns(ptable)
        assert "user" in shown and "app" in shown
        for key in ptable.keys():
            assert cell_of(ptable, key, "app") == "org.gnome.Foo"
            assert cell_of(ptable, key, "user") == "root"
        # Enter on one of them: its pane names its user, app and cgroup
        await pilot.press("enter")
        await settle(pilot)
        text = str(app.screen.query_one("#process-fields").render())
        foo = snap.processes[int(ptable.cursor_key or 0)]
        assert f"app           {foo.app}  in {foo.cgroup}" in text and "user" in text


async def test_the_apps_view_says_why_the_kernels_charges_are_unavailable():
    """The demo (a 6.18 kernel: no dmem controller, no dma_heap.mem_accounting): DMEM
    and MEMCG cells say unavailable, the line above the table says why; other views
    have no such line."""
    from dmabuf_top.analysis.apps import MEMCG_WHY, NO_DMEM
    from tests.support.pilot import demo_at

    async with demo_at((120, 40), "5") as (app, pilot):
        screen = main(app)
        assert screen.view == "apps"
        info = screen.query_one("#apps-info")
        assert info.display and str(info.render()) == (
            f"DMEM unavailable: {NO_DMEM}.  MEMCG unavailable: {MEMCG_WHY['absent']}.")
        table = screen.table()
        assert row_count(table) == 6
        for key in table.keys():
            assert cell_of(table, key, "dmem") == "unavailable"
            assert cell_of(table, key, "memcg_heap") == "unavailable"
        await pilot.press("1")
        await settle(pilot)
        assert not info.display
