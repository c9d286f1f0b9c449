/* dmabuf-top native collector: the stream as collector.sh prints it: the sections
 * (m), the big ones in full or against the last refresh (o), and the session's state
 * directory (the last refresh's sections in, the new ones and their md5 out). */
#include "native.h"

char N[128];         /* the nonce */
char S[4096];        /* the state directory ("" none) */
int nodiff;
buf_t out;           /* the whole stream, written at the end */
buf_t denied;        /* what the shell's $T/e would hold with "denied" */
#define MAX_SECTIONS 16
/* same: the body equals the last refresh's, whose file d.NAME is left in place */
static struct { char name[16]; buf_t body; int same; } old[MAX_SECTIONS], now[MAX_SECTIONS];
static int n_old, n_now;

const char *const KERNEL_FILES[2] = {"/sys/fs/bpf/dmabuf/prog_dmabufIter_iter_dmabuf",
                                     "/sys/kernel/dma_heap/total_pools_kb"};

/* DMABUF_TOP_NATIVE_PROFILE=1: the CPU (user, system) and wall milliseconds spent before
 * each section's header, to stderr at the end (off by default; the stream is unchanged) */
int profiling;
static buf_t prof;
static double prof_u, prof_s, prof_w;

static void prof_now(double *u, double *s, double *w)
{
    struct rusage ru;
    struct timespec ts;
    getrusage(RUSAGE_SELF, &ru);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    *u = ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3;
    *s = ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
    *w = ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void prof_mark(const char *what)
{
    double u, s, w;
    if (!profiling)
        return;
    prof_now(&u, &s, &w);
    if (prof_w)
        bprintf(&prof, "profile %-20s user %8.1f ms  system %8.1f ms  wall %8.1f ms\n", what,
                u - prof_u, s - prof_s, w - prof_w);
    prof_u = u, prof_s = s, prof_w = w;
}

void prof_flush(void)
{
    if (profiling && write(2, prof.p, prof.n) < 0)
        return;
}

void m(const char *head)
{
    prof_mark(head);
    bputs(&out, "\n@@");
    bputs(&out, N);
    bputs(&out, " ");
    bputs(&out, head);
    bputs(&out, "\n");
}

static void store(const char *name, buf_t *body, int same)
{
    if (n_now < MAX_SECTIONS) {
        snprintf(now[n_now].name, sizeof now[n_now].name, "%s", name);
        now[n_now].body = *body;
        now[n_now].same = same;
        n_now++;
        memset(body, 0, sizeof *body);
    }
}

/* o NAME BODY: section NAME, in full or against the last refresh (the shell's o()) */
void o(const char *name, buf_t *body)
{
    char head[64];
    int same = 0;
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
        same = 1;
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
    store(name, body, same);
}

int has_word(const char *opts, const char *w)
{
    char padded[512], pw[64];
    snprintf(padded, sizeof padded, " %s ", opts);
    snprintf(pw, sizeof pw, " %s ", w);
    return strstr(padded, pw) != NULL;
}

/* the last refresh's sections (d.NAME) in the state directory; each stays there until
 * save_state replaces it (a run that dies before has removed "sum": a full resync next) */
void load_old(void)
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
            unlink(p);
        }
    }
    names_free(&n);
}

/* the new state: the sections kept (d.NAME: only the changed ones written, the old
 * ones no longer sent removed) and the md5 of all in name order (sum; "have", the
 * host's, which the last state's sum equalled, when nothing changed), which goes out
 * as the state section's body (empty when a file could not be written) */
void save_state(const char *have)
{
    md5_t md;
    char hex[33] = "", line[40];
    int ok = 1, changed = n_now != n_old;
    for (int i = 0; i < n_old; i++) {
        int kept = 0;
        for (int j = 0; j < n_now; j++)
            kept |= !strcmp(old[i].name, now[j].name);
        if (!kept) {
            char p[4200];
            snprintf(p, sizeof p, "%.4000s/d.%.15s", S, old[i].name);
            unlink(p);
            changed = 1;
        }
    }
    for (int i = 0; i < n_now; i++)
        for (int j = i + 1; j < n_now; j++)
            if (strcmp(now[i].name, now[j].name) > 0) {
                char nm[16];
                buf_t bt = now[i].body;
                int sm = now[i].same;
                memcpy(nm, now[i].name, sizeof nm);
                memcpy(now[i].name, now[j].name, sizeof nm);
                now[i].body = now[j].body;
                now[i].same = now[j].same;
                memcpy(now[j].name, nm, sizeof nm);
                now[j].body = bt;
                now[j].same = sm;
            }
    for (int i = 0; i < n_now; i++) {
        char name[24] = "d.";
        memcpy(name + 2, now[i].name, sizeof now[i].name);
        if (now[i].same)
            continue;
        changed = 1;
        ok &= write_file(S, name, now[i].body.p, now[i].body.n) == 0;
    }
    if (changed || strlen(have) != 32) {
        md5_init(&md);
        for (int i = 0; i < n_now; i++)
            md5_update(&md, now[i].body.p, now[i].body.n);
        md5_hex(&md, hex);
    } else {
        memcpy(hex, have, 33);
    }
    snprintf(line, sizeof line, "%s\n", hex);
    if (ok)
        write_file(S, "sum", line, strlen(line));
    bputs(&out, ok ? line : "\n");
}
