"""The footer of keys: Textual's Footer, built again only when the keys it shows change
(Textual's rebuilds every key widget each time the focus moves, as a view switch does:
~200 ms at 10,000 rows, for the very same keys)."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer

#: what the footer shows of one binding: key, label, action, enabled, tooltip
Shown = tuple[str, str, str, bool, str]


def shown_keys(screen: Screen) -> tuple[Shown, ...]:
    """The keys the footer of ``screen`` shows now, in order."""
    return tuple(
        (binding.key, binding.description, binding.action, enabled, tooltip)
        for _node, binding, enabled, tooltip in screen.active_bindings.values()
        if binding.show
    )


class KeyFooter(Footer):
    """A Footer that keeps its key widgets while the keys shown stay the same."""

    shown: tuple[Shown, ...] | None = None

    def __init__(self) -> None:
        # compact, and no "^p palette" (help lists ctrl+p): the keys fit in 80 columns
        super().__init__(show_command_palette=False, compact=True)

    def bindings_changed(self, screen: Screen) -> None:
        shown = shown_keys(screen)
        if shown == self.shown:
            return
        super().bindings_changed(screen)
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self.shown = shown  # (else Footer left it for later: so do we)
