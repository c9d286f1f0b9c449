/* dmabuf-top native collector: /proc/PID/stat lines as collector.sh's read, sed and
 * set -- see them (the fields after the last ") ", the parent, fields 5-21 zeroed). */
#include "native.h"

/* the fields after the last ") " of a /proc/PID/stat line (the whole line without one) */
const char *after_comm(const char *line, size_t len)
{
    const char *r = line;
    for (size_t i = 0; i + 1 < len; i++)
        if (line[i] == ')' && line[i + 1] == ' ')
            r = line + i + 2;
    return r;
}

/* field k (1-based) of s split at blanks, up to end; "" past the last */
size_t field(const char *s, const char *end, int k, const char **at)
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

int all_digits(const char *s, size_t n)
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
int parent_of(const char *l, size_t n, const char **d, size_t *dn)
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
void stat_file(buf_t *body, buf_t *lines, const char *path, const buf_t *text)
{
    lines->n = 0;
    grep_all(lines, path, text, NULL);
    for (size_t a = 0; a < lines->n;) {
        char *e = memchr(lines->p + a, '\n', lines->n - a);
        stat_line(body, lines->p + a, (size_t)(e - (lines->p + a)));
        a = (size_t)(e - lines->p) + 1;
    }
}

