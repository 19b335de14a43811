/* cmd_verify.c - `aviary verify FIXTURE_DIR`: driver and comparison helpers. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "verify.h"

/* Family implementations live in verify_<family>.c. Add a row per family. */
typedef struct family {
    const char *name;
    verify_family_fn run;
} family;

static const family families[] = {
    {"rwkv-ts", verify_rwkv_ts},
    {"audio-rwkv", verify_audio_rwkv},
    {"rwkv-lm", verify_rwkv_lm},
    {"visual-rwkv", verify_visual_rwkv},
    {"tokenizer", verify_tokenizer},
    {"vision-rwkv", verify_vision_rwkv},
};

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return NULL; }
    long sz = ftell(f);
    if (sz < 0 || fseek(f, 0, SEEK_SET) != 0) { fclose(f); return NULL; }
    char *buf = malloc((size_t)sz + 1);
    if (buf && fread(buf, 1, (size_t)sz, f) != (size_t)sz) { free(buf); buf = NULL; }
    fclose(f);
    if (buf) { buf[sz] = '\0'; if (len) *len = (size_t)sz; }
    return buf;
}

const char *verify_path(const verify_ctx *v, const char *file, char *buf, size_t n) {
    snprintf(buf, n, "%s/%s", v->dir, file);
    return buf;
}

void verify_failf(verify_ctx *v, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("  FAIL ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    v->n_checked++;
    v->n_failed++;
}

static const cJSON *expected_entry(const verify_ctx *v, const char *name) {
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(v->fixture, "expected");
    return exp ? cJSON_GetObjectItemCaseSensitive(exp, name) : NULL;
}

float *verify_expected_f32(verify_ctx *v, const char *name, int64_t *n_out) {
    const aviary_tensor *t = v->expected ? aviary_checkpoint_find(v->expected, name) : NULL;
    if (!t) {
        verify_failf(v, "%s: not in expected.safetensors", name);
        return NULL;
    }
    int64_t n = aviary_tensor_numel(t);
    float *buf = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!buf || aviary_tensor_to_f32(t, buf) != AVIARY_OK) {
        free(buf);
        verify_failf(v, "%s: cannot read expected tensor", name);
        return NULL;
    }
    *n_out = n;
    return buf;
}

bool verify_compare_slice(verify_ctx *v, const char *name, int64_t offset, const float *actual, int64_t n,
                          const char *label) {
    const cJSON *entry = expected_entry(v, name);
    double atol = 0, rtol = 0;
    if (entry) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(entry, "atol");
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(entry, "rtol");
        if (cJSON_IsNumber(a)) atol = a->valuedouble;
        if (cJSON_IsNumber(r)) rtol = r->valuedouble;
    }
    int64_t total = 0;
    float *ref = verify_expected_f32(v, name, &total);
    if (!ref) return false;
    char tag[160];
    snprintf(tag, sizeof tag, "%s%s%s", name, label ? " " : "", label ? label : "");
    if (offset < 0 || n < 0 || offset + n > total) {
        free(ref);
        verify_failf(v, "%s: got %lld values, expected tensor has %lld", tag, (long long)(offset + n), (long long)total);
        return false;
    }
    double max_abs = 0, max_rel = 0;
    int64_t bad = 0, first_bad = -1;
    for (int64_t i = 0; i < n; i++) {
        double r = ref[offset + i], a = actual[i];
        double d = fabs(a - r);
        if (isnan(a) != isnan(r)) d = INFINITY;
        else if (isnan(a)) d = 0;
        double rel = d / (fabs(r) > 1e-30 ? fabs(r) : 1e-30);
        if (d > max_abs) max_abs = d;
        if (rel > max_rel && fabs(r) > atol) max_rel = rel;
        if (!(d <= atol + rtol * fabs(r))) {
            if (first_bad < 0) first_bad = i;
            bad++;
        }
    }
    bool ok = bad == 0;
    printf("  %s %-34s n=%-8lld max_abs=%.3e max_rel=%.3e (atol=%.1e rtol=%.1e)", ok ? "ok  " : "FAIL", tag,
           (long long)n, max_abs, max_rel, atol, rtol);
    if (!ok)
        printf(" %lld bad, first at %lld: got %.7g want %.7g", (long long)bad, (long long)first_bad,
               actual[first_bad], ref[offset + first_bad]);
    printf("\n");
    free(ref);
    v->n_checked++;
    if (!ok) v->n_failed++;
    return ok;
}

bool verify_compare(verify_ctx *v, const char *name, const float *actual, int64_t n, const char *label) {
    const aviary_tensor *t = v->expected ? aviary_checkpoint_find(v->expected, name) : NULL;
    if (t && aviary_tensor_numel(t) != n) {
        char shp[96];
        verify_failf(v, "%s%s%s: got %lld values, expected shape %s", name, label ? " " : "", label ? label : "",
                     (long long)n, aviary_tensor_shape_str(t, shp, sizeof shp));
        return false;
    }
    return verify_compare_slice(v, name, 0, actual, n, label);
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: aviary verify FIXTURE_DIR [--weights FILE] [--mode MODE]\n"
            "  Runs the reference case in FIXTURE_DIR (fixture.json + expected.safetensors)\n"
            "  and prints, per expected tensor, the largest absolute and relative error.\n"
            "  Exits 0 only if every tensor is within its tolerance.\n"
            "  --weights FILE  weights (tokenizer: vocabulary) file instead of the fixture's default\n"
            "  --mode MODE     family-specific subset (rwkv-lm: rnn, seq or all)\n");
}

int cli_cmd_verify(int argc, char **argv) {
    verify_ctx v = {0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--weights") && i + 1 < argc) {
            v.weights = argv[++i];
        } else if (!strcmp(argv[i], "--mode") && i + 1 < argc) {
            v.mode = argv[++i];
        } else if (argv[i][0] == '-') {
            usage(stderr);
            return cli_fail("verify: unknown or incomplete option '%s'", argv[i]);
        } else if (!v.dir) {
            v.dir = argv[i];
        } else {
            return cli_fail("verify: more than one fixture folder given ('%s')", argv[i]);
        }
    }
    if (!v.dir) {
        usage(stderr);
        return 2;
    }
    char path[4096];
    size_t len = 0;
    char *text = read_file(verify_path(&v, "fixture.json", path, sizeof path), &len);
    if (!text) return cli_fail("%s: cannot read fixture.json", v.dir);
    cJSON *fx = cJSON_ParseWithLength(text, len);
    free(text);
    if (!fx) return cli_fail("%s/fixture.json: not valid JSON", v.dir);
    v.fixture = fx;
    const cJSON *fam = cJSON_GetObjectItemCaseSensitive(fx, "family");
    if (!cJSON_IsString(fam)) {
        cJSON_Delete(fx);
        return cli_fail("%s/fixture.json: missing \"family\"", v.dir);
    }
    const family *f = NULL;
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        if (families[i].name && !strcmp(families[i].name, fam->valuestring)) f = &families[i];
    if (!f) {
        int rc = cli_fail("%s: family '%s' is not supported by this build", v.dir, fam->valuestring);
        cJSON_Delete(fx); /* after the message: it prints fam's string */
        return rc;
    }
    FILE *probe = fopen(verify_path(&v, "expected.safetensors", path, sizeof path), "rb");
    if (probe) {
        fclose(probe);
        aviary_status s = aviary_checkpoint_open(path, &v.expected);
        if (s != AVIARY_OK) {
            cJSON_Delete(fx);
            return cli_fail_status(s);
        }
    }
    const cJSON *variant = cJSON_GetObjectItemCaseSensitive(fx, "variant");
    printf("fixture %s (%s%s%s)\n", v.dir, f->name, cJSON_IsString(variant) ? ", " : "",
           cJSON_IsString(variant) ? variant->valuestring : "");
    int rc = f->run(&v);
    aviary_checkpoint_close(v.expected);
    cJSON_Delete(fx);
    if (rc != 0) return rc;
    if (v.n_checked == 0) return cli_fail("%s: no expected tensor was checked", v.dir);
    printf("%d checked, %d failed: %s\n", v.n_checked, v.n_failed, v.n_failed ? "FAIL" : "PASS");
    return v.n_failed ? 1 : 0;
}
