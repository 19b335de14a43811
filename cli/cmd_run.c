/*
 * cmd_run.c - `aviary run PIPELINE.json [--in NAME=VALUE ...] [--json]
 *             [--out NAME=FILE ...] [--threads N] [--check]`
 *
 * Loads the plugins, validates the pipeline (every error with its JSON path)
 * before anything runs, runs it once and prints its outputs: as text (a
 * single text output is printed as is; tensors show dtype, shape and values,
 * abridged when large), as one JSON object (--json), or into files (--out:
 * text as is, tensors as .npy (float32) when FILE ends in .npy, as JSON when
 * it ends in .json, else as whitespace-separated rows of the last dim).
 * Files are written to a temporary file in the same directory and renamed.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "aviary/aviary_pipeline.h"

#define MAX_ARGS 64
#define TEXT_PREVIEW 64

typedef struct run_opts {
    const char *pipeline;
    const char *in_names[MAX_ARGS], *in_values[MAX_ARGS];
    size_t n_in;
    const char *out_names[MAX_ARGS], *out_files[MAX_ARGS];
    size_t n_out;
    bool json, check;
    long threads;
} run_opts;

static void usage(FILE *f) {
    fprintf(f, "usage: aviary run PIPELINE.json [--in NAME=VALUE ...] [--json] [--out NAME=FILE ...]\n"
               "                  [--threads N] [--check]\n"
               "  Runs a pipeline of plugin stages (see docs/writing-plugins.md).\n"
               "  --in NAME=VALUE   a pipeline input (a file name or text), e.g. --in image=cat.jpg\n"
               "  --json            print the outputs as one JSON object\n"
               "  --out NAME=FILE   write output NAME to FILE (.npy, .json, or text)\n"
               "  --threads N       threads (default: the pipeline's backbone.threads, else all cores)\n"
               "  --check           validate the pipeline and list its inputs and outputs; run nothing\n");
}

static bool split_kv(const char *opt, const char *arg, const char **k, const char **v, char **store) {
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg) {
        cli_fail("run: %s: expected NAME=VALUE, got '%s'", opt, arg);
        return false;
    }
    char *name = strndup(arg, (size_t)(eq - arg));
    if (!name) {
        cli_fail("run: out of memory");
        return false;
    }
    *store = name;
    *k = name;
    *v = eq + 1;
    return true;
}

/* ---------------- value printing */

static void json_number(FILE *f, float x) {
    if (isfinite(x)) fprintf(f, "%.9g", (double)x);
    else fputs("null", f);
}

/* f32 copy of a tensor value (caller frees); NULL with an error printed. */
static float *to_f32(const aviary_value *v, size_t *n) {
    *n = (size_t)aviary_tensor_numel(&v->tensor);
    float *buf = malloc((*n ? *n : 1) * sizeof *buf);
    if (!buf) {
        cli_fail("run: out of memory");
        return NULL;
    }
    if (aviary_tensor_to_f32(&v->tensor, buf)) {
        cli_fail_status(AVIARY_ERROR);
        free(buf);
        return NULL;
    }
    return buf;
}

static int print_json_value(FILE *f, const aviary_value *v) {
    if (v->type != AVIARY_PORT_TENSOR) {
        cli_json_string(f, v->text ? v->text : "");
        return 0;
    }
    size_t n;
    float *x = to_f32(v, &n);
    if (!x) return 1;
    fprintf(f, "{\"dtype\": \"%s\", \"shape\": [", aviary_dtype_name(v->tensor.dtype));
    for (int k = 0; k < v->tensor.ndim; k++) fprintf(f, "%s%lld", k ? ", " : "", (long long)v->tensor.shape[k]);
    fputs("], \"data\": [", f);
    for (size_t i = 0; i < n; i++) {
        if (i) fputs(", ", f);
        json_number(f, x[i]);
    }
    fputs("]}", f);
    free(x);
    return 0;
}

/* Rows of the last dim, whitespace separated; limit = max values (0 = all). */
static int print_rows(FILE *f, const aviary_value *v, size_t limit) {
    size_t n;
    float *x = to_f32(v, &n);
    if (!x) return 1;
    size_t row = v->tensor.ndim ? (size_t)v->tensor.shape[v->tensor.ndim - 1] : 1;
    if (!row) row = 1;
    size_t shown = limit && n > limit ? limit : n;
    for (size_t i = 0; i < shown; i++) {
        fprintf(f, "%.9g", (double)x[i]);
        fputc((i + 1) % row == 0 || i + 1 == shown ? '\n' : ' ', f);
    }
    if (shown < n) fprintf(f, "... (%zu values; use --json or --out for all)\n", n);
    free(x);
    return 0;
}

static int write_npy(FILE *f, const aviary_value *v) {
    size_t n;
    float *x = to_f32(v, &n);
    if (!x) return 1;
    cli_npy_write(f, v->tensor.shape, v->tensor.ndim, x, n);
    free(x);
    return 0;
}

static int write_output(const char *file, const aviary_value *v) {
    size_t fl = strlen(file);
    cli_out out;
    if (cli_out_open(&out, file)) return 1;
    FILE *f = out.f;
    int rc = 0;
    if (v->type != AVIARY_PORT_TENSOR) fputs(v->text ? v->text : "", f);
    else if (fl > 4 && !strcmp(file + fl - 4, ".npy")) rc = write_npy(f, v);
    else if (fl > 5 && !strcmp(file + fl - 5, ".json")) {
        rc = print_json_value(f, v);
        fputc('\n', f);
    } else rc = print_rows(f, v, 0);
    return cli_out_close(&out, rc);
}

static int print_text(const aviary_pipeline_results *r) {
    if (r->count == 1 && r->values[0].type != AVIARY_PORT_TENSOR) {
        const char *t = r->values[0].text ? r->values[0].text : "";
        size_t n = strlen(t);
        fputs(t, stdout);
        if (!n || t[n - 1] != '\n') fputc('\n', stdout);
        return 0;
    }
    for (size_t i = 0; i < r->count; i++) {
        const aviary_value *v = &r->values[i];
        if (v->type != AVIARY_PORT_TENSOR) {
            printf("%s: %s\n", r->names[i], v->text ? v->text : "");
            continue;
        }
        char sb[128];
        printf("%s: %s %s\n", r->names[i], aviary_dtype_name(v->tensor.dtype),
               aviary_tensor_shape_str(&v->tensor, sb, sizeof sb));
        if (print_rows(stdout, v, TEXT_PREVIEW)) return 1;
    }
    return 0;
}

static int check_only(const aviary_pipeline *p, const char *file) {
    printf("%s: valid\n", file);
    size_t n = aviary_pipeline_input_count(p);
    printf("inputs:%s\n", n ? "" : " none");
    for (size_t i = 0; i < n; i++) {
        const aviary_pipeline_input *in = aviary_pipeline_input_at(p, i);
        printf("  --in %s=%s  (%s)%s%s\n", in->name, in->type == AVIARY_PORT_PATH ? "FILE" : "TEXT",
               aviary_modality_name(in->modality), in->help ? "  " : "", in->help ? in->help : "");
    }
    n = aviary_pipeline_output_count(p);
    printf("outputs:\n");
    for (size_t i = 0; i < n; i++) printf("  %s\n", aviary_pipeline_output_name(p, i));
    return 0;
}

int cli_cmd_run(int argc, char **argv) {
    run_opts o;
    memset(&o, 0, sizeof o);
    char *owned[2 * MAX_ARGS];
    size_t n_owned = 0;
    int rc = 0;
    for (int i = 1; i < argc && !rc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            goto done;
        } else if (!strcmp(a, "--json")) {
            o.json = true;
        } else if (!strcmp(a, "--check")) {
            o.check = true;
        } else if (!strcmp(a, "--in") || !strcmp(a, "--out") || !strcmp(a, "--threads")) {
            if (i + 1 >= argc) {
                rc = cli_fail("run: %s needs a value", a);
                break;
            }
            const char *val = argv[++i];
            if (!strcmp(a, "--threads")) {
                if (!cli_parse_int("--threads", val, 0, 4096, &o.threads)) rc = 1;
                continue;
            }
            bool in = !strcmp(a, "--in");
            size_t *cnt = in ? &o.n_in : &o.n_out;
            if (*cnt >= MAX_ARGS) {
                rc = cli_fail("run: too many %s options (at most %d)", a, MAX_ARGS);
                break;
            }
            const char **k = in ? &o.in_names[*cnt] : &o.out_names[*cnt];
            const char **v = in ? &o.in_values[*cnt] : &o.out_files[*cnt];
            if (!split_kv(a, val, k, v, &owned[n_owned])) {
                rc = 1;
                break;
            }
            n_owned++;
            if (!in && !**v) {
                rc = cli_fail("run: --out %s=: empty file name", *k);
                break;
            }
            (*cnt)++;
        } else if (a[0] == '-' && a[1]) {
            rc = cli_fail("run: unknown option '%s' (see 'aviary run --help')", a);
        } else if (!o.pipeline) {
            o.pipeline = a;
        } else {
            rc = cli_fail("run: give one pipeline file (got '%s' and '%s')", o.pipeline, a);
        }
    }
    if (rc) goto done;
    if (!o.pipeline) {
        usage(stderr);
        rc = 2;
        goto done;
    }
    aviary_plugin_registry *reg = NULL;
    aviary_pipeline *p = NULL;
    aviary_status st = aviary_plugin_registry_open(NULL, &reg);
    if (!st) st = aviary_pipeline_load(o.pipeline, reg, &p);
    if (st) {
        rc = cli_fail_status(st);
    } else if (o.check) {
        rc = check_only(p, o.pipeline);
    } else {
        if (o.threads) aviary_set_num_threads((int)o.threads);
        aviary_pipeline_results res;
        /* Check --out names before running anything. */
        for (size_t j = 0; j < o.n_out && !rc; j++) {
            size_t k = 0, n = aviary_pipeline_output_count(p);
            while (k < n && strcmp(aviary_pipeline_output_name(p, k), o.out_names[j])) k++;
            if (k == n) rc = cli_fail("run: --out %s: the pipeline has no output '%s' (see 'aviary run %s --check')",
                                      o.out_names[j], o.out_names[j], o.pipeline);
        }
        if (rc) goto cleanup;
        st = aviary_pipeline_prepare(p);
        if (!st && o.threads) aviary_set_num_threads((int)o.threads);  /* the command line wins */
        if (!st) st = aviary_pipeline_run(p, o.n_in, o.in_names, o.in_values, &res);
        if (st) {
            rc = cli_fail_status(st);
        } else {
            for (size_t j = 0; j < o.n_out && !rc; j++) {
                size_t k = 0;
                while (k < res.count && strcmp(res.names[k], o.out_names[j])) k++;
                if (k == res.count) {
                    rc = cli_fail("run: --out %s: no such output", o.out_names[j]);
                    break;
                }
                rc = write_output(o.out_files[j], &res.values[k]);
            }
            if (!rc && o.json) {
                printf("{\"outputs\": {");
                for (size_t k = 0; k < res.count && !rc; k++) {
                    printf("%s", k ? ", " : "");
                    cli_json_string(stdout, res.names[k]);
                    printf(": ");
                    rc = print_json_value(stdout, &res.values[k]);
                }
                printf("}}\n");
            } else if (!rc && o.n_out == 0) {
                rc = print_text(&res);
            }
            aviary_pipeline_results_free(&res);
        }
    }
cleanup:
    aviary_pipeline_free(p);
    aviary_plugin_registry_free(reg);
done:
    for (size_t i = 0; i < n_owned; i++) free(owned[i]);
    return rc;
}
