/* fuzz_checkpoint.h - what the checkpoint-reader fuzzers (fuzz_safetensors.c,
 * fuzz_pth.c) do with a checkpoint their parser accepted. Header-only. */
#ifndef AVIARY_FUZZ_CHECKPOINT_H
#define AVIARY_FUZZ_CHECKPOINT_H

#include "checkpoint_internal.h"
#include "aviary/aviary_model_family.h"

/* Read the first and last byte of every tensor view of ck (so a view that
 * reaches outside the input is caught by ASan), look each name up again, and
 * run family recognition, which sees hostile names and shapes too. */
static void fuzz_touch_checkpoint(aviary_checkpoint *ck) {
    volatile unsigned sum = 0;
    for (size_t i = 0; i < aviary_checkpoint_count(ck); i++) {
        const aviary_tensor *t = aviary_checkpoint_at(ck, i);
        if (aviary_tensor_numel(t) == 0) continue;
        /* Last element: sum of (shape-1)*stride (strides are non-negative). */
        int64_t last = 0;
        for (int d = 0; d < t->ndim; d++) last += (t->shape[d] - 1) * t->strides[d];
        const unsigned char *p = t->data;
        size_t es = aviary_dtype_size(t->dtype);
        sum += p[0] + p[(size_t)last * es + es - 1];
        (void)aviary_checkpoint_find(ck, t->name);
    }
    (void)sum;
    aviary_family_info fam;
    (void)aviary_family_detect(ck, &fam);
}

#endif
