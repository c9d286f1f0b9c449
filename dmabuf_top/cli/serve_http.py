"""The exporter's HTTP side, bounded: one asyncio loop (a thread) holds every
connection, so idle ones cost no thread; at most :data:`MAX_CONNECTIONS` are open (a
newcomer past it closes the oldest one still silent, else is closed itself); a client
has :data:`HEAD_TIMEOUT` seconds to send its request and :data:`WRITE_TIMEOUT` to take
the answer; at most :data:`MAX_RENDERS` scrapes render at once (prometheus_client's
``generate_latest``, whose collector scans at most once per --min-interval)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

#: connections open at once (a scrape needs one, briefly)
MAX_CONNECTIONS = 256
#: seconds a client has to send its whole request head, from connecting
HEAD_TIMEOUT = 10.0
#: seconds a client has to take the whole answer
WRITE_TIMEOUT = 30.0
#: bytes of a request head (request line and headers)
MAX_HEAD = 8192
#: scrapes rendered at once (each waits for the scan it shares)
MAX_RENDERS = 4


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` names is a loopback one (127.0.0.0/8, ::1)."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return False
    addrs = {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}
    return bool(addrs) and all(a.is_loopback for a in addrs)


def _answer(status: str, body: bytes, ctype: str, head_only: bool) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("ascii") + (b"" if head_only else body)


class MetricsServer:
    """/metrics (any path) of ``registry`` on ``host:port``; ``start()`` binds
    (OSError when it cannot) and serves from a thread until ``stop()``."""

    def __init__(self, registry: CollectorRegistry, host: str, port: int) -> None:
        self.registry = registry
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        self.sock = socket.create_server((host, port), family=family, backlog=128)
        self.port: int = self.sock.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        self._renders = ThreadPoolExecutor(MAX_RENDERS, thread_name_prefix="scrape")
        #: open connections, oldest first; True once the request head is in
        self._open: dict[asyncio.StreamWriter, bool] = {}
        self._thread = threading.Thread(target=self._run, name="serve-http", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, sock=self.sock, limit=MAX_HEAD)
        )
        try:
            self._loop.run_forever()
        finally:
            server.close()
            for w in list(self._open):
                w.transport.abort()
            self._loop.run_until_complete(server.wait_closed())
            self._loop.close()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._renders.shutdown(wait=False, cancel_futures=True)

    def _admit(self, writer: asyncio.StreamWriter) -> bool:
        if len(self._open) >= MAX_CONNECTIONS:
            silent = next((w for w, asked in self._open.items() if not asked), None)
            if silent is None:
                return False  # every slot is a scrape being answered
            del self._open[silent]
            silent.transport.abort()  # it had its chance: the oldest silent one goes
        self._open[writer] = False
        return True

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._admit(writer):
            writer.transport.abort()
            return
        try:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
            except (asyncio.TimeoutError, asyncio.IncompleteReadError,
                    asyncio.LimitOverrunError, ConnectionError):
                return
            if writer in self._open:
                self._open[writer] = True
            writer.write(await self._respond(head))
            await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT)
        except (asyncio.TimeoutError, ConnectionError):
            pass
        finally:
            self._open.pop(writer, None)
            writer.transport.abort()

    async def _respond(self, head: bytes) -> bytes:
        method = head.split(b" ", 1)[0]
        text = "text/plain; charset=utf-8"
        if method not in (b"GET", b"HEAD"):
            return _answer("405 Method Not Allowed", b"GET /metrics\n", text, False)
        try:
            body = await self._loop.run_in_executor(
                self._renders, generate_latest, self.registry
            )
        except Exception:  # the collector logs its own failures; never a dead server
            return _answer("500 Internal Server Error", b"scrape failed\n", text, False)
        return _answer("200 OK", body, CONTENT_TYPE_LATEST, method == b"HEAD")
