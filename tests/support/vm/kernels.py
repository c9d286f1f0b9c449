"""Which real kernels the test VM boots (Debian's packages, a matrix by series, with the
vCPU count each boots with), how apt finds and fetches them (bookworm's own apt for 6.1,
a private apt setup (its own lists and cache under the VM cache, the system's Debian
mirror) for the other suites) and how a package is unpacked, whichever layout it has."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

#: DMABUF_TOP_VM_KERNELS=5.10,6.1,6.18,7.3 picks the matrix (default: every series below)
KERNELS_ENV = "DMABUF_TOP_VM_KERNELS"
#: the series a test that does not ask for the matrix runs on
DEFAULT_SERIES = "6.1"


class KernelError(RuntimeError):
    """The VM assets (a kernel package, qemu, busybox...) cannot be provided; str() says
    why (assets.py knows it as VMAssetError)."""


@dataclass(frozen=True)
class KernelSeries:
    name: str  # "6.1"
    suite: str  # the Debian suite that has it
    prefix: str  # for `apt-cache pkgnames`
    pattern: str  # the package name; group 1 orders the candidates
    #: found through the system's own apt sources (no private setup needed)
    system_apt: bool = False
    #: vCPUs the VM boots it with (qemu -smp)
    smp: int = 2
    #: more kernel command-line parameters it boots with
    cmdline: str = ""

    def match(self, pkg: str) -> re.Match[str] | None:
        return re.match(self.pattern, pkg)


SERIES = {
    s.name: s
    for s in (
        # fdinfo without ino: (5.14+), bufinfo without a name column, reused inode numbers
        KernelSeries("5.10", "bullseye", "linux-image-5.10.0-",
                     r"^linux-image-5\.10\.0-(\d+)-amd64$"),
        KernelSeries("6.1", "bookworm", "linux-image-6.1.0-", r"^linux-image-6\.1\.0-(\d+)-amd64$",
                     system_apt=True),
        # the system heap and udmabuf built in, BTF, iter/dmabuf; modules in usr/lib/modules.
        # One vCPU: under TCG it too oopses at boot with two, now and then (int3 in
        # sched_clock_cpu from kcompactd, "Fatal exception in interrupt": a clean-clone CI
        # run on a loaded machine lost all its 6.18 tests to it)
        KernelSeries("6.18", "trixie-backports", "linux-image-6.18.",
                     r"^linux-image-6\.18\.(\d+)\+deb13-amd64$", smp=1),
        # no sysfs stats (gone in 7.0); dma_buf tracepoints, GPUActive/GPUReclaim in meminfo.
        # linux-image-* is a metapackage there (linux-binary/-modules/-base: assets.py).
        # One vCPU: under qemu's software CPU (TCG) it oopses at boot with two (int3 in
        # set_next_task_fair, "Fatal exception in interrupt"); with one it boots and runs.
        # dma_heap.mem_accounting (7.0+, 0444: boot time only) charges system-heap pages to
        # the allocator's memcg: on, so the app axis's memcg test sees a real charge
        KernelSeries("7.3", "trixie-backports", "linux-image-7.3.",
                     r"^linux-image-7\.3\.(\d+)\+deb13-amd64$", smp=1,
                     cmdline="dma_heap.mem_accounting=1"),
    )
}


#: the series whose kernels have the dma-buf BPF iterator (iter/dmabuf, 6.16+) and BTF:
#: the BPF scan runs there
BPF_SERIES = ("6.18", "7.3")


def matrix() -> list[str]:
    """The series to test, in order (from $DMABUF_TOP_VM_KERNELS, else all of them)."""
    env = os.environ.get(KERNELS_ENV, "").strip()
    names = [n.strip() for n in env.split(",") if n.strip()] if env else list(SERIES)
    unknown = [n for n in names if n not in SERIES]
    if unknown:
        raise KernelError(f"{KERNELS_ENV}: unknown kernel series {unknown} (known: {list(SERIES)})")
    return names


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    """Run a command for the VM assets; KernelError (one message) when it fails."""
    try:
        return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)
    except FileNotFoundError as e:
        raise KernelError(f"command not found: {cmd[0]!r} (needed for the test VM)") from e
    except subprocess.CalledProcessError as e:
        raise KernelError(
            f"{' '.join(cmd)} failed with exit code {e.returncode}:\n{e.stderr or e.stdout}"
        ) from e


def system_mirror() -> str:
    """The Debian mirror the system's apt uses (deb822 .sources or sources.list)."""
    texts = []
    d = Path("/etc/apt/sources.list.d")
    if d.is_dir():
        texts += [p.read_text(errors="replace") for p in sorted(d.glob("*.sources"))]
    lists = sorted(d.glob("*.list")) if d.is_dir() else []
    for p in [Path("/etc/apt/sources.list"), *lists]:
        if p.is_file():
            for line in p.read_text(errors="replace").splitlines():
                m = re.match(r"\s*deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+\S+", line)
                if m:
                    texts.append(f"URIs: {m.group(1)}\n")
    for text in texts:
        for uri in re.findall(r"^URIs:\s*(\S+)", text, re.M):
            if uri.rstrip("/").endswith("/debian"):
                return uri
    raise KernelError("no Debian mirror in the system's apt sources (/etc/apt/sources.list*)")


class Apt:
    """apt-cache / apt-get for one series: the system's, or a private setup."""

    def __init__(self, series: KernelSeries, cache: Path) -> None:
        self.series = series
        self.dir = cache / "apt"
        self.opts: list[str] = []
        if not series.system_apt:
            self.opts = [
                f"-oDir::State::Lists={self.dir}/lists",
                f"-oDir::Cache={self.dir}/cache",
                f"-oDir::Etc::SourceList={self.dir}/sources.list",
                "-oDir::Etc::SourceParts=/dev/null",
                "-oAPT::Sandbox::User=root",
            ]

    def _setup(self) -> None:
        (self.dir / "lists/partial").mkdir(parents=True, exist_ok=True)
        (self.dir / "cache/archives/partial").mkdir(parents=True, exist_ok=True)
        mirror = system_mirror()
        keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"
        suites = dict.fromkeys(s.suite for s in SERIES.values() if not s.system_apt)
        lines = [f"deb [signed-by={keyring}] {mirror} {suite} main" for suite in suites]
        (self.dir / "sources.list").write_text("\n".join(lines) + "\n")

    def update(self) -> None:
        if not shutil.which("apt-get"):
            raise KernelError("apt-get is needed to fetch the VM kernels (Debian)")
        if self.opts:
            self._setup()
        elif os.geteuid() != 0:
            raise KernelError("apt knows no such kernel package and we are not root to "
                              "run `apt-get update`")
        run(["apt-get", *self.opts, "update"],
             env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})

    def candidates(self) -> list[str]:
        if not shutil.which("apt-cache"):
            return []
        if self.opts and not (self.dir / "sources.list").exists():
            return []
        out = run(["apt-cache", *self.opts, "pkgnames", self.series.prefix]).stdout.split()
        found = [p for p in out if self.series.match(p)]
        return sorted(found, key=lambda p: int(self.series.match(p).group(1)))

    def pick(self) -> str:
        """The newest package of the series that has an installable candidate."""
        cands = self.candidates()
        if not cands:
            self.update()
            cands = self.candidates()
        for pkg in reversed(cands):
            policy = run(["apt-cache", *self.opts, "policy", pkg]).stdout
            m = re.search(r"Candidate:\s*(\S+)", policy)
            if m and m.group(1) != "(none)":
                return pkg
        where = self.dir if self.opts else "the system's"
        raise KernelError(f"no {self.series.pattern} package with a candidate in Debian "
                          f"{self.series.suite} (apt sources: {where})")

    def download(self, pkg: str, dest: Path) -> Path:
        """The .deb of ``pkg``, downloaded into a directory of its own under ``dest``."""
        where = dest / pkg
        where.mkdir(parents=True)
        run(["apt-get", *self.opts, "download", pkg], cwd=where)
        debs = list(where.glob("*.deb"))
        if len(debs) != 1:
            raise KernelError(f"apt-get download {pkg} gave {debs}")
        return debs[0]


#: where a kernel package keeps its image and config: boot/ (up to 6.x), or beside the
#: modules (Debian's 7.x linux-binary / linux-base packages)
_KERNEL_FILE_PLACES = ("boot/{kind}-{kver}", "usr/lib/modules/{kver}/{kind}",
                       "lib/modules/{kver}/{kind}")


def kernel_file(root: Path, kver: str, kind: str) -> Path:
    """The unpacked kernel's ``kind`` file ("vmlinuz", "config"), wherever its package put it."""
    for place in _KERNEL_FILE_PLACES:
        path = root / place.format(kind=kind, kver=kver)
        if path.is_file():
            return path
    raise KernelError(f"no {kind} of {kver} in the unpacked kernel packages")


def _has_kernel(root: Path, kver: str) -> bool:
    try:
        kernel_file(root, kver, "vmlinuz")
    except KernelError:
        return False
    return True


def same_kernel_depends(depends: str, kver: str) -> list[str]:
    """The packages of a kernel's own release among a ``Depends:`` field's names
    (``linux-binary-KVER``, ``linux-modules-KVER``, ``linux-base-KVER``), in order."""
    own = re.compile(rf"linux-[a-z]+(?:-[a-z]+)*-{re.escape(kver)}")
    names = [alt.split("(")[0].split(":")[0].strip()
             for dep in depends.split(",") for alt in dep.split("|")]
    return [n for n in dict.fromkeys(names) if own.fullmatch(n)]


def unpack_kernel(apt: Apt, pkg: str, kver: str, debs: Path, root: Path) -> str:
    """Unpack ``pkg`` into ``root``; the Debian version of ``pkg``. A package without a
    kernel image is a metapackage (Debian's 7.x ``linux-image-*``): then the packages of
    the same release it depends on, and theirs, are unpacked there too."""
    deb = apt.download(pkg, debs)
    run(["dpkg-deb", "-x", str(deb), str(root)])
    if not _has_kernel(root, kver):
        todo, seen = [deb], {pkg}
        while todo:
            depends = run(["dpkg-deb", "-f", str(todo.pop()), "Depends"]).stdout
            for dep in same_kernel_depends(depends, kver):
                if dep not in seen:
                    seen.add(dep)
                    todo.append(apt.download(dep, debs))
                    run(["dpkg-deb", "-x", str(todo[-1]), str(root)])
    return deb.name.split("_")[1]
