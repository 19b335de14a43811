/*
 * checkpoint_internal.h - the contract between checkpoint.c (the generic
 * container: mappings, tensor table, lookup) and the format readers
 * (ckpt_safetensors.c, ckpt_pth.c). Readers map files through
 * aviary__ckpt_map() and append tensors with aviary__ckpt_add(); the
 * container owns every mapping and name and frees them on close.
 */
#ifndef AVIARY_CHECKPOINT_INTERNAL_H
#define AVIARY_CHECKPOINT_INTERNAL_H

#include "internal.h"

typedef struct aviary__mapping {
    void *base;
    size_t size;
} aviary__mapping;

struct aviary_checkpoint {
    char *path;
    aviary_checkpoint_format format;
    aviary__mapping *maps;
    size_t n_maps, cap_maps;
    aviary_tensor *tensors;  /* tensor[i].name points to names[i] */
    char **names;
    size_t n_tensors, cap_tensors;
    /* Open-addressing hash of names -> index+1 (0 = empty), rebuilt on add. */
    size_t *index;
    size_t index_cap;
};

/* mmap `path` read-only and record the mapping in ck (unmapped on close).
 * An empty file maps to base=NULL,size=0. */
AVIARY_INTERNAL aviary_status aviary__ckpt_map(aviary_checkpoint *ck, const char *path, const void **base,
                                               size_t *size);

/* Append a tensor view. `name` is copied. strides may be NULL for contiguous.
 * The caller has already checked that every element lies inside a mapping.
 * Fails with AVIARY_FORMAT on a duplicate name. */
AVIARY_INTERNAL aviary_status aviary__ckpt_add(aviary_checkpoint *ck, const char *name, aviary_dtype dt, int ndim,
                                               const int64_t *shape, const int64_t *strides, const void *data);

/* Byte span [first, last] touched by a strided view with element size es.
 * Returns false if any dimension is negative or the span overflows. An empty
 * tensor touches nothing (*bytes_needed = 0). On success *bytes_needed is the
 * number of bytes from the element-0 address to one past the last element
 * (strides must be non-negative). */
AVIARY_INTERNAL bool aviary__ckpt_span(int ndim, const int64_t *shape, const int64_t *strides, size_t es,
                                       uint64_t *bytes_needed);

/* Format readers: fill ck (already holding path) or return an error whose
 * message names the file. */
AVIARY_INTERNAL aviary_status aviary__safetensors_read(aviary_checkpoint *ck, const char *path);
AVIARY_INTERNAL aviary_status aviary__safetensors_read_index(aviary_checkpoint *ck, const char *index_path);
AVIARY_INTERNAL aviary_status aviary__pth_read(aviary_checkpoint *ck, const char *path);
/* If path is one shard of a "<stem>-0000K-of-0000M.<ext>" set (M > 1), read
 * every shard 1..M (each safetensors or torch zip) and set *is_set; else
 * leave ck alone and clear *is_set. */
AVIARY_INTERNAL aviary_status aviary__ckpt_read_shard_set(aviary_checkpoint *ck, const char *path, bool *is_set);

/* Parse-only entry points for fuzzing: read a checkpoint from a memory
 * buffer (no file, no mmap); the buffer must outlive ck. */
AVIARY_INTERNAL aviary_status aviary__safetensors_parse(aviary_checkpoint *ck, const void *buf, size_t size,
                                                        const char *what);
AVIARY_INTERNAL aviary_status aviary__pth_parse(aviary_checkpoint *ck, const void *buf, size_t size,
                                                const char *what);
/* An empty checkpoint shell named `what` (for fuzzing and tests). */
AVIARY_INTERNAL aviary_checkpoint *aviary__ckpt_new(const char *what);

#endif
