/* fuzz_safetensors.c - libFuzzer target for the safetensors checkpoint reader: parse
 * arbitrary bytes as a safetensors file (in memory, as if mapped), then read the
 * first and last byte of every tensor view it produced, so a view reaching
 * outside the input is caught by ASan. Any outcome other than AVIARY_OK or a
 * clean error (crash, leak, UB) is a bug. Seed corpus: tests/corpus/safetensors/. */
#include <stdint.h>
#include <stdlib.h>
#include "fuzz_checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    aviary_checkpoint *ck = aviary__ckpt_new("fuzz.safetensors");
    if (!ck) return 0;
    if (aviary__safetensors_parse(ck, data, size, "fuzz.safetensors") == AVIARY_OK) {
        fuzz_touch_checkpoint(ck);
    }
    aviary_checkpoint_close(ck);
    return 0;
}
