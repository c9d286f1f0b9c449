"""User names for uids: Android's scheme on a device (``u0_a123``, ``system``), the
password database on this machine.

(psutil has no uid -> name lookup of its own: ``psutil.Process.username()`` asks the
same password database, and only for a live local pid; a device's uids follow
Android's fixed scheme, which no host database knows.)"""

from __future__ import annotations

import pwd
import socket
from functools import lru_cache

from dmabuf_top.model import Source

#: Android's fixed ids (system/core libcutils android_filesystem_config.h), the usual ones
ANDROID_IDS = {
    0: "root", 1000: "system", 1001: "radio", 1002: "bluetooth", 1003: "graphics",
    1004: "input", 1005: "audio", 1006: "camera", 1013: "media", 1019: "drm",
    1040: "mediaex", 1041: "audioserver", 1046: "mediacodec", 1047: "cameraserver",
    1053: "webview_zygote", 1066: "statsd", 1068: "secure_element", 1072: "gpu_service",
    2000: "shell", 9999: "nobody",
}
#: uids per Android user, first app id, first isolated id
PER_USER = 100000
FIRST_APP = 10000
FIRST_ISOLATED = 99000


def android_user(uid: int) -> str:
    """Android's name of a uid: ``u0_a123`` (apps), ``u0_i5`` (isolated), ``system``,
    ``u10_system`` (a fixed id of a secondary user); the number when unknown."""
    user, app = divmod(uid, PER_USER)
    if FIRST_ISOLATED <= app < PER_USER:
        return f"u{user}_i{app - FIRST_ISOLATED}"
    if FIRST_APP <= app < FIRST_ISOLATED:
        return f"u{user}_a{app - FIRST_APP}"
    name = ANDROID_IDS.get(app)
    if name is None:
        return str(uid)
    return name if user == 0 else f"u{user}_{name}"


@lru_cache(maxsize=4096)
def local_user(uid: int) -> str:
    """This machine's name of ``uid``; the number when it has none."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def user_name(uid: int | None, source: Source) -> str:
    """The name of ``uid`` where the snapshot was taken: Android's scheme for a
    device, the password database for this machine, "" when unknown (no uid, or a
    file from another machine)."""
    if uid is None:
        return ""
    if source.kind == "adb":
        return android_user(uid)
    if source.host == socket.gethostname():
        return local_user(uid)
    return ""
