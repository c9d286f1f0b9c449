"""Buffer lives (analysis/lifecycle.py) from the events a real 6.18 kernel gave for
the scripted sequence (tests/data/vm-6.18-events/): maker, importer, attachment
history and release, kept after the release; a window leaves later events out."""

from __future__ import annotations

from dataclasses import replace

from dmabuf_top.analysis.lifecycle import Actor, buffer_stories, life_story, makers
from tests.support.events_data import vm_events


def test_the_heap_buffer_life():
    ev = vm_events()
    life = buffer_stories(ev)[1]
    assert (life.exporter, life.size) == ("system", 65536)
    assert life.maker == Actor(217, "python", ev[0].time)
    assert [a.pid for a in life.importers] == [218]
    (att,) = life.attachments
    assert (att.device, att.pid) == ("vgem", 218)
    assert (att.attached, att.detached) == (ev[3].time, ev[4].time)
    assert life.released == Actor(218, "python", ev[5].time)
    assert life.devices == ["vgem"]


def test_a_self_import_has_no_attachment_and_makers_outlive_the_release():
    lives = buffer_stories(vm_events())
    assert lives[2].attachments == [] and lives[2].released is not None
    assert {ino: m.pid for ino, m in makers(lives).items()} == {1: 217, 2: 220}


def test_until_leaves_later_events_out():
    ev = vm_events()
    lives = buffer_stories(ev, until=ev[3].time)
    assert set(lives) == {1} and lives[1].released is None
    assert lives[1].attachments[0].detached is None


def test_an_inode_exported_again_after_its_release_is_a_new_life():
    ev = vm_events()[:6]
    again = replace(ev[0], time=ev[-1].time + 1, pid=999, comm="other")
    life = buffer_stories([*ev, again])[1]
    assert life.maker.pid == 999 and life.importers == [] and life.released is None


def test_a_buffer_born_before_the_events_has_no_maker():
    life = buffer_stories(vm_events()[2:6])[1]
    assert life.maker is None and life.released.pid == 218


def test_the_story_is_in_time_order():
    story = life_story(buffer_stories(vm_events())[1], clock=lambda t: f"{t:.3f}")
    assert [ln.split("  ", 1)[1] for ln in story] == [
        "made by python (217)", "imported by python (218)", "attached to vgem (by 218)",
        "detached from vgem", "released by python (218)",
    ]
