/*
 * aviary_tagging.h - multi-label tagging helpers shared by the audio_tagging
 * head, `aviary tag` and any classifier head: class-label files, sliding
 * windows over long inputs, aggregation of per-window scores and top-k.
 */
#ifndef AVIARY_TAGGING_H
#define AVIARY_TAGGING_H

#include "aviary_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------- labels -- */

typedef struct aviary_label_list aviary_label_list;

/* Read class names. Two layouts:
 *  - CSV with a header naming a "display_name" column (and optionally
 *    "index" and "mid"), like AudioSet's class_labels_indices.csv; fields may
 *    be double-quoted (with "" for a quote) and contain commas. When an
 *    "index" column exists its values must be 0, 1, 2, ... in order.
 *  - anything else: one name per line (blank lines are errors).
 * A trailing newline and CRLF line ends are accepted. Errors (AVIARY_IO,
 * AVIARY_FORMAT) name the file and line. */
AVIARY_API aviary_status aviary_label_list_read(const char *path, aviary_label_list **out);
/* Same, from memory: `name` stands for the file in messages. */
AVIARY_API aviary_status aviary_label_list_parse(const char *data, size_t size, const char *name, aviary_label_list **out);
AVIARY_API void aviary_label_list_free(aviary_label_list *l);
AVIARY_API size_t aviary_label_list_count(const aviary_label_list *l);
/* Name of class i (borrowed; "" if i is out of range). */
AVIARY_API const char *aviary_label_list_name(const aviary_label_list *l, size_t i);
/* Machine id of class i (the CSV "mid" column, e.g. "/m/09x0r"), or "" . */
AVIARY_API const char *aviary_label_list_id(const aviary_label_list *l, size_t i);

/* ----------------------------------------------------- sliding windows -- */

/* Hop between window starts for a window of `window` samples overlapping
 * its neighbour by the fraction `overlap` in [0, 1): max(1, round(window *
 * (1 - overlap))). */
AVIARY_API int64_t aviary_window_hop(int64_t window, double overlap);

/* Windows covering n samples: one if n <= window (the whole input, shorter
 * than a window); else full windows starting at 0, hop, 2*hop, ... while
 * they fit, plus one final window ending at n if the last one does not
 * reach it. Returns the count (0 if n < 1). */
AVIARY_API int64_t aviary_window_count(int64_t n, int64_t window, int64_t hop);
/* Start of window k (0 <= k < count) of the same layout; its length is
 * min(window, n). */
AVIARY_API int64_t aviary_window_start(int64_t n, int64_t window, int64_t hop, int64_t k);

/* ---------------------------------------------------------- aggregation -- */

typedef enum aviary_aggregate {
    AVIARY_AGGREGATE_MAX = 0,   /* a class is as present as in its strongest window */
    AVIARY_AGGREGATE_MEAN = 1   /* average over windows */
} aviary_aggregate;

/* Parse "max" / "mean" (AVIARY_INVALID_ARG otherwise). */
AVIARY_API aviary_status aviary_aggregate_parse(const char *s, aviary_aggregate *out);
AVIARY_API const char *aviary_aggregate_name(aviary_aggregate a);

/* out[k] = max or mean over rows w of x[w][k]; x: [n_windows][n_classes],
 * n_windows >= 1. Mean sums in double. */
AVIARY_API void aviary_scores_aggregate(const float *x, size_t n_windows, size_t n_classes, aviary_aggregate mode,
                                        float *out);

/* Indices of the k largest x[i] (k clamped to n), largest first; ties go
 * to the lower index; NaN ranks last. idx holds k entries. Returns k used. */
AVIARY_API size_t aviary_scores_top_k(const float *x, size_t n, size_t k, size_t *idx);

#ifdef __cplusplus
}
#endif
#endif /* AVIARY_TAGGING_H */
