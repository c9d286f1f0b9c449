"""The header: meters (share of RAM, userspace vs kernel-only, the largest exporters),
text fitted to the width (source, sample position and totals with Pss at 80 columns),
two meter lines and no graph on a low terminal."""

from __future__ import annotations

from dmabuf_top.collect.file import FileBackend
from dmabuf_top.io.loader import load_files
from dmabuf_top.tui.app import DmabufTopApp
from dmabuf_top.tui.widgets.header import MeterBars
from tests.support.pilot import THEME, VM_RECORDING, settle, wait_until
from tests.support.table_readers import meters_in_sight


def recording(ram: int | None, gpu: tuple[int, int] | None = None) -> FileBackend:
    samples = load_files([VM_RECORDING])
    for snap, _ in samples:
        snap.kernel.mem_total = ram
        if gpu is not None:  # (GPUActive, GPUReclaim), as a 7.x kernel says
            snap.kernel.gpu_active, snap.kernel.gpu_reclaim = gpu
    return FileBackend(samples)


def text(app: DmabufTopApp, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


def shown_meters(app: DmabufTopApp) -> list[tuple[str, float, str]]:
    """(label, share, numbers) of each meter on screen, each checked against the
    line the widget paints (label, percentage and numbers on it)."""
    bars = app.screen.query_one("#header-meters", MeterBars)
    out = []
    for y, m in enumerate(meters_in_sight(bars)):
        line = bars.render_line(y).text
        assert line.startswith(m.label) and f" {m.percent}  {m.text}" in line, line
        out.append((m.label, m.share, m.text))
    return out


async def test_meters_show_shares_of_ram_userspace_and_exporters():
    app = DmabufTopApp(recording(2 << 30), theme=THEME)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        t = app.session.prepared.totals
        meters = shown_meters(app)
        assert [m[0] for m in meters] == ["of RAM", "userspace", "drm"]
        ram, user, drm = meters
        assert abs(ram[1] - t.bytes / (2 << 30)) < 1e-9 and ram[2] == "112.4M of 2.0G"
        whole = t.userspace_bytes + t.kernel_only_bytes
        assert abs(user[1] - t.userspace_bytes / whole) < 1e-9
        assert user[2] == "106.4M, kernel-only 6.0M"
        assert drm[1] == 1.0  # the only exporter of the VM's vgem buffers
        assert app.screen.query_one("#header-graph").display  # 12 samples: a trend


async def test_no_ram_meter_when_the_ram_is_unknown():
    app = DmabufTopApp(recording(None), theme=THEME)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert [m[0] for m in shown_meters(app)] == ["userspace", "drm"]


async def test_80x24_keeps_source_sample_totals_and_pss_and_two_meters():
    app = DmabufTopApp(recording(2 << 30), theme=THEME)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        source, totals = text(app, "#header-source"), text(app, "#header-totals")
        assert len(source) <= 78 and len(totals) <= 78
        assert "vm-6.1-leak.yaml" in source and "sample 12/12" in source
        assert "total 112.4M" in totals and "Pss 106.4M" in totals and "Rss" in totals
        assert [m[0] for m in shown_meters(app)] == ["of RAM", "userspace"]
        assert not app.screen.query_one("#header-graph").display
        await pilot.resize_terminal(200, 50)
        await settle(pilot)
        await wait_until(pilot, lambda: "kernel-only" in text(app, "#header-totals"),
                         "the header laid out at 200 columns")
        totals = text(app, "#header-totals")
        assert "kernel-only 6.0M" in totals and "(bufinfo)" in totals  # room for it all
        assert app.screen.query_one("#header-graph").display


async def test_gpu_meter_where_the_kernel_says_gpu_memory():
    """7.0+ kernels list GPUActive/GPUReclaim in /proc/meminfo: a GPU meter (its share
    of RAM) after the RAM one; none where the kernel has none (the other tests)."""
    app = DmabufTopApp(recording(2 << 30, gpu=(512 << 20, 64 << 20)), theme=THEME)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        meters = shown_meters(app)
        assert [m[0] for m in meters] == ["of RAM", "GPU", "userspace", "drm"]
        assert meters[1][1:] == (0.25, "512.0M, reclaim 64.0M")
