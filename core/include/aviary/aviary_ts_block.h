/*
 * aviary_ts_block.h - the RWKV "x051a" block (nanoRWKV RWKV-5 style) used by
 * RWKV-TS: a reusable core block that runs on B independent sequences of T
 * tokens of width C.
 *
 *   x = x + tmix(ln_1(x));  x = x + cmix(ln_2(x))
 *   tmix: token shift (previous token, zero before the first), xx = shift(x) - x,
 *         x_* = x + xx * time_maa_*; r,k,v,g = Linear_*(x_*) (with biases);
 *         multi-head WKV with ONE decay and ONE bonus per head:
 *             w_h = exp(-exp(time_decay[h])), u_h = time_faaaa[h]
 *             y_t = r_t (u_h k_t^T v_t + S),  S <- w_h S + k_t^T v_t  (S zero at t=0)
 *         GroupNorm(n_head groups, eps 6.4e-4 by default) per token, * silu(g),
 *         output Linear.
 *   cmix: token shift as above with time_maa_k/r; k = relu(key(xk))^2 (width
 *         3C in RWKV-TS), out = sigmoid(receptance(xr)) * value(k).
 *
 * Built from the core block library (aviary_blocks.h: LayerNorm, GroupNorm,
 * token shift, maa lerp, and aviary_wkv5 with the per-head decay and bonus
 * broadcast over the head's channels, which is the same recurrence) and
 * aviary_linear for every dense layer.
 *
 * Weights are read from a checkpoint under a key prefix such as "rwkv.0."
 * (ln_1.*, tmix.*, ln_2.*, cmix.*); the head count comes from time_decay's
 * shape [H, 1]. A block is immutable after creation and may run from any
 * number of threads at once.
 *
 * Owned by the time-series ("ts") module; implemented in core/src/ts_block.c.
 */
#ifndef AVIARY_TS_BLOCK_H
#define AVIARY_TS_BLOCK_H

#include "aviary_checkpoint.h"
#include "aviary_linear.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct aviary_x051a_block aviary_x051a_block;

typedef struct aviary_x051a_params {
    double ln_eps;           /* LayerNorm eps, default 1e-5 */
    double gn_eps;           /* GroupNorm (ln_x) eps, default 6.4e-4 (1e-5 * 64 in the reference) */
    aviary_weight_type weights;
} aviary_x051a_params;

AVIARY_API aviary_x051a_params aviary_x051a_default_params(void);

/* Build the block from the tensors under `prefix` (e.g. "rwkv.0."). Missing
 * keys or inconsistent shapes fail with a message naming the checkpoint and key. */
AVIARY_API aviary_status aviary_x051a_block_create(const aviary_checkpoint *ck, const char *prefix,
                                                   const aviary_x051a_params *params, aviary_x051a_block **out);
AVIARY_API void aviary_x051a_block_free(aviary_x051a_block *b);

AVIARY_API int aviary_x051a_block_width(const aviary_x051a_block *b);   /* C */
AVIARY_API int aviary_x051a_block_heads(const aviary_x051a_block *b);   /* H */
AVIARY_API int aviary_x051a_block_ffn(const aviary_x051a_block *b);     /* channel-mix hidden width */
AVIARY_API int64_t aviary_x051a_block_params(const aviary_x051a_block *b);

/* x: [n_seq][T][C] contiguous f32, updated in place. */
AVIARY_API aviary_status aviary_x051a_block_forward(const aviary_x051a_block *b, float *x, int64_t n_seq, int64_t T);

#ifdef __cplusplus
}
#endif
#endif /* AVIARY_TS_BLOCK_H */
