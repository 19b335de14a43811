/* ts_forecast.c - RWKV-TS forecasting head plugin.
 *
 * Inputs  "tokens" [channels, patches, d_model] (ts_patch), "stats"
 *         [channels, 2] (loc, scale per channel, ts_patch).
 * Output  "forecast" [steps, channels], in the CSV's units: the flattened
 *         tokens (token-major: index patch * d_model + c) through out_layer
 *         (Linear(patches * d_model, pred_len) from the checkpoint, with
 *         aviary_linear), then y * scale + loc.
 * Option  "horizon": the first N steps only (0 = all pred_len steps).
 */
#include <stdlib.h>
#include <string.h>
#include <aviary/aviary_plugin.h>

typedef struct ts_forecast {
    aviary_linear *out_layer;
    int64_t in, pred_len, horizon;
} ts_forecast;

static const aviary_option_spec options[] = {
    {"horizon", AVIARY_OPT_INT, "0", "forecast steps to output, at most the model's pred_len (0 = pred_len)"},
};

static const aviary_port_spec inputs[] = {
    {"tokens", AVIARY_PORT_TENSOR, AVIARY_MODALITY_FEATURES, AVIARY_F32, "[channels, patches, d_model]",
     "RWKV-TS block outputs (ts_patch)"},
    {"stats", AVIARY_PORT_TENSOR, AVIARY_MODALITY_TENSOR, AVIARY_F32, "[channels, 2]",
     "per channel (loc, scale) from ts_patch"},
};

static const aviary_port_spec outputs[] = {
    {"forecast", AVIARY_PORT_TENSOR, AVIARY_MODALITY_SCORES, AVIARY_F32, "[steps, channels]",
     "the forecast, one row per future step, one column per series"},
};

static void destroy(void *inst) {
    ts_forecast *h = inst;
    if (!h) return;
    aviary_linear_free(h->out_layer);
    free(h);
}

static aviary_status create(const aviary_plugin_create_args *a, void **instance) {
    *instance = NULL;
    if (!a->weights) return aviary_error(AVIARY_CONFIG, "ts_forecast needs a \"weights\" file (an RWKV-TS checkpoint)");
    const aviary_tensor *w, *b;
    aviary_status s;
    if ((s = aviary_checkpoint_get(a->weights, "out_layer.weight", &w)) ||
        (s = aviary_checkpoint_get(a->weights, "out_layer.bias", &b)))
        return s;
    if (w->ndim != 2 || aviary_tensor_numel(b) != w->shape[0])
        return aviary_error(AVIARY_SHAPE, "%s: out_layer.weight/bias do not form a linear layer", a->weights_path);
    ts_forecast *h = calloc(1, sizeof *h);
    if (!h) return aviary_error(AVIARY_NOMEM, "out of memory");
    h->pred_len = w->shape[0];
    h->in = w->shape[1];
    h->horizon = aviary_option_find(a, "horizon")->i;
    if (h->horizon < 0 || h->horizon > h->pred_len) {
        int64_t hz = h->horizon;
        destroy(h);
        return aviary_error(AVIARY_CONFIG, "options.horizon: %lld is outside [0, %lld] (the model's pred_len)",
                            (long long)hz, (long long)w->shape[0]);
    }
    if (h->horizon == 0) h->horizon = h->pred_len;
    aviary_linear_params lp = aviary_linear_default_params();
    lp.weights = AVIARY_WEIGHTS_F32;
    if ((s = aviary_linear_create(w, b, &lp, &h->out_layer))) {
        destroy(h);
        return s;
    }
    *instance = h;
    return AVIARY_OK;
}

static aviary_status run(void *inst, const aviary_value *in, aviary_value *out) {
    ts_forecast *h = inst;
    const aviary_tensor *tok = &in[0].tensor, *st = &in[1].tensor;
    const int64_t C = tok->shape[0];
    if (tok->shape[1] * tok->shape[2] != h->in)
        return aviary_error(AVIARY_SHAPE, "tokens [%lld, %lld, %lld]: out_layer expects patches * d_model = %lld",
                            (long long)C, (long long)tok->shape[1], (long long)tok->shape[2], (long long)h->in);
    if (!aviary_tensor_is_contiguous(tok) || !aviary_tensor_is_contiguous(st))
        return aviary_error(AVIARY_SHAPE, "ts_forecast expects contiguous inputs");
    float *y = malloc((size_t)(C * h->pred_len) * sizeof *y);
    if (!y) return aviary_error(AVIARY_NOMEM, "out of memory");
    aviary_status s = aviary_linear_forward(h->out_layer, tok->data, C, y);
    int64_t shape[2] = {h->horizon, C};
    if (!s) s = aviary_tensor_alloc(&out[0].tensor, AVIARY_F32, 2, shape);
    if (!s) {
        const float *sv = st->data;
        float *f = out[0].tensor.data;
        for (int64_t t = 0; t < h->horizon; t++)
            for (int64_t c = 0; c < C; c++) f[t * C + c] = y[c * h->pred_len + t] * sv[2 * c + 1] + sv[2 * c];
    }
    free(y);
    return s;
}

static const aviary_plugin_descriptor desc = {
    AVIARY_PLUGIN_DESCRIPTOR_HEADER,
    .name = "ts_forecast",
    .kind = AVIARY_PLUGIN_HEAD,
    .version = "1.0.0",
    .description = "RWKV-TS head: flatten, linear head to pred_len, de-normalisation to the data's units",
    .n_options = sizeof options / sizeof options[0],
    .options = options,
    .n_inputs = 2,
    .inputs = inputs,
    .n_outputs = 1,
    .outputs = outputs,
    .create = create,
    .run = run,
    .destroy = destroy,
};

AVIARY_PLUGIN_DEFINE(desc);
