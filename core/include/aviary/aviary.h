/*
 * aviary.h - the root of aviary's public C API.
 *
 * Conventions shared by every aviary_* function (read this once):
 *  - Functions that can fail return an aviary_status. AVIARY_OK is 0; every
 *    other value is an error and aviary_errmsg() then holds a one-line,
 *    human-readable message naming the file/tensor/key and the problem.
 *    The message is per thread and is overwritten by the next failing call
 *    on the same thread (like errno, unlike SQLite's per-connection message,
 *    because aviary objects are shared between threads).
 *  - Handles are opaque. An object returned through an `**out` argument is
 *    owned by the caller and released with the matching *_free/_close/_destroy
 *    function, which accepts NULL. On failure *out is set to NULL.
 *  - Pointers returned by getters (names, tensors, info structs) are borrowed:
 *    they stay valid until the object they came from is freed.
 *  - Public names are aviary_*; internal ones aviary__* (never call those).
 */
#ifndef AVIARY_H
#define AVIARY_H

#include "aviary_base.h"
#include "aviary_tensor.h"
#include "aviary_checkpoint.h"
#include "aviary_linear.h"
#include "aviary_model.h"
#include "aviary_tokenizer.h"
#include "aviary_sampler.h"
#include "aviary_generate.h"
#include "aviary_model_family.h"

#endif /* AVIARY_H */
