/*
 * aviary_bidir.h - bidirectional (non-causal) RWKV building blocks for
 * encoders over a whole token sequence or a 2-D token grid: Vision-RWKV's
 * Q-shift, the RWKV-6 style bidirectional WKV (VRWKV6, AudioRWKV 2024), the
 * RWKV-7 forward + reversed pass pair (A-RWKV 2025) and the 3x3 depthwise
 * convolution token shift. Implemented in bidir.c on top of the causal
 * recurrences of aviary_blocks.h.
 *
 * Conventions (as in aviary_blocks.h):
 *  - A sequence x is [T, C] row-major. A grid of H x W tokens is stored
 *    row-major as a sequence of T = H*W rows (row h*W + w is grid cell
 *    (h, w)); for spectrograms h is time and w is frequency.
 *  - Nothing here allocates and nothing fails: callers pass sizes that match
 *    their arrays and the scratch space each function asks for.
 *  - Outputs must not alias inputs unless the comment says so.
 *  - The WKV functions start from a zero state (the whole sequence is seen at
 *    once); S is only scratch for the [H, N, N] matrix state.
 */
#ifndef AVIARY_BIDIR_H
#define AVIARY_BIDIR_H

#include "aviary_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reverse the row order: dst[t] = src[T-1-t], rows of C floats. dst must not
 * alias src. */
AVIARY_API void aviary_flip_rows(const float *src, size_t T, size_t C, float *dst);

/* Vision-RWKV Q-shift on an H x W grid with C channels. Channels are taken in
 * groups of `group` channels (group = C is Vision-RWKV's q_shift; group =
 * head_size is the multi-head variant AudioRWKV 2024 uses); with q =
 * group / 4 (rounded down), within each group
 *   channels [0, q)    take the LEFT  neighbour  x[h][w - s]
 *   channels [q, 2q)   take the RIGHT neighbour  x[h][w + s]
 *   channels [2q, 3q)  take the UPPER neighbour  x[h - s][w]
 *   channels [3q, 4q)  take the LOWER neighbour  x[h + s][w]
 *   channels [4q, group) are copied unchanged,
 * with s = shift_pixel and zeros where the neighbour is outside the grid.
 * group must divide C (group 0 means C). y must not alias x. */
AVIARY_API void aviary_q_shift(const float *x, size_t H, size_t W, size_t C, size_t group, size_t shift_pixel,
                               float *y);

/* 3x3 depthwise convolution token shift (A-RWKV's ConvShift without the
 * "- x"): for each channel c, y[h][w][c] = sum_{di,dj in -1..1}
 * k[c][di+1][dj+1] * x[h+di][w+dj][c] with zero padding (a torch Conv2d
 * cross-correlation, groups = C, no bias). k is [C][3][3] as the checkpoint
 * stores a [C, 1, 3, 3] weight. y must not alias x. */
AVIARY_API void aviary_conv_shift_3x3(const float *x, size_t H, size_t W, size_t C, const float *k, float *y);

/* Floats of scratch aviary_bi_wkv6 needs for T rows of C = H*N channels:
 * 5*T*C + C (flipped inputs, the backward output and a zero bonus). */
AVIARY_API size_t aviary_bi_wkv6_scratch(size_t T, size_t C);

/* RWKV-6 style bidirectional WKV (VRWKV6 / AudioRWKV 2024), H heads of N
 * channels (C = H*N), decay data-dependent per row. Per head, with a matrix
 * state S[i key][j value] starting at zero in each direction:
 *   forward  (t = 0..T-1):  yf[t][j] = sum_i r[t][i] * (u[i]*k[t][i]*v[t][j] + S[i][j]);
 *                           S = diag(w[t]) S + k[t] v[t]^T
 *   backward (t = T-1..0):  yb[t][j] = sum_i r[t][i] * S[i][j];
 *                           S = diag(w[t]) S + k[t] v[t]^T
 *   y = yf + yb
 * so token t sees itself once (with the bonus u), the tokens before it
 * through the forward scan and the tokens after it through the backward scan.
 * r, k, v, y: [T, C]; w: [T, C], the decay FACTOR in (0, 1) (exp(-exp(d)));
 * u = time_faaaa: [C]. S: [H, N, N] scratch; scratch: aviary_bi_wkv6_scratch(T, C)
 * floats. y must not alias the inputs. */
AVIARY_API void aviary_bi_wkv6(size_t T, size_t H, size_t N, const float *r, const float *k, const float *v,
                               const float *w, const float *u, float *S, float *scratch, float *y);

/* Vision-RWKV (v4) bidirectional WKV exactly as the official CUDA kernel
 * (classification/mmcls_custom/models/backbones/cuda_new/bi_wkv_kernel.cu,
 * equal to cuda/wkv_cuda.cu) computes it, per channel c with w = w[c] > 0
 * (Vision-RWKV passes spatial_decay / T) and u = u[c] (spatial_first / T):
 * the T tokens are split into 32 chunks of L = ceil(T/32) (trailing chunks
 * may be empty); each chunk accumulates its own tokens with max-tracked
 * exponentials, the chunks' partial sums are combined into a prefix (tokens
 * before the chunk) and a suffix (tokens from the chunk on) with weights
 * e^{-w*L*distance in chunks}, and a per-token pass moves the split point:
 *   y[t] = (c*e1 + a*e2 + e^{u+k[t]}*v[t]) / (d*e1 + b*e2 + e^{u+k[t]} + 1e-6)
 * in the max-scaled domain. This is NOT the paper's formula for T > 32 (the
 * weights depend on the position inside a chunk: "distance - 1" within a
 * chunk, "distance" across chunks, and a residue from the suffix update);
 * checkpoints were trained with the kernel, so aviary reproduces it. Done in
 * float32 like the kernel (the chunk partials are combined by a running
 * recurrence instead of the kernel's O(32) loop per chunk: the same sums);
 * O(T) per channel, vectorised over channels, blocks of 64 channels spread
 * over the OpenMP threads.
 * k, v, y: [T, C]; w, u: [C]. y must not alias k or v. */
AVIARY_API void aviary_bi_wkv4(size_t T, size_t C, const float *w, const float *u, const float *k, const float *v,
                               float *y);

/* Floats of scratch aviary_bi_wkv7 needs: 7*T*C. */
AVIARY_API size_t aviary_bi_wkv7_scratch(size_t T, size_t C);

/* RWKV-7 run in both directions (A-RWKV 2025): y_fwd is aviary_wkv7 on the
 * sequence from a zero state; y_bwd is aviary_wkv7 on the reversed sequence
 * from a zero state, flipped back so that y_bwd[t] belongs to token t. The
 * caller mixes the two (A-RWKV: a per-token, per-head sigmoid gate). Inputs
 * as aviary_wkv7 (aviary_blocks.h): r, w, k, v, kk, a: [T, C], C = H*N.
 * S: [H, N, N] scratch; scratch: aviary_bi_wkv7_scratch(T, C) floats.
 * y_fwd and y_bwd must not alias the inputs or each other. */
AVIARY_API void aviary_bi_wkv7(size_t T, size_t H, size_t N, const float *r, const float *w, const float *k,
                               const float *v, const float *kk, const float *a, float *S, float *scratch,
                               float *y_fwd, float *y_bwd);

#ifdef __cplusplus
}
#endif
#endif /* AVIARY_BIDIR_H */
