/* csv.c - numeric tables from CSV text (see aviary_csv.h for the contract). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <strings.h>
#include "internal.h"
#include "aviary/aviary_csv.h"

struct aviary_csv {
    size_t rows, cols;
    char **names;      /* [cols] */
    double *data;      /* [rows][cols] */
    char *date_name;   /* NULL if no date column */
    char **dates;      /* [rows] or NULL */
    size_t filled;
};

/* One parsed record: fields unescaped into buf, NUL-separated. */
typedef struct record {
    char *buf;
    size_t len, cap;
    size_t *off;
    size_t n, ncap;
    long line; /* 1-based line where the record starts */
} record;

aviary_csv_options aviary_csv_default_options(void) {
    aviary_csv_options o = {0};
    return o;
}

static bool rec_putc(record *r, char c) {
    if (r->len + 1 >= r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 256;
        char *nb = realloc(r->buf, nc);
        if (!nb) return false;
        r->buf = nb;
        r->cap = nc;
    }
    r->buf[r->len++] = c;
    return true;
}

static bool rec_start_field(record *r) {
    if (r->n == r->ncap) {
        size_t nc = r->ncap ? r->ncap * 2 : 16;
        size_t *no = realloc(r->off, nc * sizeof *no);
        if (!no) return false;
        r->off = no;
        r->ncap = nc;
    }
    r->off[r->n++] = r->len;
    return true;
}

static const char *rec_field(const record *r, size_t i) { return r->buf + r->off[i]; }

/* Parse the next record starting at *pos. Returns 1 for a record, 0 at end of
 * input, or an error status (already set). Blank lines are skipped. */
static int next_record(const char *s, size_t len, size_t *pos, long *line, record *r, const char *name) {
    for (;;) {
        size_t p = *pos;
        if (p >= len) return 0;
        r->len = 0;
        r->n = 0;
        r->line = *line;
        if (!rec_start_field(r)) return -(int)aviary_error(AVIARY_NOMEM, "%s: out of memory", name);
        bool quoted = false, any = false;
        for (;;) {
            if (p >= len) {
                if (quoted)
                    return -(int)aviary_error(AVIARY_FORMAT, "%s:%ld: unterminated quoted field", name, r->line);
                break;
            }
            char c = s[p];
            if (quoted) {
                if (c == '"') {
                    if (p + 1 < len && s[p + 1] == '"') {
                        if (!rec_putc(r, '"')) goto nomem;
                        p += 2;
                        continue;
                    }
                    quoted = false;
                    p++;
                    continue;
                }
                if (c == '\n') (*line)++;
                if (c == '\0') return -(int)aviary_error(AVIARY_FORMAT, "%s:%ld: NUL byte in the file", name, *line);
                if (!rec_putc(r, c)) goto nomem;
                p++;
                continue;
            }
            if (c == '"') {
                quoted = true;
                any = true;
                p++;
                continue;
            }
            if (c == ',') {
                if (!rec_putc(r, '\0') || !rec_start_field(r)) goto nomem;
                any = true;
                p++;
                continue;
            }
            if (c == '\n' || c == '\r') {
                if (c == '\r' && p + 1 < len && s[p + 1] == '\n') p++;
                p++;
                (*line)++;
                break;
            }
            if (c == '\0') return -(int)aviary_error(AVIARY_FORMAT, "%s:%ld: NUL byte in the file", name, *line);
            if (!rec_putc(r, c)) goto nomem;
            if (!isspace((unsigned char)c)) any = true;
            p++;
        }
        if (!rec_putc(r, '\0')) goto nomem;
        *pos = p;
        if (!any && r->n == 1) continue; /* blank line */
        return 1;
    }
nomem:
    return -(int)aviary_error(AVIARY_NOMEM, "%s: out of memory", name);
}

static const char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

static bool is_missing(const char *s) {
    return !*s || !strcasecmp(s, "na") || !strcasecmp(s, "n/a") || !strcasecmp(s, "nan") ||
           !strcasecmp(s, "null") || !strcasecmp(s, "none");
}

static bool parse_number(const char *s, double *v) {
    if (!*s) return false;
    for (const char *q = s; *q; q++)
        if (*q == 'x' || *q == 'X' || *q == 'n' || *q == 'N' || *q == 'i' || *q == 'I') return false;
    char *end = NULL;
    errno = 0;
    double d = strtod(s, &end);
    if (end == s || *end || !isfinite(d)) return false;
    *v = d;
    return true;
}

static bool is_date_header(const char *h) {
    return !strcasecmp(h, "date") || !strcasecmp(h, "time") || !strcasecmp(h, "datetime") ||
           !strcasecmp(h, "timestamp") || !strcasecmp(h, "ds");
}

void aviary_csv_free(aviary_csv *csv) {
    if (!csv) return;
    if (csv->names)
        for (size_t j = 0; j < csv->cols; j++) free(csv->names[j]);
    free(csv->names);
    if (csv->dates)
        for (size_t i = 0; i < csv->rows; i++) free(csv->dates[i]);
    free(csv->dates);
    free(csv->date_name);
    free(csv->data);
    free(csv);
}

aviary_status aviary_csv_parse(const char *text, size_t len, const char *name, const aviary_csv_options *opt,
                               aviary_csv **out) {
    aviary_csv_options def = aviary_csv_default_options();
    if (!opt) opt = &def;
    if (!name) name = "<csv>";
    if (out) *out = NULL;
    if (!out || (!text && len)) return aviary_error(AVIARY_INVALID_ARG, "%s: aviary_csv_parse: bad arguments", name);
    aviary_status st = AVIARY_OK;
    record hdr = {0}, rec = {0};
    char **hnames = NULL;
    size_t nh = 0;
    size_t *colmap = NULL; /* chosen column j -> field index */
    size_t date_idx = (size_t)-1;
    size_t rows_cap = 0, dates_cap = 0;
    aviary_csv *csv = calloc(1, sizeof *csv);
    if (!csv) return aviary_error(AVIARY_NOMEM, "%s: out of memory", name);

    size_t pos = 0;
    long line = 1;
    if (len >= 3 && (unsigned char)text[0] == 0xEF && (unsigned char)text[1] == 0xBB && (unsigned char)text[2] == 0xBF)
        pos = 3;
    int r = next_record(text, len, &pos, &line, &hdr, name);
    if (r < 0) { st = (aviary_status)-r; goto fail; }
    if (r == 0) { st = aviary_error(AVIARY_FORMAT, "%s: empty file (expected a header row)", name); goto fail; }
    nh = hdr.n;
    hnames = calloc(nh, sizeof *hnames);
    if (!hnames) { st = aviary_error(AVIARY_NOMEM, "%s: out of memory", name); goto fail; }
    {
        bool all_numeric = true;
        for (size_t j = 0; j < nh; j++) {
            hnames[j] = (char *)trim(hdr.buf + hdr.off[j]);
            double dummy;
            if (!parse_number(hnames[j], &dummy)) all_numeric = false;
        }
        if (all_numeric)
            { st = aviary_error(AVIARY_FORMAT, "%s:1: no header row (the first line is all numbers; add column names)", name); goto fail; }
        for (size_t j = 0; j < nh; j++) {
            if (!*hnames[j]) { st = aviary_error(AVIARY_FORMAT, "%s:1: column %zu has an empty name", name, j + 1); goto fail; }
            for (size_t k = 0; k < j; k++)
                if (!strcmp(hnames[k], hnames[j]))
                    { st = aviary_error(AVIARY_FORMAT, "%s:1: column name '%s' appears twice", name, hnames[j]); goto fail; }
        }
    }

    /* First data record: needed for auto-detection. */
    r = next_record(text, len, &pos, &line, &rec, name);
    if (r < 0) { st = (aviary_status)-r; goto fail; }
    if (r == 0) { st = aviary_error(AVIARY_FORMAT, "%s: no data rows after the header", name); goto fail; }
    if (rec.n != nh) {
        st = aviary_error(AVIARY_FORMAT, "%s:%ld: row has %zu fields, the header has %zu", name, rec.line, rec.n, nh);
        goto fail;
    }

    /* The date column. */
    if (opt->date_column && *opt->date_column) {
        for (size_t j = 0; j < nh; j++)
            if (!strcmp(hnames[j], opt->date_column)) date_idx = j;
        if (date_idx == (size_t)-1)
            { st = aviary_error(AVIARY_NOT_FOUND, "%s: no date column named '%s'", name, opt->date_column); goto fail; }
    } else if (!opt->date_column) {
        for (size_t j = 0; j < nh && date_idx == (size_t)-1; j++)
            if (is_date_header(hnames[j])) date_idx = j;
        if (date_idx == (size_t)-1) {
            char *c0 = (char *)rec_field(&rec, 0);
            int64_t t;
            if (aviary_time_parse(trim(c0), &t, NULL)) date_idx = 0;
        }
    }

    /* The numeric columns. */
    size_t ncols = 0;
    if (opt->columns && opt->n_columns) {
        colmap = calloc(opt->n_columns, sizeof *colmap);
        if (!colmap) { st = aviary_error(AVIARY_NOMEM, "%s: out of memory", name); goto fail; }
        for (size_t c = 0; c < opt->n_columns; c++) {
            size_t idx = (size_t)-1;
            for (size_t j = 0; j < nh; j++)
                if (opt->columns[c] && !strcmp(hnames[j], opt->columns[c])) idx = j;
            if (idx == (size_t)-1) {
                char avail[512] = "";
                size_t used = 0;
                for (size_t j = 0; j < nh && used + 4 < sizeof avail; j++) {
                    int w = snprintf(avail + used, sizeof avail - used, "%s%s", j ? ", " : "", hnames[j]);
                    if (w < 0) break;
                    used += (size_t)w < sizeof avail - used ? (size_t)w : sizeof avail - used - 1;
                }
                st = aviary_error(AVIARY_NOT_FOUND, "%s: no column named '%s' (columns: %s)", name,
                                  opt->columns[c] ? opt->columns[c] : "(null)", avail);
                goto fail;
            }
            if (idx == date_idx)
                { st = aviary_error(AVIARY_INVALID_ARG, "%s: column '%s' is the date column, not a numeric one", name, hnames[idx]); goto fail; }
            for (size_t k = 0; k < ncols; k++)
                if (colmap[k] == idx) { st = aviary_error(AVIARY_INVALID_ARG, "%s: column '%s' chosen twice", name, hnames[idx]); goto fail; }
            colmap[ncols++] = idx;
        }
    } else {
        colmap = calloc(nh, sizeof *colmap);
        if (!colmap) { st = aviary_error(AVIARY_NOMEM, "%s: out of memory", name); goto fail; }
        for (size_t j = 0; j < nh; j++) {
            if (j == date_idx) continue;
            char tmp[128];
            snprintf(tmp, sizeof tmp, "%s", rec_field(&rec, j));
            const char *cell = trim(tmp);
            double v;
            if (is_missing(cell) || parse_number(cell, &v)) colmap[ncols++] = j;
        }
        if (ncols == 0) { st = aviary_error(AVIARY_FORMAT, "%s: no numeric columns", name); goto fail; }
    }
    csv->cols = ncols;
    csv->names = calloc(ncols, sizeof *csv->names);
    if (!csv->names) { st = aviary_error(AVIARY_NOMEM, "%s: out of memory", name); goto fail; }
    for (size_t c = 0; c < ncols; c++)
        if (!(csv->names[c] = strdup(hnames[colmap[c]]))) { st = aviary_error(AVIARY_NOMEM, "%s: out of memory", name); goto fail; }
    if (date_idx != (size_t)-1 && !(csv->date_name = strdup(hnames[date_idx])))
        { st = aviary_error(AVIARY_NOMEM, "%s: out of memory", name); goto fail; }

    /* Rows. */
    do {
        if (rec.n != nh) {
            st = aviary_error(AVIARY_FORMAT, "%s:%ld: row has %zu fields, the header has %zu", name, rec.line, rec.n, nh);
            goto fail;
        }
        size_t i = csv->rows;
        if (i == rows_cap) {
            size_t nc = rows_cap ? rows_cap * 2 : 1024, bytes;
            if (!aviary__mul_size(nc, ncols * sizeof(double), &bytes)) { st = aviary_error(AVIARY_NOMEM, "%s: too many rows", name); goto fail; }
            double *nd = realloc(csv->data, bytes);
            if (!nd) { st = aviary_error(AVIARY_NOMEM, "%s: out of memory", name); goto fail; }
            csv->data = nd;
            rows_cap = nc;
        }
        for (size_t c = 0; c < ncols; c++) {
            char *cellbuf = rec.buf + rec.off[colmap[c]];
            const char *cell = trim(cellbuf);
            double v;
            if (parse_number(cell, &v)) {
                csv->data[i * ncols + c] = v;
            } else if (is_missing(cell)) {
                if (!opt->fill_forward)
                    { st = aviary_error(AVIARY_FORMAT, "%s:%ld: column '%s': missing value (use fill-forward to repeat the row above)", name, rec.line, csv->names[c]); goto fail; }
                if (i == 0)
                    { st = aviary_error(AVIARY_FORMAT, "%s:%ld: column '%s': missing value in the first data row (nothing to fill forward from)", name, rec.line, csv->names[c]); goto fail; }
                csv->data[i * ncols + c] = csv->data[(i - 1) * ncols + c];
                csv->filled++;
            } else {
                char shown[48];
                size_t cl = strlen(cell);
                snprintf(shown, sizeof shown, "%.40s%s", cell, cl > 40 ? "..." : "");
                for (char *q = shown; *q; q++)
                    if ((unsigned char)*q < 0x20) *q = '?';
                st = aviary_error(AVIARY_FORMAT, "%s:%ld: column '%s': '%s' is not a number", name, rec.line, csv->names[c], shown);
                goto fail;
            }
        }
        if (date_idx != (size_t)-1) {
            if (i == dates_cap) {
                size_t nc = dates_cap ? dates_cap * 2 : 1024;
                char **nd = realloc(csv->dates, nc * sizeof *nd);
                if (!nd) { st = aviary_error(AVIARY_NOMEM, "%s: out of memory", name); goto fail; }
                csv->dates = nd;
                dates_cap = nc;
            }
            csv->dates[i] = strdup(trim(rec.buf + rec.off[date_idx]));
            if (!csv->dates[i]) { st = aviary_error(AVIARY_NOMEM, "%s: out of memory", name); goto fail; }
        }
        csv->rows++;
        r = next_record(text, len, &pos, &line, &rec, name);
        if (r < 0) { st = (aviary_status)-r; goto fail; }
    } while (r == 1);

    free(hdr.buf); free(hdr.off); free(rec.buf); free(rec.off);
    free(hnames); free(colmap);
    *out = csv;
    return AVIARY_OK;
fail:
    free(hdr.buf); free(hdr.off); free(rec.buf); free(rec.off);
    free(hnames); free(colmap);
    aviary_csv_free(csv);
    return st;
}

aviary_status aviary_csv_read(const char *path, const aviary_csv_options *opt, aviary_csv **out) {
    if (out) *out = NULL;
    if (!path || !out) return aviary_error(AVIARY_INVALID_ARG, "aviary_csv_read: NULL argument");
    FILE *f = fopen(path, "rb");
    if (!f) return aviary_error(AVIARY_IO, "%s: cannot open (%s)", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 65536 > cap) {
            size_t nc = cap ? cap * 2 : 1 << 20;
            char *nb = realloc(buf, nc);
            if (!nb) { free(buf); fclose(f); return aviary_error(AVIARY_NOMEM, "%s: out of memory", path); }
            buf = nb;
            cap = nc;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    bool err = ferror(f);
    fclose(f);
    if (err) { free(buf); return aviary_error(AVIARY_IO, "%s: read error", path); }
    aviary_status s = aviary_csv_parse(buf, len, path, opt, out);
    free(buf);
    return s;
}

size_t aviary_csv_rows(const aviary_csv *csv) { return csv ? csv->rows : 0; }
size_t aviary_csv_cols(const aviary_csv *csv) { return csv ? csv->cols : 0; }
const char *aviary_csv_column_name(const aviary_csv *csv, size_t col) {
    return csv && col < csv->cols ? csv->names[col] : NULL;
}
const double *aviary_csv_data(const aviary_csv *csv) { return csv ? csv->data : NULL; }
double aviary_csv_value(const aviary_csv *csv, size_t row, size_t col) {
    return csv && row < csv->rows && col < csv->cols ? csv->data[row * csv->cols + col] : NAN;
}
size_t aviary_csv_filled(const aviary_csv *csv) { return csv ? csv->filled : 0; }
const char *aviary_csv_date_name(const aviary_csv *csv) { return csv ? csv->date_name : NULL; }
const char *aviary_csv_date(const aviary_csv *csv, size_t row) {
    return csv && csv->dates && row < csv->rows ? csv->dates[row] : NULL;
}

/* ---- dates ---- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool digits(const char *s, int n, int *v) {
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return false;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return true;
}

bool aviary_time_parse(const char *s, int64_t *seconds, aviary_time_style *style) {
    if (!s) return false;
    int Y, M, D, h = 0, mi = 0, sec = 0;
    aviary_time_style st = {false, false, ' '};
    if (!digits(s, 4, &Y) || s[4] != '-' || !digits(s + 5, 2, &M) || s[7] != '-' || !digits(s + 8, 2, &D)) return false;
    const char *p = s + 10;
    if (*p == ' ' || *p == 'T') {
        st.sep = *p;
        st.has_time = true;
        if (!digits(p + 1, 2, &h) || p[3] != ':' || !digits(p + 4, 2, &mi)) return false;
        p += 6;
        if (*p == ':') {
            if (!digits(p + 1, 2, &sec)) return false;
            st.has_seconds = true;
            p += 3;
            if (*p == '.') {
                p++;
                while (isdigit((unsigned char)*p)) p++;
            }
        }
        if (*p == 'Z') p++;
    }
    if (*p) return false;
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || mi > 59 || sec > 60) return false;
    int64_t t = days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 + mi * 60 + sec;
    if (seconds) *seconds = t;
    if (style) *style = st;
    return true;
}

const char *aviary_time_format(int64_t seconds, const aviary_time_style *style, char *buf, size_t n) {
    if (!buf || n == 0) return buf;
    int64_t days = seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
    int64_t rem = seconds - days * 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    int h = (int)(rem / 3600), mi = (int)(rem / 60 % 60), s = (int)(rem % 60);
    bool has_time = !style || style->has_time || rem != 0;
    bool has_sec = !style || style->has_seconds || s != 0;
    char sep = style && style->sep == 'T' ? 'T' : ' ';
    if (!has_time)
        snprintf(buf, n, "%04lld-%02u-%02u", (long long)y, m, d);
    else if (!has_sec)
        snprintf(buf, n, "%04lld-%02u-%02u%c%02d:%02d", (long long)y, m, d, sep, h, mi);
    else
        snprintf(buf, n, "%04lld-%02u-%02u%c%02d:%02d:%02d", (long long)y, m, d, sep, h, mi, s);
    return buf;
}
