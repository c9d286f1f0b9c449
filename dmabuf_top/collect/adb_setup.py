"""The device-side shell text of the adb backend: the once-per-connection probe (uid,
Android properties, gzip, dumpsys, su, the packages and their uids) and its parser,
and the collector's command line.

The package list (``cmd package list packages -U``: the app axis) is part of the probe,
not of each refresh: packages change rarely, the probe runs again on every
reconnection (adbd restarted, device back), and the collector, which travels in the
``exec:`` service name of every refresh, stays as small as it was."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from dmabuf_top.collect.adb_stream import collector_script
from dmabuf_top.collect.contract import SeenProcess
from dmabuf_top.collect.parsers.numbers import parse_int

#: Source field -> Android property, read once per connection
PROPS = {
    "model": "ro.product.model",
    "android": "ro.build.version.release",
    "build_type": "ro.build.type",
}

#: a temporary directory the collectors use: a path of these characters only
_TMP_RE = re.compile(r"/[A-Za-z0-9/._-]*")

#: what the once-per-connection probe prints, one ``key=value`` a line: also the ABI
#: (Android's, else ``uname -m``) and the temporary directory the collector would use
#: (the first writable of collector.sh's), for the native collector
SETUP_SCRIPT = (
    'echo "uid=$(id -u)"\n'
    "command -v getprop >/dev/null && {\n"
    + "".join(f'echo "{key}=$(getprop {prop})"\n' for key, prop in PROPS.items())
    + 'echo "abi=$(getprop ro.product.cpu.abi)"\n'
    + "}\n"
    + r"""echo "machine=$(uname -m)"
for d in "$TMPDIR" /data/local/tmp /tmp /dev/shm; do
  case $d in "" | *[!A-Za-z0-9/._-]*) continue ;; esac
  [ -d "$d" ] && [ -w "$d" ] && echo "tmp=$d" && break
done
echo x | gzip -1 -c >/dev/null 2>&1 && echo gzip=1
command -v dumpsys >/dev/null && echo dumpsys=1
command -v cmd >/dev/null && cmd package list packages -U 2>/dev/null
if [ "$(id -u)" != 0 ] && command -v su >/dev/null; then
  if [ "$(su -c 'id -u' </dev/null 2>/dev/null)" = 0 ]; then echo su=c
  elif [ "$(su 0 sh -c 'id -u' </dev/null 2>/dev/null)" = 0 ]; then echo su=0
  else echo su=no
  fi
fi
"""
)


def shquote(s: str) -> str:
    """Quote for a POSIX shell (mksh, dash...): one word, no expansion."""
    return "'" + s.replace("'", "'\\''") + "'"


def minify(script: str) -> str:
    """Drop comment lines and indentation: the collector travels in the
    service name of every ``exec:``, which adb limits in size."""
    out = []
    for line in script.splitlines():
        s = line.strip()
        if s and not s.startswith("#"):
            out.append(s)
    return "\n".join(out) + "\n"


@dataclass
class DeviceFacts:
    """What the device told us once per connection."""

    uid: int | None = None
    su: str | None = None  # "c": su -c CMD; "0": su 0 CMD...; "no": present but refused
    gzip: bool = False
    dumpsys: bool = False
    props: dict[str, str] = field(default_factory=dict)
    abi: str = ""  # ro.product.cpu.abi ("" off Android)
    machine: str = ""  # uname -m
    tmp: str = ""  # the shell's temporary directory ("" none writable)
    #: the ``package:NAME uid:UID`` lines of ``cmd package list packages -U``
    packages: list[str] = field(default_factory=list)

    @property
    def root(self) -> bool:
        return self.uid == 0 or self.su in ("c", "0")


def parse_setup(text: str) -> DeviceFacts:
    facts = DeviceFacts()
    for line in text.splitlines():
        if line.startswith("package:"):
            facts.packages.append(line)
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue
        value = value.strip()
        if key == "uid":  # ASCII digits, bounded (str.isdigit() took "²", int() refused it)
            facts.uid = parse_int(value)
        elif key in PROPS and value:
            facts.props[key] = value
        elif key == "gzip":
            facts.gzip = True
        elif key == "dumpsys":
            facts.dumpsys = True
        elif key == "su":
            facts.su = value
        elif key in ("abi", "machine"):
            setattr(facts, key, value)
        elif key == "tmp" and _TMP_RE.fullmatch(value):  # what collector.sh would take
            facts.tmp = value
    return facts


def as_root(facts: DeviceFacts, inner: str) -> str:
    """``inner`` (a command line) run through su when the shell is not root and su
    works (``su -c``, or AOSP's ``su 0``), else as it is."""
    if facts.uid != 0 and facts.su == "c":
        return f"su -c {shquote(inner)}"
    if facts.uid != 0 and facts.su == "0":
        return f"su 0 {inner}"
    return inner


#: the last line of :func:`kill_command`'s output: kill's exit status
KILL_STATUS = "dmabuf-top-kill-status="
#: a line of :func:`kill_command`'s output when the pid is no longer the process seen:
#: ``exited``, ``restarted`` (another boot), ``started`` (a later process has the pid)
KILL_CHANGED = "dmabuf-top-changed="


def kill_command(facts: DeviceFacts, seen: SeenProcess, signum: int) -> str:
    """``kill -N PID`` (as root when the collector is) in a shell that first checks the
    pid is still the process seen: the boot id, and the start time (``/proc/PID/stat``
    field 22, after the last ``) ``) when known; else one ``KILL_CHANGED`` line and no
    kill. Its messages, then its exit status (``KILL_STATUS`` N) on stdout."""
    pid = int(seen.pid)
    checks = [f"s=$(cat /proc/{pid}/stat 2>/dev/null)",
              f'[ -n "$s" ] || {{ echo {KILL_CHANGED}exited; exit 1; }}']
    if seen.boot_id:
        checks.insert(0, f'[ "$(cat /proc/sys/kernel/random/boot_id)" = {shquote(seen.boot_id)} ]'
                         f" || {{ echo {KILL_CHANGED}restarted; exit 1; }}")
    if seen.start_time is not None:
        start = int(seen.start_time)
        checks += ['s=${s##*) }; set -- $s',  # state is $1: the start time (field 22) is $20
                   f'[ "$1" != Z ] || {{ echo {KILL_CHANGED}exited; exit 1; }}',
                   f'[ "${{20}}" = {start} ] || {{ echo {KILL_CHANGED}started; exit 1; }}']
    script = "; ".join([*checks, f"kill -{int(signum)} {pid}"])
    inner = f"sh -c {shquote(script)}"
    return f"{as_root(facts, inner)} </dev/null 2>&1; echo {KILL_STATUS}$?"


def collector_command(
    facts: DeviceFacts,
    options: str = "",
    script: str | None = None,
    session: Sequence[str] = (),
    program: str = "",
) -> str:
    """The shell command line (run by adbd's sh -c) of one refresh; ``session``:
    the collector's ``$2 $3`` (session id, sum of the state the host holds);
    ``program``: the native collector's path on the device (else the shell's runs)."""
    if program:
        inner = shquote(program)
    else:
        body = minify(script if script is not None else collector_script())
        inner = f"sh -c {shquote(body)} dmabuf-top"
    if options or session:
        inner += " " + " ".join(shquote(a) for a in (options, *session))
    cmd = f"{{ {as_root(facts, inner)}; }} </dev/null 2>/dev/null"
    if facts.gzip:
        cmd += " | gzip -1 -c"  # -1: the phone's CPU time matters more than bytes
    return cmd
