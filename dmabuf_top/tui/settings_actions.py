"""The app's actions on what the settings file keeps (theme, refresh interval, units,
and the main screen's view, sorts, columns and tree mode), and saving them when the user
quits; and the display toggles (graphs, their scale): a part of
:class:`~dmabuf_top.tui.app.DmabufTopApp`, kept apart to keep it small."""

from __future__ import annotations

from dataclasses import replace

from rich.text import Text

from dmabuf_top.io.settings import Settings
from dmabuf_top.textsafe import printable, shown_line
from dmabuf_top.tui.event_rows import DEFAULT_SHOWN
from dmabuf_top.tui.refresher import step_interval
from dmabuf_top.tui.screens.main import MainScreen
from dmabuf_top.tui.themes import DEFAULT_THEME
from dmabuf_top.tui.widgets.graph import TimeGraph


class SettingsActions:
    """Theme, interval and units as the app changes them; the state as settings (a
    mixin of the app: it uses the app's session, prefs, timer and notify)."""

    @property
    def theme_cycle(self) -> list[str]:
        names = list(self.themes.names)
        if DEFAULT_THEME in names:
            names.remove(DEFAULT_THEME)
            names.insert(0, DEFAULT_THEME)
        return names

    @property
    def events_shown(self) -> int:
        """How many recent events the events view shows (the settings file's ``events``)."""
        return int(self.prefs.start("events", DEFAULT_SHOWN))

    def say_load_errors(self) -> None:
        """What loading the theme files and the settings file left out."""
        for err, title in [(e, "theme file skipped") for e in self.themes.errors] + (
            [(self.prefs.error, "settings file ignored")] if self.prefs.error else []
        ):
            self.notify(shown_line(err), title=title, severity="warning", timeout=10,
                        markup=False)

    def current_settings(self) -> Settings:
        """The state the settings file keeps: theme, interval, units, and the main
        screen's view, sorts, hidden columns and tree mode; the events view's length as
        the file said (the app does not change it)."""
        main = next(s for s in self.screen_stack if isinstance(s, MainScreen))
        units = "bytes" if self.session.raw_bytes else "human"
        return replace(main.view_settings(), theme=self.theme, interval=self.delay, units=units,
                       events=self.prefs.loaded.events)

    def action_setup(self) -> None:
        """The setup screen; closing it saves the settings."""
        from dmabuf_top.tui.screens.setup import SetupScreen

        if isinstance(self.screen, SetupScreen):
            return
        main = next(s for s in self.screen_stack if isinstance(s, MainScreen))
        self.push_screen(SetupScreen(main), lambda _: self.save_settings())

    def save_settings(self) -> str:
        """Save the state now (when it differs from the file); an error is a notice."""
        error = self.prefs.save(self.current_settings())
        if error:
            self.notify(error, title="settings not saved", severity="error", timeout=8,
                        markup=False)
        return error

    async def action_quit(self) -> None:
        error = self.prefs.save(self.current_settings())
        # Text, never a str: a path is not markup
        self.exit(message=Text(f"dmabuf-top: settings not saved: {error}") if error else None)

    def set_units(self, raw_bytes: bool) -> None:
        """Sizes as byte counts or human units; the sample shown is prepared again."""
        if raw_bytes != self.session.raw_bytes:
            self.session.raw_bytes = raw_bytes
            if self.session.prepared is not None:
                self.refresher.request(redo=True)

    def action_interval(self, direction: int) -> None:
        self.set_refresh_interval(step_interval(self.delay, direction))

    def set_refresh_interval(self, delay: float) -> None:
        self.delay = delay
        if self._timer is not None:
            self._start_timer()
        self.notify(f"refresh every {self.delay:g}s", timeout=2)
        self.data_version += 1

    def action_toggle_graphs(self) -> None:
        self.show_graphs = not self.show_graphs
        self.set_class(not self.show_graphs, "-no-graphs")

    def action_zero_scale(self) -> None:
        """0: graphs scaled from zero (again: from their lowest value)."""
        self.zero_scale = not self.zero_scale
        for screen in self.screen_stack:
            for graph in screen.query(TimeGraph):
                graph.use_zero(self.zero_scale)

    def action_next_theme(self) -> None:
        names = self.theme_cycle
        if not names:
            return
        i = names.index(self.theme) + 1 if self.theme in names else 0
        self.theme = names[i % len(names)]
        self.notify(f"theme: {printable(self.theme)}", timeout=2, markup=False)

