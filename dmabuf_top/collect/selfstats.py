"""What dmabuf-top itself costs, and the machine it runs on (psutil): its CPU time and
resident memory, the machine's RAM."""

from __future__ import annotations

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
