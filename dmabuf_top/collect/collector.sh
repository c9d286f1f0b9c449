# dmabuf-top collector: everything one refresh needs, in one run.
#
# POSIX sh: Android mksh + toybox, dash or busybox sh with GNU or busybox tools.
# Only builtins (echo, read, test, case) run per pid; everything else is a
# fixed handful of processes fed by xargs (about 30 in all), so no command
# line holds every fd of every process (ARG_MAX) and no fork happens per pid
# or per fd.
#
# Output (parsed by dmabuf_top/collect/adb_stream.py):
#   line 1: "DMABUF-TOP-COLLECTOR 2 NONCE"
#   then sections, each "\n@@NONCE NAME [ARG]\n" followed by its body: every
#   byte up to the "\n" that starts the next marker. The last one is "end".
# NONCE is random, made here and printed only to our own stdout (echo is a
# builtin: it never shows on a command line), so no text we copy (buffer
# names, cmdlines, maps) can hold a marker.
# "fdinfo", "comm" and "maps" are grep -H output: every line prefixed with
# its file's path and ":". The "files" section lists paths, one a line; one
# "f" section per path follows, in order, holding that file's exact bytes
# (empty if unreadable or gone). The "f" markers come from a separator file
# that cat reads between the files, so one cat dumps them all.
#
# $1: options; "ino" lists the inode of every dma-buf fd even when fdinfo has
# an "ino:" line (kernels before 5.14 lack it, and then it is listed anyway);
# "close" removes the session's state and stops; "nodiff": changed sections in full
# (the host could not apply this device's diff).
# $2: a session id (hex, chosen by the host) and $3 the md5 of the state the
# host holds ("-": none). With a session, the big sections are kept in a state
# directory (dmabuf-top-s.ID next to the run's temporary one) and sent as
# deltas (adb_delta.py applies them): "NAME !" full, "NAME =" unchanged,
# "NAME +" a diff -U0 against the last refresh's body. The nonce then lasts
# the session (the "files" group holds markers). A full resync ("mode full
# WHY") when the state is missing, from another boot or collector version, or
# its md5 is not the host's (the "mode" section says which). "state" is the md5 of the new state, "cpu" the
# user, system, children's user and system clock ticks of this run.
export LC_ALL=C
exec </dev/null 2>/dev/null
umask 077
T=
for d in "$TMPDIR" /data/local/tmp /tmp /dev/shm; do
  case $d in "" | *[!A-Za-z0-9/._-]*) continue ;; esac
  [ -d "$d" ] && [ -w "$d" ] && mkdir "$d/dmabuf-top.$$" && T=$d/dmabuf-top.$$ && break
done
[ -n "$T" ] || { echo "DMABUF-TOP-COLLECTOR-ERROR no writable temporary directory"; exit 1; }
trap 'rm -rf "$T"' EXIT
trap 'rm -rf "$T"; exit 1' HUP INT TERM PIPE
K= B= U= N= S= R=
read -r K </proc/sys/kernel/osrelease
read -r B </proc/sys/kernel/random/boot_id
# the session's state: S, and R = why it cannot be used (then a full resync)
case $2 in
"" | *[!0-9a-f]*) R=none ;;
*)
  S=${T%/*}/dmabuf-top-s.$2
  case " $1 " in *" close "*) rm -rf "$S"; echo "DMABUF-TOP-COLLECTOR 2 closed"; exit 0 ;; esac
  if [ ! -d "$S" ]; then R=missing
  elif ! read -r x <"$S/v" || [ "$x" != "2 $B" ]; then R=boot
  elif ! read -r x <"$S/sum" || [ "$x" != "$3" ]; then R=checksum
  else read -r N <"$S/n"
  fi
  rm -f "$S/sum" ;;
esac
command -v md5sum >/dev/null || S=
if [ -n "$R" ]; then
  N=
  read -r N </proc/sys/kernel/random/uuid
fi
case $N in
????????-????-????-????-????????????) ;;
*) N=$(od -An -N16 -tx1 /dev/urandom | tr -d " \n") ;;
esac
case $N in
????????????????*) ;;
*) echo "DMABUF-TOP-COLLECTOR-ERROR no random source for the section nonce"; exit 1 ;;
esac
P=$T/o
mkdir "$P"
if [ -n "$S" ] && [ -n "$R" ]; then
  # a new state; and the states of sessions untouched for a day (a host that died) go
  find "${T%/*}" -maxdepth 1 -name "dmabuf-top-s.*" -mtime +0 -exec rm -rf {} +
  rm -rf "$S" && mkdir "$S" && echo "2 $B" >"$S/v" && echo "$N" >"$S/n" || S=
elif [ -n "$S" ]; then
  mv "$S"/d.* "$P"/
fi
F=
case " $1 " in *" nodiff "*) F=1 ;; esac
m() { echo; echo "@@$N $*"; }
# o NAME FILE: section NAME with FILE's bytes, in full or against the last refresh
o() {
  if [ -z "$S" ]; then
    m "$1"; cat "$2"; return
  fi
  if [ ! -f "$P/d.$1" ]; then m "$1 !"; cat "$2"
  elif cmp -s "$P/d.$1" "$2"; then m "$1 ="
  else
    x=2
    [ -n "$F" ] || { diff -a -U0 "$P/d.$1" "$2" >"$T/df"; x=$?; }
    if [ $x = 1 ]; then m "$1 +"; cat "$T/df"; else m "$1 !"; cat "$2"; fi
  fi
  mv "$2" "$S/d.$1"
}
m f >"$T/s"

echo "DMABUF-TOP-COLLECTOR 2 $N"
while read -r k r e s; do [ "$k" = Uid: ] && U=$e && break; done </proc/self/status
if [ -n "$S" ]; then
  m mode
  echo "${R:+full }${R:-delta}"
fi
m kernel
echo "$K"
m bootid
echo "$B"
m uid
echo "$U"

# bufinfo before the walk too (as the local backend does): an unheld buffer
# missing from it appeared during the walk and is not kernel-only
BI=/sys/kernel/debug/dma_buf/bufinfo
if [ -e $BI ]; then cat $BI >"$T/b0" || rm -f "$T/b0"; fi

# dma-buf fds: statfs says the dma-buf filesystem (magic 0x444d4142);
# pids whose fd directory we may not read go to "unreadable" (more come from
# "denied" below: fd links, fdinfo or maps we were refused)
for d in /proc/[0-9]*/fd; do
  if [ -r "$d" ]; then
    echo "$d"/*
  elif [ -e "$d" ]; then
    d=${d%/fd}
    echo "${d#/proc/}" >&3
  fi
done 3>"$T/u" | xargs stat -f -c "%t %n" 2>>"$T/e" | grep -F "444d4142 /proc/" |
  sed "s|^444d4142 ||; s|/fd/|/fdinfo/|" >"$T/fi"
o unreadable "$T/u"
# the dma-buf filesystem's device number (decimal st_dev), from one dma-buf fd: a
# maps line is a dma-buf mapping only on this device (a file named /dmabuf:x is not)
if read -r f <"$T/fi"; then
  m dmabufdev
  stat -L -c "%d" "${f%/fdinfo/*}/fd/${f##*/}"
fi
I=
case " $1 " in *" ino "*) I=1 ;; esac
if [ -z "$I" ] && read -r f <"$T/fi"; then
  I=1
  while read -r k v; do [ "$k" = ino: ] && I= && break; done <"$f"
fi
if [ -n "$I" ]; then
  sed "s|/fdinfo/|/fd/|" "$T/fi" | xargs stat -L -c "%i %n" >"$T/x"
  o fdino "$T/x"
fi

echo /proc/[0-9]*/maps | xargs grep -a -FH /dmabuf >"$T/m" 2>>"$T/e"
# pids that hold something, each once (sed, not a read loop: dash's read
# takes a system call per byte, and these lists can be long)
sed "s|^/proc/\([0-9]*\)/.*|\1|" "$T/fi" "$T/m" | sort -un >"$T/p"
o maps "$T/m"
sed "s|^|/proc/|" "$T/p" | xargs stat -c "%u %n" >"$T/x"
o uids "$T/x"

# fdinfo of every dma-buf fd, comm of the holders: grep -H prefixes every
# line with its file's path (a name's newline cannot forge one), and is much
# faster than cat on thousands of small files (stdio-buffered output)
: >"$T/x"
[ -s "$T/fi" ] && xargs grep -a -H "" <"$T/fi" >"$T/x" 2>>"$T/e"
o fdinfo "$T/x"
: >"$T/x"
[ -s "$T/p" ] && sed "s|.*|/proc/&/comm|" "$T/p" | xargs grep -a -H "" >"$T/x"
o comm "$T/x"
# stat of the holders and of their ancestors (parent, start time: a process
# tree, a reused pid told apart), grep -H like comm. The holders' parents (the
# field after the last ")") come from one sed; up from there the ancestors are
# few, walked with builtins only, each path printed once. A comm holding ") S 7"
# or a newline can only add a stat to read: the host parses every one itself.
# V: pids seen. Double quotes: su -c quotes this script twice, where a single
# quote grows 20 bytes ($T is checked to need no quotes). Only state, ppid and the
# start time are kept (fields 5-21 zeroed, the rest cut): an unchanged refresh
# sends no stat line again (times and page faults change every refresh).
V=" "
while read -r p; do V="$V$p "; done <$T/p
set -f
sed "s|.*|/proc/&/stat|" $T/p >$T/q
xargs sed -n "s|.*) . \([0-9]*\) .*|\1|p" <$T/q | while read -r p; do
  while [ "$p" -gt 0 ]; do
    case $V in *" $p "*) break ;; esac
    V="$V$p " l=
    echo /proc/$p/stat
    read -r l </proc/$p/stat
    set -- ${l##*) } 0 0
    p=$2
  done
done | cat $T/q - | xargs grep -a -H ^ |
  sed "s/^\(.*) . [0-9]* \)\([-0-9]* \)\{17\}\([0-9]*\) .*/\10 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 \3/" >"$T/x"
set +f
o stat "$T/x"
# cmdline (NUL bytes: not for grep) and the kernel-wide files we may read:
# one cat, exact bytes
{
  sed "s|.*|/proc/&/cmdline|" "$T/p"
  for f in /sys/fs/bpf/dmabuf/prog_dmabufIter_iter_dmabuf /sys/kernel/dma_heap/total_pools_kb; do
    [ -r "$f" ] && echo "$f"
  done
} >"$T/l"
{
  cat "$T/l"
  sed "s|^|$T/s |" "$T/l" | xargs cat
} >"$T/x"
o files "$T/x"
if [ -f "$T/b0" ] && cat $BI >"$T/b1"; then
  if cmp -s "$T/b0" "$T/b1"; then
    m bufinfo_before_same
  else
    m bufinfo_before
    cat "$T/b0"
  fi
  o bufinfo "$T/b1"
fi
# the machine's RAM (MemTotal) and, since Linux 7.0, its GPU memory (GPUActive,
# GPUReclaim): only those lines of /proc/meminfo (the rest changes every refresh, and
# this section is sent every time)
m memtotal
while read -r k v u; do
  case $k in MemTotal:|GPUActive:|GPUReclaim:) echo "$k $v $u" ;; esac
done </proc/meminfo
# Android's pinned dma-buf BPF iterator there but not ours to read (root's)
f=/sys/fs/bpf/dmabuf/prog_dmabufIter_iter_dmabuf
[ -e $f ] && [ ! -r $f ] && m bpf_unreadable
# files we were denied (the messages name our own paths only)
grep -F denied "$T/e" >"$T/x"
o denied "$T/x"

D=/sys/kernel/dmabuf/buffers
if [ -d $D ] && [ -r $D ] && [ -x $D ]; then
  echo $D/*/exporter_name $D/*/size | xargs grep -sH . >"$T/x"
  o sysfs "$T/x"
fi
H=/dev/dma_heap
if [ -d $H ] && [ -r $H ] && [ -x $H ]; then
  m heaps
  for h in $H/*; do [ -e "$h" ] && echo "${h##*/}"; done
fi
if [ "$U" != 0 ] && command -v dumpsys >/dev/null; then
  m meminfo
  dumpsys meminfo | grep DMA-BUF
fi
if [ -n "$S" ]; then
  x=
  cat "$S"/d.* | md5sum >"$T/x" && read -r x r <"$T/x" && echo "$x" >"$S/sum"
  m state
  echo "$x"
fi
x=
read -r x </proc/$$/stat
set -- ${x##*) }
m cpu
echo "${12} ${13} ${14} ${15}"
m end
