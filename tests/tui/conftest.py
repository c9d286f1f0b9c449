"""The TUI tests' Pilot waits on the app, not on the clock: where Textual's Pilot waits
for the process to look idle (``wait_for_idle``: under 1 ms of CPU in 20 ms, which a
CPU-starved process on a loaded machine shows while messages are still queued), it waits
here until the app has nothing left to do (tests/support/pilot.py ``quiet``). So
``pilot.press`` returns once each key and all it caused is handled and on screen, and
``pilot.pause()`` (and ``settle``, and snap_compare's waits) once the app is quiet."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import textual.app
import textual.pilot
from textual._context import active_app
from textual._wait import wait_for_idle

from tests.support.pilot import quiet


async def _until_quiet(min_sleep: float = 0, max_sleep: float = 1) -> None:
    app = active_app.get(None)
    if app is None:  # (outside an app's context: Textual's own guess)
        await wait_for_idle(min_sleep, max_sleep)
    else:
        await quiet(app)


@pytest.fixture(autouse=True)
def pilot_waits_on_the_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(textual.pilot, "wait_for_idle", _until_quiet)
    monkeypatch.setattr(textual.app, "wait_for_idle", _until_quiet)
    yield
