/*
 * cli.h - shared pieces of the aviary command. Each subcommand lives in its
 * own cmd_<name>.c and exposes `int cli_cmd_<name>(int argc, char **argv)`
 * (argv[0] is the subcommand name) returning the process exit code.
 */
#ifndef AVIARY_CLI_H
#define AVIARY_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "aviary/aviary.h"

/* Print "aviary: <message>\n" to stderr and return 1 (the exit code for errors). */
int cli_fail(const char *fmt, ...) AVIARY_PRINTF(1, 2);
/* Print "aviary: <aviary_errmsg()>" and return 1. */
int cli_fail_status(aviary_status s);

/* Strict number parsing for option values: the whole string must be a number
 * in range. On failure prints "aviary: <opt>: expected ..." and returns false. */
bool cli_parse_int(const char *opt, const char *s, long min, long max, long *out);
bool cli_parse_float(const char *opt, const char *s, double min, double max, double *out);

/* The whole file `path` as a malloc'd, NUL-terminated buffer (caller frees)
 * and its length in *len; NULL with errno set if it cannot be read. */
char *cli_read_file(const char *path, size_t *len);
/* A file named in `base` (e.g. a pipeline file): an absolute `name` as is, a
 * relative one taken from base's directory; written to out (n bytes). */
void cli_resolve_path(const char *base, const char *name, char *out, size_t n);

/* Write s to f as a JSON string literal (quotes and escapes added). */
void cli_json_string(FILE *f, const char *s);

/* An output file written all-or-nothing: writes go to a temporary file next
 * to `path` (f), which cli_out_close renames over path, or removes after any
 * failure, so a failed run never leaves a half-written file. */
typedef struct cli_out {
    FILE *f;          /* write here */
    char *tmp;        /* temporary name (owned) */
    const char *path; /* the final name (borrowed) */
} cli_out;
/* Create the temporary file (mode 0666 minus the umask, as fopen would):
 * 0, or 1 after printing the error. */
int cli_out_open(cli_out *o, const char *path);
/* Close o->f; if rc == 0 and every write succeeded, rename the file to its
 * path, else remove it. Returns rc, or 1 after printing the error. */
int cli_out_close(cli_out *o, int rc);

/* Write `n` f32 values of shape [shape[0], ..., shape[ndim - 1]] (ndim 0..AVIARY_MAX_DIMS)
 * to f as a NumPy .npy file (version 1.0, little-endian '<f4', C order; the
 * host is assumed little-endian). Write errors surface in cli_out_close. */
void cli_npy_write(FILE *f, const int64_t *shape, int ndim, const float *data, size_t n);

/* Subcommands. */
int cli_cmd_inspect(int argc, char **argv);
int cli_cmd_verify(int argc, char **argv);
int cli_cmd_forecast(int argc, char **argv);
int cli_cmd_tag(int argc, char **argv);
int cli_cmd_run(int argc, char **argv);
int cli_cmd_plugins(int argc, char **argv);
int cli_cmd_bench(int argc, char **argv);
int cli_cmd_ask(int argc, char **argv);
int cli_cmd_generate(int argc, char **argv);
int cli_cmd_chat(int argc, char **argv);
int cli_cmd_tokenize(int argc, char **argv);
int cli_cmd_classify(int argc, char **argv);

#endif
