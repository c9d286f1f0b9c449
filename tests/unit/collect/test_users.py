"""User names of uids: Android's scheme for a device, the password database here."""

from __future__ import annotations

import os
import pwd
import socket

import pytest

from dmabuf_top.collect.users import android_user, user_name
from dmabuf_top.model import Source


@pytest.mark.parametrize(
    "uid, name",
    [(0, "root"), (1000, "system"), (1003, "graphics"), (2000, "shell"), (10057, "u0_a57"),
     (99003, "u0_i3"), (1010123, "u10_a123"), (1001000, "u10_system"), (4242, "4242")],
)
def test_android_names(uid, name):
    assert android_user(uid) == name
    assert user_name(uid, Source(kind="adb", serial="x")) == name


def test_local_names():
    here = Source(kind="local", host=socket.gethostname())
    me = os.getuid()
    assert user_name(me, here) == pwd.getpwuid(me).pw_name
    assert user_name(None, here) == ""
    assert user_name(me, Source(kind="local", host="another-machine")) == ""
