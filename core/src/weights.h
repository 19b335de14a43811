/*
 * weights.h - reading a model's weights out of a checkpoint at load time
 * (internal; shared by the model loaders in core/src).
 *
 * Every loader does the same few things: look tensors up under a name prefix
 * ("backbone.", "module.", ...), check their size, copy small ones to f32
 * buffers the model owns, and wrap matrices in aviary_linear. aviary__weights
 * bundles the state for that and records the FIRST error: once W->st is set,
 * every call below is a no-op returning NULL / 0, so a loader can read all its
 * tensors in a row and check W->st once at the end (Vision-RWKV, AudioRWKV).
 * Loaders that return at the first error instead (RWKV-TS, the x051a block,
 * the VisualRWKV projection, family detection) use the one-shot helpers taking
 * (checkpoint, prefix): aviary__w_lookup, aviary__w_count_in,
 * aviary__w_linear_bias, aviary__w_copy_f32. Errors name the checkpoint file
 * and the full tensor name.
 */
#ifndef AVIARY_WEIGHTS_H
#define AVIARY_WEIGHTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "aviary/aviary_checkpoint.h"
#include "aviary/aviary_linear.h"
#include "internal.h"

/* A list of f32 buffers owned by a model and freed together with it
 * (zero-initialise it; aviary__f32s_free releases the buffers and the list). */
typedef struct aviary__f32s {
    float **p;
    size_t n, cap;
} aviary__f32s;

/* A new buffer of n floats (uninitialised; n == 0 gives a 1-float buffer)
 * recorded in *l, or NULL when out of memory (nothing recorded). */
AVIARY_INTERNAL float *aviary__f32s_alloc(aviary__f32s *l, size_t n);
/* Frees every buffer of *l and the list itself; *l is empty afterwards. */
AVIARY_INTERNAL void aviary__f32s_free(aviary__f32s *l);

/* Tensor prefix + name (name printf-formatted) of ck, NULL if absent: the
 * lookup under every function below, for callers without an aviary__weights. */
AVIARY_INTERNAL const aviary_tensor *aviary__w_lookup(const aviary_checkpoint *ck, const char *prefix,
                                                      const char *fmt, ...) AVIARY_PRINTF(3, 4);
/* How many of prefix+fmt(0), prefix+fmt(1), ... exist in a row in ck (fmt
 * has one %d; at most 100000, a bound for hostile files): the layer count. */
AVIARY_INTERNAL int aviary__w_count_in(const aviary_checkpoint *ck, const char *prefix, const char *fmt);

/* Loading state. All pointers are borrowed and must outlive the loading. */
typedef struct aviary__weights {
    const aviary_checkpoint *ck; /* where the tensors are */
    const char *prefix;          /* prepended to every name ("" for none) */
    const char *family;          /* model name for "missing" errors, e.g. "Vision-RWKV" */
    aviary_linear_params lp;     /* parameters of every aviary_linear made */
    aviary__f32s *owned;         /* receives the f32 copies (the model's list) */
    aviary_status st;            /* first error, AVIARY_OK so far */
} aviary__weights;

/* Tensor prefix+name (name printf-formatted), NULL if absent. Never sets an
 * error and works even after one (for probing what a checkpoint holds). */
AVIARY_INTERNAL const aviary_tensor *aviary__w_find(const aviary__weights *W, const char *fmt, ...)
    AVIARY_PRINTF(2, 3);

/* Tensor prefix+name that must exist and, if numel >= 0, hold exactly numel
 * values. Errors: "FILE: FAMILY tensor 'NAME' is missing" (AVIARY_NOT_FOUND),
 * "FILE: 'NAME' has shape [..], expected N values" (AVIARY_SHAPE). */
AVIARY_INTERNAL const aviary_tensor *aviary__w_need(aviary__weights *W, int64_t numel, const char *fmt, ...)
    AVIARY_PRINTF(3, 4);

/* f32 copy of tensor prefix+name with exactly numel values, owned by
 * W->owned. optional: an absent tensor gives NULL without an error. */
AVIARY_INTERNAL float *aviary__w_vec(aviary__weights *W, bool optional, int64_t numel, const char *fmt, ...)
    AVIARY_PRINTF(4, 5);

/* A new aviary_linear (caller owns it; aviary_linear_free) over a contiguous
 * rows x cols view of t starting at element `offset` (t may be NULL after a
 * failed lookup: NULL is returned). transposed: the view is [in, out] rather
 * than nn.Linear's [out, in]. name is only for error messages. */
AVIARY_INTERNAL aviary_linear *aviary__w_lin_view(aviary__weights *W, const aviary_tensor *t, int64_t offset,
                                                  int64_t rows, int64_t cols, bool transposed, const char *name);

/* A new aviary_linear (caller owns it) from the 2-D nn.Linear weight
 * prefix+name of shape [out, in], without bias. */
AVIARY_INTERNAL aviary_linear *aviary__w_lin(aviary__weights *W, int64_t out, int64_t in, const char *fmt, ...)
    AVIARY_PRINTF(4, 5);

/* Size of axis `axis` of tensor prefix+name (which must exist and have more
 * than axis dimensions), 0 with an error otherwise. */
AVIARY_INTERNAL int64_t aviary__w_dim(aviary__weights *W, int axis, const char *fmt, ...) AVIARY_PRINTF(3, 4);

/* How many of prefix+fmt(0), prefix+fmt(1), ... exist in a row (fmt has one
 * %d; at most 100000): the layer count. Never sets an error. */
AVIARY_INTERNAL int aviary__w_count(const aviary__weights *W, const char *fmt);

/* A new aviary_linear (caller owns it; aviary_linear_free) from an nn.Linear
 * with bias: weight prefix+key+".weight" of shape [out, in] and bias
 * prefix+key+".bias" of `out` values. out or in <= 0 accepts any size of
 * that axis; dims (may be NULL) receives {out, in} as found. A missing tensor
 * is aviary_checkpoint_get's error; a wrong shape is "FILE: NAME has shape
 * S, expected [out, in]" (or "expected a 2-D weight" when neither size is
 * fixed) / "expected [out]" for the bias (AVIARY_SHAPE). */
AVIARY_INTERNAL aviary_status aviary__w_linear_bias(const aviary_checkpoint *ck, const char *prefix, const char *key,
                                                    int64_t out, int64_t in, const aviary_linear_params *lp,
                                                    aviary_linear **lin, int64_t dims[2]);

/* *out = a new f32 copy (caller frees) of tensor prefix+key, which must hold
 * exactly n values (any shape). A missing tensor is aviary_checkpoint_get's
 * error; a wrong size "FILE: NAME has shape S, expected N elements"
 * (AVIARY_SHAPE). *out is untouched on error. */
AVIARY_INTERNAL aviary_status aviary__w_copy_f32(const aviary_checkpoint *ck, const char *prefix, const char *key,
                                                 int64_t n, float **out);

#endif
