"""The settings the TUI keeps between runs (the file of :mod:`dmabuf_top.io.settings`):
the columns a user may hide, the file read at start (a broken one: a notice, the
defaults), what the app's state is as settings, and saving it at quit."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace
from pathlib import Path

from dmabuf_top.io.settings import (
    ForeignDirectory,
    Settings,
    SettingsError,
    read_settings,
    write_settings,
)
from dmabuf_top.report.live_columns import LAYOUTS, LIVE_ONLY, VIEW_NAMES
from dmabuf_top.tui.table.layout import parse_set


def choosable_columns(view: str) -> list[str]:
    """The columns of ``view`` a user may show or hide: those of its widest set."""
    return [key for key, _ in parse_set(LAYOUTS[view][0])]


#: the column keys of each view, as the settings file may name them
SETTINGS_VIEWS = {view: choosable_columns(view) for view in VIEW_NAMES}


def hidden_columns(view: str, chosen: Collection[str], static: bool) -> frozenset[str]:
    """What the table of ``view`` leaves out: the columns the user hid, and for a
    static source the live-only ones; never every column (then only the latter)."""
    auto = LIVE_ONLY if static else frozenset()
    out = frozenset(chosen) | auto
    if set(choosable_columns(view)) <= out:
        return auto
    return out


@dataclass
class Preferences:
    """The settings file of this run: what it said, and which settings the command line
    gave (those win for this run, and are not saved unless changed in the app)."""

    path: Path | None
    loaded: Settings = field(default_factory=Settings)
    #: the file could not be used: why (one line); it was ignored
    error: str = ""
    #: theme / interval given on the command line
    given: dict[str, object] = field(default_factory=dict)
    #: the app's state once the settings were applied at start
    started: Settings | None = None

    @classmethod
    def load(cls, path: Path | None, **given: object) -> Preferences:
        """Read ``path`` (None: no file, nothing saved)."""
        prefs = cls(path, given={k: v for k, v in given.items() if v is not None})
        if path is not None:
            try:
                prefs.loaded = read_settings(path, SETTINGS_VIEWS)
            except SettingsError as e:
                prefs.error = str(e)
        return prefs

    def start(self, key: str, default: object) -> object:
        """The value a setting starts with: the command line's, the file's, the default."""
        if key in self.given:
            return self.given[key]
        value = getattr(self.loaded, key)
        return default if value is None else value

    def to_save(self, now: Settings) -> Settings:
        """What to write for the state ``now``: a setting still as the command line
        gave it keeps the file's value."""
        keep = {}
        for key, value in self.given.items():
            if getattr(now, key) == value:  # as the command line set it: not a choice
                keep[key] = getattr(self.loaded, key)
        return replace(now, **keep)

    def save(self, now: Settings) -> str:
        """Write the state ``now`` unless the file holds it already (a broken file is
        left alone for its owner to mend unless something was changed since
        :attr:`started`); returns an error line or "". A refusal to write into another
        user's directory is said once: no save is tried again this run."""
        if self.path is None or (self.error and now == self.started):
            return ""
        out = self.to_save(now)
        if out == self.loaded and not self.error:
            return ""
        try:
            write_settings(self.path, out)
        except ForeignDirectory as e:
            self.path = None
            return str(e)
        except SettingsError as e:
            return str(e)
        self.loaded, self.error = out, ""
        return ""
