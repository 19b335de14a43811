/*
 * cmd_classify.c - `aviary classify -c PIPELINE.json IMAGE... [--json]
 *                  [--features FILE] [--threads N]`
 *
 * Runs an image-classification pipeline (e.g. the vision_rwkv encoder and
 * the classifier head, examples/classify/) on each image and prints the
 * head's top classes with their probabilities. The pipeline must take one
 * image (a PATH input of modality image) and list an output named "top"
 * (or "STAGE.top": the classifier's INDEX<TAB>PROB<TAB>LABEL lines); for
 * --features it must also list one named "features" (or "STAGE.features"),
 * written for all images as one float32 .npy [images, tokens, dim].
 * Every image is tried; a bad one gets a one-line error and the exit code
 * is 1; the features file is then not written (no partial output).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "aviary/aviary_pipeline.h"
#include "cli.h"

static void usage(FILE *f) {
    fprintf(f, "usage: aviary classify -c PIPELINE.json IMAGE... [--json] [--features FILE.npy] [--threads N]\n"
               "  Classifies each image with an image-classification pipeline (examples/classify/)\n"
               "  and prints its top classes (the head's top_k, 5 by default) with probabilities.\n"
               "  -c, --config FILE   the pipeline (an image encoder and a classifier head)\n"
               "  --json              print one JSON array, one object per image\n"
               "  --features FILE     write the encoder features of all images to FILE (.npy,\n"
               "                      float32 [images, tokens, dim]; the pipeline must output them)\n"
               "  --threads N         threads (default: all cores)\n");
}

/* Index of the pipeline output named `want` or "*.want"; -1 if none. */
static long find_output(const aviary_pipeline *p, const char *want) {
    size_t wl = strlen(want);
    for (size_t i = 0; i < aviary_pipeline_output_count(p); i++) {
        const char *n = aviary_pipeline_output_name(p, i);
        size_t nl = strlen(n);
        if (!strcmp(n, want) || (nl > wl && n[nl - wl - 1] == '.' && !strcmp(n + nl - wl, want))) return (long)i;
    }
    return -1;
}

/* Print the head's "top" text for one image. */
static void print_top(const char *image, const char *top, bool json, bool first) {
    if (json) printf("%s\n  {\"image\": ", first ? "" : ","), cli_json_string(stdout, image), printf(", \"top\": [");
    else printf("%s\n", image);
    int rank = 0;
    for (const char *line = top; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char buf[1024];
        if (len >= sizeof buf) len = sizeof buf - 1;
        memcpy(buf, line, len);
        buf[len] = '\0';
        char *t1 = strchr(buf, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (t1 && t2) {
            *t1 = *t2 = '\0';
            double prob = strtod(t1 + 1, NULL);
            rank++;
            if (json) {
                printf("%s{\"index\": %s, \"prob\": %.6f, \"label\": ", rank > 1 ? ", " : "", buf, prob);
                cli_json_string(stdout, t2 + 1);
                putchar('}');
            } else {
                printf("  %d. %6.2f%%  %s  (class %s)\n", rank, prob * 100.0, t2 + 1, buf);
            }
        }
        line += len + (end ? 1 : 0);
    }
    if (json) printf("]}");
}

static int write_features(const char *file, const float *data, size_t n_img, int64_t rows, int64_t dim) {
    cli_out out;
    if (cli_out_open(&out, file)) return 1;
    const int64_t shape[3] = {(int64_t)n_img, rows, dim};
    cli_npy_write(out.f, shape, 3, data, n_img * (size_t)(rows * dim));
    return cli_out_close(&out, 0);
}

int cli_cmd_classify(int argc, char **argv) {
    const char *config = NULL, *features = NULL;
    bool json = false;
    long threads = 0;
    const char **images = calloc((size_t)argc, sizeof *images);
    size_t n_img = 0;
    if (!images) return cli_fail("classify: out of memory");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            free(images);
            return 0;
        } else if ((!strcmp(a, "-c") || !strcmp(a, "--config")) && i + 1 < argc) {
            config = argv[++i];
        } else if (!strcmp(a, "--features") && i + 1 < argc) {
            features = argv[++i];
        } else if (!strcmp(a, "--threads") && i + 1 < argc) {
            if (!cli_parse_int("--threads", argv[++i], 0, 4096, &threads)) {
                free(images);
                return 1;
            }
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (a[0] == '-' && a[1]) {
            usage(stderr);
            free(images);
            return cli_fail("classify: unknown or incomplete option '%s'", a);
        } else {
            images[n_img++] = a;
        }
    }
    if (!config || !n_img) {
        usage(stderr);
        free(images);
        return cli_fail("classify: %s", !config ? "no pipeline given (-c PIPELINE.json)" : "no image given");
    }
    if (features) {
        size_t fl = strlen(features);
        if (fl < 5 || strcmp(features + fl - 4, ".npy")) {
            free(images);
            return cli_fail("classify: --features %s: the file name must end in .npy", features);
        }
    }
    if (threads) aviary_set_num_threads((int)threads);
    aviary_plugin_registry *reg = NULL;
    aviary_pipeline *p = NULL;
    float *feat = NULL;
    int64_t f_rows = 0, f_dim = 0;
    int rc = 0;
    aviary_status st = aviary_plugin_registry_open(NULL, &reg);
    if (!st) st = aviary_pipeline_load(config, reg, &p);
    if (st) {
        rc = cli_fail_status(st);
        goto done;
    }
    const char *in_name = NULL;
    for (size_t i = 0; i < aviary_pipeline_input_count(p); i++) {
        const aviary_pipeline_input *in = aviary_pipeline_input_at(p, i);
        if (in->modality == AVIARY_MODALITY_IMAGE && in->type == AVIARY_PORT_PATH) {
            if (in_name) {
                rc = cli_fail("%s: the pipeline takes more than one image ('%s', '%s')", config, in_name, in->name);
                goto done;
            }
            in_name = in->name;
        }
    }
    if (!in_name || aviary_pipeline_input_count(p) != 1) {
        rc = cli_fail("%s: an image-classification pipeline takes exactly one input, an image file", config);
        goto done;
    }
    long top_i = find_output(p, "top"), feat_i = find_output(p, "features");
    if (top_i < 0) {
        rc = cli_fail("%s: the pipeline has no \"top\" output (a classifier head's top classes)", config);
        goto done;
    }
    if (features && feat_i < 0) {
        rc = cli_fail("%s: --features needs the pipeline to list a \"features\" output (e.g. \"encoder.features\")",
                      config);
        goto done;
    }
    if (threads) aviary_set_num_threads((int)threads); /* the command line wins over backbone.threads */
    if (json) printf("[");
    bool first = true, any_failed = false;
    for (size_t k = 0; k < n_img; k++) {
        aviary_pipeline_results res = {0};
        const char *names[1] = {in_name}, *values[1] = {images[k]};
        st = aviary_pipeline_run(p, 1, names, values, &res);
        if (st) {
            fflush(stdout);
            cli_fail_status(st);
            any_failed = true;
            continue;
        }
        const aviary_value *top = &res.values[top_i];
        print_top(images[k], top->type == AVIARY_PORT_TENSOR ? "" : (top->text ? top->text : ""), json, first);
        first = false;
        if (features) {
            const aviary_tensor *t = &res.values[feat_i].tensor;
            int64_t rows = t->ndim == 2 ? t->shape[0] : 1, dim = t->shape[t->ndim - 1];
            if (res.values[feat_i].type != AVIARY_PORT_TENSOR || t->ndim < 1 || t->ndim > 2) {
                rc = cli_fail("%s: output \"features\" is not a [tokens, dim] tensor", config);
            } else if (k > 0 && feat && (rows != f_rows || dim != f_dim)) {
                rc = cli_fail("%s: its features have shape [%lld, %lld], the first image's [%lld, %lld]; --features "
                              "needs equal shapes (use a fixed crop)", images[k], (long long)rows, (long long)dim,
                              (long long)f_rows, (long long)f_dim);
            } else {
                if (!feat) {
                    f_rows = rows, f_dim = dim;
                    feat = malloc(n_img * (size_t)(rows * dim) * sizeof(float));
                }
                if (!feat || aviary_tensor_to_f32(t, feat + k * (size_t)(rows * dim)))
                    rc = cli_fail("classify: cannot keep the features (out of memory)");
            }
        }
        aviary_pipeline_results_free(&res);
        if (rc) break;
    }
    if (json) printf("%s]\n", first ? "" : "\n");
    fflush(stdout);
    if (!rc && any_failed) rc = 1;
    if (!rc && features) rc = write_features(features, feat, n_img, f_rows, f_dim);
done:
    free(feat);
    free(images);
    aviary_pipeline_free(p);
    aviary_plugin_registry_free(reg);
    return rc;
}
