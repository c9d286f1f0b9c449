/* dmabuf-top native collector: the sections of the /proc walk, in collector.sh's order
 * and format (unreadable, dmabufdev, fdino, maps, uids, fdinfo, comm, stat, files), from
 * one pass over /proc: each pid's directory is opened once and every file of it is read
 * relative to that (no path walked again per fd), the bodies kept until their turn. */
#include "native.h"

typedef struct {
    long pid;
    int uid_ok;
    unsigned uid;
    int comm_ok, stat_ok, cmd_ok;
    buf_t comm, stat, cmdline;
} holder_t;

/* the walk's results: section bodies and the holders, filled pid by pid */
typedef struct {
    int ino_opt;          /* "ino" given: fdino whatever fdinfo says */
    int I;                /* -1 undecided (no dma-buf fd yet), else: fdino listed */
    long nfi;             /* dma-buf fds found */
    long dmabuf_mnt;      /* the dma-buf filesystem's mount id (fdinfo mnt_id), -1 unknown */
    buf_t unreadable, dev, fdino, maps, fdinfo;
    buf_t den_stat, den_maps, den_fdinfo; /* the shell's $T/e "denied" lines, in its order */
    holder_t *h;
    size_t nh, caph;
    buf_t text;           /* the file being read */
} walk_t;

/* dst = a b c d (any may be ""), returns dst */
static char *join(char *dst, size_t cap, const char *a, const char *b, const char *c,
                  const char *d)
{
    const char *parts[4] = {a, b, c, d};
    size_t n = 0;
    for (int i = 0; i < 4; i++) {
        size_t l = strlen(parts[i]);
        if (n + l >= cap)
            l = cap - 1 - n;
        memcpy(dst + n, parts[i], l);
        n += l;
    }
    dst[n] = 0;
    return dst;
}

/* the names of an open directory (getdents64: one buffer for all), "." ones left out
 * and, with digits_first, those not starting with a digit; sorted as the glob sorts */
static int dir_names(int fd, int digits_first, buf_t *raw, names_t *out)
{
    if (read_dents(fd, raw) < 0)
        return -1;
    out->n = 0;
    for (size_t at = 0;;) {
        char *name = next_dent(raw, &at);
        if (!name)
            break;
        if (digits_first && (name[0] < '0' || name[0] > '9'))
            continue;
        if (out->n == out->cap) {
            out->cap = out->cap ? 2 * out->cap : 256;
            out->v = realloc(out->v, out->cap * sizeof *out->v);
            if (!out->v)
                die("out of memory");
        }
        out->v[out->n++] = name; /* points into raw */
    }
    qsort(out->v, out->n, sizeof *out->v, cmp_names);
    return 0;
}

/* the value of fdinfo's "KEY:" line (digits) or -1; has: the key is there at all */
static long fdinfo_num(const buf_t *t, const char *key, int *has)
{
    size_t kl = strlen(key);
    *has = 0;
    for (const char *l = t->p, *end = t->p + t->n; l < end;) {
        const char *nl = memchr(l, '\n', (size_t)(end - l));
        const char *le = nl ? nl : end;
        if ((size_t)(le - l) > kl && !memcmp(l, key, kl)) {
            *has = 1;
            const char *v = l + kl;
            while (v < le && (*v == ' ' || *v == '\t'))
                v++;
            if (v < le && *v >= '0' && *v <= '9')
                return strtol(v, NULL, 10);
            return -1;
        }
        l = le + 1;
    }
    return -1;
}

/* is this fd (its link "/dmabuf:...", fdinfo in t when rc == 0) a dma-buf? The shell asks
 * statfs (stat -f) for the magic of every fd; here a dma-buf's fdinfo tells it too: its
 * mnt_id is the dma-buf filesystem's own (one internal mount: only dma-bufs are on it),
 * which one statfs learns; every other case asks statfs. -1: statfs failed (errno). */
static int is_dmabuf(walk_t *w, int rc, const char *path)
{
    int has_mnt = 0, has_exp = 0;
    long mnt = rc == 0 ? fdinfo_num(&w->text, "mnt_id:", &has_mnt) : -1;
    if (rc == 0)
        fdinfo_num(&w->text, "exp_name:", &has_exp);
    if (has_exp && mnt >= 0 && mnt == w->dmabuf_mnt)
        return 1;
    struct statfs sf;
    if (statfs(path, &sf) < 0)
        return -1;
    if ((unsigned long)sf.f_type != DMA_BUF_MAGIC)
        return 0;
    if (has_exp && mnt >= 0 && w->dmabuf_mnt < 0)
        w->dmabuf_mnt = mnt;
    return 1;
}

/* one fd of pid s whose link may say dma-buf: into fdinfo, fdino, dmabufdev */
static int one_fd(walk_t *w, const char *s, int pdir, int fddir, const char *fd)
{
    char path[256], rel[64], fdinfo[256], link[64];
    ssize_t ln = readlinkat(fddir, fd, link, sizeof link);
    if (ln < 0 && errno != EACCES)
        return 0;
    /* since Linux 5.3 a dma-buf's link reads "/dmabuf:NAME" (its own filesystem, the
     * magic): an ordinary file is passed over without statfs, which can cost its
     * filesystem a count of free blocks */
    if (ln >= 0 && (ln < 8 || memcmp(link, "/dmabuf:", 8)))
        return 0;
    join(path, sizeof path, "/proc/", s, "/fd/", fd);
    int rc = -1, ferr = 0, is = -1;
    if (ln >= 0) {
        rc = slurp_at(pdir, join(rel, sizeof rel, "fdinfo/", fd, "", ""), &w->text);
        ferr = errno;
        is = is_dmabuf(w, rc, path);
    }
    if (is < 0) {
        if (errno == EACCES)
            bprintf(&w->den_stat, "stat: cannot read file system information for '%s': "
                                  "Permission denied\n", path);
        return 0;
    }
    if (!is)
        return 0;
    join(fdinfo, sizeof fdinfo, "/proc/", s, "/fdinfo/", fd);
    struct stat st;
    int st_ok = -1;
    if (w->nfi++ == 0) {
        st_ok = fstatat(fddir, fd, &st, 0);
        if (st_ok == 0)
            bprintf(&w->dev, "%llu\n", (unsigned long long)st.st_dev);
        if (!w->ino_opt) {
            int has = 0;
            if (rc == 0)
                fdinfo_num(&w->text, "ino:", &has);
            w->I = !has;
        }
    }
    if (w->I) {
        if (st_ok < 0)
            st_ok = fstatat(fddir, fd, &st, 0);
        if (st_ok == 0)
            bprintf(&w->fdino, "%llu %s\n", (unsigned long long)st.st_ino, path);
    }
    if (rc == 0)
        grep_all(&w->fdinfo, fdinfo, &w->text, NULL);
    else if (ferr == EACCES)
        bprintf(&w->den_fdinfo, "grep: %s: Permission denied\n", fdinfo);
    return 1;
}

/* a small file of the pid, read through the shared buffer t and kept (its own size) */
static int keep(int pdir, const char *name, buf_t *t, buf_t *into)
{
    if (slurp_at(pdir, name, t) < 0)
        return 0;
    bput(into, t->p, t->n);
    return 1;
}

/* one pid: its dma-buf fds, its maps lines naming /dmabuf; a holder's comm, stat,
 * cmdline and uid */
static void one_pid(walk_t *w, int procfd, const char *s, buf_t *raw, names_t *fds)
{
    int pdir = openat(procfd, s, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (pdir < 0)
        return;
    char path[256];
    int holds = 0;
    struct stat st;
    int fddir = openat(pdir, "fd", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fddir < 0) {
        if (fstatat(pdir, "fd", &st, 0) == 0) /* [ -e ]: there, not ours to read */
            bprintf(&w->unreadable, "%s\n", s);
    } else {
        if (dir_names(fddir, 0, raw, fds) == 0)
            for (size_t k = 0; k < fds->n; k++)
                holds |= one_fd(w, s, pdir, fddir, fds->v[k]);
        close(fddir);
    }
    join(path, sizeof path, "/proc/", s, "/maps", "");
    if (slurp_at(pdir, "maps", &w->text) < 0) {
        if (errno == EACCES)
            bprintf(&w->den_maps, "grep: %s: Permission denied\n", path);
    } else {
        size_t before = w->maps.n;
        grep_all(&w->maps, path, &w->text, "/dmabuf");
        holds |= w->maps.n != before;
    }
    if (holds) {
        if (w->nh == w->caph) {
            w->caph = w->caph ? 2 * w->caph : 256;
            w->h = realloc(w->h, w->caph * sizeof *w->h);
            if (!w->h)
                die("out of memory");
        }
        holder_t *h = &w->h[w->nh++];
        memset(h, 0, sizeof *h);
        h->pid = atol(s);
        h->uid_ok = fstat(pdir, &st) == 0;
        h->uid = (unsigned)st.st_uid;
        h->comm_ok = keep(pdir, "comm", &w->text, &h->comm);
        h->stat_ok = keep(pdir, "stat", &w->text, &h->stat);
        h->cmd_ok = keep(pdir, "cmdline", &w->text, &h->cmdline);
    }
    close(pdir);
}

static int by_pid(const void *a, const void *b)
{
    long x = ((const holder_t *)a)->pid, y = ((const holder_t *)b)->pid;
    return x < y ? -1 : x > y;
}

/* the stat section: the holders', then their ancestors' in the shell's walk order */
static void stat_section(walk_t *w, buf_t *body)
{
    char path[64];
    buf_t lines = {0}, t = {0}, anc = {0}; /* anc: the ancestors' stat paths, one a line */
    pids_t seen = {0};
    for (size_t i = 0; i < w->nh; i++)
        pids_add(&seen, w->h[i].pid);
    for (size_t i = 0; i < w->nh; i++) {
        if (!w->h[i].stat_ok)
            continue;
        snprintf(path, sizeof path, "/proc/%ld/stat", w->h[i].pid);
        buf_t *st = &w->h[i].stat;
        stat_file(body, &lines, path, st);
        /* the parents: the shell's sed -n on each line of the file */
        for (size_t at = 0; at < st->n;) {
            char *nl = memchr(st->p + at, '\n', st->n - at);
            const char *l = st->p + at, *d;
            size_t ln = nl ? (size_t)(nl - l) : st->n - at, dn;
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
            stat_file(body, &lines, path, &t);
    }
    bfree(&lines), bfree(&t), bfree(&anc), free(seen.v);
}

void walk(const char *opts)
{
    walk_t w = {0};
    buf_t raw = {0}, procs_raw = {0}, body = {0};
    names_t procs = {0}, fds = {0};
    char path[64];
    w.ino_opt = has_word(opts, "ino");
    w.I = w.ino_opt ? 1 : -1;
    w.dmabuf_mnt = -1;
    int procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (procfd >= 0 && dir_names(procfd, 1, &procs_raw, &procs) == 0)
        for (size_t i = 0; i < procs.n; i++)
            one_pid(&w, procfd, procs.v[i], &raw, &fds);
    if (procfd >= 0)
        close(procfd);
    free(procs.v), free(fds.v), bfree(&raw), bfree(&procs_raw);
    bput(&denied, w.den_stat.p, w.den_stat.n);
    bput(&denied, w.den_maps.p, w.den_maps.n);
    bput(&denied, w.den_fdinfo.p, w.den_fdinfo.n);
    bfree(&w.den_stat), bfree(&w.den_maps), bfree(&w.den_fdinfo);
    qsort(w.h, w.nh, sizeof *w.h, by_pid);

    o("unreadable", &w.unreadable);
    if (w.nfi) {
        m("dmabufdev");
        bput(&out, w.dev.p, w.dev.n);
    }
    if (w.I == 1)
        o("fdino", &w.fdino);
    o("maps", &w.maps);
    for (size_t i = 0; i < w.nh; i++)
        if (w.h[i].uid_ok)
            bprintf(&body, "%u /proc/%ld\n", w.h[i].uid, w.h[i].pid);
    o("uids", &body);
    o("fdinfo", &w.fdinfo);
    for (size_t i = 0; i < w.nh; i++)
        if (w.h[i].comm_ok) {
            snprintf(path, sizeof path, "/proc/%ld/comm", w.h[i].pid);
            grep_all(&body, path, &w.h[i].comm, NULL);
        }
    o("comm", &body);
    stat_section(&w, &body);
    o("stat", &body);

    /* cmdline and the kernel-wide files: a list, then each file's exact bytes */
    for (size_t i = 0; i < w.nh; i++)
        bprintf(&body, "/proc/%ld/cmdline\n", w.h[i].pid);
    int kf[2];
    for (int i = 0; i < 2; i++)
        if ((kf[i] = can(KERNEL_FILES[i], R_OK)))
            bprintf(&body, "%s\n", KERNEL_FILES[i]);
    for (size_t i = 0; i < w.nh; i++) {
        bprintf(&body, "\n@@%s f\n", N);
        if (w.h[i].cmd_ok)
            bput(&body, w.h[i].cmdline.p, w.h[i].cmdline.n);
    }
    for (int i = 0; i < 2; i++)
        if (kf[i]) {
            bprintf(&body, "\n@@%s f\n", N);
            if (slurp(KERNEL_FILES[i], &w.text) == 0)
                bput(&body, w.text.p, w.text.n);
        }
    o("files", &body);
    for (size_t i = 0; i < w.nh; i++)
        bfree(&w.h[i].comm), bfree(&w.h[i].stat), bfree(&w.h[i].cmdline);
    free(w.h);
    bfree(&w.dev), bfree(&w.text);
}
