#!/bin/busybox sh
# PID 1 of the dmabuf-top test VM (runs from the busybox initramfs).
# Kernel command-line variables (passed to init as environment):
#   dtvm_python  host python to run the agent with (same path inside the guest)
#   dtvm_agent   path of tests/support/vm/agent.py on the host (shared read-only over 9p)
#   dtvm_tmpfs   size of the writable tmpfs under the overlay (default 1G)
# The host root becomes the guest root: 9p (ro) + tmpfs overlay, then chroot.
# PID 1 stays this shell: it reaps orphans while waiting for the agent.

/bin/busybox --install -s /bin
export PATH=/bin

fail() {
    echo "dtvm-init: FAILED: $*" >/dev/console
    sync
    poweroff -f
    sleep 5
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null

for m in /modules/*.ko; do
    # shellcheck disable=SC2046  # NN-name.args: the module's arguments, one word each
    insmod "$m" $(cat "${m%.ko}.args" 2>/dev/null) || fail "insmod $m"
done

R=/newroot
mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=512000,cache=loose hostroot /mnt/host \
    || fail "mount 9p hostroot"
mount -t tmpfs -o "size=${dtvm_tmpfs:-1G},mode=0755" rw /mnt/rw || fail "tmpfs"
mkdir -p /mnt/rw/upper /mnt/rw/work
mount -t overlay -o lowerdir=/mnt/host,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work \
    overlay $R || fail "overlay"

mount -t proc proc $R/proc || fail "proc"
mount -t sysfs sysfs $R/sys || fail "sysfs"
mount -t debugfs debugfs $R/sys/kernel/debug || fail "debugfs"
mount -t devtmpfs devtmpfs $R/dev || fail "devtmpfs"
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts $R/dev/pts || fail "devpts"
ln -sf pts/ptmx $R/dev/ptmx 2>/dev/null
mount -t tmpfs -o mode=1777 tmpfs $R/dev/shm
# /tmp stays the overlay's (host /tmp visible, writes private to the guest in the tmpfs
# upper layer): the repo, a venv or the python may live under the host's /tmp.
chmod 1777 $R/tmp
mount -t tmpfs -o mode=0755 tmpfs $R/run || fail "run"
mkdir -p $R/run/lock $R/run/user
ln -sf /proc/self/fd $R/dev/fd 2>/dev/null
ln -sf /proc/self/fd/0 $R/dev/stdin 2>/dev/null
ln -sf /proc/self/fd/1 $R/dev/stdout 2>/dev/null
ln -sf /proc/self/fd/2 $R/dev/stderr 2>/dev/null

hostname dtvm
ip link set lo up
if ip link set eth0 up 2>/dev/null; then
    ip addr add 10.0.2.15/24 dev eth0
    ip route add default via 10.0.2.2
fi

# (tested inside the chroot: a venv's python is a symlink to an absolute path)
chroot $R test -x "$dtvm_python" || fail "no python at $dtvm_python"
chroot $R test -f "$dtvm_agent" || fail "no agent at $dtvm_agent"

# the agent runs until the host asks it to stop; PID 1 waits (and reaps orphans)
env -i HOME=/root TERM=xterm-256color LANG=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    chroot $R "$dtvm_python" -S -u "$dtvm_agent" </dev/null >/dev/console 2>&1 &
AGENT=$!
while kill -0 $AGENT 2>/dev/null; do
    wait $AGENT
done
sync
poweroff -f
