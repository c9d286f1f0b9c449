/* dmabuf-top native collector: the sections of the /proc walk, in collector.sh's order
 * and format: unreadable, dmabufdev, fdino, maps, uids, fdinfo, comm, stat, files. */
#include "native.h"

typedef struct { long pid; char fd[24]; } dfd_t;

void walk(const char *opts)
{
    char path[4200];
    buf_t t = {0}, body = {0};
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
        int dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        for (size_t k = 0; k < fds.n; k++) {
            struct statfs sf;
            char link[64];
            snprintf(path, sizeof path, "/proc/%s/fd/%s", procs.v[i], fds.v[k]);
            /* statfs only what may be a dma-buf: since Linux 5.3 (its own filesystem,
             * the magic) every dma-buf's link reads "/dmabuf:NAME"; statfs of an
             * ordinary file can cost its filesystem a count of free blocks */
            ssize_t ln = dirfd < 0 ? -1 : readlinkat(dirfd, fds.v[k], link, sizeof link);
            if (ln < 0 && errno != EACCES)
                continue;
            if (ln >= 0 && (ln < 8 || memcmp(link, "/dmabuf:", 8)))
                continue;
            if (ln < 0 || statfs(path, &sf) < 0) {
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
        if (dirfd >= 0)
            close(dirfd);
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
    buf_t list = {0};
    for (size_t i = 0; i < p.n; i++)
        bprintf(&list, "/proc/%ld/cmdline\n", p.v[i]);
    for (int i = 0; i < 2; i++)
        if (can(KERNEL_FILES[i], R_OK))
            bprintf(&list, "%s\n", KERNEL_FILES[i]);
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
    free(fi);
    bfree(&t);
}
