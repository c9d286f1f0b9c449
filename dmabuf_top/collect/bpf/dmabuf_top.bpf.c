// SPDX-License-Identifier: GPL-2.0
/* dmabuf-top's kernel-side scan: three BPF iterators, read as text.
 *
 *   dmabuf_buffers  (iter/dmabuf, 6.16+)  every dma-buf in the kernel:
 *       "b INODE SIZE COUNT xEXPORTER xNAME\n"
 *   dmabuf_files    (iter/task_file)      every open file of every task that is
 *                                          on the dma-buf filesystem:
 *       "f TGID FD INODE\n"
 *   dmabuf_vmas     (iter/task_vma)       every mapping of such a file:
 *       "m TGID START END FLAGS PGOFF INODE MAJOR MINOR\n"
 *
 * Numbers are decimal except START, END, FLAGS (vm_flags) in hex. Strings
 * (exporter, buffer name: untrusted bytes, any but NUL, at most 63 and 31) are
 * bounded copies written as hex after an "x", so no byte of a name can end a
 * field or a line. A file is a dma-buf when its superblock's magic is the
 * dma-buf filesystem's (DMA_BUF_MAGIC), the same check as fstatfs(2).
 * Parsed by dmabuf_top/collect/parsers/bpf_scan.py.
 */
#include "kernel_types.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define DMA_BUF_MAGIC 0x444d4142UL
#define NAME_MAX_BYTES 32
#define EXPORTER_MAX_BYTES 64
#define FILE_REF_RELEASED 0xc000000000000000UL

char LICENSE[] SEC("license") = "GPL";

static __always_inline char hexdigit(unsigned char v)
{
	return v < 10 ? (char)('0' + v) : (char)('a' + v - 10);
}

/* "x" + hex of the NUL-terminated kernel string at src (at most n - 1 bytes) */
static __always_inline void hex_of(char *out, char *tmp, int n, const char *src)
{
	long len = 0;
	int i;

	out[0] = 'x';
	out[1] = 0;
	if (!src)
		return;
	len = bpf_probe_read_kernel_str(tmp, n, src);
	if (len <= 1)
		return;
	for (i = 0; i < n - 1; i++) {
		unsigned char c;

		if (i >= len - 1)
			break;
		c = tmp[i];
		out[1 + 2 * i] = hexdigit(c >> 4);
		out[2 + 2 * i] = hexdigit(c & 15);
		out[3 + 2 * i] = 0;
	}
}

static __always_inline int is_dmabuf_file(struct file *f)
{
	return f && BPF_CORE_READ(f, f_inode, i_sb, s_magic) == DMA_BUF_MAGIC;
}

static __always_inline __u64 file_count(struct file *f)
{
	if (bpf_core_field_exists(f->f_ref)) {
		__u64 c = BPF_CORE_READ(f, f_ref.refcnt.counter);

		return c >= FILE_REF_RELEASED ? 0 : c + 1;
	}
	return BPF_CORE_READ((struct file___count *)f, f_count.counter);
}

SEC("iter/dmabuf")
int dmabuf_buffers(struct bpf_iter__dmabuf *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct dma_buf *d = ctx->dmabuf;
	char name_tmp[NAME_MAX_BYTES], name_hex[2 * NAME_MAX_BYTES + 2];
	char exp_tmp[EXPORTER_MAX_BYTES], exp_hex[2 * EXPORTER_MAX_BYTES + 2];
	struct file *f;
	__u64 ino, size, count;

	if (!d)
		return 0;
	f = BPF_CORE_READ(d, file);
	ino = BPF_CORE_READ(f, f_inode, i_ino);
	size = BPF_CORE_READ(d, size);
	/* the iterator holds a reference of its own while it visits a buffer */
	count = file_count(f);
	if (count)
		count -= 1;
	hex_of(exp_hex, exp_tmp, EXPORTER_MAX_BYTES, BPF_CORE_READ(d, exp_name));
	hex_of(name_hex, name_tmp, NAME_MAX_BYTES, BPF_CORE_READ(d, name));
	BPF_SEQ_PRINTF(seq, "b %llu %llu %llu %s %s\n", ino, size, count, exp_hex, name_hex);
	return 0;
}

SEC("iter/task_file")
int dmabuf_files(struct bpf_iter__task_file *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct file *f = ctx->file;
	__u64 ino;
	int tgid;

	if (!task || !f || !is_dmabuf_file(f))
		return 0;
	tgid = BPF_CORE_READ(task, tgid);
	ino = BPF_CORE_READ(f, f_inode, i_ino);
	BPF_SEQ_PRINTF(seq, "f %d %u %llu\n", tgid, ctx->fd, ino);
	return 0;
}

SEC("iter/task_vma")
int dmabuf_vmas(struct bpf_iter__task_vma *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct vm_area_struct *vma = ctx->vma;
	__u64 tgid, start, end, flags, pgoff, ino;
	unsigned int dev;
	struct file *f;

	if (!task || !vma)
		return 0;
	f = BPF_CORE_READ(vma, vm_file);
	if (!is_dmabuf_file(f))
		return 0;
	dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
	tgid = BPF_CORE_READ(task, tgid);
	start = BPF_CORE_READ(vma, vm_start);
	end = BPF_CORE_READ(vma, vm_end);
	flags = BPF_CORE_READ(vma, vm_flags);
	pgoff = BPF_CORE_READ(vma, vm_pgoff);
	ino = BPF_CORE_READ(f, f_inode, i_ino);
	BPF_SEQ_PRINTF(seq, "m %llu %llx %llx %llx %llu %llu %u %u\n", tgid, start, end, flags,
		       pgoff, ino, dev >> 20, dev & 0xfffff);
	return 0;
}
