/*
 * aviary_tensor.h - the small tensor type shared by loaders, kernels and plugins.
 *
 * A tensor is a plain struct (like DLPack): dtype, shape, strides in
 * ELEMENTS, and a data pointer. Its storage is either
 *   - owned: allocated by aviary_tensor_alloc(); `owned` is non-NULL and
 *     aviary_tensor_free() releases it; or
 *   - a view: `owned` is NULL and `data` points into memory someone else
 *     owns (typically a memory-mapped checkpoint; the view is valid until
 *     that checkpoint is closed). Views are zero-copy.
 */
#ifndef AVIARY_TENSOR_H
#define AVIARY_TENSOR_H

#include "aviary_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Element types. Values are stable (appended only). */
typedef enum aviary_dtype {
    AVIARY_F32 = 0,
    AVIARY_BF16 = 1,
    AVIARY_F16 = 2,
    AVIARY_I8 = 3,
    AVIARY_U8 = 4,
    AVIARY_I16 = 5,
    AVIARY_I32 = 6,
    AVIARY_I64 = 7,
    AVIARY_F64 = 8,
    AVIARY_BOOL = 9,
    AVIARY_DTYPE_COUNT
} aviary_dtype;

#define AVIARY_MAX_DIMS 8

typedef struct aviary_tensor {
    aviary_dtype dtype;
    int ndim;                          /* 0 = scalar (one element) */
    int64_t shape[AVIARY_MAX_DIMS];
    int64_t strides[AVIARY_MAX_DIMS];  /* in elements, not bytes */
    void *data;                        /* address of element [0,0,...] */
    void *owned;                       /* malloc'd block to free, or NULL for a view */
    const char *name;                  /* optional, borrowed (e.g. checkpoint key) */
} aviary_tensor;

/* Bytes per element (0 for an invalid dtype). */
AVIARY_API size_t aviary_dtype_size(aviary_dtype dt);
/* Short name: "f32", "bf16", "f16", "i8", ... ("?" for invalid). */
AVIARY_API const char *aviary_dtype_name(aviary_dtype dt);

/* Number of elements (product of shape; 1 for a scalar). */
AVIARY_API int64_t aviary_tensor_numel(const aviary_tensor *t);
/* True if strides are the row-major contiguous strides of shape. */
AVIARY_API bool aviary_tensor_is_contiguous(const aviary_tensor *t);
/* Fill t->strides with row-major contiguous strides for t->shape. */
AVIARY_API void aviary_tensor_set_contiguous(aviary_tensor *t);

/* Allocate an owned, zero-filled, contiguous tensor. Data is 64-byte aligned.
 * Fails with AVIARY_NOMEM on overflow or allocation failure, AVIARY_INVALID_ARG
 * for ndim outside [0, AVIARY_MAX_DIMS] or a negative dimension. */
AVIARY_API aviary_status aviary_tensor_alloc(aviary_tensor *t, aviary_dtype dt, int ndim,
                                             const int64_t *shape);
/* Release an owned tensor's storage and zero the struct. No-op for views. */
AVIARY_API void aviary_tensor_free(aviary_tensor *t);

/* Copy any tensor (any dtype among f32/bf16/f16/i8/u8/i16/i32/i64/f64/bool,
 * any strides) into `out`, a caller-provided contiguous float buffer of
 * numel elements. bf16 and f16 are converted exactly. */
AVIARY_API aviary_status aviary_tensor_to_f32(const aviary_tensor *t, float *out);

/* Convenience: allocate an owned contiguous f32 copy of t (dst is overwritten). */
AVIARY_API aviary_status aviary_tensor_to_f32_owned(const aviary_tensor *t, aviary_tensor *dst);

/* Scalar conversions (exact; bf16 from f32 rounds to nearest even). */
AVIARY_API float aviary_bf16_to_f32(uint16_t h);
AVIARY_API uint16_t aviary_f32_to_bf16(float f);
AVIARY_API float aviary_f16_to_f32(uint16_t h);
AVIARY_API uint16_t aviary_f32_to_f16(float f);

/* Format the shape as "[2, 128]" into buf (always NUL-terminated). */
AVIARY_API const char *aviary_tensor_shape_str(const aviary_tensor *t, char *buf, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* AVIARY_TENSOR_H */
