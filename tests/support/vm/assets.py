"""Kernel + initramfs assets for the real-kernel test VM, one per kernel series
(kernels.py: Debian's 5.10, 6.1, 6.18 and 7.3 packages).

`ensure_assets(series=...)` is idempotent and cached: it picks the newest package of
the series known to apt, downloads and unpacks it (with the packages that hold its
kernel and modules when it is a metapackage, as 7.x's are), resolves the module
dependencies from `modules.dep` (skipping what `modules.builtin` has) and writes a
busybox initramfs with the modules the guest needs, in load order, and their arguments.
No pytest dependency.
"""

from __future__ import annotations

import fcntl
import gzip
import io
import json
import lzma
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from tests.support.vm.kernels import (
    DEFAULT_SERIES,
    SERIES,
    Apt,
    kernel_file,
    matrix,
    unpack_kernel,
)
from tests.support.vm.kernels import KernelError as VMAssetError
from tests.support.vm.kernels import run as _run

REPO = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
DEFAULT_CACHE = REPO / ".vm-cache"
CACHE_ENV = "DMABUF_TOP_VM_CACHE"
BUSYBOX = Path("/bin/busybox")
INIT_SCRIPT = HERE / "init.sh"
ASSETS_FORMAT = 4  # bump when the cache layout or the Assets fields change

# Modules the guest loads; their dependencies are added from modules.dep.
WANTED_MODULES = (
    "virtio_pci",
    "virtio_console",
    "9pnet_virtio",
    "9p",
    "overlay",
    "vgem",
    "virtio_net",
    "vivid",  # the V4L2 test driver: real programs (GStreamer, v4l2-ctl) stream on it
)
#: insmod arguments of a wanted module (written beside it in the initramfs as NN-name.args).
#: vivid: three instances, each one video capture and one video output node
#: (node_types 0x101), instance 0 on vmalloc buffers, 1 and 2 on dma-contig ones (only
#: those attach a device when they import a dma-buf)
MODULE_ARGS = {"vivid": "n_devs=3 node_types=0x101,0x101,0x101 allocators=0,1,1"}

@dataclass(frozen=True)
class Assets:
    kernel_version: str  # e.g. "6.1.0-50-amd64" (uname -r)
    package: str  # e.g. "linux-image-6.1.0-50-amd64"
    package_version: str  # Debian version, e.g. "6.1.176-1"
    vmlinuz: Path  # bzImage
    vmlinux: Path | None  # uncompressed ELF (PVH entry), if extracted
    initramfs: Path  # gzip'ed cpio newc
    config: Path  # the kernel's .config
    modules: tuple[str, ...]  # module names, load order

    @property
    def kernel(self) -> Path:
        """The image to boot: the uncompressed vmlinux (PVH) when available."""
        return self.vmlinux or self.vmlinuz

    def kconfig(self, option: str) -> str | None:
        """Value of CONFIG_<option> ("y", "m", a string...) or None when not set."""
        name = option if option.startswith("CONFIG_") else "CONFIG_" + option
        for line in self.config.read_text().splitlines():
            if line.startswith(name + "="):
                return line.split("=", 1)[1]
        return None


def default_cache_dir() -> Path:
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else DEFAULT_CACHE


def _version_key(v: str) -> tuple:
    return tuple(int(x) if x.isdigit() else x for x in re.split(r"[.+~-]", v))


@contextmanager
def _locked(cache: Path) -> Iterator[None]:
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _cached(cache: Path) -> list[Assets]:
    found = []
    for meta in cache.glob("*/assets.json"):
        try:
            d = json.loads(meta.read_text())
        except (OSError, ValueError):
            continue
        if d.get("format") != ASSETS_FORMAT:
            continue
        d.pop("format")
        a = Assets(
            **{
                **d,
                "vmlinuz": Path(d["vmlinuz"]),
                "vmlinux": Path(d["vmlinux"]) if d["vmlinux"] else None,
                "initramfs": Path(d["initramfs"]),
                "config": Path(d["config"]),
                "modules": tuple(d["modules"]),
            }
        )
        paths = [a.vmlinuz, a.initramfs, a.config] + ([a.vmlinux] if a.vmlinux else [])
        if all(p.exists() for p in paths):
            found.append(a)
    return sorted(found, key=lambda a: _version_key(a.kernel_version))


def ensure_assets(cache_dir: Path | None = None, series: str = DEFAULT_SERIES) -> Assets:
    """Return cached VM assets of a kernel series, building them first if needed."""
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    if not BUSYBOX.exists():
        raise VMAssetError(f"{BUSYBOX} is missing: install the Debian package busybox-static")
    spec = SERIES[series]
    apt = Apt(spec, cache)
    with _locked(cache):
        have = [a for a in _cached(cache) if spec.match(a.package)]
        try:
            pkg = apt.pick()
        except VMAssetError:
            # offline / not Debian: reuse what we built before, with this initramfs
            same = [a for a in have if _init_stamp(a) == _init_digest()]
            if same:
                return same[-1]
            raise
        kver = pkg.removeprefix("linux-image-")
        for a in have:
            if a.kernel_version == kver and _init_stamp(a) == _init_digest():
                return a
        return _build(cache, apt, pkg, kver)


def _init_digest() -> str:
    """What the initramfs is made of besides the kernel: init.sh, busybox, the wanted
    modules. Assets are cached per kernel and digest (``KVER.DIGEST/``), so checkouts with
    different ones share a cache without rebuilding each other's."""
    import hashlib

    h = hashlib.sha256(INIT_SCRIPT.read_bytes())
    h.update(BUSYBOX.read_bytes())
    h.update(repr((WANTED_MODULES, sorted(MODULE_ARGS.items()))).encode())
    return h.hexdigest()[:16]


def _init_stamp(a: Assets) -> str | None:
    stamp = a.initramfs.with_suffix(".stamp")
    return stamp.read_text().strip() if stamp.exists() else None


def _build(cache: Path, apt: Apt, pkg: str, kver: str) -> Assets:
    out = cache / f"{kver}.{_init_digest()}"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".build-") as tmp:
        tmpd = Path(tmp)
        root = tmpd / "root"
        pkg_version = unpack_kernel(apt, pkg, kver, tmpd / "debs", root)
        if (root / "usr/lib/modules").is_dir() and not (root / "lib").exists():
            (root / "lib").symlink_to("usr/lib")  # merged /usr (trixie's packages)
        _depmod(root, kver)
        moddir = root / "lib/modules" / kver
        builtin = _builtin(moddir)
        order = module_load_order(moddir / "modules.dep", WANTED_MODULES, builtin)
        vmlinuz = out / "vmlinuz"
        shutil.copyfile(kernel_file(root, kver, "vmlinuz"), vmlinuz)
        config = out / "config"
        shutil.copyfile(kernel_file(root, kver, "config"), config)
        shutil.copyfile(moddir / "modules.dep", out / "modules.dep")
        vmlinux = extract_vmlinux(vmlinuz, out / "vmlinux")
        initramfs = out / "initramfs.gz"
        names = write_initramfs(initramfs, moddir, order)
        initramfs.with_suffix(".stamp").write_text(_init_digest() + "\n")
    assets = Assets(
        kernel_version=kver,
        package=pkg,
        package_version=pkg_version,
        vmlinuz=vmlinuz,
        vmlinux=vmlinux,
        initramfs=initramfs,
        config=config,
        modules=tuple(names),
    )
    meta = {"format": ASSETS_FORMAT, **asdict(assets)}
    meta = {k: (str(v) if isinstance(v, Path) else v) for k, v in meta.items()}
    (out / "assets.json").write_text(json.dumps(meta, indent=1) + "\n")
    for old in _cached(cache):  # drop superseded kernels of the series (other digests stay)
        if apt.series.match(old.package) and old.kernel_version != kver:
            shutil.rmtree(old.initramfs.parent, ignore_errors=True)
    return assets


def _depmod(root: Path, kver: str) -> None:
    if shutil.which("depmod"):
        _run(["depmod", "-b", str(root), kver])
    else:  # busybox-static has a depmod applet too
        _run([str(BUSYBOX), "depmod", "-b", str(root), kver])
    if not (root / "lib/modules" / kver / "modules.dep").exists():
        raise VMAssetError("depmod did not write modules.dep")


def _modname(relpath: str) -> str:
    base = relpath.rsplit("/", 1)[-1]
    base = re.sub(r"\.ko(\.(xz|gz|zst))?$", "", base)
    return base.replace("-", "_")


def _builtin(moddir: Path) -> set[str]:
    """Names of the modules built into the kernel (modules.builtin)."""
    path = moddir / "modules.builtin"
    if not path.exists():
        return set()
    return {_modname(line) for line in path.read_text().split() if line}


def module_load_order(
    modules_dep: Path, wanted: Iterable[str], builtin: set[str] | None = None
) -> list[str]:
    """Relative module paths for `wanted` and all their dependencies, dependencies
    first; built-in ones (``builtin``) are left out."""
    builtin = builtin or set()
    deps: dict[str, tuple[str, list[str]]] = {}
    for line in modules_dep.read_text().splitlines():
        if ":" not in line:
            continue
        path, rest = line.split(":", 1)
        deps[_modname(path)] = (path, rest.split())
    order: list[str] = []

    def visit(name: str, stack: tuple[str, ...]) -> None:
        if name not in deps:
            raise VMAssetError(f"module {name!r} not found in {modules_dep}")
        path, dlist = deps[name]
        if path in order or name in stack:
            return
        for d in dlist:
            if _modname(d) not in builtin:
                visit(_modname(d), (*stack, name))
        order.append(path)

    for w in wanted:
        name = w.replace("-", "_")
        if name not in builtin:
            visit(name, ())
    return order


def extract_vmlinux(bzimage: Path, dest: Path) -> Path | None:
    """Decompress the ELF vmlinux out of an xz/gzip bzImage (for qemu's PVH boot)."""
    data = bzimage.read_bytes()
    for magic, dec in (
        (b"\xfd7zXZ\x00", lambda b: lzma.LZMADecompressor().decompress(b)),
        (b"\x1f\x8b\x08\x00", lambda b: gzip.GzipFile(fileobj=io.BytesIO(b)).read()),
    ):
        pos = data.find(magic)
        while pos >= 0:
            try:
                elf = dec(data[pos:])
            except (lzma.LZMAError, OSError, EOFError):
                elf = b""
            if elf.startswith(b"\x7fELF"):
                dest.write_bytes(elf)
                return dest
            pos = data.find(magic, pos + 1)
    return None


class _Cpio:
    """Minimal writer for the cpio "newc" format the kernel unpacks."""

    def __init__(self) -> None:
        self.buf = io.BytesIO()
        self.ino = 1

    def _entry(self, name: str, mode: int, data: bytes = b"", rdev: tuple = (0, 0)) -> None:
        nb = name.encode() + b"\0"
        fields = (self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(nb), 0)
        hdr = b"070701" + b"".join(b"%08X" % f for f in fields)
        self.ino += 1
        self.buf.write(hdr + nb)
        self.buf.write(b"\0" * (-(len(hdr) + len(nb)) % 4))
        self.buf.write(data)
        self.buf.write(b"\0" * (-len(data) % 4))

    def dir(self, name: str) -> None:
        self._entry(name, 0o040755)

    def file(self, name: str, data: bytes, perm: int = 0o644) -> None:
        self._entry(name, 0o100000 | perm, data)

    def chardev(self, name: str, major: int, minor: int) -> None:
        self._entry(name, 0o020600, rdev=(major, minor))

    def finish(self) -> bytes:
        self._entry("TRAILER!!!", 0)
        return self.buf.getvalue()


def _read_module(path: Path) -> bytes:
    data = path.read_bytes()
    if path.suffix == ".xz":
        return lzma.decompress(data)
    if path.suffix == ".gz":
        return gzip.decompress(data)
    if path.suffix == ".zst":
        return _run_bytes(["zstd", "-dc", str(path)])
    return data


def _run_bytes(cmd: list[str]) -> bytes:
    try:
        return subprocess.run(cmd, check=True, capture_output=True).stdout
    except (FileNotFoundError, subprocess.CalledProcessError) as e:
        raise VMAssetError(f"{' '.join(cmd)} failed: {e}") from e


def write_initramfs(dest: Path, moddir: Path, order: list[str]) -> list[str]:
    """Write the gzip'ed newc initramfs: /init, busybox, /modules/NN-name.ko (and
    NN-name.args: its insmod arguments, MODULE_ARGS)."""
    c = _Cpio()
    for d in ("bin", "dev", "proc", "sys", "modules", "newroot", "mnt", "mnt/host", "mnt/rw"):
        c.dir(d)
    c.chardev("dev/console", 5, 1)
    c.chardev("dev/null", 1, 3)
    c.file("bin/busybox", BUSYBOX.read_bytes(), 0o755)
    c.file("init", INIT_SCRIPT.read_bytes(), 0o755)
    names = []
    for i, rel in enumerate(order):
        name = _modname(rel)
        names.append(name)
        c.file(f"modules/{i:02d}-{name}.ko", _read_module(moddir / rel))
        if name in MODULE_ARGS:
            c.file(f"modules/{i:02d}-{name}.args", MODULE_ARGS[name].encode())
    dest.write_bytes(gzip.compress(c.finish(), compresslevel=6, mtime=0))
    return names


def main() -> None:
    """`python -m tests.support.vm.assets [CACHE_DIR]`: build/refresh the cache for every
    kernel series of the matrix ($DMABUF_TOP_VM_KERNELS), print a summary."""
    import sys

    for series in matrix():
        a = ensure_assets(Path(sys.argv[1]) if len(sys.argv) > 1 else None, series)
        print(f"== {series}: kernel {a.kernel_version} ({a.package} {a.package_version})")
        print(f"boot image {a.kernel}, initramfs {a.initramfs}")
        print(f"modules: {' '.join(a.modules)}")
        for opt in ("DEBUG_FS", "DMABUF_SYSFS_STATS", "DMABUF_HEAPS_SYSTEM", "UDMABUF",
                    "DEBUG_INFO_BTF"):
            print(f"CONFIG_{opt}={a.kconfig(opt) or 'not set'}")


if __name__ == "__main__":
    main()
