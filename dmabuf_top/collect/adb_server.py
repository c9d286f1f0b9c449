"""Reaching the adb server: its address (options, then $ANDROID_ADB_SERVER_HOST/PORT),
a probe that says how to start one, and adbutils' client that never starts one itself."""

from __future__ import annotations

import os
import shutil
import socket
from functools import lru_cache

from dmabuf_top.collect.contract import BackendError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5037
#: seconds for a small adb call (device list, probe, adb root)
CONTROL_TIMEOUT = 15.0
#: seconds to wait for an answer when probing the server port
PROBE_TIMEOUT = 2.0


@lru_cache(maxsize=1)
def adbutils_classes():  # noqa: ANN201 - adbutils is imported only on the adb path
    """adbutils' client class that never starts an adb server, and its error type."""
    import adbutils
    from adbutils import AdbConnection, AdbError

    class NoStartConnection(AdbConnection):
        """adbutils' connection, minus starting an adb server when none answers."""

        def _safe_connect(self):  # type: ignore[override]
            return self._create_socket()

    class Client(adbutils.AdbClient):
        def make_connection(self, timeout: float | None = None) -> AdbConnection:
            c = NoStartConnection(self.host, self.port)
            c.conn.settimeout(timeout or CONTROL_TIMEOUT)
            return c

    return Client, AdbError


def server_address(host: str | None, port: int | None) -> tuple[str, int]:
    host = host or os.environ.get("ANDROID_ADB_SERVER_HOST") or DEFAULT_HOST
    if port is None:
        env = os.environ.get("ANDROID_ADB_SERVER_PORT")
        if env:
            try:
                port = int(env)
            except ValueError:
                raise BackendError(f"ANDROID_ADB_SERVER_PORT is not a port: {env!r}") from None
        else:
            port = DEFAULT_PORT
    if not 0 < port < 65536:
        raise BackendError(f"adb server port out of range: {port}")
    return host, port


def probe_server(host: str, port: int) -> None:
    """Raise BackendError unless something listens at host:port."""
    try:
        with socket.create_connection((host, port), timeout=PROBE_TIMEOUT):
            return
    except OSError as e:
        reason = e.strerror or str(e) or type(e).__name__
    where = f"{host}:{port}"
    if shutil.which("adb"):
        hint = "start it with 'adb start-server' (or give --adb-host/--adb-port)"
    else:
        hint = (
            "and no 'adb' command is installed to start one: install Android "
            "platform-tools (Debian/Ubuntu: apt install adb)"
        )
    raise BackendError(f"no adb server at {where} ({reason}): {hint}")
