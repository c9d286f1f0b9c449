/*
 * dmabuf-top native collector: collector.sh's stream, byte for byte, from one static
 * program (no process per section, no temporary files). Every section mirrors the
 * shell collector's (dmabuf_top/collect/collector.sh: read it first; the comments here
 * say only where C has to work to give the same bytes). Arguments are the shell's:
 * $1 options ("ino", "close", "nodiff"), $2 the session id, $3 the md5 of the state
 * the host holds. One more option, "probe", only prints PROBE_ANSWER (the host checks
 * that the pushed binary runs here before it uses it), and "local" only the local
 * backend's /proc walk (localwalk.c: the machine dmabuf-top runs on). The session's
 * state directory is the shell's (same place, same files), so the two collectors can
 * take over from each other.
 *
 * Reads: regular /proc and sysfs files are opened with O_NOFOLLOW (the shell's cat and
 * grep open real files there); /proc/PID/fd/N are followed only by statfs/stat, as the
 * shell's stat -f and stat -L do. Every read is bounded (MAX_FILE), and so is the
 * output (MAX_OUT, the host's own limit). Build: build.sh next to this file; files.c,
 * md5.c, diff.c, procstat.c, walk.c and stream.c hold the parts (native.h, what they share).
 */
#include "native.h"

/* -- the session's state ------------------------------------------------------------- */

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

int main(int argc, char **argv)
{
    const char *opts = argc > 1 ? argv[1] : "", *sid = argc > 2 ? argv[2] : "";
    const char *have = argc > 3 ? argv[3] : "";
    char K[256], B[256], U[32] = "", R[16] = "", x[256], path[4200];
    buf_t t = {0}, body = {0};
    umask(077);
    profiling = getenv("DMABUF_TOP_NATIVE_PROFILE") != NULL;
    prof_mark("");
    if (has_word(opts, "probe")) {
        fputs(PROBE_ANSWER, stdout);
        return 0;
    }
    if (has_word(opts, "local")) {
        local_walk(argc > 2 && *argv[2] ? argv[2] : "/proc");
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

    walk(opts);
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
    if (exists(KERNEL_FILES[0]) && !can(KERNEL_FILES[0], R_OK))
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
        m("state");
        save_state(have);
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
    prof_flush();
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

