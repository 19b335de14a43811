/* fuzz_image.c - libFuzzer target for image input: decode arbitrary bytes
 * (aviary_image_load_memory: PNG, JPEG, BMP, GIF, TGA, PSD, PNM) and, when
 * a small image comes out, run the preprocessing (Pillow bicubic resize of
 * the short side to 24, 20x20 centre crop, normalisation). Any outcome other
 * than AVIARY_OK or a clean error (crash, leak, UB) is a bug.
 * Seed corpus: tests/corpus/image/. */
#include <stdint.h>
#include <stdlib.h>
#include "aviary/aviary_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    aviary_image img;
    if (aviary_image_load_memory(data, size, "fuzz", &img) != AVIARY_OK) return 0;
    if ((long long)img.width * img.height <= 1 << 20) {
        aviary_image_preprocess p = aviary_image_preprocess_default();
        p.resize_short = 24;
        p.crop_h = p.crop_w = 20;
        float *chw = NULL;
        int h = 0, w = 0;
        aviary_image_preprocess_run(&img, &p, &chw, &h, &w);
        free(chw);
    }
    aviary_image_free(&img);
    return 0;
}
