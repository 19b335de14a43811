/*
 * aviary_csv.h - numeric tables from CSV files (time series input).
 *
 * Accepted input (RFC 4180 plus what spreadsheets and pandas write):
 *   - a header row naming every column (required; a first line made only of
 *     numbers is rejected as "no header row");
 *   - comma-separated fields, optionally "quoted" (a "" inside quotes is one
 *     quote; quoted fields may hold commas and newlines); LF or CRLF line
 *     ends; an optional UTF-8 byte-order mark; blank lines are skipped;
 *   - an optional date/time column: the one named by options.date_column, or
 *     (auto) the first column whose header is date/time/datetime/timestamp/ds
 *     (any case), or else the first column if its first cell is a date
 *     (YYYY-MM-DD[ T]HH:MM[:SS]) rather than a number;
 *   - numeric columns: those named in options.columns (in that order), or by
 *     default every other column whose first cell is a number or missing.
 *
 * Every chosen cell must be a number. An empty cell or NA/NaN/null/N/A is
 * "missing": an error, unless options.fill_forward, which repeats the value
 * of the row above (a missing cell in the first data row is still an error).
 * Errors name the file, the 1-based line, and the column, e.g.
 *   data.csv:12: column 'wind': 'abc' is not a number
 *
 * Values are held as double, row-major [rows][cols]. The table is immutable
 * after reading; the caller owns it (aviary_csv_free).
 *
 * Owned by the time-series ("ts") module; implemented in core/src/csv.c.
 */
#ifndef AVIARY_CSV_H
#define AVIARY_CSV_H

#include "aviary_base.h"
#include "aviary_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct aviary_csv_options {
    const char *date_column;    /* NULL = auto-detect; "" = the file has no date column */
    const char *const *columns; /* numeric columns to keep, in order; NULL = all numeric */
    size_t n_columns;
    bool fill_forward;          /* fill missing cells from the row above */
} aviary_csv_options;

AVIARY_API aviary_csv_options aviary_csv_default_options(void);

typedef struct aviary_csv aviary_csv;

/* Read a file. `opt` may be NULL for defaults. AVIARY_IO if it cannot be read,
 * AVIARY_FORMAT for a malformed table (message: file, line, column, problem),
 * AVIARY_NOT_FOUND for an unknown column name. */
AVIARY_API aviary_status aviary_csv_read(const char *path, const aviary_csv_options *opt, aviary_csv **out);

/* Parse `len` bytes of CSV text; `name` is used in messages. */
AVIARY_API aviary_status aviary_csv_parse(const char *text, size_t len, const char *name,
                                          const aviary_csv_options *opt, aviary_csv **out);

AVIARY_API void aviary_csv_free(aviary_csv *csv);

AVIARY_API size_t aviary_csv_rows(const aviary_csv *csv);
AVIARY_API size_t aviary_csv_cols(const aviary_csv *csv);
AVIARY_API const char *aviary_csv_column_name(const aviary_csv *csv, size_t col);
/* Row-major values [rows][cols]. */
AVIARY_API const double *aviary_csv_data(const aviary_csv *csv);
AVIARY_API double aviary_csv_value(const aviary_csv *csv, size_t row, size_t col);
/* Number of cells filled forward (0 unless fill_forward). */
AVIARY_API size_t aviary_csv_filled(const aviary_csv *csv);

/* The date column's header, or NULL if the table has none. */
AVIARY_API const char *aviary_csv_date_name(const aviary_csv *csv);
/* The date cell of a row as written in the file (NULL if no date column). */
AVIARY_API const char *aviary_csv_date(const aviary_csv *csv, size_t row);

/* Date/time strings: "YYYY-MM-DD", "YYYY-MM-DD HH:MM", "YYYY-MM-DD HH:MM:SS"
 * (also with a 'T' separator, optional fractional seconds ignored, optional
 * trailing 'Z'). Parsed as UTC seconds since 1970-01-01; *style records the
 * layout so aviary_time_format can write new stamps the same way. */
typedef struct aviary_time_style {
    bool has_time;    /* a time part was present */
    bool has_seconds; /* ...with seconds */
    char sep;         /* ' ' or 'T' */
} aviary_time_style;

AVIARY_API bool aviary_time_parse(const char *s, int64_t *seconds, aviary_time_style *style);
/* Format `seconds` in `style` into buf (always NUL-terminated). */
AVIARY_API const char *aviary_time_format(int64_t seconds, const aviary_time_style *style, char *buf, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* AVIARY_CSV_H */
