/* classifier.c - image-classification head plugin (mmcls heads).
 *
 * Input   "pooled" [dim]: pooled encoder features.
 * Outputs "logits" [classes]; "probs" [classes] (softmax of the logits);
 *         "top" (TEXT): the top_k classes, best first, one per line as
 *         "INDEX<TAB>PROBABILITY<TAB>LABEL" (LABEL = the label file's line,
 *         or "class INDEX" without a label file).
 * Labels and top-k come from aviary_tagging.h (one name per line, or a CSV
 * with a display_name column). The head is LinearClsHead ("head.fc") or VRWKV-L's linear-tanh-linear
 * ("head.layers.pre_logits", "head.layers.head"), found in the weights.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <aviary/aviary_classifier.h>
#include <aviary/aviary_plugin.h>
#include <aviary/aviary_tagging.h>

typedef struct cls_head {
    aviary_classifier *head;
    aviary_label_list *labels; /* NULL = none */
    int64_t top_k;
} cls_head;

static const aviary_option_spec options[] = {
    {"labels", AVIARY_OPT_PATH, "", "label file: one class name per line, or a CSV with a display_name column"},
    {"top_k", AVIARY_OPT_INT, "5", "classes listed in \"top\""},
    {"prefix", AVIARY_OPT_STRING, "head.", "key prefix of the head in the weights"},
    {"precision", AVIARY_OPT_STRING, "auto", "matmul weights: auto, f32, bf16 or int8"},
};

static const aviary_port_spec inputs[] = {
    {"pooled", AVIARY_PORT_TENSOR, AVIARY_MODALITY_FEATURES, AVIARY_F32, "[dim]", "pooled image features"},
};

static const aviary_port_spec outputs[] = {
    {"logits", AVIARY_PORT_TENSOR, AVIARY_MODALITY_SCORES, AVIARY_F32, "[classes]", "class scores before softmax"},
    {"probs", AVIARY_PORT_TENSOR, AVIARY_MODALITY_SCORES, AVIARY_F32, "[classes]", "softmax probabilities"},
    {"top", AVIARY_PORT_TEXT, AVIARY_MODALITY_TEXT, AVIARY_DTYPE_ANY, NULL,
     "top_k lines INDEX<TAB>PROBABILITY<TAB>LABEL, best first"},
};

static void destroy(void *inst) {
    cls_head *h = inst;
    if (!h) return;
    aviary_classifier_free(h->head);
    aviary_label_list_free(h->labels);
    free(h);
}

static aviary_status create(const aviary_plugin_create_args *a, void **instance) {
    *instance = NULL;
    if (!a->weights) return aviary_error(AVIARY_CONFIG, "classifier needs a \"weights\" file with the head");
    cls_head *h = calloc(1, sizeof *h);
    if (!h) return aviary_error(AVIARY_NOMEM, "out of memory");
    aviary_status s;
    aviary_weight_type wt;
    h->top_k = aviary_option_find(a, "top_k")->i;
    if (h->top_k < 1 || h->top_k > 1000000) {
        s = aviary_error(AVIARY_CONFIG, "options.top_k: expected a positive number, got %lld", (long long)h->top_k);
        goto fail;
    }
    if (aviary_weight_type_parse(aviary_option_find(a, "precision")->s, &wt)) {
        s = aviary_error(AVIARY_CONFIG, "options.precision: expected auto, f32, bf16 or int8");
        goto fail;
    }
    if ((s = aviary_classifier_load(a->weights, aviary_option_find(a, "prefix")->s, wt, &h->head))) goto fail;
    const aviary_option_value *lab = aviary_option_find(a, "labels");
    if (lab->has_value && lab->s[0]) {
        if ((s = aviary_label_list_read(lab->s, &h->labels))) goto fail;
        const size_t n = aviary_label_list_count(h->labels), K = (size_t)aviary_classifier_classes(h->head);
        if (n != K) {
            s = aviary_error(AVIARY_FORMAT, "%s: %zu labels, the model has %zu classes", lab->s, n, K);
            goto fail;
        }
    }
    *instance = h;
    return AVIARY_OK;
fail:
    destroy(h);
    return s;
}

static aviary_status run(void *inst, const aviary_value *in, aviary_value *out) {
    cls_head *h = inst;
    const aviary_tensor *x = &in[0].tensor;
    const int64_t K = aviary_classifier_classes(h->head);
    if (aviary_tensor_numel(x) != aviary_classifier_in(h->head) || !aviary_tensor_is_contiguous(x))
        return aviary_error(AVIARY_SHAPE, "pooled features have %lld values, the head expects %lld",
                            (long long)aviary_tensor_numel(x), (long long)aviary_classifier_in(h->head));
    int64_t shape[1] = {K};
    aviary_status s;
    if ((s = aviary_tensor_alloc(&out[0].tensor, AVIARY_F32, 1, shape)) ||
        (s = aviary_tensor_alloc(&out[1].tensor, AVIARY_F32, 1, shape)) ||
        (s = aviary_classifier_forward(h->head, x->data, 1, out[0].tensor.data)))
        return s;
    float *p = out[1].tensor.data;
    aviary_softmax(out[0].tensor.data, (size_t)K, p);
    size_t *idx = malloc((size_t)h->top_k * sizeof *idx);
    if (!idx) return aviary_error(AVIARY_NOMEM, "out of memory");
    size_t n = aviary_scores_top_k(p, (size_t)K, (size_t)h->top_k, idx);
    size_t cap = 1;
    for (size_t i = 0; i < n; i++) cap += 64 + (h->labels ? strlen(aviary_label_list_name(h->labels, idx[i])) : 0);
    char *text = malloc(cap), *w = text;
    if (!text) {
        free(idx);
        return aviary_error(AVIARY_NOMEM, "out of memory");
    }
    *w = '\0';
    for (size_t i = 0; i < n; i++) {
        if (h->labels)
            w += sprintf(w, "%zu\t%.6f\t%s\n", idx[i], (double)p[idx[i]], aviary_label_list_name(h->labels, idx[i]));
        else
            w += sprintf(w, "%zu\t%.6f\tclass %zu\n", idx[i], (double)p[idx[i]], idx[i]);
    }
    out[2].text = text;
    free(idx);
    return AVIARY_OK;
}

static const aviary_plugin_descriptor desc = {
    AVIARY_PLUGIN_DESCRIPTOR_HEADER,
    .name = "classifier",
    .kind = AVIARY_PLUGIN_HEAD,
    .version = "1.0.0",
    .description = "image-classification head (mmcls linear or linear-tanh-linear), softmax, top-k with labels",
    .n_options = sizeof options / sizeof options[0],
    .options = options,
    .n_inputs = 1,
    .inputs = inputs,
    .n_outputs = 3,
    .outputs = outputs,
    .create = create,
    .run = run,
    .destroy = destroy,
};

AVIARY_PLUGIN_DEFINE(desc);
