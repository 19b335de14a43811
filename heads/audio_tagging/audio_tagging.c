/* audio_tagging.c - multi-label tagging head plugin.
 *
 * Inputs  "logits"  [windows, classes] (e.g. from encoders/audio_rwkv),
 *         "windows" [windows, 2] start/end seconds of each window.
 * Outputs "probs"        [classes]: sigmoid probabilities aggregated over
 *                        the windows (option "aggregate": max, the default,
 *                        tags a clip with every sound heard in any window, as
 *                        AudioSet's clip-level labels mean; mean averages).
 *         "window_probs" [windows, classes]: sigmoid per window.
 *         "tags"         text: the top_k classes, one "probability<TAB>name"
 *                        line each, then (more than one window) a line
 *                        "window START-END s: name prob, ..." per window.
 * Class names come from option "labels" (AudioSet class_labels_indices.csv
 * or one name per line; aviary_tagging.h); without it classes are "class K".
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <aviary/aviary_plugin.h>
#include <aviary/aviary_tagging.h>

typedef struct tagging {
    aviary_label_list *labels;  /* or NULL */
    size_t top_k;
    aviary_aggregate agg;
} tagging;

static const aviary_option_spec options[] = {
    {"labels", AVIARY_OPT_PATH, "", "class names: CSV with a display_name column (AudioSet) or one per line"},
    {"top_k", AVIARY_OPT_INT, "5", "classes listed in \"tags\""},
    {"aggregate", AVIARY_OPT_STRING, "max", "over windows: max (clip-level presence) or mean"},
};

static const aviary_port_spec inputs[] = {
    {"logits", AVIARY_PORT_TENSOR, AVIARY_MODALITY_SCORES, AVIARY_F32, "[windows, classes]", "logits per window"},
    {"windows", AVIARY_PORT_TENSOR, AVIARY_MODALITY_TENSOR, AVIARY_F32, "[windows, 2]", "window start/end, seconds"},
};

static const aviary_port_spec outputs[] = {
    {"probs", AVIARY_PORT_TENSOR, AVIARY_MODALITY_SCORES, AVIARY_F32, "[classes]", "aggregated probabilities"},
    {"window_probs", AVIARY_PORT_TENSOR, AVIARY_MODALITY_SCORES, AVIARY_F32, "[windows, classes]",
     "probabilities per window"},
    {"tags", AVIARY_PORT_TEXT, AVIARY_MODALITY_TEXT, AVIARY_F32, NULL, "top classes, one 'probability<TAB>name' per line"},
};

static void destroy(void *inst) {
    tagging *t = inst;
    if (!t) return;
    aviary_label_list_free(t->labels);
    free(t);
}

static aviary_status create(const aviary_plugin_create_args *a, void **instance) {
    *instance = NULL;
    const aviary_option_value *lab = aviary_option_find(a, "labels"), *k = aviary_option_find(a, "top_k"),
                              *ag = aviary_option_find(a, "aggregate");
    if (k->i < 1 || k->i > 100000) return aviary_error(AVIARY_CONFIG, "options.top_k: expected a positive integer");
    tagging *t = calloc(1, sizeof *t);
    if (!t) return aviary_error(AVIARY_NOMEM, "out of memory");
    t->top_k = (size_t)k->i;
    aviary_status s;
    if (aviary_aggregate_parse(ag->s, &t->agg)) {
        destroy(t);
        return aviary_error(AVIARY_CONFIG, "options.aggregate: expected max or mean, got '%s'", ag->s);
    }
    if (lab->has_value && lab->s[0] && (s = aviary_label_list_read(lab->s, &t->labels))) {
        destroy(t);
        return s;
    }
    *instance = t;
    return AVIARY_OK;
}

/* Growable text buffer. */
typedef struct sbuf {
    char *s;
    size_t n, cap;
    bool oom;
} sbuf;

static void put(sbuf *b, const char *fmt, ...) AVIARY_PRINTF(2, 3);
static void put(sbuf *b, const char *fmt, ...) {
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int w = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (w < 0) { b->oom = true; return; }
        if (b->s && b->n + (size_t)w < b->cap) { b->n += (size_t)w; return; }
        size_t nc = (b->cap ? b->cap * 2 : 1024) + (size_t)w;
        char *p = realloc(b->s, nc);
        if (!p) { b->oom = true; return; }
        b->s = p;
        b->cap = nc;
    }
}

static const char *name_of(const tagging *t, size_t i, char *buf, size_t n) {
    if (t->labels) return aviary_label_list_name(t->labels, i);
    snprintf(buf, n, "class %zu", i);
    return buf;
}

static aviary_status run(void *inst, const aviary_value *in, aviary_value *out) {
    tagging *t = inst;
    const aviary_tensor *lg = &in[0].tensor, *wn = &in[1].tensor;
    const size_t W = (size_t)lg->shape[0], K = (size_t)lg->shape[1];
    if (W < 1 || K < 1) return aviary_error(AVIARY_SHAPE, "audio_tagging: no windows or no classes");
    if (t->labels && aviary_label_list_count(t->labels) != K)
        return aviary_error(AVIARY_SHAPE, "audio_tagging: the labels file has %zu names, the model has %zu classes",
                            aviary_label_list_count(t->labels), K);
    aviary_status s;
    int64_t ps[1] = {(int64_t)K}, wps[2] = {(int64_t)W, (int64_t)K};
    if ((s = aviary_tensor_alloc(&out[0].tensor, AVIARY_F32, 1, ps)) ||
        (s = aviary_tensor_alloc(&out[1].tensor, AVIARY_F32, 2, wps)))
        return s;
    float *probs = out[0].tensor.data, *wp = out[1].tensor.data;
    if ((s = aviary_tensor_to_f32(lg, wp))) return s;
    for (size_t i = 0; i < W * K; i++) wp[i] = 1.0f / (1.0f + expf(-wp[i]));
    aviary_scores_aggregate(wp, W, K, t->agg, probs);
    float *times = malloc(W * 2 * sizeof(float));
    size_t *idx = malloc((t->top_k < K ? t->top_k : K) * sizeof(size_t));
    if (!times || !idx || (s = aviary_tensor_to_f32(wn, times))) {
        free(times);
        free(idx);
        return s ? s : aviary_error(AVIARY_NOMEM, "out of memory");
    }
    sbuf b = {0};
    char nb[32];
    size_t k = aviary_scores_top_k(probs, K, t->top_k, idx);
    for (size_t i = 0; i < k; i++) put(&b, "%.4f\t%s\n", (double)probs[idx[i]], name_of(t, idx[i], nb, sizeof nb));
    if (W > 1) {
        size_t kw = k < 3 ? k : 3;
        for (size_t w = 0; w < W; w++) {
            put(&b, "window %.2f-%.2f s:", (double)times[2 * w], (double)times[2 * w + 1]);
            aviary_scores_top_k(wp + w * K, K, kw, idx);
            for (size_t i = 0; i < kw; i++)
                put(&b, "%s %s %.3f", i ? "," : "", name_of(t, idx[i], nb, sizeof nb), (double)wp[w * K + idx[i]]);
            put(&b, "\n");
        }
    }
    free(times);
    free(idx);
    if (b.oom) {
        free(b.s);
        return aviary_error(AVIARY_NOMEM, "out of memory");
    }
    if (b.n && b.s[b.n - 1] == '\n') b.s[--b.n] = 0;
    out[2].text = b.s ? b.s : strdup("");
    return out[2].text ? AVIARY_OK : aviary_error(AVIARY_NOMEM, "out of memory");
}

static const aviary_plugin_descriptor desc = {
    AVIARY_PLUGIN_DESCRIPTOR_HEADER,
    .name = "audio_tagging",
    .kind = AVIARY_PLUGIN_HEAD,
    .version = "1.0.0",
    .description = "multi-label tagging: sigmoid, max/mean over windows, top-k with class names (AudioSet)",
    .n_options = sizeof options / sizeof options[0],
    .options = options,
    .n_inputs = 2,
    .inputs = inputs,
    .n_outputs = 3,
    .outputs = outputs,
    .create = create,
    .run = run,
    .destroy = destroy,
};

AVIARY_PLUGIN_DEFINE(desc);
