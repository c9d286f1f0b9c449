/*
 * dmabuf-top native collector: collector.sh's stream, byte for byte, from one static
 * program (no process per section, no temporary files). Every section mirrors the
 * shell collector's (dmabuf_top/collect/collector.sh: read it first; the comments here
 * say only where C has to work to give the same bytes). Arguments are the shell's:
 * $1 options ("ino", "close", "nodiff"), $2 the session id, $3 the md5 of the state
 * the host holds. One more option, "probe", only prints PROBE_ANSWER (the host checks
 * that the pushed binary runs here before it uses it). The session's state directory is the shell's (same place, same
 * files), so the two collectors can take over from each other.
 *
 * Reads: regular /proc and sysfs files are opened with O_NOFOLLOW (the shell's cat and
 * grep open real files there); /proc/PID/fd/N are followed only by statfs/stat, as the
 * shell's stat -f and stat -L do. Every read is bounded (MAX_FILE), and so is the
 * output (MAX_OUT, the host's own limit). Build: build.sh next to this file.
 */
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
#include <sys/statfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_FILE (64L << 20)  /* one file read (bufinfo of a huge phone fits) */
#define MAX_OUT (256L << 20)  /* the host refuses more (adb_stream.MAX_OUTPUT) */
#define MAX_LINES_DIFF 2000   /* edit distance past which a section goes in full */
#define DMA_BUF_MAGIC 0x444d4142UL
#define PROBE_ANSWER "DMABUF-TOP-COLLECTOR 2 native\n"

typedef struct { char *p; size_t n, cap; } buf_t;

static void die(const char *why)
{
    printf("DMABUF-TOP-COLLECTOR-ERROR %s\n", why);
    exit(1);
}

static void bgrow(buf_t *b, size_t more)
{
    if (b->n + more + 1 <= b->cap)
        return;
    if (b->n + more > (size_t)MAX_OUT)
        die("output past 256 MiB");
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + more + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        die("out of memory");
    b->p = p;
    b->cap = cap;
}

static void bput(buf_t *b, const void *s, size_t n)
{
    bgrow(b, n);
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void bputs(buf_t *b, const char *s) { bput(b, s, strlen(s)); }

static void bprintf(buf_t *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        bput(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void bfree(buf_t *b) { free(b->p); b->p = NULL; b->n = b->cap = 0; }

/* a whole file (dirfd-relative, no link followed) into out; -1 and errno if unreadable */
static int slurp_at(int dirfd, const char *path, buf_t *out)
{
    int fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -1;
    out->n = 0;
    bgrow(out, 0);
    for (;;) {
        bgrow(out, 65536);
        ssize_t r = read(fd, out->p + out->n, 65536);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        if (r == 0)
            break;
        out->n += (size_t)r;
        if (out->n > (size_t)MAX_FILE)
            break;
    }
    out->p[out->n] = 0;
    close(fd);
    return 0;
}

static int slurp(const char *path, buf_t *out) { return slurp_at(AT_FDCWD, path, out); }

/* the shell's `read -r x <FILE`: the first line, IFS blanks trimmed; 0 only when the
 * line ends in a newline (read fails at an end of file without one) */
static int read_line(const char *path, char *x, size_t cap)
{
    buf_t b = {0};
    x[0] = 0;
    if (slurp(path, &b) < 0 || !b.n) {
        bfree(&b);
        return -1;
    }
    char *nl = memchr(b.p, '\n', b.n);
    size_t len = nl ? (size_t)(nl - b.p) : b.n;
    char *s = b.p;
    while (len && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len >= cap)
        len = cap - 1;
    memcpy(x, s, len);
    x[len] = 0;
    bfree(&b);
    return nl ? 0 : -1;
}

/* -- md5 (RFC 1321), for the state's sum as md5sum gives it -------------------------- */
typedef struct { uint32_t h[4]; uint64_t len; unsigned char blk[64]; size_t used; } md5_t;

static uint32_t rol(uint32_t x, int c) { return (x << c) | (x >> (32 - c)); }

static void md5_block(md5_t *m, const unsigned char *p)
{
    static const uint32_t K[64] = {
        0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
        0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
        0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
        0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
        0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
        0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
        0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
        0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
        0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
        0xeb86d391};
    static const int R[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                              5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                              4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                              6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};
    uint32_t w[16], a = m->h[0], b = m->h[1], c = m->h[2], d = m->h[3];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
               (uint32_t)p[4 * i + 3] << 24;
    for (int i = 0; i < 64; i++) {
        uint32_t f;
        int g;
        if (i < 16) f = (b & c) | (~b & d), g = i;
        else if (i < 32) f = (d & b) | (~d & c), g = (5 * i + 1) % 16;
        else if (i < 48) f = b ^ c ^ d, g = (3 * i + 5) % 16;
        else f = c ^ (b | ~d), g = (7 * i) % 16;
        uint32_t t = d;
        d = c;
        c = b;
        b = b + rol(a + f + K[i] + w[g], R[i]);
        a = t;
    }
    m->h[0] += a, m->h[1] += b, m->h[2] += c, m->h[3] += d;
}

static void md5_init(md5_t *m)
{
    memset(m, 0, sizeof *m);
    m->h[0] = 0x67452301, m->h[1] = 0xefcdab89, m->h[2] = 0x98badcfe, m->h[3] = 0x10325476;
}

static void md5_update(md5_t *m, const void *data, size_t n)
{
    const unsigned char *p = data;
    m->len += n;
    while (n) {
        size_t k = 64 - m->used < n ? 64 - m->used : n;
        memcpy(m->blk + m->used, p, k);
        m->used += k, p += k, n -= k;
        if (m->used == 64)
            md5_block(m, m->blk), m->used = 0;
    }
}

static void md5_hex(md5_t *m, char out[33])
{
    uint64_t bits = m->len * 8;
    unsigned char pad = 0x80, z = 0, l[8];
    md5_update(m, &pad, 1);
    while (m->used != 56)
        md5_update(m, &z, 1);
    for (int i = 0; i < 8; i++)
        l[i] = (unsigned char)(bits >> (8 * i));
    md5_update(m, l, 8);
    for (int i = 0; i < 16; i++)
        sprintf(out + 2 * i, "%02x", (m->h[i / 4] >> (8 * (i % 4))) & 0xff);
}

/* -- names of a directory, sorted as the shell's glob sorts them (C locale) ---------- */
typedef struct { char **v; size_t n, cap; } names_t;

static void names_add(names_t *s, const char *name)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v)
            die("out of memory");
    }
    s->v[s->n++] = strdup(name);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_free(names_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* entries of dir (not starting with "."; digits_first: only those whose name starts
 * with a digit, the glob [0-9]*), sorted; -1 when it cannot be read */
static int list_dir(const char *dir, int digits_first, names_t *out)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (digits_first && (e->d_name[0] < '0' || e->d_name[0] > '9'))
            continue;
        names_add(out, e->d_name);
    }
    closedir(d);
    qsort(out->v, out->n, sizeof *out->v, cmp_names);
    return 0;
}

/* -- grep -a -H PREFIX: every line of the text, prefixed ------------------------------ */
static void grep_all(buf_t *out, const char *path, const buf_t *text, const char *must)
{
    size_t i = 0;
    while (i < text->n) {
        char *nl = memchr(text->p + i, '\n', text->n - i);
        size_t end = nl ? (size_t)(nl - text->p) : text->n;
        if (!must || memmem(text->p + i, end - i, must, strlen(must))) {
            bputs(out, path);
            bput(out, ":", 1);
            bput(out, text->p + i, end - i);
            bput(out, "\n", 1);
        }
        i = end + 1;
    }
}

/* -- the session's state ------------------------------------------------------------- */
static char N[128];         /* the nonce */
static char S[4096];        /* the state directory ("" none) */
static int nodiff;
static buf_t out;           /* the whole stream, written at the end */
static buf_t denied;        /* what the shell's $T/e would hold with "denied" */
#define MAX_SECTIONS 16
static struct { char name[16]; buf_t body; } old[MAX_SECTIONS], now[MAX_SECTIONS];
static int n_old, n_now;

static void m(const char *head)
{
    bputs(&out, "\n@@");
    bputs(&out, N);
    bputs(&out, " ");
    bputs(&out, head);
    bputs(&out, "\n");
}

/* -- diff -U0 (Myers' greedy O(ND), lines compared by hash then bytes) --------------- */
typedef struct { const char *p; size_t n; uint64_t h; } line_t;

static size_t split_lines(const buf_t *b, line_t **lines)
{
    size_t cnt = 0, cap = 1024;
    line_t *v = malloc(cap * sizeof *v);
    size_t i = 0;
    while (v && i < b->n) {
        char *nl = memchr(b->p + i, '\n', b->n - i);
        size_t end = nl ? (size_t)(nl - b->p) + 1 : b->n;
        if (cnt == cap) {
            cap *= 2;
            line_t *w = realloc(v, cap * sizeof *v);
            if (!w)
                die("out of memory");
            v = w;
        }
        uint64_t h = 1469598103934665603ULL;
        for (size_t k = i; k < end; k++)
            h = (h ^ (unsigned char)b->p[k]) * 1099511628211ULL;
        v[cnt++] = (line_t){b->p + i, end - i, h};
        i = end;
    }
    if (!v)
        die("out of memory");
    *lines = v;
    return cnt;
}

static int line_eq(const line_t *a, const line_t *b)
{
    return a->h == b->h && a->n == b->n && !memcmp(a->p, b->p, a->n);
}

static void diff_line(buf_t *d, char sign, const line_t *l)
{
    bput(d, &sign, 1);
    bput(d, l->p, l->n);
    if (!l->n || l->p[l->n - 1] != '\n')
        bputs(d, "\n\\ No newline at end of file\n");
}

static void hunk_range(buf_t *d, char sign, size_t start, size_t cnt)
{
    /* GNU diff: "start,count", ",1" left out, a count of 0 names the line before */
    if (cnt == 1)
        bprintf(d, "%c%zu", sign, start + 1);
    else
        bprintf(d, "%c%zu,%zu", sign, cnt ? start + 1 : start, cnt);
}

static void emit_hunk(buf_t *d, line_t *a, size_t a0, size_t a1, line_t *b, size_t b0,
                      size_t b1)
{
    bputs(d, "@@ ");
    hunk_range(d, '-', a0, a1 - a0);
    bputs(d, " ");
    hunk_range(d, '+', b0, b1 - b0);
    bputs(d, " @@\n");
    for (size_t i = a0; i < a1; i++)
        diff_line(d, '-', &a[i]);
    for (size_t i = b0; i < b1; i++)
        diff_line(d, '+', &b[i]);
}

/* the diff of a -> b into d; 0 on success, -1 when too different (send it whole) */
static int diff_u0(const buf_t *oldb, const buf_t *newb, buf_t *d)
{
    line_t *a, *b;
    size_t na = split_lines(oldb, &a), nb = split_lines(newb, &b);
    size_t pre = 0, suf = 0;
    while (pre < na && pre < nb && line_eq(&a[pre], &b[pre]))
        pre++;
    while (suf < na - pre && suf < nb - pre && line_eq(&a[na - 1 - suf], &b[nb - 1 - suf]))
        suf++;
    line_t *A = a + pre, *B = b + pre;
    long n = (long)(na - pre - suf), mm = (long)(nb - pre - suf), maxd = n + mm;
    if (maxd > MAX_LINES_DIFF)
        maxd = MAX_LINES_DIFF;
    long off = maxd + 1, width = 2 * maxd + 3;
    long *v = calloc((size_t)width, sizeof *v);
    long **trace = calloc((size_t)maxd + 1, sizeof *trace);
    long D = -1;
    if (!v || !trace)
        die("out of memory");
    for (long dd = 0; dd <= maxd && D < 0; dd++) {
        for (long k = -dd; k <= dd; k += 2) {
            long x;
            if (k == -dd || (k != dd && v[off + k - 1] < v[off + k + 1]))
                x = v[off + k + 1];
            else
                x = v[off + k - 1] + 1;
            long y = x - k;
            while (x < n && y < mm && line_eq(&A[x], &B[y]))
                x++, y++;
            v[off + k] = x;
            if (x >= n && y >= mm) {
                D = dd;
                break;
            }
        }
        trace[dd] = malloc((size_t)width * sizeof *v);
        if (!trace[dd])
            die("out of memory");
        memcpy(trace[dd], v, (size_t)width * sizeof *v);
    }
    int rc = -1;
    if (D >= 0) {
        /* back through the trace: each step an insertion or deletion, marked per line */
        char *dela = calloc((size_t)n + 1, 1), *insb = calloc((size_t)mm + 1, 1);
        if (!dela || !insb)
            die("out of memory");
        long x = n, y = mm;
        for (long dd = D; dd > 0; dd--) {
            long *pv = trace[dd - 1], k = x - y, pk;
            if (k == -dd || (k != dd && pv[off + k - 1] < pv[off + k + 1]))
                pk = k + 1;
            else
                pk = k - 1;
            long px = pv[off + pk], py = px - pk;
            while (x > px && y > py)
                x--, y--;
            if (pk == k + 1)
                insb[--y] = 1;
            else
                dela[--x] = 1;
        }
        /* hunks: runs of changed lines on both sides between common lines */
        long i = 0, j = 0;
        while (i < n || j < mm) {
            if (i < n && j < mm && !dela[i] && !insb[j]) {
                i++, j++;
                continue;
            }
            long i0 = i, j0 = j;
            while (i < n && dela[i])
                i++;
            while (j < mm && insb[j])
                j++;
            emit_hunk(d, a, pre + (size_t)i0, pre + (size_t)i, b, pre + (size_t)j0,
                      pre + (size_t)j);
        }
        free(dela);
        free(insb);
        rc = 0;
    }
    for (long dd = 0; dd <= maxd; dd++)
        free(trace[dd]);
    free(trace);
    free(v);
    free(a);
    free(b);
    return rc;
}

static void store(const char *name, buf_t *body)
{
    if (n_now < MAX_SECTIONS) {
        snprintf(now[n_now].name, sizeof now[n_now].name, "%s", name);
        now[n_now].body = *body;
        n_now++;
        memset(body, 0, sizeof *body);
    }
}

/* o NAME BODY: section NAME, in full or against the last refresh (the shell's o()) */
static void o(const char *name, buf_t *body)
{
    char head[64];
    if (!*S) {
        m(name);
        bput(&out, body->p, body->n);
        bfree(body);
        return;
    }
    buf_t *prev = NULL;
    for (int i = 0; i < n_old; i++)
        if (!strcmp(old[i].name, name))
            prev = &old[i].body;
    if (!prev) {
        snprintf(head, sizeof head, "%s !", name);
        m(head);
        bput(&out, body->p, body->n);
    } else if (prev->n == body->n && !memcmp(prev->p, body->p, body->n)) {
        snprintf(head, sizeof head, "%s =", name);
        m(head);
    } else {
        buf_t d = {0};
        if (!nodiff && diff_u0(prev, body, &d) == 0) {
            snprintf(head, sizeof head, "%s +", name);
            m(head);
            bputs(&out, "--- a\n+++ b\n");
            bput(&out, d.p, d.n);
        } else {
            snprintf(head, sizeof head, "%s !", name);
            m(head);
            bput(&out, body->p, body->n);
        }
        bfree(&d);
    }
    store(name, body);
}

/* -- small helpers over the shell's tests --------------------------------------------- */
static int is_dir(const char *p) { struct stat st; return !stat(p, &st) && S_ISDIR(st.st_mode); }
static int exists(const char *p) { struct stat st; return !stat(p, &st); }
static int can(const char *p, int mode) { return !faccessat(AT_FDCWD, p, mode, AT_EACCESS); }

/* `rm -rf PATH` of a state directory (flat: files only), no link followed */
static void rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        unlink(path);
        return;
    }
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        DIR *d = fdopendir(fd);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)))
                if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                    if (unlinkat(fd, e->d_name, 0) < 0)
                        unlinkat(fd, e->d_name, AT_REMOVEDIR);
            closedir(d);
        } else {
            close(fd);
        }
    }
    rmdir(path);
}

static int write_file(const char *dir, const char *name, const void *p, size_t n)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            return -1;
        }
        c += w, n -= (size_t)w;
    }
    return close(fd);
}

/* the fields after the last ") " of a /proc/PID/stat line (the whole line without one) */
static const char *after_comm(const char *line, size_t len)
{
    const char *r = line;
    for (size_t i = 0; i + 1 < len; i++)
        if (line[i] == ')' && line[i + 1] == ' ')
            r = line + i + 2;
    return r;
}

/* field k (1-based) of s split at blanks, up to end; "" past the last */
static size_t field(const char *s, const char *end, int k, const char **at)
{
    int i = 0;
    while (s < end) {
        while (s < end && (*s == ' ' || *s == '\t'))
            s++;
        if (s >= end)
            break;
        const char *b = s;
        while (s < end && *s != ' ' && *s != '\t')
            s++;
        if (++i == k) {
            *at = b;
            return (size_t)(s - b);
        }
    }
    *at = "";
    return 0;
}

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* does line[at..] (at: a ")") match ") . [0-9]* " then, with fields, 17 "[-0-9]* " and
 * "[0-9]* "? Returns the end of the match of ") . [0-9]* " in *grp_end, and of the
 * last field's digits (without its space) in *f22, *f22e */
static int stat_match(const char *l, size_t n, size_t at, int fields, size_t *grp_end,
                      size_t *f22, size_t *f22e)
{
    size_t i = at + 1;
    if (i >= n || l[i] != ' ' || i + 2 >= n || l[i + 2] != ' ')
        return 0;
    i += 3;
    while (i < n && l[i] >= '0' && l[i] <= '9')
        i++;
    if (i >= n || l[i] != ' ')
        return 0;
    *grp_end = ++i;
    if (!fields)
        return 1;
    for (int k = 0; k < 17; k++) {
        while (i < n && ((l[i] >= '0' && l[i] <= '9') || l[i] == '-'))
            i++;
        if (i >= n || l[i] != ' ')
            return 0;
        i++;
    }
    *f22 = i;
    while (i < n && l[i] >= '0' && l[i] <= '9')
        i++;
    if (i >= n || l[i] != ' ')
        return 0;
    *f22e = i;
    return 1;
}

/* the shell's sed -n "s|.*) . \([0-9]*\) .*|\1|p" on one line: 1 and the digits */
static int parent_of(const char *l, size_t n, const char **d, size_t *dn)
{
    size_t g, x, y;
    for (size_t at = n; at-- > 0;)
        if (l[at] == ')' && stat_match(l, n, at, 0, &g, &x, &y)) {
            *d = l + at + 4;
            *dn = g - 1 - (at + 4);
            return 1;
        }
    return 0;
}

/* one "PATH:LINE" of the stat section, with fields 5-21 zeroed as the shell's sed does */
static void stat_line(buf_t *b, const char *l, size_t n)
{
    size_t g, f22, f22e;
    for (size_t at = n; at-- > 0;)
        if (l[at] == ')' && stat_match(l, n, at, 1, &g, &f22, &f22e)) {
            bput(b, l, g);
            bputs(b, "0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 ");
            bput(b, l + f22, f22e - f22);
            bput(b, "\n", 1);
            return;
        }
    bput(b, l, n);
    bput(b, "\n", 1);
}

/* a stat file's lines as the stat section holds them: grep -H, then the sed above */
static void stat_file(buf_t *body, buf_t *lines, const char *path, const buf_t *text)
{
    lines->n = 0;
    grep_all(lines, path, text, NULL);
    for (size_t a = 0; a < lines->n;) {
        char *e = memchr(lines->p + a, '\n', lines->n - a);
        stat_line(body, lines->p + a, (size_t)(e - (lines->p + a)));
        a = (size_t)(e - lines->p) + 1;
    }
}

typedef struct { long *v; size_t n, cap; } pids_t;

static void pids_add(pids_t *s, long p)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v)
            die("out of memory");
    }
    s->v[s->n++] = p;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

static int pids_has(const pids_t *s, long p)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] == p)
            return 1;
    return 0;
}

/* `command -v NAME`: the first executable NAME in PATH */
static int find_in_path(const char *name, char *out, size_t cap)
{
    const char *path = getenv("PATH");
    if (!path)
        return 0;
    while (*path) {
        const char *c = strchr(path, ':');
        size_t len = c ? (size_t)(c - path) : strlen(path);
        snprintf(out, cap, "%.*s/%s", (int)len, len ? path : ".", name);
        struct stat st;
        if (!stat(out, &st) && S_ISREG(st.st_mode) && can(out, X_OK))
            return 1;
        path += len + (c ? 1 : 0);
        if (!c)
            break;
    }
    return 0;
}

/* `dumpsys meminfo | grep DMA-BUF` into b (bounded) */
static void dumpsys_meminfo(const char *exe, buf_t *b)
{
    int fds[2];
    if (pipe(fds) < 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        int nul = open("/dev/null", O_RDWR);
        dup2(nul, 0);
        dup2(nul, 2);
        dup2(fds[1], 1);
        close(fds[0]);
        execl(exe, "dumpsys", "meminfo", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    buf_t all = {0};
    char tmp[65536];
    ssize_t r;
    while (pid > 0 && (r = read(fds[0], tmp, sizeof tmp)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 || all.n > (size_t)MAX_FILE)
            break;
        bput(&all, tmp, (size_t)r);
    }
    close(fds[0]);
    if (pid > 0)
        waitpid(pid, NULL, 0);
    size_t i = 0;
    while (i < all.n) {
        char *nl = memchr(all.p + i, '\n', all.n - i);
        size_t end = nl ? (size_t)(nl - all.p) : all.n;
        if (memmem(all.p + i, end - i, "DMA-BUF", 7)) {
            bput(b, all.p + i, end - i);
            bput(b, "\n", 1);
        }
        i = end + 1;
    }
    bfree(&all);
}

static int valid_tmp(const char *d)
{
    if (!d || !*d)
        return 0;
    for (const char *c = d; *c; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
              strchr("/._-", *c)))
            return 0;
    return is_dir(d) && can(d, W_OK);
}

static int has_word(const char *opts, const char *w)
{
    char padded[512], pw[64];
    snprintf(padded, sizeof padded, " %s ", opts);
    snprintf(pw, sizeof pw, " %s ", w);
    return strstr(padded, pw) != NULL;
}

static int uuid_like(const char *s)
{
    if (strlen(s) != 36)
        return 0;
    return s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-';
}

/* the old states of dead hosts (untouched for a day) go, as the shell's find does */
static void sweep_states(const char *dir)
{
    names_t n = {0};
    if (list_dir(dir, 0, &n) < 0)
        return;
    time_t now_t = time(NULL);
    for (size_t i = 0; i < n.n; i++) {
        if (strncmp(n.v[i], "dmabuf-top-s.", 13))
            continue;
        char p[4200];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, n.v[i]);
        if (!lstat(p, &st) && now_t - st.st_mtime >= 86400)
            rm_rf(p);
    }
    names_free(&n);
}

static void load_old(void)
{
    names_t n = {0};
    if (list_dir(S, 0, &n) < 0)
        return;
    for (size_t i = 0; i < n.n && n_old < MAX_SECTIONS; i++) {
        if (strncmp(n.v[i], "d.", 2) || strlen(n.v[i]) >= 2 + sizeof old[0].name)
            continue;
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", S, n.v[i]);
        buf_t b = {0};
        if (slurp(p, &b) == 0) {
            snprintf(old[n_old].name, sizeof old[0].name, "%s", n.v[i] + 2);
            old[n_old++].body = b;
        } else {
            bfree(&b);
        }
        unlink(p);
    }
    names_free(&n);
}

typedef struct { long pid; char fd[24]; } dfd_t;

int main(int argc, char **argv)
{
    const char *opts = argc > 1 ? argv[1] : "", *sid = argc > 2 ? argv[2] : "";
    const char *have = argc > 3 ? argv[3] : "";
    char K[256], B[256], U[32] = "", R[16] = "", x[256], path[4200];
    buf_t t = {0}, body = {0};
    umask(077);
    if (has_word(opts, "probe")) {
        fputs(PROBE_ANSWER, stdout);
        return 0;
    }
    const char *cand[] = {getenv("TMPDIR"), "/data/local/tmp", "/tmp", "/dev/shm"}, *dir = NULL;
    for (int i = 0; i < 4 && !dir; i++)
        if (valid_tmp(cand[i]))
            dir = cand[i];
    if (!dir)
        die("no writable temporary directory");
    read_line("/proc/sys/kernel/osrelease", K, sizeof K);
    read_line("/proc/sys/kernel/random/boot_id", B, sizeof B);
    if (!*sid || strspn(sid, "0123456789abcdef") != strlen(sid)) {
        strcpy(R, "none");
    } else {
        snprintf(S, sizeof S, "%s/dmabuf-top-s.%s", dir, sid);
        if (has_word(opts, "close")) {
            rm_rf(S);
            fputs("DMABUF-TOP-COLLECTOR 2 closed\n", stdout);
            return 0;
        }
        char v2[300];
        snprintf(v2, sizeof v2, "2 %s", B);
        snprintf(path, sizeof path, "%s/v", S);
        if (!is_dir(S))
            strcpy(R, "missing");
        else if (read_line(path, x, sizeof x) || strcmp(x, v2))
            strcpy(R, "boot");
        else if (snprintf(path, sizeof path, "%s/sum", S), read_line(path, x, sizeof x) ||
                 strcmp(x, have))
            strcpy(R, "checksum");
        else
            snprintf(path, sizeof path, "%s/n", S), read_line(path, N, sizeof N);
        snprintf(path, sizeof path, "%s/sum", S);
        unlink(path);
    }
    if (*R) {
        N[0] = 0;
        read_line("/proc/sys/kernel/random/uuid", N, sizeof N);
    }
    if (!uuid_like(N)) {
        N[0] = 0;
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        unsigned char rnd[16];
        if (fd >= 0 && read(fd, rnd, 16) == 16)
            for (int i = 0; i < 16; i++)
                sprintf(N + 2 * i, "%02x", rnd[i]);
        if (fd >= 0)
            close(fd);
    }
    if (strlen(N) < 16)
        die("no random source for the section nonce");
    if (*S && *R) {
        sweep_states(dir);
        rm_rf(S);
        char v[300], nn[200];
        snprintf(v, sizeof v, "2 %s\n", B);
        snprintf(nn, sizeof nn, "%s\n", N);
        if (mkdir(S, 0700) || write_file(S, "v", v, strlen(v)) || write_file(S, "n", nn, strlen(nn)))
            S[0] = 0;
    } else if (*S) {
        load_old();
    }
    nodiff = has_word(opts, "nodiff");

    bprintf(&out, "DMABUF-TOP-COLLECTOR 2 %s\n", N);
    if (slurp("/proc/self/status", &t) == 0) {
        const char *l = t.p, *end = t.p + t.n;
        while (l < end) {
            const char *nl = memchr(l, '\n', (size_t)(end - l));
            const char *le = nl ? nl : end, *f;
            size_t fl = field(l, le, 1, &f);
            if (fl == 4 && !memcmp(f, "Uid:", 4)) {
                fl = field(l, le, 3, &f);
                snprintf(U, sizeof U, "%.*s", (int)fl, f);
                break;
            }
            l = le + 1;
        }
    }
    if (*S) {
        m("mode");
        bprintf(&out, "%s%s\n", *R ? "full " : "", *R ? R : "delta");
    }
    m("kernel");
    bprintf(&out, "%s\n", K);
    m("bootid");
    bprintf(&out, "%s\n", B);
    m("uid");
    bprintf(&out, "%s\n", U);

    const char *BI = "/sys/kernel/debug/dma_buf/bufinfo";
    buf_t b0 = {0};
    int have_b0 = exists(BI) && slurp(BI, &b0) == 0;

    /* dma-buf fds by the dma-buf filesystem's magic; unreadable fd directories */
    names_t procs = {0};
    list_dir("/proc", 1, &procs);
    dfd_t *fi = NULL;
    size_t nfi = 0, capfi = 0;
    for (size_t i = 0; i < procs.n; i++) {
        snprintf(path, sizeof path, "/proc/%s/fd", procs.v[i]);
        if (!can(path, R_OK)) {
            if (exists(path))
                bprintf(&body, "%s\n", procs.v[i]);
            continue;
        }
        names_t fds = {0};
        list_dir(path, 0, &fds);
        for (size_t k = 0; k < fds.n; k++) {
            struct statfs sf;
            snprintf(path, sizeof path, "/proc/%s/fd/%s", procs.v[i], fds.v[k]);
            if (statfs(path, &sf) < 0) {
                if (errno == EACCES)
                    bprintf(&denied, "stat: cannot read file system information for '%s': "
                                     "Permission denied\n", path);
                continue;
            }
            if ((unsigned long)sf.f_type != DMA_BUF_MAGIC)
                continue;
            if (nfi == capfi) {
                capfi = capfi ? 2 * capfi : 256;
                fi = realloc(fi, capfi * sizeof *fi);
                if (!fi)
                    die("out of memory");
            }
            fi[nfi].pid = atol(procs.v[i]);
            snprintf(fi[nfi].fd, sizeof fi[nfi].fd, "%s", fds.v[k]);
            nfi++;
        }
        names_free(&fds);
    }
    names_free(&procs);
    o("unreadable", &body);
    if (nfi) {
        struct stat st;
        m("dmabufdev");
        snprintf(path, sizeof path, "/proc/%ld/fd/%s", fi[0].pid, fi[0].fd);
        if (stat(path, &st) == 0)
            bprintf(&out, "%llu\n", (unsigned long long)st.st_dev);
    }
    int I = has_word(opts, "ino");
    if (!I && nfi) {
        I = 1;
        snprintf(path, sizeof path, "/proc/%ld/fdinfo/%s", fi[0].pid, fi[0].fd);
        if (slurp(path, &t) == 0) {
            const char *l = t.p, *end = t.p + t.n, *f;
            const char *nl;
            while (l < end && (nl = memchr(l, '\n', (size_t)(end - l)))) {
                if (field(l, nl, 1, &f) == 4 && !memcmp(f, "ino:", 4)) {
                    I = 0;
                    break;
                }
                l = nl + 1;
            }
        }
    }
    if (I) {
        for (size_t i = 0; i < nfi; i++) {
            struct stat st;
            snprintf(path, sizeof path, "/proc/%ld/fd/%s", fi[i].pid, fi[i].fd);
            if (stat(path, &st) == 0)
                bprintf(&body, "%llu %s\n", (unsigned long long)st.st_ino, path);
        }
        o("fdino", &body);
    }

    /* maps lines naming /dmabuf, of every process (a new glob of /proc, as the shell) */
    pids_t p = {0};
    for (size_t i = 0; i < nfi; i++)
        pids_add(&p, fi[i].pid);
    list_dir("/proc", 1, &procs);
    for (size_t i = 0; i < procs.n; i++) {
        snprintf(path, sizeof path, "/proc/%s/maps", procs.v[i]);
        if (slurp(path, &t) < 0) {
            if (errno == EACCES)
                bprintf(&denied, "grep: %s: Permission denied\n", path);
            continue;
        }
        size_t before = body.n;
        grep_all(&body, path, &t, "/dmabuf");
        if (body.n != before)
            pids_add(&p, atol(procs.v[i]));
    }
    names_free(&procs);
    qsort(p.v, p.n, sizeof *p.v, cmp_long);
    size_t w = 0;
    for (size_t i = 0; i < p.n; i++)
        if (!w || p.v[w - 1] != p.v[i])
            p.v[w++] = p.v[i];
    p.n = w;
    o("maps", &body);
    for (size_t i = 0; i < p.n; i++) {
        struct stat st;
        snprintf(path, sizeof path, "/proc/%ld", p.v[i]);
        if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0)
            bprintf(&body, "%u %s\n", (unsigned)st.st_uid, path);
    }
    o("uids", &body);
    for (size_t i = 0; i < nfi; i++) {
        snprintf(path, sizeof path, "/proc/%ld/fdinfo/%s", fi[i].pid, fi[i].fd);
        if (slurp(path, &t) < 0) {
            if (errno == EACCES)
                bprintf(&denied, "grep: %s: Permission denied\n", path);
            continue;
        }
        grep_all(&body, path, &t, NULL);
    }
    o("fdinfo", &body);
    for (size_t i = 0; i < p.n; i++) {
        snprintf(path, sizeof path, "/proc/%ld/comm", p.v[i]);
        if (slurp(path, &t) == 0)
            grep_all(&body, path, &t, NULL);
    }
    o("comm", &body);

    /* stat of the holders, then of their ancestors in the shell's walk order */
    buf_t lines = {0};
    pids_t seen = {0};
    for (size_t i = 0; i < p.n; i++)
        pids_add(&seen, p.v[i]);
    buf_t anc = {0}; /* the ancestors' stat paths, one a line */
    for (size_t i = 0; i < p.n; i++) {
        snprintf(path, sizeof path, "/proc/%ld/stat", p.v[i]);
        if (slurp(path, &t) < 0)
            continue;
        stat_file(&body, &lines, path, &t);
        /* the parents: the shell's sed -n on each line of the file */
        for (size_t at = 0; at < t.n;) {
            char *nl = memchr(t.p + at, '\n', t.n - at);
            const char *l = t.p + at, *d;
            size_t ln = nl ? (size_t)(nl - l) : t.n - at, dn;
            at += ln + 1;
            if (!parent_of(l, ln, &d, &dn) || !dn || dn > 18 || !all_digits(d, dn))
                continue;
            long q = strtol(d, NULL, 10);
            char qs[24];
            snprintf(qs, sizeof qs, "%.*s", (int)dn, d);
            while (q > 0) {
                if (pids_has(&seen, q))
                    break;
                pids_add(&seen, q);
                bprintf(&anc, "/proc/%s/stat\n", qs);
                char l2[1024];
                snprintf(path, sizeof path, "/proc/%s/stat", qs);
                read_line(path, l2, sizeof l2);
                const char *rest = after_comm(l2, strlen(l2)), *f;
                size_t fl = field(rest, l2 + strlen(l2), 2, &f);
                if (!fl)
                    f = "0", fl = 1;
                if (fl > 18 || !all_digits(f, fl))
                    break;
                snprintf(qs, sizeof qs, "%.*s", (int)fl, f);
                q = strtol(qs, NULL, 10);
            }
        }
    }
    for (size_t at = 0; at < anc.n;) {
        char *nl = memchr(anc.p + at, '\n', anc.n - at);
        snprintf(path, sizeof path, "%.*s", (int)(nl - (anc.p + at)), anc.p + at);
        at = (size_t)(nl - anc.p) + 1;
        if (slurp(path, &t) == 0)
            stat_file(&body, &lines, path, &t);
    }
    o("stat", &body);

    /* cmdline and the kernel-wide files: a list, then each file's exact bytes */
    const char *kfiles[] = {"/sys/fs/bpf/dmabuf/prog_dmabufIter_iter_dmabuf",
                            "/sys/kernel/dma_heap/total_pools_kb"};
    buf_t list = {0};
    for (size_t i = 0; i < p.n; i++)
        bprintf(&list, "/proc/%ld/cmdline\n", p.v[i]);
    for (int i = 0; i < 2; i++)
        if (can(kfiles[i], R_OK))
            bprintf(&list, "%s\n", kfiles[i]);
    bput(&body, list.p, list.n);
    for (size_t at = 0; at < list.n;) {
        char *nl = memchr(list.p + at, '\n', list.n - at);
        snprintf(path, sizeof path, "%.*s", (int)(nl - (list.p + at)), list.p + at);
        at = (size_t)(nl - list.p) + 1;
        bprintf(&body, "\n@@%s f\n", N);
        if (slurp(path, &t) == 0)
            bput(&body, t.p, t.n);
    }
    bfree(&list);
    o("files", &body);
    buf_t b1 = {0};
    if (have_b0 && slurp(BI, &b1) == 0) {
        if (b0.n == b1.n && !memcmp(b0.p, b1.p, b0.n)) {
            m("bufinfo_before_same");
        } else {
            m("bufinfo_before");
            bput(&out, b0.p, b0.n);
        }
        o("bufinfo", &b1);
    }
    m("memtotal");
    if (slurp("/proc/meminfo", &t) == 0) {
        const char *l = t.p, *end = t.p + t.n, *nl, *k, *v, *u;
        while (l < end && (nl = memchr(l, '\n', (size_t)(end - l)))) {
            size_t kn = field(l, nl, 1, &k);
            if ((kn == 9 && !memcmp(k, "MemTotal:", 9)) || (kn == 10 && !memcmp(k, "GPUActive:", 10)) ||
                (kn == 11 && !memcmp(k, "GPUReclaim:", 11))) {
                size_t vn = field(l, nl, 2, &v);
                const char *ue = nl;
                u = vn ? v + vn : k + kn;
                while (u < ue && (*u == ' ' || *u == '\t'))
                    u++;
                while (ue > u && (ue[-1] == ' ' || ue[-1] == '\t'))
                    ue--;
                bprintf(&out, "%.*s %.*s %.*s\n", (int)kn, k, (int)vn, v, (int)(ue - u), u);
            }
            l = nl + 1;
        }
    }
    if (exists(kfiles[0]) && !can(kfiles[0], R_OK))
        m("bpf_unreadable");
    o("denied", &denied);

    const char *D = "/sys/kernel/dmabuf/buffers";
    if (is_dir(D) && can(D, R_OK) && can(D, X_OK)) {
        names_t bufs = {0};
        list_dir(D, 0, &bufs);
        const char *leaf[] = {"exporter_name", "size"};
        for (int k = 0; k < 2; k++)
            for (size_t i = 0; i < bufs.n; i++) {
                snprintf(path, sizeof path, "%s/%s/%s", D, bufs.v[i], leaf[k]);
                if (slurp(path, &t) < 0)
                    continue;
                size_t a = 0;
                while (a < t.n) {
                    char *nl = memchr(t.p + a, '\n', t.n - a);
                    size_t e = nl ? (size_t)(nl - t.p) : t.n;
                    if (e > a)
                        bprintf(&body, "%s:%.*s\n", path, (int)(e - a), t.p + a);
                    a = e + 1;
                }
            }
        names_free(&bufs);
        o("sysfs", &body);
    }
    const char *H = "/dev/dma_heap";
    if (is_dir(H) && can(H, R_OK) && can(H, X_OK)) {
        names_t heaps = {0};
        m("heaps");
        list_dir(H, 0, &heaps);
        for (size_t i = 0; i < heaps.n; i++) {
            snprintf(path, sizeof path, "%s/%s", H, heaps.v[i]);
            if (exists(path))
                bprintf(&out, "%s\n", heaps.v[i]);
        }
        names_free(&heaps);
    }
    char exe[4200];
    if (strcmp(U, "0") && find_in_path("dumpsys", exe, sizeof exe)) {
        m("meminfo");
        dumpsys_meminfo(exe, &out);
    }
    if (*S) {
        md5_t md;
        char hex[33] = "";
        md5_init(&md);
        for (int i = 0; i < n_now; i++)
            for (int j = i + 1; j < n_now; j++)
                if (strcmp(now[i].name, now[j].name) > 0) {
                    char nm[16];
                    buf_t bt = now[i].body;
                    memcpy(nm, now[i].name, sizeof nm);
                    memcpy(now[i].name, now[j].name, sizeof nm);
                    now[i].body = now[j].body;
                    memcpy(now[j].name, nm, sizeof nm);
                    now[j].body = bt;
                }
        int ok = 1;
        for (int i = 0; i < n_now; i++) {
            char name[24] = "d.";
            memcpy(name + 2, now[i].name, sizeof now[i].name);
            ok &= write_file(S, name, now[i].body.p, now[i].body.n) == 0;
            md5_update(&md, now[i].body.p, now[i].body.n);
        }
        md5_hex(&md, hex);
        char line[40];
        snprintf(line, sizeof line, "%s\n", hex);
        if (ok)
            write_file(S, "sum", line, strlen(line));
        m("state");
        bputs(&out, ok ? line : "\n");
    }
    m("cpu");
    if (slurp("/proc/self/stat", &t) == 0) {
        const char *rest = after_comm(t.p, t.n), *f[4];
        size_t fl[4];
        for (int i = 0; i < 4; i++)
            fl[i] = field(rest, t.p + t.n - (t.n && t.p[t.n - 1] == '\n'), 12 + i, &f[i]);
        bprintf(&out, "%.*s %.*s %.*s %.*s\n", (int)fl[0], f[0], (int)fl[1], f[1], (int)fl[2], f[2],
                (int)fl[3], f[3]);
    } else {
        bputs(&out, "   \n");
    }
    m("end");
    const char *c = out.p;
    size_t left = out.n;
    while (left) {
        ssize_t wr = write(1, c, left);
        if (wr < 0 && errno == EINTR)
            continue;
        if (wr <= 0)
            return 1;
        c += wr, left -= (size_t)wr;
    }
    return 0;
}
