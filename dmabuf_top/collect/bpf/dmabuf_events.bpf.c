// SPDX-License-Identifier: (MIT OR GPL-2.0)
/* dmabuf-top's dma-buf event source: one fixed-size binary record per event,
 * through a BPF ring buffer ("events"), read by dmabuf_top/collect/bpf_events.py
 * and decoded by dmabuf_top/collect/parsers/events.py.
 *
 * Two sets of programs give the same records; the loader loads one set:
 *   tp_*   the dma_buf tracepoints (Linux 7.0+; BTF typedef btf_trace_dma_buf_export)
 *   fn_*   fentry/fexit on the functions themselves (older kernels with BTF)
 * and both use fn_release: no tracepoint fires when the last reference goes with
 * close() or munmap(); dma_buf_file_release (the file's release) still has the inode.
 *
 * A record whose ring-buffer reservation fails is counted in "lost" (per CPU):
 * the reader shows the sum, so no event is dropped silently. Strings (comm,
 * exporter, device) are bounded NUL-padded copies: untrusted bytes.
 */
#include "kernel_types.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

/* enum bpf_map_type's values (uapi/linux/bpf.h) */
#define MAP_PERCPU_ARRAY 6
#define MAP_RINGBUF 27
#define MAX_ERRNO 4095
#define RING_BYTES (1 << 22)

/* record kinds: the order of EVENT_KINDS in parsers/events.py */
enum {
	EV_EXPORT = 1,
	EV_FD = 2,
	EV_GET = 3,
	EV_ATTACH = 4,
	EV_DETACH = 5,
	EV_MMAP = 6,
	EV_RELEASE = 7,
};

/* 128 bytes, little-endian, no padding: parsers/events.py RECORD */
struct dmabuf_event {
	__u64 ts_ns; /* CLOCK_BOOTTIME */
	__u64 ino;
	__u64 size;
	__u32 tgid;
	__u32 tid;
	__s32 fd; /* -1 when the event has none */
	__u32 kind;
	char comm[16];
	char exporter[32];
	char device[40];
};
_Static_assert(sizeof(struct dmabuf_event) == 128, "parsers/events.py RECORD is 128 bytes");

/* the fields read here that kernel_types.h does not declare (CO-RE) */
#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)
struct file___events {
	struct inode *f_inode;
	void *private_data;
};

#pragma clang attribute pop

struct {
	__uint(type, MAP_RINGBUF);
	__uint(max_entries, RING_BYTES);
} events SEC(".maps");

struct {
	__uint(type, MAP_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

char LICENSE[] SEC("license") = "Dual MIT/GPL";

static __always_inline int is_err(const void *p)
{
	return !p || (unsigned long)p >= (unsigned long)-MAX_ERRNO;
}

static __always_inline void emit(__u32 kind, struct dma_buf *d, __u64 ino, int fd,
				 struct device *dev)
{
	struct dmabuf_event *e;
	__u64 id;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__u32 zero = 0;
		__u64 *n = bpf_map_lookup_elem(&lost, &zero);

		if (n)
			__sync_fetch_and_add(n, 1);
		return;
	}
	id = bpf_get_current_pid_tgid();
	e->ts_ns = bpf_ktime_get_boot_ns();
	e->tgid = id >> 32;
	e->tid = (__u32)id;
	e->fd = fd;
	e->kind = kind;
	e->size = BPF_CORE_READ(d, size);
	e->ino = ino ? ino : BPF_CORE_READ(d, file, f_inode, i_ino);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	__builtin_memset(e->exporter, 0, sizeof(e->exporter));
	__builtin_memset(e->device, 0, sizeof(e->device));
	bpf_probe_read_kernel_str(e->exporter, sizeof(e->exporter), BPF_CORE_READ(d, exp_name));
	if (dev)
		bpf_probe_read_kernel_str(e->device, sizeof(e->device), BPF_CORE_READ(dev, kobj.name));
	bpf_ringbuf_submit(e, 0);
}

/* fentry/fexit: kernels before 7.0 */

SEC("fexit/dma_buf_export")
int BPF_PROG(fn_export, void *exp_info, struct dma_buf *ret)
{
	if (!is_err(ret))
		emit(EV_EXPORT, ret, 0, -1, 0);
	return 0;
}

SEC("fexit/dma_buf_fd")
int BPF_PROG(fn_fd, struct dma_buf *d, int flags, int ret)
{
	if (ret >= 0 && d)
		emit(EV_FD, d, 0, ret, 0);
	return 0;
}

SEC("fexit/dma_buf_get")
int BPF_PROG(fn_get, int fd, struct dma_buf *ret)
{
	if (!is_err(ret))
		emit(EV_GET, ret, 0, fd, 0);
	return 0;
}

SEC("fexit/dma_buf_dynamic_attach")
int BPF_PROG(fn_attach, struct dma_buf *d, struct device *dev, void *ops, void *priv,
	     struct dma_buf_attachment *ret)
{
	if (!is_err(ret))
		emit(EV_ATTACH, d, 0, -1, dev);
	return 0;
}

SEC("fentry/dma_buf_detach")
int BPF_PROG(fn_detach, struct dma_buf *d, struct dma_buf_attachment *a)
{
	if (d && a)
		emit(EV_DETACH, d, 0, -1, BPF_CORE_READ(a, dev));
	return 0;
}

SEC("fexit/dma_buf_mmap_internal")
int BPF_PROG(fn_mmap, struct file___events *f, void *vma, int ret)
{
	struct dma_buf *d = BPF_CORE_READ(f, private_data);

	if (ret == 0 && d)
		emit(EV_MMAP, d, 0, -1, 0);
	return 0;
}

/* every kernel: the last reference to the file is gone */
SEC("fentry/dma_buf_file_release")
int BPF_PROG(fn_release, struct inode *inode, struct file___events *f)
{
	struct dma_buf *d = BPF_CORE_READ(f, private_data);

	if (d)
		emit(EV_RELEASE, d, BPF_CORE_READ(inode, i_ino), -1, 0);
	return 0;
}

/* the dma_buf tracepoints: Linux 7.0+ */

SEC("tp_btf/dma_buf_export")
int BPF_PROG(tp_export, struct dma_buf *d)
{
	emit(EV_EXPORT, d, 0, -1, 0);
	return 0;
}

SEC("tp_btf/dma_buf_fd")
int BPF_PROG(tp_fd, struct dma_buf *d, int fd)
{
	emit(EV_FD, d, 0, fd, 0);
	return 0;
}

SEC("tp_btf/dma_buf_get")
int BPF_PROG(tp_get, struct dma_buf *d, int fd)
{
	emit(EV_GET, d, 0, fd, 0);
	return 0;
}

SEC("tp_btf/dma_buf_dynamic_attach")
int BPF_PROG(tp_attach, struct dma_buf *d, struct dma_buf_attachment *a, bool dynamic,
	     struct device *dev)
{
	emit(EV_ATTACH, d, 0, -1, dev);
	return 0;
}

SEC("tp_btf/dma_buf_detach")
int BPF_PROG(tp_detach, struct dma_buf *d, struct dma_buf_attachment *a, bool dynamic,
	     struct device *dev)
{
	emit(EV_DETACH, d, 0, -1, dev);
	return 0;
}

SEC("tp_btf/dma_buf_mmap_internal")
int BPF_PROG(tp_mmap, struct dma_buf *d)
{
	emit(EV_MMAP, d, 0, -1, 0);
	return 0;
}
