// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/* dmabuf-top's kernel-side scan: four BPF iterators writing binary records, packed
 * little-endian structs (struct rec_*, below), each behind a record head: magic,
 * format version, kind (a letter) and the record's size in bytes. Strings (exporter,
 * buffer name, driver, comm, cmdline: untrusted bytes, any but NUL) are raw bytes
 * with their length. Parsed by dmabuf_top/collect/parsers/bpf_records.py.
 *
 *   dmabuf_buffers  (iter/dmabuf, 6.16+)  every dma-buf in the kernel:
 *       'b' INODE SIZE COUNT EXPORTER NAME
 *   dmabuf_files    (iter/task_file)      every open file of every task that is
 *                                          on the dma-buf filesystem:
 *       'f' TGID FD INODE
 *                                          and, for every open DRM file (a char
 *                                          device of major 226), each GEM handle
 *                                          whose object is a dma-buf (exported or
 *                                          imported), then the file's device:
 *       'g' TGID FD HANDLE INODE           'd' TGID FD MINOR TYPE DRIVER
 *     (MINOR: the drm_minor's index, TYPE its type: 0 card, 2 renderD, 32 accel).
 *     One file's records must fit the iterator's buffer (8 pages): a read lists
 *     the dma-buf handles GEM_WINDOW * pass .. GEM_WINDOW * (pass + 1) - 1 of each
 *     DRM file (in handle order; the pass in gem_pass, set by the reader for its
 *     own thread), and 'G' TGID FD when the file has more: the reader then reads
 *     again, pass + 1.
 *   dmabuf_vmas     (iter/task_vma)       every mapping of such a file:
 *       'm' TGID START END FLAGS PGOFF INODE MAJOR MINOR
 *   dmabuf_tasks    (iter.s/task)         every process (thread-group leader), for
 *                                          what /proc/PID/{stat,comm,cmdline} say:
 *       'p' TGID PPID EUID START_NS FLAGS COMM CMDLINE
 *     FLAGS: 1 a kernel thread (its /proc comm may be longer), 2 the cmdline is
 *     not what /proc would give (longer than CMDLINE_MAX, rewritten in place, or
 *     unreadable): the reader then asks /proc for that process.
 *
 * A file is a dma-buf when its superblock's magic is the dma-buf filesystem's
 * (DMA_BUF_MAGIC), the same check as fstatfs(2). The programs load where the scan
 * does (iter/dmabuf: 6.16+; of the test matrix 6.18 and 7.3, not 5.10 or 6.1, whose
 * kernels lack that iterator: the loader refuses before the verifier runs);
 * python bench/verifier_bench.py prints what the verifier spends on each.
 */
#include "kernel_types.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define DMA_BUF_MAGIC 0x444d4142UL
#define NAME_MAX_BYTES 32
#define EXPORTER_MAX_BYTES 64
#define FILE_REF_RELEASED 0xc000000000000000UL
#define COMM_BYTES 16
#define CMDLINE_MAX 4096
#define PF_KTHREAD 0x00200000
#define TASK_KERNEL_THREAD 1
#define TASK_CMDLINE_ELSEWHERE 2
/* enum bpf_map_type's value (uapi/linux/bpf.h) */
#define MAP_PERCPU_ARRAY 6
#define MAP_ARRAY 2
/* GEM handles */
#define DRM_MAJOR 226
#define S_IFMT 00170000
#define S_IFCHR 0020000
#define DRIVER_MAX_BYTES 24
#define XA_CHUNK_SIZE 64
/* handles are ints: 31 bits, 6 per xarray level */
#define XA_MAX_DEPTH 8
/* slots visited per DRM file: 2^20 slots = 16,384 leaf nodes, a million handles */
#define GEM_WALK_STEPS (1 << 20)
/* dma-buf handles of one DRM file per read: 512 'g' records of 56 bytes (28,672)
 * and the 'd' and 'G' ones fit the 32 KiB the iterator gives one file */
#define GEM_WINDOW 512

/* Scratch state lives with the task reading the iterator (task-local storage of
 * the reader, bpf_get_current_task_btf()), never per CPU: iterators run with
 * migration disabled, not preemption, and the sleepable task iterator may sleep,
 * so a per-CPU value could be overwritten by another reader of the same programs
 * (another thread, or a process that inherited the links) on that CPU mid-record.
 * Task storage: map flags BPF_F_NO_PREALLOC, key an int (a pidfd from user space). */
#define MAP_TASK_STORAGE 29
#define NO_PREALLOC 1
#define STORAGE_CREATE 1

/* a task's cmdline: too big for the 512-byte stack */
struct cmdline_buf {
	unsigned char raw[CMDLINE_MAX];
};

struct {
	__uint(type, MAP_TASK_STORAGE);
	__uint(map_flags, NO_PREALLOC);
	__type(key, int);
	__type(value, struct cmdline_buf);
} cmdline_scratch SEC(".maps");

/* which window of each DRM file's dma-buf handles this reader's next read lists
 * (none: the first), set by the reader through a pidfd of its thread */
struct {
	__uint(type, MAP_TASK_STORAGE);
	__uint(map_flags, NO_PREALLOC);
	__type(key, int);
	__type(value, __u32);
} gem_pass SEC(".maps");

struct gem_walk;

/* the state of the GEM handle walk of the DRM file being visited */
struct {
	__uint(type, MAP_TASK_STORAGE);
	__uint(map_flags, NO_PREALLOC);
	__type(key, int);
	__type(value, struct gem_walk);
} gem_scratch SEC(".maps");

/* "Dual MIT/GPL": GPL-compatible for the kernel, MIT like the rest of the package */
char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* the binary records (parsers/bpf_records.py mirrors these layouts): no implicit
 * padding, every byte written (zeroed first) */
#define REC_MAGIC 0xdb
#define REC_VERSION 1
struct rec_head {
	__u8 magic, version, kind, pad;
	__u32 size; /* of the whole record, head included */
};

/* 'b': 136 bytes */
struct rec_buffer {
	struct rec_head h;
	__u64 ino, size, count;
	__u8 exporter_len, name_len, pad[6];
	char exporter[EXPORTER_MAX_BYTES];
	char name[NAME_MAX_BYTES];
};

/* the fd iterator's records, one size: 'f' (TGID FD INODE), 'g' (TGID FD NUM=HANDLE
 * INODE), 'G' (TGID FD), 'd' (TGID FD NUM=MINOR TYPE DRIVER); 56 bytes, so a
 * window of GEM_WINDOW 'g' records and the file's 'd' and 'G' fit one read */
struct rec_file {
	struct rec_head h;
	__u32 tgid, fd, num;
	__u16 type;
	__u8 driver_len, pad;
	__u64 ino;
	char driver[DRIVER_MAX_BYTES];
};

/* 'm': 64 bytes */
struct rec_vma {
	struct rec_head h;
	__u32 tgid, major, minor, pad;
	__u64 start, end, flags, pgoff, ino;
};

/* 'p': 56 bytes, then cmdline_len bytes of cmdline (h.size = 56 + cmdline_len) */
struct rec_task {
	struct rec_head h;
	__u32 tgid, ppid, uid, flags;
	__u64 start_ns;
	__u32 cmdline_len;
	__u8 comm_len, pad[3];
	char comm[COMM_BYTES];
};

static __always_inline void rec_head(struct rec_head *h, char kind, __u32 size)
{
	h->magic = REC_MAGIC;
	h->version = REC_VERSION;
	h->kind = kind;
	h->size = size;
}

/* a kernel string's bytes into out (at most n - 1 and the NUL): their count */
static __always_inline __u8 str_into(char *out, int n, const char *src)
{
	long len;

	if (!src)
		return 0;
	len = bpf_probe_read_kernel_str(out, n, src);
	return len > 1 ? len - 1 : 0;
}

/* one record of the fd iterator */
static __always_inline void rec_file_write(struct seq_file *seq, char kind, __u32 tgid, __u32 fd,
					   __u32 num, __u64 ino)
{
	struct rec_file r;

	__builtin_memset(&r, 0, sizeof(r));
	rec_head(&r.h, kind, sizeof(r));
	r.tgid = tgid;
	r.fd = fd;
	r.num = num;
	r.ino = ino;
	bpf_seq_write(seq, &r, sizeof(r));
}


/* The filters run for every open file and every mapping of every process: they read
 * through the iterator's BTF pointers directly (a load the kernel guards against a
 * fault), not by a bpf_probe_read_kernel call per field, which took 2-3x the time of
 * the fd and mapping iterators on 6.18 under qemu. CO-RE still relocates each field. */
static __always_inline int is_dmabuf_inode(struct inode *inode)
{
	return inode && inode->i_sb->s_magic == DMA_BUF_MAGIC;
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
	struct file *f;
	__u64 ino, size, count;

	if (!d)
		return 0;
	f = d->file;
	ino = f->f_inode->i_ino;
	size = d->size;
	/* the iterator holds a reference of its own while it visits a buffer */
	count = file_count(f);
	if (count)
		count -= 1;
	struct rec_buffer r;

	__builtin_memset(&r, 0, sizeof(r));
	rec_head(&r.h, 'b', sizeof(r));
	r.ino = ino;
	r.size = size;
	r.count = count;
	r.exporter_len = str_into(r.exporter, EXPORTER_MAX_BYTES, BPF_CORE_READ(d, exp_name));
	r.name_len = str_into(r.name, NAME_MAX_BYTES, BPF_CORE_READ(d, name));
	bpf_seq_write(seq, &r, sizeof(r));
	return 0;
}

/* A walk of one DRM file's handles (an xarray, read-only, depth first). It lives
 * in a map value (gem_scratch, the reader's), whose contents the verifier does not track: on the
 * stack, each slot position was a state of its own and gem_step was verified once
 * per slot and per path of its caller (E2BIG, "too complex", on 7.3). */
struct gem_walk {
	unsigned long nodes[XA_MAX_DEPTH];
	__u64 bases[XA_MAX_DEPTH]; /* the first index under each node */
	__u8 pos[XA_MAX_DEPTH];    /* the next slot of each node */
	__u32 depth;               /* nodes on the stack */
	__u32 tgid, fd, idr_base;
	__u32 seen;                /* dma-buf handles met so far */
	__u32 first, last;         /* the window listed: first <= seen < last */
	__u32 more;                /* a dma-buf handle past the window was met */
};

/* gem_step's context, on the stack of dmabuf_files */
struct gem_ctx {
	struct gem_walk *w;
	struct seq_file *seq;
};

/* the dma-buf of a GEM object: exported (obj->dma_buf; newer kernels set it on
 * import too) or imported (obj->import_attach->dmabuf, where the field exists) */
static __always_inline struct dma_buf *gem_dma_buf(struct drm_gem_object *obj)
{
	struct dma_buf *d = BPF_CORE_READ(obj, dma_buf);

	if (!d && bpf_core_field_exists(obj->import_attach))
		d = BPF_CORE_READ(obj, import_attach, dmabuf);
	return d;
}

/* a GEM object: a 'g' record when it is a dma-buf in the window; 1 when the walk
 * can stop (past the window) */
static __always_inline long gem_report(struct gem_walk *w, struct seq_file *seq, void *entry,
				       __u64 index)
{
	struct dma_buf *d = gem_dma_buf(entry);
	__u64 ino, handle = index + w->idr_base;
	__u32 n;

	if (!d)
		return 0;
	n = w->seen++;
	if (n >= w->last) {
		w->more = 1;
		return 1;
	}
	if (n < w->first)
		return 0;
	ino = BPF_CORE_READ(d, file, f_inode, i_ino);
	rec_file_write(seq, 'g', w->tgid, w->fd, handle, ino);
	return 0;
}

/* bpf_loop callback: one slot of the node on top of the stack. A node entry
 * (internal, above 4096) is pushed; other internal entries (siblings, retry,
 * zero) are skipped; a pointer in a leaf (shift 0) is a GEM object. */
static long gem_step(__u32 i, void *ctx)
{
	struct gem_ctx *c = ctx;
	struct gem_walk *w = c->w;
	__u32 d = w->depth;
	struct xa_node *node;
	unsigned long entry = 0;
	__u64 index;
	__u8 p, shift;

	if (d == 0 || d > XA_MAX_DEPTH)
		return 1; /* done */
	d = (d - 1) & (XA_MAX_DEPTH - 1);
	p = w->pos[d];
	if (p >= XA_CHUNK_SIZE) {
		w->depth = d;
		return 0;
	}
	w->pos[d] = p + 1;
	node = (struct xa_node *)w->nodes[d];
	shift = BPF_CORE_READ(node, shift);
	bpf_probe_read_kernel(&entry, sizeof(entry),
			      (char *)node + bpf_core_field_offset(node->slots) + 8 * (p & 63));
	if (!entry || shift > 60)
		return 0;
	index = w->bases[d] + ((__u64)p << shift);
	if ((entry & 3) == 2) {
		if (entry > 4096 && shift && d + 1 < XA_MAX_DEPTH) {
			d = (d + 1) & (XA_MAX_DEPTH - 1);
			w->nodes[d] = entry - 2;
			w->bases[d] = index;
			w->pos[d] = 0;
			w->depth = d + 1;
		}
		return 0;
	}
	if (!shift && !(entry & 3))
		return gem_report(w, c->seq, (void *)entry, index);
	return 0;
}

/* every handle of a DRM file whose GEM object is a dma-buf, as 'g' records, then
 * 'G' when there are more than the window, then the file's 'd' record */
static __always_inline void gem_handles(struct seq_file *seq, int tgid, __u32 fd, struct file *f)
{
	struct drm_file *file_priv = BPF_CORE_READ(f, private_data);
	struct gem_ctx c = { .seq = seq };
	struct drm_minor *minor;
	struct gem_walk *w;
	unsigned long head;
	struct task_struct *reader;
	__u32 *pass;

	if (!file_priv)
		return;
	minor = BPF_CORE_READ(file_priv, minor);
	if (!minor)
		return;
	reader = bpf_get_current_task_btf();
	w = bpf_task_storage_get(&gem_scratch, reader, 0, STORAGE_CREATE);
	if (!w)
		return;
	pass = bpf_task_storage_get(&gem_pass, reader, 0, 0);
	c.w = w;
	w->depth = 0;
	w->seen = 0;
	w->more = 0;
	w->tgid = tgid;
	w->fd = fd;
	w->first = pass ? *pass * GEM_WINDOW : 0;
	w->last = w->first + GEM_WINDOW;
	w->idr_base = BPF_CORE_READ(file_priv, object_idr.idr_base);
	head = (unsigned long)BPF_CORE_READ(file_priv, object_idr.idr_rt.xa_head);
	if (head && (head & 3) != 2) { /* one entry, index 0, no node */
		if (!(head & 3))
			gem_report(w, seq, (void *)head, 0);
	} else if (head > 4096) {
		w->nodes[0] = head - 2;
		w->bases[0] = 0;
		w->pos[0] = 0;
		w->depth = 1;
		bpf_loop(GEM_WALK_STEPS, gem_step, &c, 0);
	}
	if (w->more)
		rec_file_write(seq, 'G', tgid, fd, 0, 0);
	struct rec_file r;

	__builtin_memset(&r, 0, sizeof(r));
	rec_head(&r.h, 'd', sizeof(r));
	r.tgid = tgid;
	r.fd = fd;
	r.num = BPF_CORE_READ(minor, index);
	r.type = BPF_CORE_READ(minor, type);
	r.driver_len = str_into(r.driver, DRIVER_MAX_BYTES, BPF_CORE_READ(minor, dev, driver, name));
	bpf_seq_write(seq, &r, sizeof(r));
}

static __always_inline int is_drm_inode(struct inode *inode)
{
	return inode && (inode->i_mode & S_IFMT) == S_IFCHR && inode->i_rdev >> 20 == DRM_MAJOR;
}

SEC("iter/task_file")
int dmabuf_files(struct bpf_iter__task_file *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct file *f = ctx->file;
	struct inode *inode;
	__u64 ino;
	int tgid;

	if (!task || !f)
		return 0;
	inode = f->f_inode;
	if (is_drm_inode(inode)) {
		gem_handles(seq, task->tgid, ctx->fd, f);
		return 0;
	}
	if (!is_dmabuf_inode(inode))
		return 0;
	tgid = task->tgid;
	ino = inode->i_ino;
	rec_file_write(seq, 'f', tgid, ctx->fd, 0, ino);
	return 0;
}

SEC("iter/task_vma")
int dmabuf_vmas(struct bpf_iter__task_vma *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct vm_area_struct *vma = ctx->vma;
	__u64 tgid, start, end, flags, pgoff, ino;
	struct inode *inode;
	unsigned int dev;
	struct file *f;

	if (!task || !vma)
		return 0;
	f = vma->vm_file;
	if (!f)
		return 0;
	inode = f->f_inode;
	if (!is_dmabuf_inode(inode))
		return 0;
	dev = inode->i_sb->s_dev;
	tgid = task->tgid;
	start = vma->vm_start;
	end = vma->vm_end;
	flags = vma->vm_flags;
	pgoff = vma->vm_pgoff;
	ino = inode->i_ino;
	struct rec_vma r;

	__builtin_memset(&r, 0, sizeof(r));
	rec_head(&r.h, 'm', sizeof(r));
	r.tgid = tgid;
	r.major = dev >> 20;
	r.minor = dev & 0xfffff;
	r.start = start;
	r.end = end;
	r.flags = flags;
	r.pgoff = pgoff;
	r.ino = ino;
	bpf_seq_write(seq, &r, sizeof(r));
	return 0;
}

/* Sleepable (iter.s): bpf_copy_from_user_task may fault the task's pages in. */
SEC("iter.s/task")
int dmabuf_tasks(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct cmdline_buf *buf;
	struct mm_struct *mm;
	unsigned long start, end;
	__u64 boot_ns;
	__u32 flags = 0, uid;
	__u64 len = 0;
	int tgid, ppid;

	if (!task)
		return 0;
	tgid = task->tgid;
	if (task->pid != tgid)
		return 0; /* a thread: its process is its leader */
	ppid = BPF_CORE_READ(task, real_parent, tgid);
	uid = BPF_CORE_READ(task, real_cred, euid.val);
	boot_ns = BPF_CORE_READ(task, start_boottime);
	if (BPF_CORE_READ(task, flags) & PF_KTHREAD)
		flags |= TASK_KERNEL_THREAD;
	buf = bpf_task_storage_get(&cmdline_scratch, bpf_get_current_task_btf(), 0, STORAGE_CREATE);
	if (!buf)
		return 0;
	mm = BPF_CORE_READ(task, mm);
	if (mm) {
		start = BPF_CORE_READ(mm, arg_start);
		end = BPF_CORE_READ(mm, arg_end);
		if (end > start + CMDLINE_MAX)
			flags |= TASK_CMDLINE_ELSEWHERE;
		else if (end > start)
			len = end - start;
	}
	if (len > CMDLINE_MAX)
		len = CMDLINE_MAX;
	barrier_var(len); /* the bounded value, in the register the helper gets */
	if (len && bpf_copy_from_user_task(buf->raw, len, (void *)start, task, 0))
		flags |= TASK_CMDLINE_ELSEWHERE;
	/* /proc reads on past arg_end when the last byte is not a NUL (setproctitle) */
	else if (len && buf->raw[(len - 1) & (CMDLINE_MAX - 1)])
		flags |= TASK_CMDLINE_ELSEWHERE;
	if (flags & TASK_CMDLINE_ELSEWHERE)
		len = 0;
	struct rec_task r;

	__builtin_memset(&r, 0, sizeof(r));
	rec_head(&r.h, 'p', sizeof(r) + len);
	r.tgid = tgid;
	r.ppid = ppid;
	r.uid = uid;
	r.flags = flags;
	r.start_ns = boot_ns;
	r.cmdline_len = len;
	r.comm_len = str_into(r.comm, COMM_BYTES, task->comm);
	bpf_seq_write(seq, &r, sizeof(r));
	if (len)
		bpf_seq_write(seq, buf->raw, len);
	return 0;
}
