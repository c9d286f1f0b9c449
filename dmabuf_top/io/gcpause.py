"""The cyclic garbage collector paused while a file's objects are built: loading
makes millions of small acyclic objects (buffers, holders, lists), and every
collection of them would walk all those loaded before (half a big recording's
load time); nothing loaded forms a cycle, so there is nothing for it to free."""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def gc_paused(fn: F) -> F:
    """Run ``fn`` with the cyclic collector off (nested calls keep it off until
    the outermost one returns)."""

    @functools.wraps(fn)
    def paused(*args: Any, **kwargs: Any) -> Any:
        if not gc.isenabled():
            return fn(*args, **kwargs)
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            gc.enable()

    return paused  # type: ignore[return-value]
