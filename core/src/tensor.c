/* tensor.c - the aviary_tensor type: sizes, allocation, dtype conversion. */
#include <stdio.h>
#include "internal.h"

static const struct { size_t size; const char *name; } dtype_info[AVIARY_DTYPE_COUNT] = {
    [AVIARY_F32] = {4, "f32"},  [AVIARY_BF16] = {2, "bf16"}, [AVIARY_F16] = {2, "f16"},
    [AVIARY_I8] = {1, "i8"},    [AVIARY_U8] = {1, "u8"},     [AVIARY_I16] = {2, "i16"},
    [AVIARY_I32] = {4, "i32"},  [AVIARY_I64] = {8, "i64"},   [AVIARY_F64] = {8, "f64"},
    [AVIARY_BOOL] = {1, "bool"},
};

size_t aviary_dtype_size(aviary_dtype dt) {
    return ((unsigned)dt < AVIARY_DTYPE_COUNT) ? dtype_info[dt].size : 0;
}

const char *aviary_dtype_name(aviary_dtype dt) {
    return ((unsigned)dt < AVIARY_DTYPE_COUNT) ? dtype_info[dt].name : "?";
}

int64_t aviary_tensor_numel(const aviary_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

bool aviary_tensor_is_contiguous(const aviary_tensor *t) {
    int64_t expect = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] != 1 && t->strides[i] != expect) return false;
        expect *= t->shape[i];
    }
    return true;
}

void aviary_tensor_set_contiguous(aviary_tensor *t) {
    int64_t s = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        t->strides[i] = s;
        s *= t->shape[i];
    }
}

aviary_status aviary_tensor_alloc(aviary_tensor *t, aviary_dtype dt, int ndim, const int64_t *shape) {
    memset(t, 0, sizeof *t);
    if (ndim < 0 || ndim > AVIARY_MAX_DIMS || aviary_dtype_size(dt) == 0)
        return aviary_error(AVIARY_INVALID_ARG, "tensor: bad dtype or ndim %d", ndim);
    size_t bytes = aviary_dtype_size(dt);
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return aviary_error(AVIARY_INVALID_ARG, "tensor: negative dimension %lld", (long long)shape[i]);
        if (!aviary__mul_size(bytes, (size_t)shape[i], &bytes))
            return aviary_error(AVIARY_NOMEM, "tensor: size overflow");
        t->shape[i] = shape[i];
    }
    t->dtype = dt;
    t->ndim = ndim;
    aviary_tensor_set_contiguous(t);
    t->owned = aviary__alloc_aligned(bytes);
    if (!t->owned) return aviary_error(AVIARY_NOMEM, "tensor: cannot allocate %zu bytes", bytes);
    t->data = t->owned;
    return AVIARY_OK;
}

void aviary_tensor_free(aviary_tensor *t) {
    if (!t) return;
    if (t->owned) aviary__free_aligned(t->owned);
    memset(t, 0, sizeof *t);
}

float aviary_bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t aviary_f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u); /* round to nearest even */
    return (uint16_t)(u >> 16);
}

float aviary_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    uint32_t u;
    if (exp == 0) {
        if (man == 0) {
            u = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do { e++; man <<= 1; } while (!(man & 0x400u));
            u = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
        }
    } else if (exp == 31) {
        u = sign | 0x7f800000u | (man << 13);
    } else {
        u = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t aviary_f32_to_f16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000u;
    int32_t exp = (int32_t)((u >> 23) & 0xff) - 127 + 15;
    uint32_t man = u & 0x7fffffu;
    if (((u >> 23) & 0xff) == 0xff) return (uint16_t)(sign | 0x7c00u | (man ? 0x200u : 0));
    if (exp >= 31) return (uint16_t)(sign | 0x7c00u);
    if (exp <= 0) {
        if (exp < -10) return (uint16_t)sign;
        man |= 0x800000u;
        uint32_t shift = (uint32_t)(14 - exp);
        uint32_t half = man >> shift;
        uint32_t rem = man & ((1u << shift) - 1);
        uint32_t mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t h = sign | ((uint32_t)exp << 10) | (man >> 13);
    uint32_t rem = man & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) h++;
    return (uint16_t)h;
}

static float load_f32(const void *base, aviary_dtype dt, int64_t off) {
    switch (dt) {
    case AVIARY_F32: { float v; memcpy(&v, (const char *)base + off * 4, 4); return v; }
    case AVIARY_BF16: { uint16_t v; memcpy(&v, (const char *)base + off * 2, 2); return aviary_bf16_to_f32(v); }
    case AVIARY_F16: { uint16_t v; memcpy(&v, (const char *)base + off * 2, 2); return aviary_f16_to_f32(v); }
    case AVIARY_I8: return (float)((const int8_t *)base)[off];
    case AVIARY_U8: return (float)((const uint8_t *)base)[off];
    case AVIARY_BOOL: return ((const uint8_t *)base)[off] ? 1.0f : 0.0f;
    case AVIARY_I16: { int16_t v; memcpy(&v, (const char *)base + off * 2, 2); return (float)v; }
    case AVIARY_I32: { int32_t v; memcpy(&v, (const char *)base + off * 4, 4); return (float)v; }
    case AVIARY_I64: { int64_t v; memcpy(&v, (const char *)base + off * 8, 8); return (float)v; }
    case AVIARY_F64: { double v; memcpy(&v, (const char *)base + off * 8, 8); return (float)v; }
    default: return 0.0f;
    }
}

aviary_status aviary_tensor_to_f32(const aviary_tensor *t, float *out) {
    if (aviary_dtype_size(t->dtype) == 0) return aviary_error(AVIARY_UNSUPPORTED, "tensor: unknown dtype");
    int64_t n = aviary_tensor_numel(t);
    if (n == 0) return AVIARY_OK;
    if (t->dtype == AVIARY_F32 && aviary_tensor_is_contiguous(t)) {
        memcpy(out, t->data, (size_t)n * 4);
        return AVIARY_OK;
    }
    if (aviary_tensor_is_contiguous(t)) {
        for (int64_t i = 0; i < n; i++) out[i] = load_f32(t->data, t->dtype, i);
        return AVIARY_OK;
    }
    /* General strided walk with an index odometer. */
    int64_t idx[AVIARY_MAX_DIMS] = {0};
    for (int64_t i = 0; i < n; i++) {
        int64_t off = 0;
        for (int d = 0; d < t->ndim; d++) off += idx[d] * t->strides[d];
        out[i] = load_f32(t->data, t->dtype, off);
        for (int d = t->ndim - 1; d >= 0; d--) {
            if (++idx[d] < t->shape[d]) break;
            idx[d] = 0;
        }
    }
    return AVIARY_OK;
}

aviary_status aviary_tensor_to_f32_owned(const aviary_tensor *t, aviary_tensor *dst) {
    aviary_status s = aviary_tensor_alloc(dst, AVIARY_F32, t->ndim, t->shape);
    if (s != AVIARY_OK) return s;
    s = aviary_tensor_to_f32(t, dst->data);
    if (s != AVIARY_OK) aviary_tensor_free(dst);
    return s;
}

const char *aviary_tensor_shape_str(const aviary_tensor *t, char *buf, size_t n) {
    size_t used = 0;
    if (n == 0) return buf;
    buf[0] = '\0';
    used += (size_t)snprintf(buf + used, n - used, "[");
    for (int i = 0; i < t->ndim && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, i ? ", %lld" : "%lld", (long long)t->shape[i]);
    if (used < n) snprintf(buf + used, n - used, "]");
    return buf;
}
