/* fuzz_safetensors.c - libFuzzer target for the safetensors checkpoint reader: parse
 * arbitrary bytes as a safetensors file (in memory, as if mapped), then read the
 * first and last byte of every tensor view it produced, so a view reaching
 * outside the input is caught by ASan. Any outcome other than AVIARY_OK or a
 * clean error (crash, leak, UB) is a bug. Seed corpus: tests/corpus/safetensors/. */
#include <stdint.h>
#include <stdlib.h>
#include "checkpoint_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    aviary_checkpoint *ck = aviary__ckpt_new("fuzz.safetensors");
    if (!ck) return 0;
    if (aviary__safetensors_parse(ck, data, size, "fuzz.safetensors") == AVIARY_OK) {
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
    }
    aviary_checkpoint_close(ck);
    return 0;
}
