/*
 * cscan: the minimal dma-buf scan in C, as a speed reference for dmabuf-top.
 *
 * For every /proc/PID: readlink every fd (readlinkat on the fd directory), read
 * fdinfo only for dma-buf fds (link starts with "/dmabuf" or "anon_inode:dmabuf"),
 * read maps and keep the lines containing "/dmabuf"; comm of the holders; then the
 * debugfs bufinfo.  Usage: cscan [REPEAT]  -> after one warm-up scan, the best and the
 * median time of REPEAT scans (default 5).
 * Prints: "best_s=... median_s=... procs=... dmabuf_fds=... map_lines=... holders=...
 * bufinfo_bytes=..."
 *
 * Build: gcc -O2 -static -o cscan cscan.c
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct counts {
    long procs, dmabuf_fds, map_lines, holders, bufinfo_bytes, sink;
};

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
        if (slurp(pdir, "comm") > 0)
            c->sink += buf[0];
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
           "bufinfo_bytes=%ld\n", times[0], times[repeat / 2], c.procs, c.dmabuf_fds,
           c.map_lines, c.holders, c.bufinfo_bytes);
    return 0;
}
