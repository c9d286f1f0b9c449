"""Which columns a table shows at a width: every width shows who holds what."""

from __future__ import annotations

import pytest

from dmabuf_top.report.live_columns import COLUMNS, LAYOUTS, LIVE_ONLY
from dmabuf_top.tui.table.layout import PAD, cell_tone, choose, clip, size_tone, text_width


def test_clip_ends_long_text_in_an_ellipsis_and_keeps_the_pid_and_count():
    assert clip("scanout 0", 20) == "scanout 0"
    assert clip("camera-preview-ring-buffer-0031", 12) == "camera-prev…"
    assert clip("compositor(301) +2", 14, "(") == "compo…(301) +2"
    assert clip("compositor(301) +2", 8, "(") == "composi…"  # no room for the tail: cut plain
    wide = clip("相机预览缓冲区", 7)  # two cells a character
    assert text_width(wide) <= 7 and wide.endswith("…")


@pytest.mark.parametrize("width", [78, 80, 119, 120, 199, 200])
@pytest.mark.parametrize("live", [True, False])
@pytest.mark.parametrize("view", ["buffers", "processes", "exporters", "suspects"])
def test_every_width_is_filled_and_shows_the_answer(view, live, width):
    hidden = () if live else LIVE_ONLY
    layout, least = choose(COLUMNS[view], LAYOUTS[view], width, hidden)
    assert least <= width and layout.width == width  # fits; the last column takes the rest
    keys = layout.keys
    answer = {"buffers": "holders", "processes": "cmdline", "exporters": "name",
              "suspects": "what"}[view]
    assert answer in keys
    assert live or not LIVE_ONLY & set(keys)


def test_wider_tables_show_more_and_holders_gets_the_room():
    cols, sets = COLUMNS["buffers"], LAYOUTS["buffers"]
    narrow, _ = choose(cols, sets, 80)
    wide, _ = choose(cols, sets, 200)
    assert narrow.keys == ["grow", "exporter", "size", "procs", "name", "holders"]
    assert "inode" in wide.keys and "age" in wide.keys and wide.keys[-1] == "holders"
    used = sum(s.width + 2 * PAD for s in wide.slots[:-1])
    assert wide.slots[-1].width == 200 - used - 2 * PAD


def test_too_narrow_a_table_keeps_its_narrowest_set_and_scrolls():
    layout, least = choose(COLUMNS["buffers"], LAYOUTS["buffers"], 40)
    assert least > 40 and layout.width == least


def test_holders_too_long_for_its_column_shows_the_first_holder_and_how_many_more():
    cols = COLUMNS["buffers"]
    layout, _ = choose(cols, LAYOUTS["buffers"], 80)
    cells = {c.key: "" for c in cols}
    cells.update(exporter="drm", size="8.0M", procs="3", name="scanout 0",
                 holders="compositor(301), camera(500), decoder(161)",
                 holder="compositor(301) +2")
    line = layout.line([cells[c.key] for c in cols])
    assert line.rstrip().endswith("compositor(301) +2")
    cells["holders"] = "camera(500)"
    assert layout.line([cells[c.key] for c in cols]).rstrip().endswith("camera(500)")


def test_sizes_are_toned_by_magnitude_and_growth_by_arrow():
    assert [size_tone(t) for t in ("512B", "64.0K", "8.0M", "1.2G", "3.0T", "-", "")] == [
        "size-small", "size-small", "size-medium", "size-large", "size-large", "", ""]
    assert [size_tone(str(n)) for n in (4096, 8 << 20, 2 << 30)] == [
        "size-small", "size-medium", "size-large"]  # --bytes: raw counts
    assert cell_tone("+8.0M", "delta") == ("↑8.0M", "grow")
    assert cell_tone("-64.0K", "delta") == ("↓64.0K", "shrink")
    assert cell_tone("+1.5", "rate") == ("↑1.5", "grow")
    for flat in ("0", "-", "+0.0", ""):
        assert cell_tone(flat, "delta") == (flat, "")
    assert cell_tone("▲", "flag") == ("▲", "grow") and cell_tone("", "flag") == ("", "")
    assert cell_tone("+8.0M", "text") == ("+8.0M", "")  # a name is never toned


def test_pieces_are_the_line_cut_where_tones_change():
    cols = COLUMNS["processes"]
    layout, _ = choose(cols, LAYOUTS["processes"], 200)
    cells = ["+8.0M" if c.kind == "delta" else "8.0M" if c.kind == "bytes" else "x"
             for c in cols]
    pieces = layout.pieces(cells)
    assert "".join(t for t, _ in pieces) == layout.line(cells)
    assert ("↑8.0M", "grow") in pieces and ("8.0M", "size-medium") in pieces
    assert all(tone for t, tone in pieces if t.strip() in ("8.0M", "↑8.0M"))
