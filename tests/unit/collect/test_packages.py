"""The Android side of the app axis (collect/parsers/packages.py): the answer of
``cmd package list packages -U`` to a uid's app, shared and isolated uids too."""

from __future__ import annotations

from dmabuf_top.collect.parsers.packages import android_app, parse_package_list

ANSWER = (
    "package:com.android.systemui uid:10101\n"
    "package:com.google.android.youtube uid:10145\n"
    "package:com.example.shared.b uid:10200\n"
    "package:com.example.shared.a uid:10200\n"
    "package:android uid:1000\n"
    "package:com.android.settings uid:1000\n"
    "package:com.work.app uid:10300,1010300\n"
    "Error: something\n"
)


def test_parse_package_list() -> None:
    pk = parse_package_list(ANSWER)
    assert pk[10145] == ["com.google.android.youtube"]
    assert pk[10200] == ["com.example.shared.a", "com.example.shared.b"]
    assert pk[1000] == ["android", "com.android.settings"]
    assert pk[10300] == ["com.work.app"]
    assert parse_package_list("") == {}


def test_android_app() -> None:
    pk = parse_package_list(ANSWER)
    assert android_app(10145, pk) == "com.google.android.youtube"
    assert android_app(10200, pk) == "com.example.shared.a,com.example.shared.b"
    assert android_app(1010145, pk) == "com.google.android.youtube"  # user 10, same app
    assert android_app(10999, pk) == "u0_a999"  # an app uid no package claims
    assert android_app(1010999, pk) == "u10_a999"
    assert android_app(99005, pk) == "isolated"
    assert android_app(1099005, pk) == "isolated"
    assert android_app(1000, pk) == "system"  # a system uid: its name, not 30 packages
    assert android_app(1013, pk) == "media"
    assert android_app(0, pk) == "root"
    assert android_app(None, pk) == ""
