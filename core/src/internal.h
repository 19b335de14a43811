/*
 * internal.h - helpers shared by libaviary's own modules. Not installed;
 * plugins never include it. Names are aviary__* (internal) per the style
 * guide; file-local helpers in .c files are static instead.
 */
#ifndef AVIARY_INTERNAL_H
#define AVIARY_INTERNAL_H

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include "aviary/aviary.h"

/* Internal symbols are hidden from the shared library's ABI but visible to
 * the other object files of libaviary (the static library and tests link them). */
#define AVIARY_INTERNAL __attribute__((visibility("hidden")))

/* Overflow-checked size arithmetic: return false on overflow. */
static inline bool aviary__mul_size(size_t a, size_t b, size_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool aviary__add_size(size_t a, size_t b, size_t *out) {
    return !__builtin_add_overflow(a, b, out);
}

/* 64-byte aligned allocation (zeroed); free with aviary__free_aligned. NULL on
 * failure or overflow. */
AVIARY_INTERNAL void *aviary__alloc_aligned(size_t bytes);
AVIARY_INTERNAL void aviary__free_aligned(void *p);

#endif /* AVIARY_INTERNAL_H */
