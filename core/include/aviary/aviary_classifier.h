/*
 * aviary_classifier.h - image-classification heads on pooled features, as
 * mmcls checkpoints store them, plus softmax, top-k and label files:
 *
 *  - LinearClsHead: "<prefix>fc.weight" [K, C] (+ "fc.bias"): logits = W x + b.
 *  - linear-tanh-linear (VRWKV-L): mmcls VisionTransformerClsHead(hidden_dim)
 *    "<prefix>layers.pre_logits.weight" [D, C] (+ bias), tanh,
 *    "<prefix>layers.head.weight" [K, D] (+ bias); or the InternImage
 *    codebase's nn.Sequential "<prefix>0.weight", Tanh, "<prefix>2.weight"
 *    (how the published VRWKV-L 22k->1k checkpoint was trained).
 *  - a bare nn.Linear "<prefix>weight" (+ "<prefix>bias"), the InternImage
 *    codebase's head for 12-block models.
 *
 * Weights are converted into aviary_linear at load (the checkpoint may be
 * closed afterwards); a head is immutable and thread-safe after loading.
 */
#ifndef AVIARY_CLASSIFIER_H
#define AVIARY_CLASSIFIER_H

#include "aviary_base.h"
#include "aviary_checkpoint.h"
#include "aviary_linear.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct aviary_classifier aviary_classifier;

/* Load the head under `prefix` (NULL = "head."). AVIARY_NOT_FOUND naming the
 * file if neither layout is present; AVIARY_SHAPE if the sizes disagree. */
AVIARY_API aviary_status aviary_classifier_load(const aviary_checkpoint *ck, const char *prefix,
                                                aviary_weight_type weights, aviary_classifier **out);
AVIARY_API void aviary_classifier_free(aviary_classifier *h);
AVIARY_API int64_t aviary_classifier_in(const aviary_classifier *h);      /* C */
AVIARY_API int64_t aviary_classifier_classes(const aviary_classifier *h); /* K */
/* true for the linear-tanh-linear layout. */
AVIARY_API bool aviary_classifier_has_hidden(const aviary_classifier *h);

/* logits[K] from features[C] (n rows at once: x [n, C] -> logits [n, K]). */
AVIARY_API aviary_status aviary_classifier_forward(const aviary_classifier *h, const float *x, int64_t n,
                                                   float *logits);

/* Numerically stable softmax over n values (y may equal x). */
AVIARY_API void aviary_softmax(const float *x, size_t n, float *y);

/* Indices of the k largest values of x[0..n), largest first (ties: lower
 * index first). k is clamped to n; returns the number written to idx. */
AVIARY_API size_t aviary_top_k(const float *x, size_t n, size_t k, int *idx);

/* A label file: one label per line (UTF-8, trailing "\r" stripped; blank
 * lines count as labels so line i is class i). */
typedef struct aviary_labels {
    size_t count;
    char **names;  /* owned */
} aviary_labels;

/* Read `path`. AVIARY_IO if unreadable; AVIARY_FORMAT naming the file if
 * `expected` > 0 and the line count differs. */
AVIARY_API aviary_status aviary_labels_load(const char *path, size_t expected, aviary_labels *out);
AVIARY_API void aviary_labels_free(aviary_labels *l);

#ifdef __cplusplus
}
#endif
#endif /* AVIARY_CLASSIFIER_H */
