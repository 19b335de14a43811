/* cli_util.c - error printing and strict option parsing for the aviary command. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"

int cli_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("aviary: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

int cli_fail_status(aviary_status s) {
    const char *m = aviary_errmsg();
    return cli_fail("%s", m[0] ? m : aviary_status_name(s));
}

bool cli_parse_int(const char *opt, const char *s, long min, long max, long *out) {
    char *end = NULL;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || !*s || *end || errno || v < min || v > max) {
        cli_fail("%s: expected an integer from %ld to %ld, got '%s'", opt, min, max, s ? s : "");
        return false;
    }
    *out = v;
    return true;
}

bool cli_parse_float(const char *opt, const char *s, double min, double max, double *out) {
    char *end = NULL;
    errno = 0;
    double v = s ? strtod(s, &end) : 0;
    if (!s || !*s || *end || errno || !isfinite(v) || v < min || v > max) {
        cli_fail("%s: expected a number from %g to %g, got '%s'", opt, min, max, s ? s : "");
        return false;
    }
    *out = v;
    return true;
}

char *cli_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) { /* read to EOF: works for pipes and growing files too */
        if (n + 4096 > cap) {
            cap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (!got) break;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

void cli_resolve_path(const char *base, const char *name, char *out, size_t n) {
    if (name[0] == '/') {
        snprintf(out, n, "%s", name);
        return;
    }
    const char *slash = strrchr(base, '/');
    int dl = slash ? (int)(slash - base) : 0;
    snprintf(out, n, "%.*s%s%s", dl, base, slash ? "/" : "", name);
}

int cli_out_open(cli_out *o, const char *path) {
    size_t fl = strlen(path);
    o->f = NULL;
    o->path = path;
    o->tmp = malloc(fl + 16);
    if (!o->tmp) return cli_fail("%s: out of memory", path);
    snprintf(o->tmp, fl + 16, "%s.tmpXXXXXX", path);
    int fd = mkstemp(o->tmp);
    if (fd < 0) {
        int rc = cli_fail("%s: cannot create (%s)", path, strerror(errno));
        free(o->tmp);
        return rc;
    }
    mode_t um = umask(0);
    umask(um);
    if (fchmod(fd, 0666 & ~um) != 0) { /* mkstemp makes 0600; give the usual mode (best effort) */
    }
    if (!(o->f = fdopen(fd, "wb"))) {
        int e = errno;
        close(fd);
        unlink(o->tmp);
        free(o->tmp);
        return cli_fail("%s: cannot write (%s)", path, strerror(e));
    }
    return 0;
}

int cli_out_close(cli_out *o, int rc) {
    bool bad = ferror(o->f) != 0;
    if (fclose(o->f) != 0) bad = true;
    if (!rc && bad) rc = cli_fail("%s: write failed (%s)", o->path, strerror(errno));
    if (!rc && rename(o->tmp, o->path) != 0)
        rc = cli_fail("%s: cannot rename the temporary file (%s)", o->path, strerror(errno));
    if (rc) unlink(o->tmp);
    free(o->tmp);
    return rc;
}

void cli_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') fprintf(f, "\\%c", *c);
        else if (*c == '\n') fputs("\\n", f);
        else if (*c == '\t') fputs("\\t", f);
        else if (*c == '\r') fputs("\\r", f);
        else if (*c < 0x20) fprintf(f, "\\u%04x", *c);
        else fputc(*c, f);
    }
    fputc('"', f);
}

void cli_npy_write(FILE *f, const int64_t *shape, int ndim, const float *data, size_t n) {
    char hdr[256];
    int o = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int k = 0; k < ndim; k++)
        o += snprintf(hdr + o, sizeof hdr - (size_t)o, "%lld%s", (long long)shape[k],
                      ndim == 1 ? "," : (k + 1 < ndim ? ", " : ""));
    o += snprintf(hdr + o, sizeof hdr - (size_t)o, "), }");
    /* magic (6) + version (2) + header length (2) + header + '\n', padded to 64 */
    const size_t pad = (64 - (10 + (size_t)o + 1) % 64) % 64;
    const uint16_t hl = (uint16_t)((size_t)o + pad + 1);
    const unsigned char magic[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hl & 0xff),
                                     (unsigned char)(hl >> 8)};
    fwrite(magic, 1, sizeof magic, f);
    fwrite(hdr, 1, (size_t)o, f);
    for (size_t i = 0; i < pad; i++) fputc(' ', f);
    fputc('\n', f);
    fwrite(data, sizeof *data, n, f);
}
