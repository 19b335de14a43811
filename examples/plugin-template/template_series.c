/*
 * template_series.c - a complete, small aviary plugin to copy from.
 *
 * What it does: an ENCODER that reads a short series of numbers given as
 * text ("1 2 3" or "1,2,3"), multiplies it by the option `scale`, and, when
 * the stage has a weights file, applies an affine layer read from it
 * (y = weight @ x + bias) followed by the option `activation`. Its output is
 * a float32 feature vector that later stages (heads, adapters) consume.
 *
 * The four things every plugin has (see <aviary/aviary_plugin.h>):
 *   1. a descriptor: name, kind, options, inputs and outputs with their
 *      modality, dtype and shape rule (the host checks every value against it);
 *   2. create(): read options and weights into an instance;
 *   3. run():    inputs -> outputs (outputs allocated with aviary_tensor_alloc,
 *      released by the host);
 *   4. destroy().
 * and one exported function, aviary_plugin_entry(), returning the descriptor
 * (AVIARY_PLUGIN_DEFINE below writes it).
 *
 * Errors: return a status from aviary_error("...") naming the problem; the
 * host adds the plugin and stage name and never crashes because of them.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <aviary/aviary.h>
#include <aviary/aviary_plugin.h>

/* ---- 1. the descriptor's tables ---- */

enum { OPT_SCALE, OPT_ACTIVATION, N_OPTIONS };  /* same order as below */

static const aviary_option_spec options[N_OPTIONS] = {
    {"scale", AVIARY_OPT_FLOAT, "1.0", "multiply the input values by this"},
    {"activation", AVIARY_OPT_STRING, "none", "after the affine layer: none, relu or tanh"},
};

static const aviary_port_spec inputs[] = {
    {"values", AVIARY_PORT_TEXT, AVIARY_MODALITY_SERIES, AVIARY_DTYPE_ANY, NULL,
     "numbers separated by spaces or commas, e.g. \"1 2 3\""},
};

/* "[K]": one dim, whatever size run() produces (K is bound from the output). */
static const aviary_port_spec outputs[] = {
    {"features", AVIARY_PORT_TENSOR, AVIARY_MODALITY_FEATURES, AVIARY_F32, "[K]",
     "scale * values, then weight @ x + bias and the activation when the stage has weights"},
};

/* ---- 2. the instance ---- */

typedef enum { ACT_NONE, ACT_RELU, ACT_TANH } activation;

typedef struct instance {
    float scale;
    activation act;
    aviary_tensor weight;  /* owned f32 copy [K, N], or ndim 0 with no weights */
    aviary_tensor bias;    /* owned f32 copy [K], or empty */
    bool has_weights;
} instance;

static void destroy(void *p) {
    instance *in = p;
    if (!in) return;
    aviary_tensor_free(&in->weight);
    aviary_tensor_free(&in->bias);
    free(in);
}

static aviary_status create(const aviary_plugin_create_args *args, void **out) {
    *out = NULL;
    instance *in = calloc(1, sizeof *in);
    if (!in) return aviary_error(AVIARY_NOMEM, "out of memory");
    /* Options arrive resolved, one per declared option, defaults applied. */
    in->scale = (float)args->options[OPT_SCALE].f;
    const char *act = args->options[OPT_ACTIVATION].s;
    if (!strcmp(act, "none")) in->act = ACT_NONE;
    else if (!strcmp(act, "relu")) in->act = ACT_RELU;
    else if (!strcmp(act, "tanh")) in->act = ACT_TANH;
    else {
        destroy(in);
        return aviary_error(AVIARY_INVALID_ARG, "option activation: expected none, relu or tanh, got \"%s\"", act);
    }
    if (args->weights) {
        /* The host opened the stage's weights file once (memory-mapped);
         * tensors are zero-copy views in whatever dtype the file stores. */
        const aviary_tensor *w, *b;
        aviary_status st;
        if ((st = aviary_checkpoint_get(args->weights, "weight", &w)) ||
            (st = aviary_checkpoint_get(args->weights, "bias", &b))) {
            destroy(in);
            return st;
        }
        if (w->ndim != 2 || b->ndim != 1 || b->shape[0] != w->shape[0]) {
            destroy(in);
            return aviary_error(AVIARY_SHAPE, "%s: expected weight [K, N] and bias [K]", args->weights_path);
        }
        if ((st = aviary_tensor_to_f32_owned(w, &in->weight)) || (st = aviary_tensor_to_f32_owned(b, &in->bias))) {
            destroy(in);
            return st;
        }
        in->has_weights = true;
    }
    *out = in;
    return AVIARY_OK;
}

/* Parse "1 2, 3" into a malloc'd array. */
static aviary_status parse_values(const char *text, float **out, size_t *n) {
    size_t cap = 16, k = 0;
    float *v = malloc(cap * sizeof *v);
    if (!v) return aviary_error(AVIARY_NOMEM, "out of memory");
    const char *p = text;
    for (;;) {
        while (*p == ' ' || *p == ',' || *p == '\t' || *p == '\n') p++;
        if (!*p) break;
        char *end;
        errno = 0;
        double x = strtod(p, &end);
        if (end == p || errno || !isfinite(x)) {
            free(v);
            return aviary_error(AVIARY_INVALID_ARG, "input values: \"%.20s\" is not a number", p);
        }
        if (k == cap) {
            float *nv = realloc(v, (cap *= 2) * sizeof *v);
            if (!nv) {
                free(v);
                return aviary_error(AVIARY_NOMEM, "out of memory");
            }
            v = nv;
        }
        v[k++] = (float)x;
        p = end;
    }
    if (!k) {
        free(v);
        return aviary_error(AVIARY_INVALID_ARG, "input values: no numbers given");
    }
    *out = v;
    *n = k;
    return AVIARY_OK;
}

/* ---- 3. run ---- */

static aviary_status run(void *p, const aviary_value *in_values, aviary_value *out_values) {
    instance *in = p;
    float *x = NULL;
    size_t n = 0;
    aviary_status st = parse_values(in_values[0].text, &x, &n);
    if (st) return st;
    for (size_t i = 0; i < n; i++) x[i] *= in->scale;

    size_t k_out = n;
    if (in->has_weights) {
        if ((int64_t)n != in->weight.shape[1]) {
            free(x);
            return aviary_error(AVIARY_SHAPE, "input values: got %zu numbers, the weights take %lld", n,
                                (long long)in->weight.shape[1]);
        }
        k_out = (size_t)in->weight.shape[0];
    }
    int64_t shape[1] = {(int64_t)k_out};
    aviary_tensor *y = &out_values[0].tensor;
    if ((st = aviary_tensor_alloc(y, AVIARY_F32, 1, shape))) {  /* the host frees it */
        free(x);
        return st;
    }
    float *yd = y->data;
    if (!in->has_weights) {
        memcpy(yd, x, n * sizeof *x);
    } else {
        const float *w = in->weight.data, *b = in->bias.data;
        for (size_t r = 0; r < k_out; r++) {
            double acc = b[r];
            for (size_t c = 0; c < n; c++) acc += (double)w[r * n + c] * x[c];
            float v = (float)acc;
            if (in->act == ACT_RELU && v < 0) v = 0;
            if (in->act == ACT_TANH) v = tanhf(v);
            yd[r] = v;
        }
    }
    free(x);
    return AVIARY_OK;
}

/* ---- 4. the descriptor and the entry point ---- */

static const aviary_plugin_descriptor descriptor = {
    AVIARY_PLUGIN_DESCRIPTOR_HEADER,
    .name = "template_series",
    .kind = AVIARY_PLUGIN_ENCODER,
    .version = "1.0.0",
    .description = "template: numbers as text -> scaled (optionally affine-transformed) feature vector",
    .n_options = N_OPTIONS,
    .options = options,
    .n_inputs = 1,
    .inputs = inputs,
    .n_outputs = 1,
    .outputs = outputs,
    .create = create,
    .run = run,
    .destroy = destroy,
};

/* The exported aviary_plugin_entry(). Write it by hand instead if it must use
 * the host API (host->log / host->error) or refuse to load. */
AVIARY_PLUGIN_DEFINE(descriptor);
