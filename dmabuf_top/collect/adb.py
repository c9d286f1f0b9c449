"""An Android device over adb: one ``exec:`` of the collector per refresh.

adbutils reaches the adb server, never starting one (the port is probed first). Each
refresh runs ``collector.sh`` on the device (as root through ``su`` when the shell is
not) or its native twin (:mod:`dmabuf_top.collect.adb_native`), gzip'ed when gzip is
there; after the first refresh only what changed comes (``adb_delta`` makes it whole; a
delta that does not fit is redone in full at once); ``adb_stream`` and ``assemble()``
make the Snapshot. Faults: a device that goes away or an adbd that restarts makes
``collect()`` raise :class:`BackendError` (the TUI keeps the last good data); the next
``collect()`` checks the device again and carries on once it is back. Every adb call
has a timeout.
"""

from __future__ import annotations

import atexit
import os
import socket
import time
from typing import TYPE_CHECKING

from dmabuf_top.collect.adb_delta import DeltaError, DeltaSession, DiffError, Rebuilt
from dmabuf_top.collect.adb_native import Native, fallback_warning, prepare, pusher
from dmabuf_top.collect.adb_server import (
    CONTROL_TIMEOUT,
    adbutils_classes,
    probe_server,
    server_address,
)
from dmabuf_top.collect.adb_setup import (
    KILL_CHANGED,
    KILL_STATUS,
    SETUP_SCRIPT,
    DeviceFacts,
    collector_command,
    kill_command,
    parse_setup,
)
from dmabuf_top.collect.adb_stream import (
    MAX_OUTPUT,
    StreamError,
    gunzip,
    parse_stream,
    too_large,
)
from dmabuf_top.collect.assemble import Assembler
from dmabuf_top.collect.contract import BackendError, SeenProcess
from dmabuf_top.collect.pidsignal import refusal
from dmabuf_top.collect.rawscan import RawScan
from dmabuf_top.model import Snapshot, Source
from dmabuf_top.textsafe import printable
from dmabuf_top.timefmt import utc_now

if TYPE_CHECKING:  # adbutils is imported only when --adb is used
    from adbutils import AdbClient

#: seconds for the once-per-connection probe (su may wait for a prompt on the phone)
SETUP_TIMEOUT = 40.0
#: seconds for one whole collector run
COLLECT_TIMEOUT = 60.0
#: seconds to wait for the device after ``adb root``
ROOT_WAIT = 45.0
#: seconds for removing the session's state from the device at the end
CLOSE_TIMEOUT = 5.0
#: what kill_command's KILL_CHANGED word says happened to the process seen
_CHANGES = {"exited": "exited", "restarted": "the device restarted", "started": "started later"}


_STATE_HINTS = {
    "unauthorized": "accept the 'Allow USB debugging' prompt on the device",
    "offline": "reconnect it, or restart adbd (adb reconnect)",
    "authorizing": "wait for it to finish authorizing",
    "connecting": "wait for it to connect",
    "no": "no permissions to open the USB device: check udev rules",
}


def _state_error(serial: str, state: str) -> BackendError:
    hint = _STATE_HINTS.get(state, "it must be in state 'device'")
    return BackendError(f"device {serial} is {state}: {hint}")


def _listing(devices: list[tuple[str, str]]) -> str:
    return ", ".join(f"{s} ({st})" for s, st in devices) or "none"


class AdbBackend:
    """One Android device; ``collect()`` is safe to call from a worker thread."""

    kind = "adb"
    live = True
    collector = "auto"  # "auto": the native collector where it runs, else the shell's; "shell"
    native: Native | None = None  # the native collector in use
    native_note = ""  # why it is not used ("": it is, or it is not wanted)

    def __init__(self, client: AdbClient, serial: str, want_root: bool = False) -> None:
        self.client = client
        self.serial = serial
        self.want_root = want_root
        self.facts: DeviceFacts | None = None
        self.kernel = ""
        #: the last collector output as it came over the wire (for benchmarks, debugging)
        self.last_data = b""
        #: the session with the collector (the device's state, the host's copy)
        self.delta = DeltaSession()
        self.last_mode = ""  # the last refresh: "delta", or "full WHY" (see collector.sh)
        #: options of the collector ("ino": list every fd's inode)
        self.options = ""
        self._closed = False
        self._refreshed = False  # a refresh was decoded: the next ones use the session
        self.assembler = Assembler()  # reuses what did not change since the last refresh
        _, self._AdbError = adbutils_classes()

    # -- adb plumbing ---------------------------------------------------------
    def _errors(self) -> tuple[type[BaseException], ...]:
        return (self._AdbError, OSError, EOFError)

    def exec(self, cmd: str, timeout: float = CONTROL_TIMEOUT) -> bytes:
        """Run ``cmd`` with the device's ``exec:`` service; all its output.

        ``timeout`` bounds the whole call, not each read; ``MAX_OUTPUT`` its
        bytes (BackendError past it: an endless stream ends there)."""
        deadline = time.monotonic() + timeout
        c = self.client.make_connection(timeout=timeout)
        try:
            sock = c.conn
            for request in ("host:transport:" + self.serial, "exec:" + cmd):
                data = request.encode("utf-8")
                sock.sendall(b"%04x" % len(data) + data)  # adbutils' send() may stop short
                c.check_okay()
            return self._read_to_end(sock, deadline, timeout)
        finally:
            c.close()

    def _read_to_end(self, sock: socket.socket, deadline: float, timeout: float) -> bytes:
        """Everything until the server closes, by ``deadline`` (TimeoutError) and
        at most ``MAX_OUTPUT`` bytes (BackendError: an endless stream ends there)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no end of output after {timeout:.0f}s")
            sock.settimeout(left)
            b = sock.recv(1 << 16)
            if not b:
                return b"".join(chunks)
            size += len(b)
            if size > MAX_OUTPUT:
                raise BackendError(f"device {self.serial}: {too_large()}")
            chunks.append(b)

    def devices(self) -> list[tuple[str, str]]:
        return list_devices(self.client)

    # -- connection set-up ----------------------------------------------------
    def setup(self) -> DeviceFacts:
        """Probe the device once per connection (uid, su, gzip, props);
        with want_root, ``adb root`` first."""
        facts = parse_setup(self.exec(SETUP_SCRIPT, SETUP_TIMEOUT).decode("utf-8", "replace"))
        if facts.uid is None:
            raise BackendError(f"{self.serial}: the device shell did not say its uid")
        if self.want_root and facts.uid != 0:
            self.adb_root()
            facts = parse_setup(self.exec(SETUP_SCRIPT, SETUP_TIMEOUT).decode("utf-8", "replace"))
            if facts.uid != 0:
                raise BackendError(f"{self.serial}: adb root did not make the shell root")
        if not facts.props.get("model") and (model := self._model_from_listing()):
            facts.props["model"] = model
        self.facts = facts
        if self.collector != "shell":  # the native collector pushed, checked, tried; or why not
            push = pusher(self.client, self.serial)
            self.native, self.native_note = prepare(facts, self.exec, push, self._errors())
        return facts

    def _model_from_listing(self) -> str | None:
        try:
            for info in self.client.list(extended=True):
                if info.serial == self.serial:
                    return info.tags.get("model")
        except self._errors():
            return None
        return None

    def adb_root(self) -> None:
        """``adb root``: restart adbd as root and wait for the device to return."""
        c = self.client.make_connection(timeout=CONTROL_TIMEOUT)
        try:
            c.send_command("host:transport:" + self.serial)
            c.check_okay()
            c.send_command("root:")
            c.check_okay()
            deadline = time.monotonic() + CONTROL_TIMEOUT
            data = self._read_to_end(c.conn, deadline, CONTROL_TIMEOUT)
            answer = data.decode("utf-8", "replace").strip()
        finally:
            c.close()
        if "already running as root" in answer:
            return
        if not answer.startswith("restarting"):
            raise BackendError(f"{self.serial}: adb root: {printable(answer) or 'refused'}")
        deadline = time.monotonic() + ROOT_WAIT
        time.sleep(0.5)
        while time.monotonic() < deadline:
            try:
                if dict(self.devices()).get(self.serial) == "device":
                    if self.exec("id -u", timeout=5).strip() == b"0":
                        return
            except self._errors():
                pass
            time.sleep(0.5)
        raise BackendError(
            f"{self.serial}: the device did not come back within {ROOT_WAIT:.0f}s of adb root"
        )

    def _reconnect(self) -> None:
        try:
            devices = self.devices()
        except self._errors() as e:
            raise BackendError(f"{self.serial}: adb server unreachable ({e}); retrying") from None
        state = dict(devices).get(self.serial)
        if state is None:
            raise BackendError(f"device {self.serial} disconnected; retrying")
        if state != "device":
            raise BackendError(f"device {self.serial} is {state}; retrying")
        try:
            self.setup()
        except self._errors() as e:
            raise BackendError(f"device {self.serial}: {_one_line(e)}; retrying") from None

    # -- Backend --------------------------------------------------------------
    def describe(self) -> str:
        props = self.facts.props if self.facts else {}
        return Source(
            kind="adb", serial=self.serial, model=props.get("model"),
            android=props.get("android"), build_type=props.get("build_type"),
            kernel=self.kernel,
        ).label()

    def refresh_command(self) -> str:
        """The command line of the next refresh: the first without a session (a
        single scan, ``snapshot`` or ``--once``, leaves nothing on the device), the
        next ones with the session's id and sum."""
        assert self.facts is not None
        session = self.delta.args() if self._refreshed else []
        path = self.native.path if self.native else ""
        return collector_command(self.facts, self.options, session=session, program=path)

    def _run(self, taken_at: str) -> RawScan:
        """One collector run, its delta made whole and decoded; DeltaError when
        the delta does not fit the host's copy (which is then forgotten)."""
        assert self.facts is not None
        try:
            data = self.exec(self.refresh_command(), timeout=COLLECT_TIMEOUT)
        except self._errors() as e:
            self.facts = None
            raise BackendError(f"device {self.serial}: {_one_line(e)}; retrying") from None
        self.last_data = data
        extra, text = {"serial": self.serial, **self.facts.props}, b""
        try:
            text = gunzip(data) if self.facts.gzip else data
            rebuilt: Rebuilt = self.delta.rebuild(text)
            if len(rebuilt.data) > MAX_OUTPUT:  # a delta grows the host's copy
                raise too_large(decompressed=True)
            raw = parse_stream(rebuilt.data, taken_at, self.serial, extra, compressed=False)
        except StreamError as e:
            self.delta.forget()
            if self.native is not None and text and not isinstance(e, DeltaError):
                self.native, self.native_note = None, f"it failed: {e}"  # its output, not adb's
                raise DeltaError(self.native_note) from None  # redone by the shell's
            if isinstance(e, DiffError) and "nodiff" not in self.options.split():
                self.options = f"{self.options} nodiff".strip()  # "=" or in full from now on
            if isinstance(e, DeltaError):
                raise
            self.facts = None  # adbd may have restarted: probe again next time
            raise BackendError(f"device {self.serial}: {e}") from None
        self.delta.keep(rebuilt)
        raw.packages = "\n".join(self.facts.packages)
        self.last_mode, self._refreshed = rebuilt.mode, True
        return raw

    def collect(self) -> Snapshot:
        t0 = time.perf_counter()
        if self.facts is None:
            self._reconnect()
        assert self.facts is not None
        taken_at = utc_now()
        try:
            raw = self._run(taken_at)
        except DeltaError:
            try:
                raw = self._run(taken_at)  # the state is forgotten: a full resync
            except DeltaError as e:
                raise BackendError(f"device {self.serial}: {e}") from None
        raw.warnings += fallback_warning(self.native_note)
        if not self.facts.root:
            raw.privilege = "limited"
            raw.warnings.append(self._limited_warning())
        self.kernel = raw.kernel
        snap = self.assembler(raw)
        snap.scan_seconds = round(time.perf_counter() - t0, 4)
        return snap

    def close(self) -> None:
        """End the session: the device's state directory is removed (best effort)."""
        if self._closed or self.facts is None or not self._refreshed:
            return
        self._closed = True
        cmd = collector_command(self.facts, "close", session=self.delta.args())
        try:
            self.exec(cmd, timeout=CLOSE_TIMEOUT)
        except self._errors():
            pass
        self.delta.forget()

    def send_signal(self, seen: SeenProcess, signum: int) -> None:
        """``kill -N PID`` in the device's shell (through su when the collector uses it),
        after the same start time and boot id check as on this machine."""
        pid = seen.pid
        if pid <= 0:
            raise BackendError(f"kill {pid}: not a process id")
        if self.facts is None:
            self._reconnect()
        assert self.facts is not None
        try:
            out = self.exec(kill_command(self.facts, seen, signum)).decode("utf-8", "replace")
        except self._errors() as e:
            raise BackendError(f"device {self.serial}: kill {pid}: {_one_line(e)}") from None
        said, found, status = out.rpartition(KILL_STATUS)
        _, changed, why = said.partition(KILL_CHANGED)
        if changed:
            what = _CHANGES.get(why.split()[0] if why.split() else "", "changed")
            raise refusal(seen, what)
        if not found or status.strip() != "0":
            why = " ".join((said if found else out).split())[:200]
            if not why:
                why = f"exit status {status.strip()[:8]}" if found else "no answer from the shell"
            raise BackendError(f"device {self.serial}: kill {pid}: {printable(why)}")

    def _limited_warning(self) -> str:
        facts = self.facts
        assert facts is not None
        why = "su refused" if facts.su == "no" else "no su"
        what = "only the shell's own processes are shown"
        if facts.dumpsys:
            what += "; device totals come from dumpsys meminfo"
        return f"not root on the device (uid {facts.uid}, {why}): {what}; try --root"


def _one_line(e: BaseException) -> str:
    """An error (often words of the adb server or the device) as one printable line."""
    return printable(" ".join(str(e).split()) or type(e).__name__)


def list_devices(client: AdbClient) -> list[tuple[str, str]]:
    """(serial, state) of every device the server knows, in its order."""
    out = []
    for info in client.list():
        out.append((info.serial, info.state))
    return out


def open_adb_backend(
    serial: str | None = None,
    host: str | None = None,
    port: int | None = None,
    want_root: bool = False,
) -> AdbBackend:
    """Find the server and the device, probe it once; BackendError (one line)
    for every way that can fail."""
    host, port = server_address(host, port)
    probe_server(host, port)
    client_cls, adb_error = adbutils_classes()
    client = client_cls(host=host, port=port)
    try:
        devices = list_devices(client)
    except (adb_error, OSError, EOFError) as e:
        raise BackendError(f"adb server at {host}:{port} did not answer: {_one_line(e)}") from None
    chosen = serial or os.environ.get("ANDROID_SERIAL") or None
    if chosen is None:
        if not devices:
            raise BackendError(f"no device: the adb server at {host}:{port} lists none")
        if len(devices) > 1:
            raise BackendError(
                f"several devices: {_listing(devices)}; "
                "choose one with --adb SERIAL (or ANDROID_SERIAL)"
            )
        chosen = devices[0][0]
    states = dict(devices)
    if chosen not in states:
        raise BackendError(f"no device {chosen!r}; adb sees: {_listing(devices)}")
    if states[chosen] != "device":
        raise _state_error(chosen, states[chosen])
    backend = AdbBackend(client, chosen, want_root=want_root)
    try:
        backend.setup()
    except (adb_error, OSError, EOFError) as e:
        raise BackendError(f"device {chosen}: {_one_line(e)}") from None
    atexit.register(backend.close)  # the session's state leaves the device with us
    return backend
