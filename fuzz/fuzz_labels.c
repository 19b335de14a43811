/* fuzz_labels.c - libFuzzer target for class-label files
 * (aviary_label_list_parse): arbitrary bytes as a label file, then every name
 * and id read back and one top-k over the class count. Any outcome other
 * than AVIARY_OK or a clean error (crash, leak, UB) is a bug.
 * Seed corpus: tests/corpus/labels/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "aviary/aviary_tagging.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    aviary_label_list *l = NULL;
    if (aviary_label_list_parse((const char *)data, size, "fuzz.csv", &l) != AVIARY_OK) return 0;
    size_t n = aviary_label_list_count(l), total = 0;
    for (size_t i = 0; i < n; i++) total += strlen(aviary_label_list_name(l, i)) + strlen(aviary_label_list_id(l, i));
    float *x = malloc(n * sizeof(float));
    size_t *idx = malloc(n * sizeof(size_t));
    if (x && idx) {
        for (size_t i = 0; i < n; i++) x[i] = (float)((i * 2654435761u) % 97);
        aviary_scores_top_k(x, n, 5, idx);
    }
    free(x);
    free(idx);
    aviary_label_list_free(l);
    (void)total;
    return 0;
}
