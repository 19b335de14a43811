/* test_linear_pool.c - spin_pool (the GEMV thread pool): every item runs
 * exactly once, with workers spinning, asleep, and with several posters at
 * once (the losers fall back); and a pooled GEMV gives bit-identical output
 * on 1 and 2 threads. */
#include <omp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include "aviary/aviary.h"
#include "spin_pool.h"

static int fails;

typedef struct counts {
    int64_t n;
    _Atomic int *hit;
} counts;

static void count_item(void *ctx, int64_t i) {
    counts *c = ctx;
    atomic_fetch_add(&c->hit[i], 1);
}

/* Run one job of n items; 1 if every item ran once, -1 if the pool was refused (then the items ran here). */
static int one_job(int64_t n, int64_t chunk) {
    _Atomic int *hit = calloc((size_t)n, sizeof *hit);
    counts c = {n, hit};
    int r = 1;
    if (!aviary__pool_for(n, chunk, count_item, &c)) {
        r = -1;
        for (int64_t i = 0; i < n; i++) count_item(&c, i);
    }
    for (int64_t i = 0; i < n; i++)
        if (atomic_load(&hit[i]) != 1) r = 0;
    free(hit);
    return r;
}

static void *poster(void *arg) {
    int *res = arg; /* [0]: bad jobs, [1]: jobs refused */
    for (int it = 0; it < 300; it++) {
        int r = one_job(1 + it % 97, 1 + it % 5);
        if (r == 0) res[0]++;
        if (r < 0) res[1]++;
    }
    return NULL;
}

static void gemv_threads(aviary_weight_type wt) {
    const int in = 768, out = 1000;
    float *w = malloc(sizeof(float) * in * out), *x = malloc(sizeof(float) * in);
    float *y1 = malloc(sizeof(float) * out), *y2 = malloc(sizeof(float) * out);
    uint32_t rng = 7;
    for (int i = 0; i < in * out; i++) { rng = rng * 1664525u + 1013904223u; w[i] = (float)((int)(rng >> 20) - 2048) / 2048.0f; }
    for (int i = 0; i < in; i++) { rng = rng * 1664525u + 1013904223u; x[i] = (float)((int)(rng >> 20) - 2048) / 1024.0f; }
    aviary_tensor W = {0};
    W.dtype = AVIARY_F32; W.ndim = 2; W.shape[0] = out; W.shape[1] = in; W.data = w;
    aviary_tensor_set_contiguous(&W);
    aviary_linear_params p = aviary_linear_default_params();
    p.weights = wt;
    aviary_linear *lin = NULL;
    int ok = aviary_linear_create(&W, NULL, &p, &lin) == AVIARY_OK;
    aviary_set_num_threads(1);
    ok = ok && aviary_linear_forward(lin, x, 1, y1) == AVIARY_OK;
    aviary_set_num_threads(2);
    for (int it = 0; ok && it < 50; it++) {
        ok = aviary_linear_forward(lin, x, 1, y2) == AVIARY_OK && memcmp(y1, y2, sizeof(float) * out) == 0;
        if (it % 10 == 9) { /* long enough for the worker to go to sleep */
            struct timespec ts = {0, 3000000};
            nanosleep(&ts, NULL);
        }
    }
    if (!ok) fails++;
    printf("%s GEMV %s 1000x768 m=1: 2 threads bit-identical to 1 thread over 50 calls\n", ok ? "ok  " : "FAIL",
           aviary_weight_type_name(wt));
    aviary_linear_free(lin);
    free(w); free(x); free(y1); free(y2);
}

int main(void) {
    for (int nt = 1; nt <= 4; nt++) {
        aviary_set_num_threads(nt);
        int bad = 0, refused = 0;
        for (int it = 0; it < 2000; it++) {
            int r = one_job(1 + (it * 37) % 301, 1 + it % 7);
            if (r == 0) bad++;
            if (r < 0) refused++;
            if (it % 500 == 499) { /* let the workers fall asleep, then wake them */
                struct timespec ts = {0, 5000000};
                nanosleep(&ts, NULL);
            }
        }
        int ok = !bad && !refused;
        if (!ok) fails++;
        printf("%s %d threads: 2000 jobs, %d with an item not run exactly once, %d refused\n", ok ? "ok  " : "FAIL", nt,
               bad, refused);
    }
    /* several threads posting at once: each job still runs every item once */
    aviary_set_num_threads(2);
    enum { NP = 3 };
    pthread_t th[NP];
    int res[NP][2] = {{0}};
    for (int t = 0; t < NP; t++) pthread_create(&th[t], NULL, poster, res[t]);
    int bad = 0, refused = 0;
    for (int t = 0; t < NP; t++) {
        pthread_join(th[t], NULL);
        bad += res[t][0];
        refused += res[t][1];
    }
    if (bad) fails++;
    printf("%s %d concurrent posters x 300 jobs: %d bad, %d fell back\n", bad ? "FAIL" : "ok  ", NP, bad, refused);
    /* inside an OpenMP region the pool refuses (the caller's OpenMP loop runs instead) */
    int in_par = 0;
#pragma omp parallel num_threads(2)
    {
#pragma omp single
        in_par = one_job(50, 4);
    }
    if (in_par != -1) fails++;
    printf("%s refused inside an OpenMP parallel region\n", in_par == -1 ? "ok  " : "FAIL");
    gemv_threads(AVIARY_WEIGHTS_F32);
    gemv_threads(AVIARY_WEIGHTS_BF16);
    gemv_threads(AVIARY_WEIGHTS_INT8);
    printf("%s\n", fails ? "FAILED" : "all passed");
    return fails ? 1 : 0;
}
