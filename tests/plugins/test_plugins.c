/*
 * test_plugins.c - test-only plugins, one shared object per TP_VARIANT
 * (built by tests/plugins.cmake into the test plugin dir, never installed):
 *   1 tp_sum     head:    x f32 features [N] -> total f32 scores [1] (sum + offset)
 *   2 tp_grow    head:    x [N] -> y declared [N] but produced [N + 1]   (broken plugin)
 *   3 tp_fail    head:    run() fails with a message                      (broken plugin)
 *   4 tp_matrix  adapter: x [N] -> m f32 features [2, N] (x and 2x)
 *   5 tp_image   head:    pixels f32 image [H, W, 3] -> mean f32 scores [1]
 *   6 tp_dtype   head:    x [N] -> y declared f32, produced i32            (broken plugin)
 *   7 bad_abi    built for plugin ABI major 2 (must be refused)
 *   8 bad_minor  built for a newer minor (must be refused)
 *   9 no_entry   lacks the entry symbol
 *  10 bad_desc   descriptor with an invalid name
 */
#include <stdlib.h>
#include <string.h>
#include <aviary/aviary.h>
#include <aviary/aviary_plugin.h>

#ifndef TP_VARIANT
#error "TP_VARIANT must be defined"
#endif

typedef struct inst {
    double offset;
} inst;

static aviary_status create(const aviary_plugin_create_args *a, void **out) {
    inst *in = calloc(1, sizeof *in);
    if (!in) return aviary_error(AVIARY_NOMEM, "out of memory");
    const aviary_option_value *o = aviary_option_find(a, "offset");
    in->offset = o ? o->f : 0.0;
    *out = in;
    return AVIARY_OK;
}

static void destroy(void *p) { free(p); }

static aviary_status alloc1(aviary_value *v, aviary_dtype dt, int ndim, int64_t d0, int64_t d1) {
    int64_t shape[2] = {d0, d1};
    return aviary_tensor_alloc(&v->tensor, dt, ndim, shape);
}

static aviary_status run(void *p, const aviary_value *in, aviary_value *out) {
    const inst *s = p;
    const aviary_tensor *x = &in[0].tensor;
    const float *xd = x->data;
    int64_t n = x->ndim ? x->shape[0] : 1;
    aviary_status st;
    switch (TP_VARIANT) {
    case 1: {
        if ((st = alloc1(&out[0], AVIARY_F32, 1, 1, 0))) return st;
        double acc = s->offset;
        for (int64_t i = 0; i < n; i++) acc += xd[i];
        ((float *)out[0].tensor.data)[0] = (float)acc;
        return AVIARY_OK;
    }
    case 2:
        return alloc1(&out[0], AVIARY_F32, 1, n + 1, 0);
    case 3:
        return aviary_error(AVIARY_ERROR, "tp_fail: deliberate failure in run");
    case 4: {
        if ((st = alloc1(&out[0], AVIARY_F32, 2, 2, n))) return st;
        float *y = out[0].tensor.data;
        for (int64_t i = 0; i < n; i++) y[i] = xd[i], y[n + i] = 2 * xd[i];
        return AVIARY_OK;
    }
    case 5: {
        if ((st = alloc1(&out[0], AVIARY_F32, 1, 1, 0))) return st;
        int64_t m = aviary_tensor_numel(x);
        double acc = 0;
        for (int64_t i = 0; i < m; i++) acc += xd[i];
        ((float *)out[0].tensor.data)[0] = (float)(m ? acc / (double)m : 0);
        return AVIARY_OK;
    }
    case 6:
        return alloc1(&out[0], AVIARY_I32, 1, n, 0);
    default:
        return aviary_error(AVIARY_ERROR, "not reached");
    }
}

static const aviary_option_spec opts[] = {
    {"offset", AVIARY_OPT_FLOAT, "0", "added to the sum"},
    {"top_k", AVIARY_OPT_INT, "5", "unused; an integer option for validation tests"},
    {"label", AVIARY_OPT_STRING, NULL, "a required option (tp_matrix only)"},
};

static const aviary_port_spec in_vec[] = {
    {"x", AVIARY_PORT_TENSOR, AVIARY_MODALITY_FEATURES, AVIARY_F32, "[N]", "a feature vector"},
};
static const aviary_port_spec in_img[] = {
    {"pixels", AVIARY_PORT_TENSOR, AVIARY_MODALITY_IMAGE, AVIARY_F32, "[H, W, 3]", "an RGB image"},
};
static const aviary_port_spec out_total[] = {
    {"total", AVIARY_PORT_TENSOR, AVIARY_MODALITY_SCORES, AVIARY_F32, "[1]", "sum of x plus offset"},
};
static const aviary_port_spec out_y[] = {
    {"y", AVIARY_PORT_TENSOR, AVIARY_MODALITY_FEATURES, AVIARY_F32, "[N]", "same size as x"},
};
static const aviary_port_spec out_m[] = {
    {"m", AVIARY_PORT_TENSOR, AVIARY_MODALITY_FEATURES, AVIARY_F32, "[2, N]", "x and 2x"},
};

#if TP_VARIANT == 1
#define TP_NAME "tp_sum"
#elif TP_VARIANT == 2
#define TP_NAME "tp_grow"
#elif TP_VARIANT == 3
#define TP_NAME "tp_fail"
#elif TP_VARIANT == 4
#define TP_NAME "tp_matrix"
#elif TP_VARIANT == 5
#define TP_NAME "tp_image"
#elif TP_VARIANT == 6
#define TP_NAME "tp_dtype"
#elif TP_VARIANT == 7
#define TP_NAME "bad_abi"
#elif TP_VARIANT == 8
#define TP_NAME "bad_minor"
#elif TP_VARIANT == 9
#define TP_NAME "no_entry"
#else
#define TP_NAME "Bad-Name"
#endif

static const aviary_plugin_descriptor desc = {
#if TP_VARIANT == 7
    .abi_major = AVIARY_PLUGIN_ABI_MAJOR + 1, .abi_minor = 0, .struct_size = sizeof(aviary_plugin_descriptor),
#elif TP_VARIANT == 8
    .abi_major = AVIARY_PLUGIN_ABI_MAJOR, .abi_minor = AVIARY_PLUGIN_ABI_MINOR + 1,
    .struct_size = sizeof(aviary_plugin_descriptor),
#else
    AVIARY_PLUGIN_DESCRIPTOR_HEADER,
#endif
    .name = TP_NAME,
    .kind = TP_VARIANT == 4 ? AVIARY_PLUGIN_ADAPTER : AVIARY_PLUGIN_HEAD,
    .version = "0.1.0",
    .description = "aviary test plugin " TP_NAME,
    .n_options = TP_VARIANT == 4 ? 3 : 2,
    .options = opts,
    .n_inputs = 1,
    .inputs = TP_VARIANT == 5 ? in_img : in_vec,
    .n_outputs = 1,
    .outputs = TP_VARIANT == 1 || TP_VARIANT == 5 ? out_total : TP_VARIANT == 4 ? out_m : out_y,
    .create = create,
    .run = run,
    .destroy = destroy,
};

#if TP_VARIANT == 9
/* No entry symbol: export something else so the file is a valid library. */
AVIARY_PLUGIN_EXPORT const aviary_plugin_descriptor *not_the_entry(void) { return &desc; }
#else
AVIARY_PLUGIN_EXPORT const aviary_plugin_descriptor *aviary_plugin_entry(const aviary_host_api *host) {
    if (!host || host->struct_size < sizeof(aviary_host_api)) return NULL;
    return &desc;
}
#endif
