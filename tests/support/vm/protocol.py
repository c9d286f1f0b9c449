"""Wire format between the host (vm.py) and the guest agent (agent.py).

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON.
Binary payloads (stdout, file contents...) travel base64-encoded.  Stdlib only:
the agent imports this module inside the guest.
"""

from __future__ import annotations

import base64
import json
import struct

PORT_NAME = "dtvm.agent"
MAX_FRAME = 1 << 30
_LEN = struct.Struct(">I")


def encode(msg: dict) -> bytes:
    body = json.dumps(msg, separators=(",", ":")).encode()
    return _LEN.pack(len(body)) + body


def b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def unb64(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)


class FrameReader:
    """Incremental decoder: feed() bytes, get complete messages back."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[dict]:
        self._buf += data
        out = []
        while len(self._buf) >= _LEN.size:
            (n,) = _LEN.unpack_from(self._buf)
            if n > MAX_FRAME:
                raise ValueError(f"frame too large: {n}")
            if len(self._buf) < _LEN.size + n:
                break
            body = bytes(self._buf[_LEN.size : _LEN.size + n])
            del self._buf[: _LEN.size + n]
            out.append(json.loads(body))
        return out
