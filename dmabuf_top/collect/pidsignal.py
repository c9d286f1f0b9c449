"""Signals to the process the user saw, never to a later one that got its pid (issue 21
item 5): the process's start time (``/proc/PID/stat`` field 22) and the boot id are
checked right before the signal. On this machine a pidfd is opened first and the
signal goes through it (``pidfd_send_signal``), so the process checked is the one
signalled; without pidfds (kernel < 5.3), a checked ``kill``. A device's shell does the
same check before ``kill`` (:func:`dmabuf_top.collect.adb_setup.kill_command`)."""

from __future__ import annotations

import errno
import os
import signal

from dmabuf_top.collect.contract import BackendError, ProcessChanged, SeenProcess
from dmabuf_top.collect.parsers.procstat import parse_stat
from dmabuf_top.textsafe import printable

#: /proc/PID/stat is one line of a few hundred bytes
_STAT_MAX = 4096


def refusal(seen: SeenProcess, why: str) -> ProcessChanged:
    """``pid 1234 is no longer chromium (started later): not signalled``."""
    return ProcessChanged(
        f"pid {seen.pid} is no longer {printable(seen.comm) or '?'} ({why}): not signalled"
    )


def change(seen: SeenProcess, stat_text: str | None, boot_id: str | None) -> str | None:
    """What happened to the process seen, from the pid's ``stat`` now (None: no such
    process) and the boot id now: ``exited``, ``the machine restarted``, ``started
    later``, ``now COMM`` (start time unknown: the name differs); None: still it."""
    if seen.boot_id and boot_id and boot_id.strip() != seen.boot_id:
        return "the machine restarted"
    st = parse_stat(stat_text) if stat_text else None
    if st is None or st.pid != seen.pid or st.state in ("Z", "X"):
        return "exited"
    if seen.start_time is not None:
        return None if st.start_time == seen.start_time else "started later"
    return None if st.comm == seen.comm else f"now {printable(st.comm)}"


def _read(path: str) -> str | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return os.read(fd, _STAT_MAX).decode("utf-8", "surrogateescape")
    except OSError:
        return None
    finally:
        os.close(fd)


def _pidfd(pid: int) -> int | None:
    """A pidfd of ``pid``; None where the kernel or Python has none;
    :class:`ProcessLookupError` when no such process."""
    opener = getattr(os, "pidfd_open", None)
    if opener is None or not hasattr(signal, "pidfd_send_signal"):
        return None
    try:
        return int(opener(pid))
    except OSError as e:
        if e.errno in (errno.ENOSYS, errno.EPERM):  # no pidfds here (or seccomp)
            return None
        raise


def signal_seen(seen: SeenProcess, signum: int, proc: str = "/proc") -> None:
    """Send ``signum`` to ``seen`` if its pid is still that process; raises
    :class:`ProcessChanged` (nothing sent) or :class:`BackendError` (one line)."""
    pid = seen.pid
    if pid <= 0:  # 0 and negatives mean process groups to kill(2): never that
        raise BackendError(f"kill {pid}: not a process id")
    try:
        fd = _pidfd(pid)
    except ProcessLookupError:
        raise refusal(seen, "exited") from None
    except OSError as e:
        raise BackendError(f"kill {pid}: {e.strerror or e}") from None
    try:
        why = change(seen, _read(f"{proc}/{pid}/stat"),
                     _read(f"{proc}/sys/kernel/random/boot_id"))
        if why is not None:
            raise refusal(seen, why)
        if fd is not None:
            signal.pidfd_send_signal(fd, signum)
        else:
            os.kill(pid, signum)
    except ProcessLookupError:
        raise refusal(seen, "exited") from None
    except (OSError, ValueError, OverflowError) as e:
        raise BackendError(f"kill {pid}: {getattr(e, 'strerror', None) or e}") from None
    finally:
        if fd is not None:
            os.close(fd)
