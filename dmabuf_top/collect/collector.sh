# dmabuf-top collector: everything one refresh needs, in one run.
#
# POSIX sh: Android mksh + toybox, dash or busybox sh with GNU or busybox tools.
# Only builtins (echo, read, test, case) run per pid; everything else is a
# fixed handful of processes fed by xargs (about 25 in all), so no command
# line holds every fd of every process (ARG_MAX) and no fork happens per pid
# or per fd.
#
# Output (parsed by dmabuf_top/collect/adb_stream.py):
#   line 1: "DMABUF-TOP-COLLECTOR 1 NONCE"
#   then sections, each "\n@@NONCE NAME\n" followed by its body: every byte up
#   to the "\n" that starts the next marker. The last one is "end".
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
# an "ino:" line (kernels before 5.14 lack it, and then it is listed anyway).
export LC_ALL=C
exec </dev/null 2>/dev/null
umask 077
N=
read -r N </proc/sys/kernel/random/uuid
case $N in
????????-????-????-????-????????????) ;;
*) N=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n') ;;
esac
case $N in
????????????????*) ;;
*) echo "DMABUF-TOP-COLLECTOR-ERROR no random source for the section nonce"; exit 1 ;;
esac
T=
for d in "$TMPDIR" /data/local/tmp /tmp /dev/shm; do
  case $d in '' | *[!A-Za-z0-9/._-]*) continue ;; esac
  [ -d "$d" ] && [ -w "$d" ] && mkdir "$d/dmabuf-top.$$" && T=$d/dmabuf-top.$$ && break
done
[ -n "$T" ] || { echo "DMABUF-TOP-COLLECTOR-ERROR no writable temporary directory"; exit 1; }
trap 'rm -rf "$T"' EXIT
trap 'rm -rf "$T"; exit 1' HUP INT TERM PIPE
m() { echo; echo "@@$N $*"; }
m f >"$T/s"

echo "DMABUF-TOP-COLLECTOR 1 $N"
K= B= U=
read -r K </proc/sys/kernel/osrelease
read -r B </proc/sys/kernel/random/boot_id
while read -r k r e s; do [ "$k" = Uid: ] && U=$e && break; done </proc/self/status
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
done 3>"$T/u" | xargs stat -f -c '%t %n' 2>>"$T/e" | grep -F '444d4142 /proc/' |
  sed 's|^444d4142 ||; s|/fd/|/fdinfo/|' >"$T/fi"
m unreadable
cat "$T/u"
# the dma-buf filesystem's device number (decimal st_dev), from one dma-buf fd: a
# maps line is a dma-buf mapping only on this device (a file named /dmabuf:x is not)
if read -r f <"$T/fi"; then
  m dmabufdev
  stat -L -c '%d' "${f%/fdinfo/*}/fd/${f##*/}"
fi
I=
case " $1 " in *" ino "*) I=1 ;; esac
if [ -z "$I" ] && read -r f <"$T/fi"; then
  I=1
  while read -r k v; do [ "$k" = ino: ] && I= && break; done <"$f"
fi
if [ -n "$I" ]; then
  m fdino
  sed 's|/fdinfo/|/fd/|' "$T/fi" | xargs stat -L -c '%i %n'
fi

m maps
echo /proc/[0-9]*/maps | xargs grep -a -FH /dmabuf >"$T/m" 2>>"$T/e"
cat "$T/m"
# pids that hold something, each once (sed, not a read loop: dash's read
# takes a system call per byte, and these lists can be long)
sed 's|^/proc/\([0-9]*\)/.*|\1|' "$T/fi" "$T/m" | sort -un >"$T/p"
m uids
sed 's|^|/proc/|' "$T/p" | xargs stat -c '%u %n'

# fdinfo of every dma-buf fd, comm of the holders: grep -H prefixes every
# line with its file's path (a name's newline cannot forge one), and is much
# faster than cat on thousands of small files (stdio-buffered output)
m fdinfo
[ -s "$T/fi" ] && xargs grep -a -H '' <"$T/fi" 2>>"$T/e"
m comm
[ -s "$T/p" ] && sed 's|.*|/proc/&/comm|' "$T/p" | xargs grep -a -H ''
# stat of the holders and of their ancestors (parent, start time: a process
# tree, a reused pid told apart), grep -H like comm; one round per tree level,
# over the new pids only. The parent is the field after the last ")" and 17
# more numbers: a comm (15 bytes at most) is too short to forge that.
m stat
cp "$T/p" "$T/q"
while [ -s "$T/q" ]; do
  cat "$T/q" >>"$T/a"
  sed 's|.*|/proc/&/stat|' "$T/q" | xargs grep -a -H '' | tee "$T/g"
  sed -n 's|.*) . \([1-9][0-9]*\)\( [-0-9]*\)\{17\} .*|\1|p' "$T/g" | sort -u |
    grep -vxF -f "$T/a" >"$T/q"
done
# cmdline (NUL bytes: not for grep) and the kernel-wide files we may read:
# one cat, exact bytes
{
  sed 's|.*|/proc/&/cmdline|' "$T/p"
  for f in /sys/fs/bpf/dmabuf/prog_dmabufIter_iter_dmabuf /sys/kernel/dma_heap/total_pools_kb; do
    [ -r "$f" ] && echo "$f"
  done
} >"$T/l"
m files
cat "$T/l"
sed "s|^|$T/s |" "$T/l" | xargs cat
if [ -f "$T/b0" ] && cat $BI >"$T/b1"; then
  m bufinfo
  cat "$T/b1"
  if cmp -s "$T/b0" "$T/b1"; then
    m bufinfo_before_same
  else
    m bufinfo_before
    cat "$T/b0"
  fi
fi
# files we were denied (the messages name our own paths only)
m denied
grep -F denied "$T/e"

D=/sys/kernel/dmabuf/buffers
if [ -d $D ] && [ -r $D ] && [ -x $D ]; then
  m sysfs
  echo $D/*/exporter_name $D/*/size | xargs grep -sH .
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
m end
