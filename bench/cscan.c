/*
 * cscan: the minimal dma-buf scan in C, as a speed reference for dmabuf-top.
 *
 * For every /proc/PID: readlink every fd (readlinkat on the fd directory), read
 * fdinfo only for dma-buf fds (link starts with "/dmabuf" or "anon_inode:dmabuf"),
 * read maps and keep the lines containing "/dmabuf"; comm of the holders; then the
 * debugfs bufinfo.  Usage: cscan [REPEAT] [facts]  -> after one warm-up scan, the best and
 * the median time of REPEAT scans (default 5).
 * "facts": of each holder, what dmabuf-top's walk reads of it instead of comm (stat,
 * cmdline, the owner by fstat of its /proc directory, cgroup), then the stat of every
 * ancestor of a holder that holds nothing (its parent, the parent's, ... up to pid 1),
 * /proc/meminfo and the boot id: the same kernel data as the walk, each read once.
 * Prints: "best_s=... median_s=... procs=... dmabuf_fds=... map_lines=... holders=...
 * bufinfo_bytes=... ancestors=..."
 *
 * Build: gcc -O2 -static -o cscan cscan.c
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct counts {
    long procs, dmabuf_fds, map_lines, holders, bufinfo_bytes, ancestors, sink;
};

/* "facts": read what the walk reads of a holder and its ancestors */
static int facts;
/* pids seen (holders, ancestors) and the parents still to read, this scan */
#define MAX_PID (1 << 22)
static unsigned char *seen;
#define MAX_PARENTS 65536
static int *parents;
static long nparents;

static char *buf;
static size_t bufcap = 1 << 20;

/* read a whole file relative to dirfd into buf; returns its length or -1 */
static long slurp(int dirfd, const char *path)
{
    int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = 0;
    for (;;) {
        if (len + 65536 > bufcap) {
            bufcap *= 2;
            buf = realloc(buf, bufcap);
        }
        ssize_t n = read(fd, buf + len, bufcap - len - 1);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = 0;
    return (long)len;
}

static int is_dmabuf(const char *link)
{
    return strncmp(link, "/dmabuf", 7) == 0 || strncmp(link, "anon_inode:dmabuf", 17) == 0;
}

/* the parent pid in the stat text in buf (after the comm's last ')'), or 0 */
static int stat_ppid(void)
{
    char *p = strrchr(buf, ')');
    int ppid = 0;
    char state;
    if (!p || sscanf(p + 1, " %c %d", &state, &ppid) != 2 || ppid < 0)
        return 0;
    return ppid;
}

/* the stat of every ancestor of the holders not read yet, up to pid 1 */
static void read_ancestors(int procfd, struct counts *c)
{
    char path[32];
    while (nparents > 0) {
        int pid = parents[--nparents];
        if (pid <= 0 || seen[pid % MAX_PID])
            continue;
        seen[pid % MAX_PID] = 1;
        snprintf(path, sizeof path, "%d/stat", pid);
        if (slurp(procfd, path) > 0) {
            c->ancestors++;
            if (nparents < MAX_PARENTS)
                parents[nparents++] = stat_ppid();
        }
    }
}

static void scan_pid(int procfd, const char *pid, struct counts *c)
{
    int pdir = openat(procfd, pid, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pdir < 0)
        return;
    int holds = 0;
    int fddir = openat(pdir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fddir >= 0) {
        DIR *d = fdopendir(fddir);
        struct dirent *e;
        char link[4096], path[300];
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            ssize_t n = readlinkat(fddir, e->d_name, link, sizeof link - 1);
            if (n < 0)
                continue;
            link[n] = 0;
            if (!is_dmabuf(link))
                continue;
            snprintf(path, sizeof path, "fdinfo/%s", e->d_name);
            long len = slurp(pdir, path);
            if (len >= 0) {
                c->dmabuf_fds++;
                c->sink += len;
                holds = 1;
            }
        }
        if (d)
            closedir(d);
        else
            close(fddir);
    }
    long len = slurp(pdir, "maps");
    if (len > 0) {
        for (char *line = buf; line && *line;) {
            char *nl = strchr(line, '\n');
            if (nl)
                *nl = 0;
            if (strstr(line, "/dmabuf")) {
                c->map_lines++;
                c->sink += strlen(line);
                holds = 1;
            }
            line = nl ? nl + 1 : NULL;
        }
    }
    if (holds) {
        c->holders++;
        if (!facts) {
            if (slurp(pdir, "comm") > 0)
                c->sink += buf[0];
        } else {
            struct stat st;
            seen[atoi(pid) % MAX_PID] = 1;
            if (slurp(pdir, "stat") > 0 && nparents < MAX_PARENTS)
                parents[nparents++] = stat_ppid();
            if (slurp(pdir, "cmdline") >= 0)
                c->sink += buf[0];
            if (fstat(pdir, &st) == 0)
                c->sink += st.st_uid;
            if (slurp(pdir, "cgroup") > 0)
                c->sink += buf[0];
        }
    }
    c->procs++;
    close(pdir);
}

static double scan(struct counts *c)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    memset(c, 0, sizeof *c);
    int procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fdopendir(dup(procfd));
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        scan_pid(procfd, e->d_name, c);
    }
    closedir(d);
    if (facts) {
        read_ancestors(procfd, c);
        memset(seen, 0, MAX_PID);
        if (slurp(procfd, "meminfo") > 0)
            c->sink += buf[0];
        if (slurp(procfd, "sys/kernel/random/boot_id") > 0)
            c->sink += buf[0];
    }
    close(procfd);
    long len = slurp(AT_FDCWD, "/sys/kernel/debug/dma_buf/bufinfo");
    c->bufinfo_bytes = len > 0 ? len : 0;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int repeat = argc > 1 ? atoi(argv[1]) : 5;
    facts = argc > 2 && strcmp(argv[2], "facts") == 0;
    seen = calloc(MAX_PID, 1);
    parents = malloc(sizeof(int) * MAX_PARENTS);
    struct counts c;
    double times[1024];
    if (repeat < 1)
        repeat = 1;
    if (repeat > 1024)
        repeat = 1024;
    buf = malloc(bufcap);
    scan(&c); /* warm-up: dentries, page cache */
    for (int i = 0; i < repeat; i++)
        times[i] = scan(&c);
    qsort(times, repeat, sizeof(times[0]), by_value);
    printf("best_s=%.6f median_s=%.6f procs=%ld dmabuf_fds=%ld map_lines=%ld holders=%ld "
           "bufinfo_bytes=%ld ancestors=%ld\n", times[0], times[repeat / 2], c.procs,
           c.dmabuf_fds, c.map_lines, c.holders, c.bufinfo_bytes, c.ancestors);
    return 0;
}
