"""What dmabuf-top itself costs, and the machine it runs on (psutil): its CPU time and
resident memory, the machine's RAM, and its CPU share between two readings."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import psutil


@dataclass
class ToolUsage:
    cpu_user: float  # seconds
    cpu_system: float  # seconds
    rss: int  # bytes
    #: RAM of the machine dmabuf-top runs on, bytes
    host_memory: int


def tool_usage() -> ToolUsage:
    """This process's CPU seconds and resident bytes, and the machine's RAM total."""
    me = psutil.Process()
    with me.oneshot():
        cpu = me.cpu_times()
        rss = me.memory_info().rss
    return ToolUsage(
        cpu_user=cpu.user, cpu_system=cpu.system, rss=rss,
        host_memory=psutil.virtual_memory().total,
    )


@dataclass(frozen=True)
class ToolCost:
    """The tool's cost over an interval: CPU seconds, their share of the wall time
    (1.0 = one core busy), and its resident bytes at the end."""

    cpu_seconds: float
    cpu_share: float
    rss: int


class CostMeter:
    """Reads the tool's cost since the reading before (or since it started)."""

    def __init__(
        self,
        usage: Callable[[], ToolUsage] = tool_usage,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._usage, self._clock = usage, clock
        u = usage()
        self._last = (clock(), u.cpu_user + u.cpu_system)

    @classmethod
    def since_start(cls) -> CostMeter:
        """A meter whose first reading covers the whole life of this process."""
        meter = cls(clock=time.time)
        meter._last = (psutil.Process().create_time(), 0.0)
        return meter

    def read(self) -> ToolCost:
        u = self._usage()
        now, cpu = self._clock(), u.cpu_user + u.cpu_system
        then, before = self._last
        self._last = (now, cpu)
        spent = max(0.0, cpu - before)
        return ToolCost(spent, spent / (now - then) if now > then else 0.0, u.rss)
