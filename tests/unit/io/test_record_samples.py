"""A loaded recording keeps decoded deltas and keyframes, not one full copy per
sample; any sample, in any order, from any thread, is the sample that was written."""

from __future__ import annotations

import random
import threading

from dmabuf_top.io.loader import load_files, loads_snapshots
from dmabuf_top.io.record_reader import split_documents
from dmabuf_top.io.record_samples import KEYFRAME_EVERY, RecordedSamples
from dmabuf_top.io.record_writer import RecordEncoder
from dmabuf_top.model import Snapshot
from tests.support.synth import leak_series


def series(n: int) -> tuple[list[Snapshot], str]:
    snaps = leak_series(n)
    enc = RecordEncoder(interval=2.0)
    return snaps, "".join(enc.encode(s) for s in snaps)


def test_any_sample_in_any_order_is_the_one_written() -> None:
    snaps, text = series(3 * KEYFRAME_EVERY + 5)
    loaded = loads_snapshots(text)
    assert isinstance(loaded, RecordedSamples)
    order = list(range(len(snaps)))
    random.Random(14).shuffle(order)
    for i in order + order[::-1] + list(range(len(snaps)))[::-1]:
        assert loaded[i] == snaps[i], i
    assert loaded[-1] == snaps[-1] and loaded[2:5] == snaps[2:5]
    assert loaded == snaps and list(loaded) == snaps


def test_memory_is_keyframes_and_deltas() -> None:
    snaps, text = series(200)
    docs = split_documents(text)
    full_docs = sum(1 for d in docs if not d.startswith("--- {"))
    loaded = loads_snapshots(text)
    assert isinstance(loaded, RecordedSamples)
    # a full copy per keyframe (and per full document), not per sample
    assert loaded.keyframe_count <= full_docs + -(-len(snaps) // KEYFRAME_EVERY)
    assert loaded.keyframe_count < len(snaps) // 10
    # unchanged buffers are the same objects in every sample rebuilt
    a, b = loaded[100], loaded[150]
    assert a.buffers[10] is b.buffers[10]


def test_threads_read_samples_at_once() -> None:
    snaps, text = series(2 * KEYFRAME_EVERY)
    loaded = loads_snapshots(text)
    bad: list[int] = []

    def read(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(200):
            i = rng.randrange(len(snaps))
            if loaded[i] != snaps[i]:
                bad.append(i)

    threads = [threading.Thread(target=read, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not bad


def test_several_files_in_time_order_stay_lazy(tmp_path) -> None:
    snaps, text = series(40)
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    enc = RecordEncoder(interval=2.0)
    second.write_text("".join(enc.encode(s) for s in snaps[20:]))
    enc = RecordEncoder(interval=2.0)
    first.write_text("".join(enc.encode(s) for s in snaps[:20]))
    loaded = load_files([second, first])  # given out of order: sorted by time
    assert len(loaded) == 40
    assert [s for s, _ in loaded] == snaps
    assert loaded[0][1] == first and loaded[39][1] == second
