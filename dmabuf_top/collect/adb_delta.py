"""The collector's deltas: the host's copy of the state a session keeps on the device,
and the full stream rebuilt from a refresh that sent only what changed.

With a session (see ``collector.sh``: ``$2`` the session id, ``$3`` the md5 of the
state the host holds), the collector marks each big section ``NAME !`` (full),
``NAME =`` (unchanged) or ``NAME +`` (``diff -U0`` against the last refresh's body).
:meth:`DeltaSession.rebuild` turns that into the stream a run without a session
prints, byte for byte, so the one decoder (:mod:`dmabuf_top.collect.adb_stream`)
and the one ``assemble()`` see exactly what a full refresh gives. The new state's
md5 (the ``state`` section) must equal the rebuilt bodies': otherwise the host
forgets its copy and the next run is a full resync. Pure: no adb, no I/O.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field

from dmabuf_top.collect.adb_stream import MAGIC, StreamError

#: section arguments of a section the device keeps in its state
_STORED = ("!", "=", "+")
#: a hunk header; line numbers of at most 18 digits (a longer one is malformed, never an
#: int() refusing it: Python takes at most 4,300 digits)
_L = rb"([0-9]{1,18})"
_HUNK_RE = re.compile(rb"^@@ -" + _L + rb"(?:," + _L + rb")? \+" + _L + rb"(?:," + _L + rb")? @@")
_NO_NEWLINE = b"\\ No newline at end of file"


class DeltaError(StreamError):
    """A delta that does not fit the host's copy of the state (a resync is due)."""


class DiffError(DeltaError):
    """A diff from the device that does not apply: malformed, cut, or not against the
    host's copy (the device's diff may write what this reader does not know)."""


def state_sum(bodies: dict[str, bytes]) -> str:
    """md5 of the bodies in name order, as the collector's ``cat d.* | md5sum``."""
    h = hashlib.md5(usedforsecurity=False)
    for name in sorted(bodies):
        h.update(bodies[name])
    return h.hexdigest()


def _lines(text: bytes) -> list[bytes]:
    """Lines split at ``\\n`` only, each keeping its ``\\n`` (the last may lack it)."""
    parts = text.split(b"\n")
    lines = [p + b"\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def apply_diff(old: bytes, diff: bytes) -> bytes:
    """``old`` with a unified diff (``diff -U0``, GNU or busybox or toybox) applied;
    DiffError when a removed line is not the old one or the diff is malformed."""
    src, out, pos = _lines(old), [], 0
    lines = _lines(diff)
    i = 0
    while i < len(lines) and not lines[i].startswith(b"@@ "):
        i += 1  # the "--- a" / "+++ b" lines
    while i < len(lines):
        m = _HUNK_RE.match(lines[i])
        if m is None:
            raise DiffError("malformed delta from the device")
        start, n_old = int(m.group(1)), int(m.group(2) or 1)
        n_new = int(m.group(4) or 1)
        at = start if n_old == 0 else start - 1
        if at < pos or at > len(src):
            raise DiffError("a delta from the device does not fit the host's copy")
        out += src[pos:at]
        pos = at
        i += 1
        while n_old or n_new:
            if i >= len(lines):
                raise DiffError("delta from the device cut short")
            line, i = lines[i], i + 1
            text = line[1:]
            if i < len(lines) and lines[i].rstrip(b"\n") == _NO_NEWLINE:
                text, i = text.removesuffix(b"\n"), i + 1
            kind = line[:1]
            if kind in (b"-", b" "):
                if not n_old or pos >= len(src) or src[pos] != text:
                    raise DiffError("a delta from the device does not fit the host's copy")
                pos, n_old = pos + 1, n_old - 1
            if kind in (b"+", b" "):
                if not n_new:
                    raise DiffError("malformed delta from the device")
                out.append(text)
                n_new -= 1
            if kind not in (b"-", b"+", b" "):
                raise DiffError("malformed delta from the device")
    return b"".join(out + src[pos:])


@dataclass
class Rebuilt:
    """A delta stream made whole, and what its run said about itself."""

    #: the stream as a run without a session prints it
    data: bytes
    #: "delta", or "full WHY" (missing, boot, checksum), "" without a session
    mode: str
    #: the state the device now keeps: section name -> body
    bodies: dict[str, bytes] = field(default_factory=dict)
    #: the md5 of that state the device sent ("": none)
    state: str = ""


class DeltaSession:
    """The host's side of a session: its id and its copy of the device's state."""

    def __init__(self, session_id: str | None = None) -> None:
        self.id = session_id or secrets.token_hex(16)
        self.bodies: dict[str, bytes] = {}
        #: md5 of ``bodies`` as the device computed it; None: no state, full next time
        self.sum: str | None = None

    def args(self) -> list[str]:
        """The collector's ``$2 $3``: the session id and the sum of the state held."""
        return [self.id, self.sum or "-"]

    def forget(self) -> None:
        """Lose the copy: the next refresh is a full resync."""
        self.bodies, self.sum = {}, None

    def keep(self, rebuilt: Rebuilt) -> None:
        """Hold the state of a refresh that decoded in full."""
        ok = bool(rebuilt.state) and rebuilt.state == state_sum(rebuilt.bodies)
        self.bodies = rebuilt.bodies if ok else {}
        self.sum = rebuilt.state if ok else None

    def rebuild(self, data: bytes) -> Rebuilt:
        """The whole stream from a delta one (plain, not gzip'ed). Text that is no
        collector output is passed through, for the decoder's own error."""
        first, nl, rest = data.partition(b"\n")
        parts = first.split(b" ")
        if len(parts) != 3 or parts[0] != MAGIC or not nl:
            return Rebuilt(data, "")
        marker = b"\n@@" + parts[2] + b" "
        pieces = (b"\n" + rest).split(marker)
        out = [pieces[0]]
        mode, state, bodies = "", None, {}
        k = 1
        while k < len(pieces):
            head, _, body = pieces[k].partition(b"\n")
            name, _, arg = head.decode("utf-8", "replace").partition(" ")
            k += 1
            if name == "files":  # its "f" sections are part of its body
                while k < len(pieces) and pieces[k].partition(b"\n")[0] == b"f":
                    body += marker + pieces[k]
                    k += 1
            if name == "mode":
                mode = body.decode("ascii", "replace").strip()
            elif name == "state":
                state = body.decode("ascii", "replace").strip()
            if arg not in _STORED:
                out.append(pieces[k - 1] if name != "files" else head + b"\n" + body)
                continue
            if arg != "!":
                if name not in self.bodies:
                    raise DeltaError(f"a delta of '{name}' against no state the host holds")
                body = self.bodies[name] if arg == "=" else apply_diff(self.bodies[name], body)
            bodies[name] = body
            out.append(name.encode() + b"\n" + body)
        if state is not None and pieces[-1] == b"end\n" and state != state_sum(bodies):
            raise DeltaError("the rebuilt state's checksum is not the device's")
        return Rebuilt(first + nl + marker.join(out)[1:], mode, bodies, state or "")
