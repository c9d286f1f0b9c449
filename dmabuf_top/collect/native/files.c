/* dmabuf-top native collector: growing buffers, bounded reads that follow no link,
 * directory listings sorted as the shell's glob, grep -H, and the state files. */
#include "native.h"

void die(const char *why)
{
    printf("DMABUF-TOP-COLLECTOR-ERROR %s\n", why);
    exit(1);
}

void breserve(buf_t *b, size_t more)
{
    if (b->n + more + 1 <= b->cap)
        return;
    if (b->n + more > (size_t)MAX_OUT)
        die("output past 256 MiB");
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + more + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        die("out of memory");
    b->p = p;
    b->cap = cap;
}

void bput(buf_t *b, const void *s, size_t n)
{
    breserve(b, n);
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

void bputs(buf_t *b, const char *s) { bput(b, s, strlen(s)); }

void bprintf(buf_t *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        bput(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

void bfree(buf_t *b) { free(b->p); b->p = NULL; b->n = b->cap = 0; }

/* a whole file (dirfd-relative, no link followed) into out; -1 and errno if unreadable */
int slurp_at(int dirfd, const char *path, buf_t *out)
{
    int fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -1;
    out->n = 0;
    breserve(out, 0);
    for (;;) {
        breserve(out, 65536);
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

int slurp(const char *path, buf_t *out) { return slurp_at(AT_FDCWD, path, out); }

/* every entry of an open directory (getdents64 records, one buffer for all) into d, in
 * the kernel's order; -1 and errno if unreadable */
int read_dents(int fd, buf_t *d)
{
    d->n = 0;
    for (;;) {
        breserve(d, 65536);
        long r = syscall(SYS_getdents64, fd, d->p + d->n, d->cap - d->n - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            return 0;
        d->n += (size_t)r;
    }
}

/* the next name of read_dents' records from *at ("." ones left out), or NULL at the end */
char *next_dent(const buf_t *d, size_t *at)
{
    while (*at < d->n) {
        struct dirent64_s { uint64_t ino; int64_t off; unsigned short reclen;
                            unsigned char type; char name[]; } *e = (void *)(d->p + *at);
        *at += e->reclen;
        if (e->name[0] != '.')
            return e->name;
    }
    return NULL;
}

/* the shell's `read -r x <FILE`: the first line, IFS blanks trimmed; 0 only when the
 * line ends in a newline (read fails at an end of file without one) */
int read_line(const char *path, char *x, size_t cap)
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

/* -- names of a directory, sorted as the shell's glob sorts them (C locale) ---------- */
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

int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void names_free(names_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* entries of dir (not starting with "."; digits_first: only those whose name starts
 * with a digit, the glob [0-9]*), sorted; -1 when it cannot be read */
int list_dir(const char *dir, int digits_first, names_t *out)
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

/* -- grep -a -H PREFIX: every line of the text (with must: those holding it), prefixed -- */
static void grep_line(buf_t *out, const char *path, size_t pn, const char *l, size_t n)
{
    breserve(out, pn + n + 2);
    char *d = out->p + out->n;
    memcpy(d, path, pn);
    d[pn] = ':';
    memcpy(d + pn + 1, l, n);
    d[pn + 1 + n] = '\n';
    out->n += pn + n + 2;
    out->p[out->n] = 0;
}

void grep_all(buf_t *out, const char *path, const buf_t *text, const char *must)
{
    size_t i = 0, pn = strlen(path), mn = must ? strlen(must) : 0;
    while (i < text->n) {
        size_t start = i;
        if (must) { /* the next match, then its line: one search over the text */
            const char *hit = memmem(text->p + i, text->n - i, must, mn);
            if (!hit)
                return;
            start = (size_t)(hit - text->p);
            while (start > i && text->p[start - 1] != '\n')
                start--;
        }
        char *nl = memchr(text->p + start, '\n', text->n - start);
        size_t end = nl ? (size_t)(nl - text->p) : text->n;
        grep_line(out, path, pn, text->p + start, end - start);
        i = end + 1;
    }
}

/* -- small helpers over the shell's tests --------------------------------------------- */
int is_dir(const char *p) { struct stat st; return !stat(p, &st) && S_ISDIR(st.st_mode); }
int exists(const char *p) { struct stat st; return !stat(p, &st); }
int can(const char *p, int mode) { return !faccessat(AT_FDCWD, p, mode, AT_EACCESS); }

/* `rm -rf PATH` of a state directory (flat: files only), no link followed */
void rm_rf(const char *path)
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

int write_file(const char *dir, const char *name, const void *p, size_t n)
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


void pids_add(pids_t *s, long p)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v)
            die("out of memory");
    }
    s->v[s->n++] = p;
}

int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

int pids_has(const pids_t *s, long p)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] == p)
            return 1;
    return 0;
}

