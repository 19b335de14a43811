/*
 * aviary_blocks.h - the reusable RWKV building blocks, as plain functions on
 * contiguous row-major float arrays. Owned by the LM ("lm") module; the
 * vision, audio and time-series plugins call these too.
 *
 * Conventions for every function here:
 *  - A "sequence" x is [T, C]: T rows (tokens) of C floats, row-major.
 *  - Outputs may alias inputs only where the comment says so.
 *  - Nothing allocates and nothing fails: the caller checks shapes. These are
 *    hot loops; pass sizes that match the arrays.
 *  - "state" arguments are the caller's carried recurrent state and are read
 *    at the start and overwritten with the state after the last row.
 *  - Numbers follow the official reference code (ChatRWKV RWKV_in_150_lines.py,
 *    RWKV_v5_demo.py, RWKV_v6_demo.py, RWKV-LM RWKV-v7/rwkv_v7_demo_rnn.py),
 *    computed in float32 (sums in float32, one pass for the mean, a second for
 *    the variance, as torch does on CPU up to rounding).
 *
 * Implemented in norm.c (norms), token_mix.c (token shift, lerps, channel
 * mix helpers) and wkv.c (the causal WKV recurrences).
 */
#ifndef AVIARY_BLOCKS_H
#define AVIARY_BLOCKS_H

#include "aviary_base.h"
#include "aviary_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- norms -- */

/* LayerNorm over the last dimension, like torch.nn.functional.layer_norm:
 *   y[r, c] = (x[r, c] - mean_r) / sqrt(var_r + eps) * w[c] + b[c]
 * with mean_r and var_r (biased, divide by dim) over row r. x, y: [n_rows, dim];
 * w, b: [dim] (either may be NULL: weight 1 / bias 0). y may equal x.
 * RWKV LMs use eps = 1e-5. */
AVIARY_API void aviary_layer_norm(const float *x, size_t n_rows, size_t dim, const float *w, const float *b,
                                  float eps, float *y);

/* GroupNorm with one group per head, applied to each row independently, like
 * torch.nn.functional.group_norm(x.view(n_rows, n_groups*group_size), n_groups, w, b, eps):
 *   for each row r and group g (channels g*group_size .. (g+1)*group_size-1):
 *   y = (x - mean_rg) / sqrt(var_rg + eps) * w[c] + b[c]
 * x, y: [n_rows, n_groups * group_size]; w, b: [n_groups * group_size] (NULL ok).
 * y may equal x. RWKV-5.2/6/7 ln_x uses eps = 64e-5 (= 1e-5 * head_size_divisor^2
 * with divisor 8, the reference's "same as gn(x/8, eps=1e-5)"); RWKV-5.0 used 1e-5. */
AVIARY_API void aviary_group_norm(const float *x, size_t n_rows, size_t n_groups, size_t group_size,
                                  const float *w, const float *b, float eps, float *y);

/* ------------------------------------------------- token shift and mixes -- */

/* Token shift with a carried state: prev[t] = x[t-1] for t >= 1 and
 * prev[0] = state; then state = x[T-1]. x, prev: [T, C]; state: [C].
 * prev must not alias x. (Vision/audio Q-shift is a different, spatial shift.) */
AVIARY_API void aviary_token_shift(const float *x, size_t T, size_t C, float *state, float *prev);

/* RWKV-4/5 time_mix lerp: y = x * mix + prev * (1 - mix), mix: [C]. x, prev, y: [T, C].
 * y may equal x or prev. */
AVIARY_API void aviary_mix_lerp(const float *x, const float *prev, size_t T, size_t C, const float *mix, float *y);

/* RWKV-6/7 "maa" lerp: y = x + (prev - x) * mix, mix: [C] (static) . y may equal x or prev. */
AVIARY_API void aviary_maa_lerp(const float *x, const float *prev, size_t T, size_t C, const float *mix, float *y);

/* RWKV-6 data-dependent lerp second stage, per row t:
 *   y = x + (prev - x) * (mix[c] + m[t, c])
 * where m: [T, C] is the LoRA output for this target (tanh(xxx @ maa_w1) @ maa_w2[j]).
 * y may equal x, prev or m. */
AVIARY_API void aviary_ddlerp(const float *x, const float *prev, const float *m, size_t T, size_t C,
                              const float *mix, float *y);

/* Elementwise helpers on n floats (y may equal x): */
AVIARY_API void aviary_sigmoid(const float *x, size_t n, float *y);        /* 1 / (1 + exp(-x)) */
AVIARY_API void aviary_silu(const float *x, size_t n, float *y);           /* x * sigmoid(x) */
AVIARY_API void aviary_relu_square(const float *x, size_t n, float *y);    /* max(x, 0)^2 (channel mix key) */
AVIARY_API void aviary_tanh(const float *x, size_t n, float *y);
AVIARY_API void aviary_mul(const float *a, const float *b, size_t n, float *y);    /* y = a * b */
AVIARY_API void aviary_add(const float *a, const float *b, size_t n, float *y);    /* y = a + b */

/* RWKV-7 (Goose) time-mix steps around aviary_wkv7, on rows of C = H * N
 * channels (rwkv_v7_demo_rnn.py). Rows are independent; sequences run on the
 * OpenMP threads. */

/* x = sigmoid(b + x), b: [C], x: [T, C]: the in-context learning rate
 * a = sigmoid(a0 + lora). */
AVIARY_API void aviary_sigmoid_bias(const float *b, size_t T, size_t C, float *x);

/* Value residual: v += (vfirst - v) * sigmoid(b + g), b = v0: [C];
 * v, vfirst, g: [T, C] (vfirst is layer 0's v of the same rows). */
AVIARY_API void aviary_v7_value_residual(const float *vfirst, const float *b, const float *g, size_t T, size_t C,
                                         float *v);

/* Keys for the delta rule, per row and head:
 *   kk = normalize(k * k_k)  (F.normalize: q / max(||q||_2, 1e-12))
 *   k  = k * (1 + (a - 1) * k_a)
 * k_k, k_a: [C]; k, a, kk: [T, C]; k is updated in place; kk must not
 * alias k or a. */
AVIARY_API void aviary_wkv7_keys(const float *k_k, const float *k_a, const float *a, size_t T, size_t H, size_t N,
                                 float *k, float *kk);

/* The "bonus" term added to the normalised WKV output, per row and head:
 *   y += (sum_j r[j] * k[j] * r_k[j]) * v
 * r_k: [C] (the checkpoint's [H, N]); r, k, v, y: [T, C]. */
AVIARY_API void aviary_wkv7_bonus(const float *r, const float *k, const float *v, const float *r_k, size_t T,
                                  size_t H, size_t N, float *y);

/* -------------------------------------------------------- WKV recurrences -- */
/* All are causal and process rows t = 0..T-1 in order, starting from the
 * carried state and leaving the state after row T-1 in it. For T > 1 the
 * heads of RWKV-5/6/7 are spread over the OpenMP threads. A bidirectional
 * (Vision-RWKV) variant goes next to these as a separate function. */

/* RWKV-4 (Dove) WKV with max tracking, per channel c (C channels):
 *   ww = u + k;  q = max(pp, ww);  e1 = exp(pp - q);  e2 = exp(ww - q)
 *   y  = (e1*aa + e2*v) / (e1*bb + e2)
 *   ww = pp + w; q = max(ww, k);   e1 = exp(ww - q);  e2 = exp(k - q)
 *   aa = e1*aa + e2*v;  bb = e1*bb + e2;  pp = q
 * w = -exp(time_decay) (already negated, [C]); u = time_first [C];
 * k, v, y: [T, C]; aa, bb, pp: [C] (fresh state: aa = bb = 0, pp = -1e30).
 * y may equal k or v. */
AVIARY_API void aviary_wkv4(size_t T, size_t C, const float *w, const float *u, const float *k, const float *v,
                            float *aa, float *bb, float *pp, float *y);

/* RWKV-5 (Eagle 5.2) and RWKV-6 (Finch) WKV, H heads of N channels (C = H*N).
 * State S: [H, N, N], S[h][i][j] with i = KEY channel, j = VALUE channel.
 * For each row t and head h (channel indices within the head):
 *   y[j]     = sum_i r[i] * (u[i] * k[i] * v[j] + S[i][j])
 *   S[i][j]  = w[i] * S[i][j] + k[i] * v[j]
 * r, k, v, y: [T, C]; u = time_faaaa: [C]; w is the decay FACTOR
 * exp(-exp(time_decay)) in (0, 1): aviary_wkv5 takes a static w [C],
 * aviary_wkv6 a per-row w [T, C] (Finch data-dependent decay).
 * y must not alias the inputs. */
AVIARY_API void aviary_wkv5(size_t T, size_t H, size_t N, const float *r, const float *k, const float *v,
                            const float *w, const float *u, float *S, float *y);
AVIARY_API void aviary_wkv6(size_t T, size_t H, size_t N, const float *r, const float *k, const float *v,
                            const float *w, const float *u, float *S, float *y);

/* RWKV-7 (Goose) generalised delta rule, H heads of N channels.
 * State S: [H, N, N], S[h][i][j] with i = VALUE channel, j = KEY channel
 * (TRANSPOSED w.r.t. RWKV-5/6, as rwkv_v7_demo_rnn.py stores it).
 * For each row t and head h:
 *   sa[i]    = sum_j S[i][j] * (-kk[j])
 *   S[i][j]  = S[i][j] * w[j] + sa[i] * (kk[j] * a[j]) + v[i] * k[j]
 *   y[i]     = sum_j S[i][j] * r[j]           (with the updated S)
 * r, w, k, v, kk, a, y: [T, C]. w is the decay factor exp(-exp(-0.5) *
 * sigmoid(w0 + lora)) in (0, 1); kk the per-head L2-normalised key; a the
 * in-context learning rate in (0, 1); k already scaled by (1 + (a-1) * k_a).
 * y must not alias the inputs. */
AVIARY_API void aviary_wkv7(size_t T, size_t H, size_t N, const float *r, const float *w, const float *k,
                            const float *v, const float *kk, const float *a, float *S, float *y);

#ifdef __cplusplus
}
#endif
#endif /* AVIARY_BLOCKS_H */
