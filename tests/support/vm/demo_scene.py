"""The scene of the bundled demo (dmabuf_top/data/demo.yaml): a desktop's processes,
as a user would see them, holding real dma-bufs in the test VM: real programs where one
runs there (GStreamer and v4l2-ctl on vivid: programs.py), staged ones for the rest.

Run as root inside the guest (vgem and vivid loaded; on 6.18 also the system heap and
udmabuf)::

    python tests/support/vm/demo_scene.py --pidfile /tmp/demo-scene.pid [--leak-period 2]

It daemonizes (the scene hangs under PID 1, as a session manager would), prints
``READY PID`` once every process holds its buffers, and runs until SIGTERM to PID.
Everything runs as uid 1000, in the cgroups systemd gives a desktop's processes (cgroup
v2 directories made here: ``CGROUPS``), so the Apps view groups them as it would there.
The real programs (*) are the programs themselves, with
their own buffers; the others are STAGED: this script's children, which cannot run here
(no GPU, no display), given a real program's comm (PR_SET_NAME) and argv
(PR_SET_MM_ARG_*, what /proc/PID/cmdline shows) and holding vgem, heap and udmabuf
buffers as that program would (the README says which are staged):

    systemd --user       (staged)
    ├─ weston            (staged) scanout framebuffers, a cursor, and every client buffer
    │  │                 it imported (fds kept, as weston keeps them); one framebuffer
    │  │                 handed to KMS and its fd closed: held by its GEM handle only
    │  ├─ weston-desktop-shell   (staged) background and panel, shared with weston
    │  └─ Xwayland       (staged) two window pixmaps, shared with weston
    ├─ pipewire          (staged) camera frames (the system heap on 6.18, else vgem) and a
    │                    udmabuf pool (6.18) held by its mapping only (the fd closed)
    ├─ gst-launch-1.0 *  camera capture (vivid's webcam, io-mode=dmabuf: vmalloc buffers)
    ├─ gst-launch-1.0 *  TV capture played out on vivid's output (a tee: the output imports
    │                    the capture's dma-contig buffers, attached as vivid.0)
    ├─ v4l2-ctl *        --stream-dmabuf: the output's buffers (mapped) into the capture
    └─ chromium          (staged) the browser (holds nothing)
       └─ chromium       (staged) its GPU process: swap chain buffers shared with weston,
                         raster tiles, and one more tile every --leak-period seconds
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apps_scene  # noqa: E402
import programs  # noqa: E402
import vgem  # noqa: E402

KiB, MiB = 1024, 1024 * 1024
USER = 1000
#: 1920x1080 XRGB8888, 1280x720 NV12 (page-rounded)
FB_1080P = 1920 * 1080 * 4
NV12_720P = -(-(1280 * 720 * 3 // 2) // vgem.PAGE) * vgem.PAGE
SWAPCHAIN = 3
#: the real programs (programs.py), their output (frames counted there) under /run
REAL_PROGRAMS = ("capture", "playback", "stream")
USER_SERVICE = f"/user.slice/user-{USER}.slice/user@{USER}.service"
#: the cgroup of each process of the scene (its children inherit it), as systemd lays
#: out a desktop session: the user manager, session services, one scope per app
CGROUPS = {
    "systemd": f"{USER_SERVICE}/init.scope",  # app: user@1000
    "weston": f"{USER_SERVICE}/session.slice/weston.service",  # with its shell and Xwayland
    "pipewire": f"{USER_SERVICE}/session.slice/pipewire.service",
    "chromium": f"{USER_SERVICE}/app.slice/app-gnome-chromium-4242.scope",
    "capture": f"{USER_SERVICE}/app.slice/app-org.gstreamer.Camera-2301.scope",
    "playback": f"{USER_SERVICE}/app.slice/app-org.gstreamer.TvPlayback-2302.scope",
    "stream": f"{USER_SERVICE}/app.slice/app-v4l2\\x2dctl-2303.scope",  # systemd's "-" escape
}


def join_cgroup(key: str, pid: int = 0) -> None:
    """Move ``pid`` (0: this process) into the cgroup of ``key`` (made on first use)."""
    path = CGROUPS[key]
    apps_scene.make_cgroup(path)
    with open(f"{apps_scene.ROOT}{path}/cgroup.procs", "w") as f:
        f.write(str(pid or os.getpid()))

WESTON = ["/usr/bin/weston", "--backend=drm", "--shell=desktop", "--idle-time=0"]
SHELL = ["/usr/libexec/weston-desktop-shell"]
XWAYLAND = ["/usr/bin/Xwayland", ":0", "-rootless", "-core", "-terminate", "-listenfd", "39",
            "-listenfd", "40", "-displayfd", "33", "-wm", "36"]
PIPEWIRE = ["/usr/bin/pipewire"]
BROWSER = ["/usr/lib/chromium/chromium", "--ozone-platform=wayland",
           "--enable-features=UseOzonePlatform,VaapiVideoDecoder"]
GPU = ["/usr/lib/chromium/chromium", "--type=gpu-process", "--ozone-platform=wayland",
       "--enable-features=UseOzonePlatform,VaapiVideoDecoder",
       "--gpu-preferences=UAAAAAAAAAAgAAAEAAAAAAAAAAAAAAAAAABgAAEAAAA4AAAAAAAAAAAAAAAAAAAA",
       "--shared-files", "--field-trial-handle=3,i,4907285811312208811,1570541186522838907,262144",
       "--variations-seed-version"]


def heaps_here() -> bool:
    return os.path.exists(vgem.SYSTEM_HEAP) and os.path.exists(vgem.UDMABUF_DEV)


# -- the processes (each keeps its fds; a process's buffers live as long as it) --------
def weston(card: vgem.Card, from_gpu: socket.socket) -> None:
    for i in range(2):
        fd = card.dmabuf(FB_1080P, f"weston-fb-{i}")
        vgem.map_shared(fd, FB_1080P)  # drawn into by the renderer
    card.dmabuf(64 * 64 * 4, "weston-cursor")
    # the third framebuffer: handed to KMS (a GEM handle) and its fd closed
    kfd = card.dmabuf(FB_1080P, "weston-fb-2")
    card.import_fd(kfd)
    os.close(kfd)
    vgem.recv_fds(from_gpu, SWAPCHAIN)


def desktop_shell(card: vgem.Card, to_weston: socket.socket) -> None:
    vgem.send_fds(to_weston, [card.dmabuf(FB_1080P), card.dmabuf(1920 * 32 * 4)])


def xwayland(card: vgem.Card, to_weston: socket.socket) -> None:
    vgem.send_fds(to_weston, [card.dmabuf(1280 * 720 * 4) for _ in range(2)])


def pipewire(card: vgem.Card) -> None:
    for i in range(4):
        if heaps_here():
            fd = vgem.heap_alloc(NV12_720P)
            vgem.set_name(fd, f"libcamera-frame-{i}")
        else:
            card.dmabuf(NV12_720P, f"libcamera-frame-{i}")
    if heaps_here():
        ub = vgem.udmabuf(4 * MiB)
        vgem.set_name(ub, "pw-memfd-pool")
        vgem.map_shared(ub, 4 * MiB)  # used through the mapping alone:
        os.close(ub)  # a map-only holder


def real_programs(scene: Scene, timeout: float = 300) -> None:
    """Start the real programs (programs.py) as the desktop's user, children of the
    scene; return once each is streaming."""
    nodes = programs.parse_nodes(subprocess.run(
        ["sh", "-c", programs.NODES_SH], capture_output=True, text=True, check=True).stdout)
    for node in nodes.values():
        os.chmod(node, 0o666)  # (a desktop's udev would give its user the camera)
    progs = programs.programs(nodes)
    home = f"/run/user/{USER}"  # the user's (GStreamer keeps its plugin registry there)
    os.makedirs(home, exist_ok=True)
    os.chown(home, USER, USER)
    env = {**os.environ, "HOME": home, "XDG_RUNTIME_DIR": home}
    logs = {}
    for key in REAL_PROGRAMS:
        prog = progs[key]
        if prog.setup:
            subprocess.run(prog.setup, check=True, capture_output=True)
        logs[key] = f"/run/demo-{key}.log"
        with open(logs[key], "wb") as log:
            proc = subprocess.Popen(prog.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    cwd="/", env=env, user=USER, group=USER, extra_groups=[])
        join_cgroup(key, proc.pid)  # before it allocates (it is still starting up)
        scene.pids.append(proc.pid)
    deadline = time.monotonic() + timeout
    for key in REAL_PROGRAMS:
        while not programs.is_streaming(progs[key], open(logs[key], errors="replace").read()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{key} is not streaming: see {logs[key]}")
            time.sleep(0.2)


def gpu(card: vgem.Card, to_weston: socket.socket) -> None:
    chain = [card.dmabuf(FB_1080P) for _ in range(SWAPCHAIN)]  # Mesa leaves them unnamed
    vgem.send_fds(to_weston, chain)
    for size in (256 * KiB, 256 * KiB, 512 * KiB, 1 * MiB, 1 * MiB, 2 * MiB):
        card.dmabuf(size)


def gpu_leak(card: vgem.Card, period: float) -> None:
    """One raster tile more every ``period`` seconds, never freed."""
    n = 0
    while True:
        time.sleep(period)
        card.dmabuf(1 * MiB, f"cc-raster-tile-{n}")
        n += 1


# -- plumbing -------------------------------------------------------------------------
class Scene:
    def __init__(self, period: float) -> None:
        self.period = period
        self.pids: list[int] = []
        self.ready_r, self.ready_w = os.pipe()
        self.expected = 0

    def spawn(self, comm: str, argv: list[str], body: Callable[[vgem.Card], None],
              after: Callable[[vgem.Card], None] | None = None, cgroup: str = "") -> int:
        """A child named ``comm``/``argv`` (in the cgroup of ``CGROUPS[cgroup]``, else
        its parent's) runs ``body`` with its own card, says it is ready, then runs
        ``after`` (forever) or waits."""
        self.expected += 1
        pid = os.fork()
        if pid:
            self.pids.append(pid)
            return pid
        code = 0
        try:
            become(comm, argv)
            if cgroup:
                join_cgroup(cgroup)
            card = vgem.Card()
            self.pids = []
            body(card)
            drop_root()
            os.write(self.ready_w, b"+")
            if after is not None:
                after(card)
            while True:
                signal.pause()
        except BaseException:
            traceback.print_exc()
            os.write(self.ready_w, b"!")
            code = 1
        finally:
            self.stop()
        os._exit(code)

    def wait_ready(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        got = b""
        while len(got) < self.expected:
            if time.monotonic() > deadline:
                raise RuntimeError("the scene's processes did not get ready")
            got += os.read(self.ready_r, 64)
            if b"!" in got:
                raise RuntimeError("a process of the scene failed")

    def stop(self) -> None:
        vgem.stop_children(self.pids)


def become(comm: str, argv: list[str]) -> None:
    """This process as ``comm`` with ``argv`` (as root: PR_SET_MM needs CAP_SYS_RESOURCE)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    vgem.set_comm(comm)
    vgem.set_cmdline(argv)


def drop_root(die_with_parent: bool = True) -> None:
    """Run on as the desktop's user; the parent-death signal is set after (a change of
    uid clears it)."""
    os.setgroups([])
    os.setgid(USER)
    os.setuid(USER)
    if die_with_parent:
        vgem.die_with_parent(signal.SIGKILL)


def build(scene: Scene) -> None:
    w_gpu, gpu_w = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)

    def compositor(card: vgem.Card) -> None:
        """weston starts its desktop shell and Xwayland, then imports their buffers."""
        w_shell, shell_w = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        w_xw, xw_w = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        clients = Scene(scene.period)
        clients.ready_w = scene.ready_w
        clients.spawn("weston-desktop-shell", SHELL, lambda c: desktop_shell(c, shell_w))
        clients.spawn("Xwayland", XWAYLAND, lambda c: xwayland(c, xw_w))
        scene.pids = clients.pids  # stopped with weston
        weston(card, w_gpu)
        vgem.recv_fds(w_shell, 2)
        vgem.recv_fds(w_xw, 2)

    scene.expected += 2  # weston's two clients say they are ready too
    scene.spawn("weston", WESTON, compositor, cgroup="weston")
    scene.spawn("pipewire", PIPEWIRE, pipewire, cgroup="pipewire")

    def browser(card: vgem.Card) -> None:
        card.close()  # the browser process itself holds no dma-buf
        gpu_scene = Scene(scene.period)
        gpu_scene.ready_w = scene.ready_w
        gpu_scene.spawn("chromium", GPU, lambda c: gpu(c, gpu_w),
                        after=lambda c: gpu_leak(c, scene.period))
        scene.pids = gpu_scene.pids  # stopped with the browser

    scene.expected += 1  # the GPU process says it is ready too
    scene.spawn("chromium", BROWSER, browser, cgroup="chromium")
    for s in (w_gpu, gpu_w):
        s.close()


def daemonize(pidfile: str) -> int:
    """Fork: the parent waits for the scene and exits (the scene hangs under PID 1)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid:
        os.close(w)
        msg = os.read(r, 256).decode()
        print(msg or "the scene died before it was ready", flush=True)
        return 0 if msg.startswith("READY") else 1
    os.close(r)
    os.setsid()
    null = os.open(os.devnull, os.O_RDWR)
    log = os.open("/tmp/demo-scene.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    scene = Scene(0)
    try:
        args = parse_args()
        scene.period = args.leak_period
        become("systemd", ["/lib/systemd/systemd", "--user"])
        apps_scene.ensure_cgroup2()
        join_cgroup("systemd")
        build(scene)
        scene.wait_ready()
        real_programs(scene)
        with open(pidfile, "w") as f:
            f.write(f"{os.getpid()}\n")
        drop_root(die_with_parent=False)  # its parent exits now: it lives on under PID 1
        os.write(w, f"READY {os.getpid()}".encode())
        os.close(w)
        signal.signal(signal.SIGTERM, lambda *_: scene.stop() or os._exit(0))
        while True:
            signal.pause()
    except BaseException:
        traceback.print_exc()
        os.write(w, b"failed: see /tmp/demo-scene.log")
        scene.stop()
        os._exit(1)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pidfile", required=True, help="where the scene's pid is written")
    p.add_argument("--leak-period", type=float, default=2.0,
                   help="seconds between the GPU process's leaked tiles")
    return p.parse_args()


if __name__ == "__main__":
    sys.exit(daemonize(parse_args().pidfile))
