"""The bundled demo (dmabuf_top/data/demo.yaml, what ``dmabuf-top --demo`` shows) looks
like a real machine: a recording in which something grows, real-looking processes and
buffer names, none of the test harness (paths, pytest, the scenario's hostile names)."""

from __future__ import annotations

import re

from dmabuf_top.analysis.suspects import find_suspects
from dmabuf_top.cli.options import DEMO_RECORDING
from dmabuf_top.io.loader import load_snapshots

HARNESS = re.compile(r"tests/|/tmp|pytest|python|scenario|worker-|\[|\x1b|\\")


def test_the_demo_is_a_recording_where_something_grows():
    samples = load_snapshots(DEMO_RECORDING)
    assert len(samples) >= 10
    last = samples[-1]
    assert {"weston", "chromium", "pipewire", "gst-launch-1.0", "v4l2-ctl"} <= {
        p.comm for p in last.processes.values()
    }
    assert {b.exporter for b in last.buffers.values()} >= {
        "drm", "system", "udmabuf", "videobuf2_vmalloc", "videobuf2_dma_contig"}
    # real programs: GStreamer and v4l2-ctl on vivid (an importer attached), not staged
    real = [p for p in last.processes.values() if p.comm in ("gst-launch-1.0", "v4l2-ctl")]
    assert len(real) == 3
    for p in real:
        assert re.match(r"/usr/bin/(gst-launch-1\.0 .*device=|v4l2-ctl -d )/dev/video\d",
                        p.cmdline), p.cmdline
    assert any(b.attachments == ["vivid.0"] for b in last.buffers.values())
    assert any(not b.holders for b in last.buffers.values())  # kernel-only
    assert any(len(b.pids) > 1 for b in last.buffers.values())  # shared
    grown = {(s.kind, s.label) for s in find_suspects(samples)}
    assert any(kind == "process" and label.startswith("chromium") for kind, label in grown)


def test_the_demo_shows_nothing_of_the_test_harness():
    for snap in load_snapshots(DEMO_RECORDING):
        texts = [snap.source.host or "", snap.source.kernel or ""]
        texts += [t for p in snap.processes.values() for t in (p.comm, p.cmdline)]
        texts += [p.comm for p in snap.ancestors.values()]
        texts += [b.name or "" for b in snap.buffers.values()]
        bad = [t for t in texts if HARNESS.search(t) or not t.isprintable()]
        assert not bad, bad
