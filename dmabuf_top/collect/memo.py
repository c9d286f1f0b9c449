"""What one refresh computed from unchanged text, kept for the next: a parser's results by
the text they came from (:class:`Memo`), bounded to what the last refresh used."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_MISS = object()


class Memo(Generic[K, V]):
    """``fn(key)``, remembered: a key asked for this refresh or the one before is not
    computed again. :meth:`turn` ends a refresh and forgets what it did not ask for
    (unless it asked nothing: then the last that did stands), so at most two
    refreshes' keys are held. ``fn`` must be pure and its results never
    changed by their users (they are shared between refreshes)."""

    __slots__ = ("fn", "_now", "_before")

    def __init__(self, fn: Callable[[K], V]) -> None:
        self.fn = fn
        self._now: dict[K, V] = {}
        self._before: dict[K, V] = {}

    def __call__(self, key: K) -> V:
        value = self._now.get(key, _MISS)
        if value is _MISS:
            value = self._before.pop(key, _MISS)
            if value is _MISS:
                value = self.fn(key)
            self._now[key] = value
        return value  # type: ignore[return-value]

    def turn(self) -> None:
        """End of a refresh: keep only what it asked for."""
        if self._now:
            self._before, self._now = self._now, {}

    def __len__(self) -> int:
        return len(self._now) + len(self._before)
