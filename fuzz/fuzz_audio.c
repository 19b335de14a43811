/* fuzz_audio.c - libFuzzer target for audio input: decode arbitrary bytes
 * through libsndfile's virtual I/O (aviary_audio_read_memory), select
 * channels both ways, and run a short Kaldi fbank over the start. Any
 * outcome other than AVIARY_OK or a clean error (crash, leak, UB) is a bug.
 * Seed corpus: tests/corpus/audio/. Run with
 * LSAN_OPTIONS=suppressions=fuzz/fuzz_audio.supp (a libsndfile 1.2.0 leak on
 * malformed Ogg/Vorbis headers, see that file). */
#include <stdint.h>
#include <stdlib.h>
#include "aviary/aviary_audio.h"
#include "aviary/aviary_spectrogram.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    aviary_audio a;
    if (aviary_audio_read_memory(data, size, "fuzz", &a) != AVIARY_OK) return 0;
    float *first = NULL, *mean = NULL;
    if (aviary_audio_mono(&a, AVIARY_AUDIO_MIX_FIRST, &first) == AVIARY_OK &&
        aviary_audio_mono(&a, AVIARY_AUDIO_MIX_MEAN, &mean) == AVIARY_OK) {
        aviary_spectrogram_params p;
        aviary_spectrogram_params_arwkv2025(&p);
        aviary_spectrogram *s = NULL;
        int64_t n = a.frames < 8000 ? a.frames : 8000;
        int64_t frames = 0;
        if (aviary_spectrogram_create(&p, &s) == AVIARY_OK && (frames = aviary_spectrogram_n_frames(s, n)) > 0) {
            float *out = malloc((size_t)frames * 128 * sizeof(float));
            if (out) aviary_spectrogram_compute(s, mean, n, out);
            free(out);
        }
        aviary_spectrogram_free(s);
    }
    free(first);
    free(mean);
    aviary_audio_free(&a);
    return 0;
}
