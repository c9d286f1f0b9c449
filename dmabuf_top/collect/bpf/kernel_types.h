/* The few kernel types dmabuf_top.bpf.c reads, declared for CO-RE.
 *
 * Only the fields used are declared; preserve_access_index makes every access a
 * BTF relocation that libbpf resolves against the running kernel's BTF
 * (/sys/kernel/btf/vmlinux), so field offsets never come from this file.
 * The iterator context structs are the kernel's fixed ABI (pointer-sized slots)
 * and are declared plainly.
 */
#ifndef DMABUF_TOP_KERNEL_TYPES_H
#define DMABUF_TOP_KERNEL_TYPES_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed int __s32;
typedef signed long long __s64;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef __u16 __be16;
typedef _Bool bool;
#define true 1
#define false 0

enum bpf_map_type___unused { BPF_MAP_TYPE_UNSPEC___unused = 0 };

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

typedef struct {
	long counter;
} atomic_long_t;

/* 6.13+: struct file counts references in f_ref (value = count - 1) */
typedef struct {
	atomic_long_t refcnt;
} file_ref_t;

struct super_block {
	unsigned int s_dev;
	unsigned long s_magic;
};

struct inode {
	unsigned short i_mode;
	unsigned int i_rdev;
	unsigned long i_ino;
	struct super_block *i_sb;
};

struct file {
	struct inode *f_inode;
	file_ref_t f_ref;
	void *private_data;
};

/* before 6.13 */
struct file___count {
	atomic_long_t f_count;
};

struct dma_buf {
	unsigned long size;
	struct file *file;
	const char *exp_name;
	const char *name;
};

typedef struct {
	unsigned int val;
} kuid_t;

struct cred {
	kuid_t euid;
};

struct mm_struct {
	unsigned long arg_start;
	unsigned long arg_end;
};

struct task_struct {
	unsigned int flags;
	int pid;
	int tgid;
	struct task_struct *real_parent;
	struct mm_struct *mm;
	const struct cred *real_cred;
	__u64 start_boottime;
	char comm[16];
};

struct vm_area_struct {
	unsigned long vm_start;
	unsigned long vm_end;
	unsigned long vm_flags;
	unsigned long vm_pgoff;
	struct file *vm_file;
};

struct seq_file;

/* GEM handles: a DRM file's private_data is its drm_file; object_idr maps handles
 * (from idr_base) to GEM objects, in an xarray of 64-slot nodes */
struct xarray {
	void *xa_head;
};

struct idr {
	struct xarray idr_rt;
	unsigned int idr_base;
};

struct xa_node {
	unsigned char shift;
	void *slots[64];
};

struct drm_driver {
	const char *name;
};

struct drm_device {
	const struct drm_driver *driver;
};

struct drm_minor {
	int index;
	int type;
	struct drm_device *dev;
};

struct drm_file {
	struct drm_minor *minor;
	struct idr object_idr;
};

struct kobject {
	const char *name;
};

struct device {
	struct kobject kobj;
};

struct dma_buf_attachment {
	struct dma_buf *dmabuf;
	struct device *dev;
};

struct drm_gem_object {
	struct dma_buf *dma_buf;
	struct dma_buf_attachment *import_attach;
};

#pragma clang attribute pop

struct bpf_iter_meta {
	struct seq_file *seq;
	__u64 session_id;
	__u64 seq_num;
};

struct bpf_iter__dmabuf {
	struct bpf_iter_meta *meta;
	struct dma_buf *dmabuf;
};

struct bpf_iter__task {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
};

struct bpf_iter__task_file {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
	__u32 fd;
	struct file *file;
};

struct bpf_iter__task_vma {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
	struct vm_area_struct *vma;
};

#endif
