"""Load dmabuf-top's BPF iterators through the system's libbpf (``libbpf.so.1``, via
ctypes) and read their records (collect/bpf/dmabuf_top.bpf.o: packed structs): open,
load, attach each iterator once per process, then one iterator fd per program per
refresh, read in large chunks.

Only fetching lives here: the records are parsed by ``parsers/bpf_records.py``. Every way it
can fail raises :class:`BpfUnavailable` with one line saying why (no libbpf, no BTF,
no kernel support for an iterator, not permitted), so the caller falls back.
"""

from __future__ import annotations

import ctypes
import errno
import os
import threading
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from dmabuf_top.collect.parsers.bpf_records import gem_more

#: the iterators, writing binary records
OBJECT_PATH = Path(__file__).with_name("bpf") / "dmabuf_top.bpf.o"
KERNEL_BTF = "/sys/kernel/btf/vmlinux"

#: program name -> the kernel's iterator target (its BTF function is bpf_iter_<target>)
BUFFERS, FILES, VMAS, TASKS = "dmabuf_buffers", "dmabuf_files", "dmabuf_vmas", "dmabuf_tasks"
#: in the order they are read: holders first, then their processes, then the
#: buffers (a buffer made in between is listed unheld, never a holder of a buffer
#: that is not listed; a holder gone before its process was read is a bare pid)
TARGETS = {FILES: "task_file", VMAS: "task_vma", TASKS: "task", BUFFERS: "dmabuf"}
#: since when each target exists, for the reason line
TARGET_SINCE = {"dmabuf": "6.16", "task_file": "5.8", "task_vma": "5.12", "task": "5.8"}

#: how many reads of the fd iterator one DRM file's GEM handles may take: each lists
#: 512 of a file's dma-buf handles (GEM_WINDOW in the BPF C), 32,768 in all
GEM_PASSES = 64
#: pidfd_open(2)'s flag for a pidfd of one thread (6.9+; the scan needs 6.16)
PIDFD_THREAD = os.O_EXCL
#: bytes asked of one read(2) of an iterator: the kernel hands over at most its
#: buffer (8 pages) per read, many records each
READ_SIZE = 1 << 16
_BTF_KIND_FUNC = 12
_LOG_LINES = 40
_PRINT_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)


class BpfUnavailable(Exception):
    """The BPF scan cannot run here; ``str()`` is one line saying why."""


@lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.vsnprintf.argtypes = (ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_void_p)
    return libc


#: what libbpf printed while loading (verifier errors end up in the reason line)
_log: list[str] = []


@_PRINT_FN
def _print(level: int, fmt: bytes, args: int) -> int:
    buf = ctypes.create_string_buffer(1 << 16)  # a verifier log comes in one print
    _libc().vsnprintf(buf, len(buf), fmt, args)
    _log.extend(ln for ln in buf.value.decode("utf-8", "backslashreplace").splitlines() if ln)
    del _log[:-_LOG_LINES]
    return 0


def verifier_error(log: list[str]) -> str | None:
    """The verifier's reason in a program load log (the line before its
    ``verification time`` statistics), or None when the log has none."""
    for i, line in enumerate(log):
        if line.startswith("verification time") and i > 0:
            return log[i - 1]
    return None


@lru_cache(maxsize=1)
def _libbpf() -> ctypes.CDLL:
    try:
        lib = ctypes.CDLL("libbpf.so.1", use_errno=True)
    except OSError as e:
        raise BpfUnavailable(f"libbpf.so.1 not found (install libbpf1): {e}") from None
    vp, cp, ci = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    for name, res, args in (
        ("libbpf_set_print", vp, (vp,)),
        ("btf__load_vmlinux_btf", vp, ()),
        ("btf__find_by_name_kind", ci, (vp, cp, ci)),
        ("btf__free", None, (vp,)),
        ("bpf_object__open_file", vp, (cp, vp)),
        ("bpf_object__find_program_by_name", vp, (vp, cp)),
        ("bpf_program__set_autoload", ci, (vp, ctypes.c_bool)),
        ("bpf_object__load", ci, (vp,)),
        ("bpf_object__close", None, (vp,)),
        ("bpf_program__attach_iter", vp, (vp, vp)),
        ("bpf_link__fd", ci, (vp,)),
        ("bpf_link__destroy", ci, (vp,)),
        ("bpf_iter_create", ci, (ci,)),
        # the event source (bpf_events.py): programs attached by their section,
        # a ring buffer and a per-CPU counter
        ("bpf_program__attach", vp, (vp,)),
        ("bpf_object__find_map_by_name", vp, (vp, cp)),
        ("bpf_map__fd", ci, (vp,)),
        ("bpf_map_lookup_elem", ci, (ci, vp, vp)),
        ("libbpf_num_possible_cpus", ci, ()),
        ("ring_buffer__new", vp, (ci, vp, vp, vp)),
        ("ring_buffer__poll", ci, (vp, ci)),
        ("ring_buffer__consume", ci, (vp,)),
        ("ring_buffer__free", None, (vp,)),
        ("bpf_map_update_elem", ci, (ci, vp, vp, ctypes.c_uint64)),
        ("bpf_map_delete_elem", ci, (ci, vp)),
    ):
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    lib.libbpf_set_print(ctypes.cast(_print, vp))
    return lib


def _errno_text(err: int) -> str:
    if err in (errno.EPERM, errno.EACCES):
        return "not permitted (needs root, or CAP_BPF and CAP_PERFMON)"
    return os.strerror(err) if err else "unknown error"


def kernel_targets(lib: ctypes.CDLL) -> set[str]:
    """Iterator targets the running kernel's BTF has (bpf_iter_<target> functions)."""
    have = kernel_btf_names(lib, {f"bpf_iter_{t}": _BTF_KIND_FUNC for t in TARGETS.values()})
    return {t for t in TARGETS.values() if f"bpf_iter_{t}" in have}


def kernel_btf_names(lib: ctypes.CDLL, wanted: dict[str, int]) -> set[str]:
    """Which of ``wanted`` (name -> BTF kind) the running kernel's BTF has."""
    if not os.path.exists(KERNEL_BTF):
        raise BpfUnavailable(f"no kernel BTF ({KERNEL_BTF}: CONFIG_DEBUG_INFO_BTF)")
    btf = lib.btf__load_vmlinux_btf()
    if not btf:
        raise BpfUnavailable(f"kernel BTF unreadable: {_errno_text(ctypes.get_errno())}")
    try:
        return {
            n for n, kind in wanted.items() if lib.btf__find_by_name_kind(btf, n.encode(), kind) > 0
        }
    finally:
        lib.btf__free(btf)


def load_object(lib: ctypes.CDLL, obj: int) -> None:
    """``bpf_object__load``, or :class:`BpfUnavailable` with one line saying why."""
    if lib.bpf_object__load(obj) == 0:
        return
    err = ctypes.get_errno()
    rejected = verifier_error(_log)
    if rejected is not None:  # EACCES, and not for want of privilege
        raise BpfUnavailable(f"the kernel's verifier rejected a program: {rejected}")
    detail = next((ln for ln in reversed(_log) if ln), "")
    why = _errno_text(err)
    raise BpfUnavailable(f"loading the BPF programs failed: {why}" + (
        f" ({detail})" if detail and err not in (errno.EPERM, errno.EACCES) else ""
    ))


def open_object(lib: ctypes.CDLL, obj_path: Path) -> int:
    """libbpf's object of the file at ``obj_path``, not loaded yet (the log cleared for
    its load: :func:`load_object`); BpfUnavailable when it cannot be opened."""
    del _log[:]
    obj = lib.bpf_object__open_file(str(obj_path).encode(), None)
    if not obj:
        raise BpfUnavailable(f"cannot open {obj_path}: {_errno_text(ctypes.get_errno())}")
    return obj


def close_object(lib: ctypes.CDLL, obj: int | None, links: Iterable[int]) -> None:
    """Detach ``links`` and close ``obj`` (None: already closed), the one way both
    objects (iterators and events) let go of the kernel's programs."""
    for link in links:
        lib.bpf_link__destroy(link)
    if obj:
        lib.bpf_object__close(obj)


class BpfIterators:
    """The loaded iterators. ``read(program)`` returns one pass of its records; the
    programs the kernel lacks are not loaded (``programs`` lists those that are).
    ``obj_path``: another object of that format (default: the package's). Several
    threads may read at once: each one's scratch state and GEM window are its own
    (task-local storage of the reading thread, in the BPF C)."""

    def __init__(self, obj_path: Path = OBJECT_PATH, want: tuple[str, ...] = tuple(TARGETS)):
        lib = _libbpf()
        have = kernel_targets(lib)
        self.missing = {p: TARGETS[p] for p in want if TARGETS[p] not in have}
        if BUFFERS in self.missing:
            raise BpfUnavailable(
                "the kernel has no dma-buf BPF iterator (iter/dmabuf, Linux 6.16+)"
            )
        self._lib = lib
        self._links: dict[str, int] = {}
        obj = self._obj = open_object(lib, obj_path)
        try:
            for name in TARGETS:
                prog = lib.bpf_object__find_program_by_name(obj, name.encode())
                if not prog:
                    raise BpfUnavailable(f"{obj_path} has no program {name}")
                lib.bpf_program__set_autoload(prog, name in want and name not in self.missing)
            load_object(lib, obj)
            for name in want:
                if name in self.missing:
                    continue
                prog = lib.bpf_object__find_program_by_name(obj, name.encode())
                link = lib.bpf_program__attach_iter(prog, None)
                if not link:
                    raise BpfUnavailable(
                        f"attaching {name} failed: {_errno_text(ctypes.get_errno())}"
                    )
                self._links[name] = link
        except BaseException:
            self.close()
            raise

    @property
    def programs(self) -> list[str]:
        return list(self._links)

    def read(self, program: str) -> bytes:
        """One pass of the iterator: every record, as the program writes them. The
        fd iterator is read again while some DRM file has more dma-buf handles than
        one read lists ('G' records; at most :data:`GEM_PASSES` reads), each read
        the next window of them (records of other files repeat: the parser keeps one)."""
        if program != FILES:
            return self._read_once(program)
        chunks = [self._read_once(program)]
        if not gem_more(chunks[-1]):
            return chunks[0]
        pidfd = self._thread_pidfd()
        try:
            passes = 1
            while gem_more(chunks[-1]) and passes < GEM_PASSES:
                self._set_gem_pass(pidfd, passes)
                chunks.append(self._read_once(program))
                passes += 1
        finally:
            self._set_gem_pass(pidfd, 0)
            os.close(pidfd)
        return b"".join(chunks)

    @staticmethod
    def _thread_pidfd() -> int:
        """A pidfd of the calling thread: the key of its task-local storage."""
        try:
            return os.pidfd_open(threading.get_native_id(), PIDFD_THREAD)
        except OSError as e:
            raise BpfUnavailable(f"pidfd_open of the reading thread failed: {e.strerror}") from None

    def _set_gem_pass(self, pidfd: int, n: int) -> None:
        """Which window of each DRM file's dma-buf handles this thread's reads of the
        fd iterator list (0: the first, the entry removed)."""
        lib = self._lib
        bpf_map = lib.bpf_object__find_map_by_name(self._obj, b"gem_pass")
        if not bpf_map:
            raise BpfUnavailable("the BPF object has no gem_pass map")
        fd, key, value = lib.bpf_map__fd(bpf_map), ctypes.c_int(pidfd), ctypes.c_uint32(n)
        if n:
            failed = lib.bpf_map_update_elem(fd, ctypes.byref(key), ctypes.byref(value), 0)
        else:
            failed = lib.bpf_map_delete_elem(fd, ctypes.byref(key))
            failed = failed and ctypes.get_errno() != errno.ENOENT
        if failed:
            why = _errno_text(ctypes.get_errno())
            raise BpfUnavailable(f"setting the GEM handle window failed: {why}")

    def _read_once(self, program: str) -> bytes:
        link = self._links[program]
        fd = self._lib.bpf_iter_create(self._lib.bpf_link__fd(link))
        if fd < 0:
            raise BpfUnavailable(
                f"reading {program} failed: {_errno_text(ctypes.get_errno())}"
            )
        chunks = []
        try:
            while True:
                b = os.read(fd, READ_SIZE)
                if not b:
                    break
                chunks.append(b)
        except OSError as e:
            raise BpfUnavailable(f"reading {program} failed: {_errno_text(e.errno or 0)}") from None
        finally:
            os.close(fd)
        return b"".join(chunks)

    def close(self) -> None:
        close_object(self._lib, self._obj, self._links.values())
        self._links = {}
        self._obj = None

    def __enter__(self) -> BpfIterators:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
