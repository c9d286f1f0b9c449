/* dmabuf-top native collector: what its files share (collector.c says what it does) */
#ifndef DMABUF_TOP_NATIVE_H
#define DMABUF_TOP_NATIVE_H
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_FILE (64L << 20)  /* one file read (bufinfo of a huge phone fits) */
#define MAX_OUT (256L << 20)  /* the host refuses more (adb_stream.MAX_OUTPUT) */
#define DMA_BUF_MAGIC 0x444d4142UL
#define PROBE_ANSWER "DMABUF-TOP-COLLECTOR 2 native\n"

typedef struct { char *p; size_t n, cap; } buf_t;
typedef struct { char **v; size_t n, cap; } names_t;
typedef struct { long *v; size_t n, cap; } pids_t;
typedef struct { uint32_t h[4]; uint64_t len; unsigned char blk[64]; size_t used; } md5_t;

/* files.c: growing buffers, bounded reads, directory entries and sorted listings, grep -H */
void die(const char *why);
void breserve(buf_t *b, size_t more);
void bput(buf_t *b, const void *s, size_t n);
void bputs(buf_t *b, const char *s);
void bprintf(buf_t *b, const char *fmt, ...);
void bfree(buf_t *b);
int slurp_at(int dirfd, const char *path, buf_t *out);
int slurp(const char *path, buf_t *out);
int read_dents(int fd, buf_t *d);
char *next_dent(const buf_t *d, size_t *at);
int read_line(const char *path, char *x, size_t cap);
int cmp_names(const void *a, const void *b);
void names_free(names_t *s);
int list_dir(const char *dir, int digits_first, names_t *out);
void grep_all(buf_t *out, const char *path, const buf_t *text, const char *must);
int is_dir(const char *p);
int exists(const char *p);
int can(const char *p, int mode);
void rm_rf(const char *path);
int write_file(const char *dir, const char *name, const void *p, size_t n);
void pids_add(pids_t *s, long p);
int cmp_long(const void *a, const void *b);
int pids_has(const pids_t *s, long p);

/* md5.c */
void md5_init(md5_t *m);
void md5_update(md5_t *m, const void *data, size_t n);
void md5_hex(md5_t *m, char out[33]);

/* diff.c: diff -U0 of two bodies; -1 when too different (then sent whole) */
int diff_u0(const buf_t *oldb, const buf_t *newb, buf_t *d);

/* procstat.c: /proc/PID/stat lines as the shell's read, sed and set -- see them */
const char *after_comm(const char *line, size_t len);
size_t field(const char *s, const char *end, int k, const char **at);
int all_digits(const char *s, size_t n);
int parent_of(const char *l, size_t n, const char **d, size_t *dn);
void stat_file(buf_t *body, buf_t *lines, const char *path, const buf_t *text);

/* walk.c: the sections of the /proc walk, unreadable to files */
void walk(const char *opts);

/* localwalk.c: the "local" option, the local backend's /proc walk as records */
void local_walk(const char *proc);

/* stream.c: the stream, its sections and the session's state */
extern char N[128];  /* the nonce */
extern char S[4096]; /* the state directory ("" none) */
extern int nodiff;   /* changed sections in full, never as a diff */
extern buf_t out;    /* the whole stream, written at the end */
extern buf_t denied; /* what the shell's $T/e would hold with "denied" */
extern const char *const KERNEL_FILES[2];
extern int profiling; /* DMABUF_TOP_NATIVE_PROFILE set */
void prof_mark(const char *what);
void prof_flush(void);
void m(const char *head);
void o(const char *name, buf_t *body);
int has_word(const char *opts, const char *w);
void load_old(void);
void save_state(const char *have);

#endif
