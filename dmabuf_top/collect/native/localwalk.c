/* dmabuf-top native collector, option "local": this machine's /proc walk as the local
 * backend's Python walk (dmabuf_top/collect/proc_walk.py, scan_pid) reads it: the same
 * files in the same order, the same errors taken the same way, the same bounds; its
 * records are lengths and bytes (decoded by dmabuf_top/collect/native_walk.py), not the
 * adb stream, which the local backend has no use for. Nothing is written but stdout.
 *
 * Arguments: "local" [PROC] (default /proc: another is a tree shaped like it, for tests).
 *
 *   DMABUF-TOP-WALK 1\n
 *   u PID\n                 a pid whose fd directory or maps is refused
 *   p PID LINKS INFOS MAPS STAT CMDLINE UID CGROUP NFD [FD INO MAGIC]...\n
 *                           a holder: lengths (-1: not read), uid (-1: unknown), and
 *                           of each of its NFD dma-buf fds, its number, INO (stat's
 *                           inode when fdinfo has no "ino:" line, else -1) and MAGIC
 *                           (1 when fdinfo has no "exp_name:" and statfs says the
 *                           dma-buf filesystem); then the fds' links, each ended by a
 *                           NUL, their fdinfo texts, each ended by a NUL (neither can
 *                           hold one), the maps lines naming /dmabuf (each with its
 *                           newline), stat, cmdline, cgroup
 *   e\n                                      the end: the walk is whole
 * The collector's own pid is passed over (its maps name its file, whose path may hold
 * "/dmabuf": .../dmabuf_top/...), as if the walk were the Python process's own.
 *
 * Errors as Python's: ENOENT and ESRCH (gone) pass over an fd, or the pid where its
 * directory, fd directory or maps went; EACCES and EPERM (refused) make the pid
 * unreadable, and any other error passes over it. */
#include "native.h"

typedef struct {
    buf_t out;   /* everything, written at the end */
    buf_t heads; /* this pid's fd numbers, INO and MAGIC, until it holds something */
    buf_t links; /* their links, each ended by a NUL */
    buf_t infos; /* their fdinfo texts, each ended by a NUL */
    buf_t maps;  /* this pid's /dmabuf maps lines */
    buf_t text;  /* the file being read */
    buf_t dents; /* getdents64 records */
} lw_t;

enum { TAKEN, PASSED, REFUSED };

static int refused_or_passed(int e) { return e == EACCES || e == EPERM ? REFUSED : PASSED; }

static int gone(int e) { return e == ENOENT || e == ESRCH; }

/* " N" into b (printf costs: a walk formats 3 numbers per dma-buf fd, 8 per holder) */
static void put_num(buf_t *b, long long v)
{
    char tmp[24], *e = tmp + sizeof tmp, *p = e;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do
        *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        *--p = '-';
    *--p = ' ';
    bput(b, p, (size_t)(e - p));
}

/* a line of t (not its first) starting with key, as Python's "\nkey" in text */
static int has_line(const buf_t *t, const char *key, size_t kl)
{
    const char *p = t->p, *end = t->p + t->n;
    while ((p = memchr(p, '\n', (size_t)(end - p)))) {
        p++;
        if ((size_t)(end - p) >= kl && !memcmp(p, key, kl))
            return 1;
    }
    return 0;
}

/* one fd named `fd` of pid `s`: a record in w->fds when its link may be a dma-buf's */
static int one_fd(lw_t *w, const char *proc, const char *s, int pdir, int fddir,
                  const char *fd, long *nfd)
{
    char link[4096], rel[4400];
    /* os.readlink's buffer: at most 4096 bytes */
    ssize_t ln = readlinkat(fddir, fd, link, sizeof link);
    if (ln < 0)
        return gone(errno) ? TAKEN : refused_or_passed(errno);
    if (!((ln >= 8 && !memcmp(link, "/dmabuf:", 8)) ||
          (ln == 17 && !memcmp(link, "anon_inode:dmabuf", 17))))
        return TAKEN;
    snprintf(rel, sizeof rel, "fdinfo/%s", fd);
    if (slurp_at(pdir, rel, &w->text) < 0)
        return gone(errno) ? TAKEN : refused_or_passed(errno);
    long long ino = -1;
    struct stat st;
    if (!has_line(&w->text, "ino:", 4) && fstatat(fddir, fd, &st, 0) == 0)
        ino = (long long)st.st_ino;
    int magic = 0;
    if (!has_line(&w->text, "exp_name:", 9)) {
        struct statfs sf;
        snprintf(rel, sizeof rel, "%s/%s/fd/%s", proc, s, fd);
        magic = statfs(rel, &sf) == 0 && ((unsigned long)sf.f_type & 0xffffffffUL) == DMA_BUF_MAGIC;
    }
    bput(&w->heads, " ", 1);
    bputs(&w->heads, fd);
    put_num(&w->heads, ino);
    put_num(&w->heads, magic);
    bput(&w->links, link, (size_t)ln);
    bput(&w->links, "", 1);
    bput(&w->infos, w->text.p, w->text.n);
    bput(&w->infos, "", 1);
    ++*nfd;
    return TAKEN;
}

/* the lines of maps (in w->text) naming /dmabuf into w->maps: whether any */
static int dmabuf_lines(lw_t *w)
{
    const char *p = w->text.p, *end = p + w->text.n;
    w->maps.n = 0;
    for (const char *at; (at = memmem(p, (size_t)(end - p), "/dmabuf", 7));) {
        const char *start = at;
        while (start > w->text.p && start[-1] != '\n')
            start--;
        const char *nl = memchr(at, '\n', (size_t)(end - at));
        const char *le = nl ? nl : end;
        bput(&w->maps, start, (size_t)(le - start));
        bput(&w->maps, "\n", 1);
        p = le;
    }
    return w->maps.n > 0;
}

/* a small file of the holder into `into`; its length, or -1 */
static long keep(lw_t *w, int pdir, const char *name, buf_t *into)
{
    if (slurp_at(pdir, name, &w->text) < 0)
        return -1;
    bput(into, w->text.p, w->text.n);
    return (long)w->text.n;
}

static int one_pid(lw_t *w, const char *proc, int procfd, const char *s)
{
    int pdir = openat(procfd, s, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (pdir < 0)
        return refused_or_passed(errno);
    int fddir = openat(pdir, "fd", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    long nfd = 0;
    int r = fddir < 0 || read_dents(fddir, &w->dents) < 0 ? refused_or_passed(errno) : TAKEN;
    w->heads.n = w->links.n = w->infos.n = 0;
    for (size_t at = 0; r == TAKEN;) {
        const char *fd = next_dent(&w->dents, &at);
        if (!fd)
            break;
        r = one_fd(w, proc, s, pdir, fddir, fd, &nfd);
    }
    if (fddir >= 0)
        close(fddir);
    if (r == TAKEN && slurp_at(pdir, "maps", &w->text) < 0)
        r = refused_or_passed(errno);
    if (r != TAKEN || !(dmabuf_lines(w) | (nfd > 0))) {
        close(pdir);
        return r;
    }
    buf_t facts = {0};
    long nstat = keep(w, pdir, "stat", &facts), ncmd = keep(w, pdir, "cmdline", &facts);
    long long uid = -1;
    struct stat st;
    if (ncmd >= 0 && fstat(pdir, &st) == 0)
        uid = st.st_uid;
    long ncg = keep(w, pdir, "cgroup", &facts);
    close(pdir);
    bputs(&w->out, "p ");
    bputs(&w->out, s);
    put_num(&w->out, (long long)w->links.n);
    put_num(&w->out, (long long)w->infos.n);
    put_num(&w->out, (long long)w->maps.n);
    put_num(&w->out, nstat);
    put_num(&w->out, ncmd);
    put_num(&w->out, uid);
    put_num(&w->out, ncg);
    put_num(&w->out, nfd);
    bput(&w->out, w->heads.p, w->heads.n);
    bput(&w->out, "\n", 1);
    bput(&w->out, w->links.p, w->links.n);
    bput(&w->out, w->infos.p, w->infos.n);
    bput(&w->out, w->maps.p, w->maps.n);
    bput(&w->out, facts.p, facts.n);
    bfree(&facts);
    return TAKEN;
}

void local_walk(const char *proc)
{
    lw_t w = {0};
    buf_t procs = {0};
    bputs(&w.out, "DMABUF-TOP-WALK 1\n");
    if (strlen(proc) > 4000)
        die("the proc directory's path is too long");
    int procfd = open(proc, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (procfd < 0 || read_dents(procfd, &procs) < 0)
        die("cannot list the proc directory");
    char self[24];
    snprintf(self, sizeof self, "%ld", (long)getpid());
    for (size_t at = 0;;) {
        const char *s = next_dent(&procs, &at);
        if (!s)
            break;
        if (strspn(s, "0123456789") != strlen(s) || !strcmp(s, self))
            continue;
        if (one_pid(&w, proc, procfd, s) == REFUSED)
            bprintf(&w.out, "u %s\n", s);
    }
    close(procfd);
    bputs(&w.out, "e\n");
    for (size_t off = 0; off < w.out.n;) {
        ssize_t n = write(1, w.out.p + off, w.out.n - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            die("cannot write the walk");
        off += (size_t)n;
    }
}
