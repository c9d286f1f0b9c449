"""What the main screen says in words: why a view is empty, the lines above the
Suspects and Apps tables, and what to do when a single snapshot cannot show growth."""

from __future__ import annotations

from dmabuf_top.report.columns import column
from dmabuf_top.textsafe import shown_line
from dmabuf_top.tui.host import AppHost


def empty_reasons(app: AppHost) -> str:
    """Why there is nothing to show, from the snapshot's own warnings."""
    prep = app.session.prepared
    if prep is None:
        return "Scanning…"
    snap = prep.snap
    lines = ["No dma-bufs visible."]
    if snap.warnings:
        lines += [f"• {shown_line(w)}" for w in snap.warnings]
    else:
        if snap.source.privilege != "root":
            lines.append("• not running as root: other processes' buffers are hidden")
        if not snap.kernel.sources:
            lines.append("• no kernel-wide source (debugfs bufinfo, sysfs, BPF) was readable")
    if snap.source.kind == "local" and snap.kernel.sources:
        lines.append("• the kernel lists no dma-buf at all: nothing here exports one")
    lines.append("")
    lines.append("To see what dmabuf-top shows on a busy machine: dmabuf-top --demo")
    return "\n".join(lines)


def single_snapshot(app: AppHost) -> bool:
    """The source is one static snapshot: nothing to compare, nothing will refresh."""
    return not app.session.backend.live and not app.session.is_recording


def record_command(app: AppHost) -> str:
    """The ``dmabuf-top record`` command that records the source shown over time."""
    prep = app.session.prepared
    adb = prep is not None and prep.snap.source.kind == "adb"
    return f"dmabuf-top record{' --adb' if adb else ''} -o rec.yaml"


def suspects_info(app: AppHost) -> str:
    """The line above the Suspects table: the rule, the window, the count."""
    prep = app.session.prepared
    window = prep.window if prep is not None and prep.window else app.session.suspect_window
    rule = f"Grew across the last {window} samples without falling back  (( ) change)"
    if prep is None:
        return rule
    if single_snapshot(app):
        return "Growth needs samples over time: this is a single snapshot"
    if prep.have < window:
        return f"{rule}:  collecting, {prep.have} of {window} samples so far"
    n = len(prep.suspects)
    return f"{rule}:  {n} suspect{'s' if n != 1 else ''}"


def apps_info(app: AppHost) -> str:
    """The line above the Apps table: why a kernel charge column says unavailable."""
    prep = app.session.prepared
    if prep is None:
        return ""
    why = prep.apps_unavailable
    return "  ".join(f"{column('apps', k).title} unavailable: {w}." for k, w in why.items())


def suspects_empty(app: AppHost) -> str:
    prep = app.session.prepared
    if prep is None:
        return "Scanning…"
    if single_snapshot(app):
        cmd = record_command(app)
        return (
            "A single snapshot cannot show growth: there is nothing to compare it with.\n\n"
            f"Record samples over time:  {cmd}  (ctrl+c stops it)\n"
            "then open the recording:   dmabuf-top --load rec.yaml"
        )
    total = app.session.sample_count
    if app.session.is_recording and total < prep.window:  # stepping on cannot fill the window
        return (
            f"The recording has {total} sample{'s' if total != 1 else ''}: fewer than the"
            f" window of {prep.window}.  ( shortens the window."
        )
    if prep.have < prep.window:
        more = prep.window - prep.have
        recording = app.session.is_recording
        where = "step on in the recording" if recording else "wait for more refreshes"
        return (
            f"Not enough samples yet: {prep.have} of {prep.window} ({where}, {more} more;"
            " ( shortens the window)."
        )
    return (
        f"Nothing grew across the last {prep.window} samples without falling back:"
        " no growth suspects."
    )
