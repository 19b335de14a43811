/* bench_visual_rwkv.c - VisualRWKV image question answering speed on random
 * weights of a real shape.
 * Usage: bench_visual_rwkv [THREADS=2] [ANSWER_TOKENS=16] [PRECISION=bf16]
 *                          [LM=rwkv6:L24:D2048:V65536] [CLIP=clip336:P14:D1024:L24]
 * Defaults are the VisualRWKV-6 1B6 release: CLIP-L/14 at 336 px (577 image
 * tokens) + RWKV-6 24x2048, vocab 65536, bf16 weights as released.
 * Prints: image encoding (CLIP + projection), prefill of the sandwich prompt
 * (10 text + 577 image + 23 text tokens, layer-major with the odd-layer
 * flip), time to first answer token (encode + prefill + head), and answer
 * tokens/s in RNN mode. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "aviary/aviary_visual_rwkv.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int32_t argmax(const float *x, int n) {
    int32_t b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2, n_ans = argc > 2 ? atoi(argv[2]) : 16;
    const char *prec = argc > 3 ? argv[3] : "bf16";
    const char *lm = argc > 4 ? argv[4] : "rwkv6:L24:D2048:V65536";
    const char *clip = argc > 5 ? argv[5] : "clip336:P14:D1024:L24";
    aviary_weight_type wt;
    if (threads < 1 || n_ans < 1 || aviary_weight_type_parse(prec, &wt)) {
        fprintf(stderr, "usage: bench_visual_rwkv [THREADS] [ANSWER_TOKENS] [PRECISION] [LM_SPEC] [CLIP_SPEC]\n");
        return 2;
    }
    aviary_set_num_threads(threads);
    aviary_vrwkv *v = NULL;
    double t0 = now();
    if (aviary_vrwkv_random(lm, clip, 42, wt, &v)) {
        fprintf(stderr, "bench_visual_rwkv: %s\n", aviary_errmsg());
        return 1;
    }
    double t_build = now() - t0;
    const aviary_model *m = aviary_vrwkv_lm(v);
    const aviary_model_info *mi = aviary_model_get_info(m);
    const aviary_clip_vit_info *vi = aviary_clip_vit_get_info(aviary_vrwkv_vision(v));
    const size_t S = (size_t)vi->image_size, P1 = (size_t)vi->n_patches + 1, C = (size_t)mi->n_embd;
    const size_t nb = 10, na = 23, T = nb + P1 + na;
    float *pix = malloc(3 * S * S * sizeof(float)), *emb = malloc(P1 * C * sizeof(float));
    float *x = malloc(T * C * sizeof(float)), *logits = malloc((size_t)mi->vocab_size * sizeof(float));
    int32_t ids[64];
    for (size_t i = 0; i < 64; i++) ids[i] = (int32_t)(1000 + 37 * i);
    aviary_state *s = NULL;
    if (!pix || !emb || !x || !logits || aviary_state_create(m, &s)) return 1;
    for (size_t i = 0; i < 3 * S * S; i++) pix[i] = (float)((int)(i % 251) - 125) / 60.0f;
    double a = now();
    if (aviary_vrwkv_encode_image(v, pix, NULL, emb)) goto fail;
    double b = now();
    if (aviary_vrwkv_assemble(m, ids, nb, emb, P1, ids + nb, na, x) ||
        aviary_vrwkv_prefill(m, s, x, T, nb, nb + P1 - 1, NULL, logits))
        goto fail;
    int32_t tok = argmax(logits, mi->vocab_size);
    double c = now();
    for (int i = 1; i < n_ans; i++) {
        if (aviary_model_eval(m, s, &tok, 1, logits)) goto fail;
        tok = argmax(logits, mi->vocab_size);
    }
    double d = now();
    printf("VisualRWKV random weights (%s): CLIP %zupx/%d D%d L%d + RWKV-%d L%d D%d V%d, %s, threads %d "
           "(built in %.1f s)\n", lm, S, vi->patch_size, vi->hidden, vi->n_layer, mi->version, mi->n_layer,
           mi->n_embd, mi->vocab_size, aviary_weight_type_name(mi->weights), threads, t_build);
    printf("  image encoding (CLIP + projection, %zu tokens): %.2f s\n", P1, b - a);
    printf("  prefill (%zu tokens, layer-major, flip):      %.2f s (%.0f tokens/s)\n", T, c - b, (double)T / (c - b));
    printf("  time to first answer token:                 %.2f s\n", c - a);
    printf("  answer: %d more tokens in %.2f s = %.2f tokens/s\n", n_ans - 1, d - c, (double)(n_ans - 1) / (d - c));
    aviary_state_free(s);
    aviary_vrwkv_free(v);
    free(pix); free(emb); free(x); free(logits);
    return 0;
fail:
    fprintf(stderr, "bench_visual_rwkv: %s\n", aviary_errmsg());
    return 1;
}
