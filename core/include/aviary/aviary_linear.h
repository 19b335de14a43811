/*
 * aviary_linear.h - dense layers: y = x W^T (+ b), the one place aviary
 * multiplies matrices. Backed by oneDNN's matmul primitive (dnnl.h, 2.6 C
 * API) with a portable C fallback behind the same functions.
 *
 * The weight W is given in PyTorch nn.Linear layout [out, in] (or [in, out]
 * with params.transposed, as RWKV-6's LoRA matrices time_maa_w1 etc. are used
 * as x @ W). At create time it is converted once to the requested precision
 * and pre-packed in the backend's preferred layout (dnnl_format_tag_any); the
 * source tensor is not referenced afterwards and may be closed.
 *
 * A linear is immutable after creation: forward may be called concurrently
 * from any number of threads. Activations and outputs are always f32.
 *
 * Backends: oneDNN by default -- one-token calls (m <= 4) run aviary's own
 * AVX-512 GEMV kernels over the packed blocks (memory bound), larger m the
 * oneDNN matmul primitive (AMX / AVX-512). The environment variable
 * AVIARY_MATMUL=c, read at create time, selects the portable C loops instead
 * (also the fallback where oneDNN's layout is not one aviary recognises).
 * Precision: bf16 weights are computed with f32 x (exactly in the GEMV, to
 * ~2^-16 via a bf16 hi + lo split in the primitive); int8 weights (symmetric,
 * per-output-channel scale) are computed with x quantized per row in two
 * int8 levels (value + residual, ~15 bits) on the oneDNN backend, f32 x on
 * the C one. docs/precision.md has the logit error each costs.
 */
#ifndef AVIARY_LINEAR_H
#define AVIARY_LINEAR_H

#include "aviary_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How weights are stored for compute. */
typedef enum aviary_weight_type {
    AVIARY_WEIGHTS_AUTO = 0,  /* as the checkpoint stores them: bf16 stays bf16, f16 -> f32, f32 stays f32 */
    AVIARY_WEIGHTS_F32 = 1,
    AVIARY_WEIGHTS_BF16 = 2,
    AVIARY_WEIGHTS_INT8 = 3   /* symmetric int8, one f32 scale per output channel */
} aviary_weight_type;

AVIARY_API const char *aviary_weight_type_name(aviary_weight_type t);
/* Parse "auto"/"f32"/"bf16"/"int8"; AVIARY_INVALID_ARG otherwise. */
AVIARY_API aviary_status aviary_weight_type_parse(const char *s, aviary_weight_type *out);

typedef struct aviary_linear_params {
    aviary_weight_type weights;  /* default AVIARY_WEIGHTS_AUTO */
    bool transposed;             /* W is given as [in, out]; default false */
} aviary_linear_params;

AVIARY_API aviary_linear_params aviary_linear_default_params(void);

typedef struct aviary_linear aviary_linear;

/* Build a linear from a 2-D weight (any dtype convertible to f32, any
 * strides) and an optional 1-D bias of length out (NULL for none).
 * params may be NULL for defaults. */
AVIARY_API aviary_status aviary_linear_create(const aviary_tensor *weight, const aviary_tensor *bias,
                                              const aviary_linear_params *params, aviary_linear **out);
AVIARY_API void aviary_linear_free(aviary_linear *lin);

AVIARY_API int64_t aviary_linear_in(const aviary_linear *lin);
AVIARY_API int64_t aviary_linear_out(const aviary_linear *lin);
AVIARY_API aviary_weight_type aviary_linear_weight_type(const aviary_linear *lin);
/* Bytes of packed weights (+ scales + bias) held. */
AVIARY_API size_t aviary_linear_bytes(const aviary_linear *lin);

/* y[m, out] = x[m, in] W^T (+ b). x and y are contiguous row-major f32 and
 * must not overlap. m >= 1; m == 1 (one token) takes a GEMV-shaped path. */
AVIARY_API aviary_status aviary_linear_forward(const aviary_linear *lin, const float *x, int64_t m, float *y);

/* One line naming the matmul paths this CPU gets, for benchmarks and bug
 * reports: oneDNN's instruction set, aviary's own one-token kernels (avx512
 * +vnni +bf16, avx2 or portable) and the one-token stream count, e.g.
 * "oneDNN avx512_core_bf16; kernels avx512+vnni+bf16; one-token streams 1".
 * The string is static, owned by the library, valid for the process. */
AVIARY_API const char *aviary_linear_cpu_info(void);

#ifdef __cplusplus
}
#endif
#endif /* AVIARY_LINEAR_H */
