/* dmabuf-top native collector: diff -U0 as GNU diff writes it (Myers' greedy O(ND),
 * lines compared by hash then bytes), for the sections sent as deltas. */
#include "native.h"

#define MAX_LINES_DIFF 2000 /* edit distance past which a section goes in full */

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
int diff_u0(const buf_t *oldb, const buf_t *newb, buf_t *d)
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

