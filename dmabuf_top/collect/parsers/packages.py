"""The app axis of a process on Android: the packages of its uid, from
``cmd package list packages -U`` (``package:com.foo uid:10123``, one line per
package: a shared uid has several), and the app a uid stands for."""

from __future__ import annotations

import re

from dmabuf_top.collect.users import FIRST_APP, FIRST_ISOLATED, PER_USER, android_user

_LINE = re.compile(r"package:(\S+) uid:([0-9]{1,9})(?:,[0-9,]*)?")
#: the isolated processes' app name (their uids belong to no package)
ISOLATED = "isolated"


def parse_package_list(text: str) -> dict[int, list[str]]:
    """app id (uid within a user) -> its packages, sorted; lines of another form
    (errors, an empty answer) are left out."""
    out: dict[int, set[str]] = {}
    for line in text.splitlines():
        m = _LINE.fullmatch(line.strip())
        if m is not None:
            out.setdefault(int(m.group(2)) % PER_USER, set()).add(m.group(1))
    return {uid: sorted(names) for uid, names in sorted(out.items())}


def android_app(uid: int | None, packages: dict[int, list[str]]) -> str:
    """The app of ``uid`` on a device: its package (a shared uid's packages joined
    by ``,``), ``isolated`` for an isolated process, Android's name of a system
    uid (``system``, ``media``) or of an app uid no package claims (``u0_a123``);
    "" when the uid is unknown."""
    if uid is None:
        return ""
    app = uid % PER_USER
    if FIRST_ISOLATED <= app < PER_USER:
        return ISOLATED
    if app >= FIRST_APP and app in packages:
        return ",".join(packages[app])
    return android_user(uid)
