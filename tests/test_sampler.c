/* test_sampler.c - sampling properties on fixed logits: greedy is the
 * argmax, top-k and top-p never leave their set (and the set is the one
 * ChatRWKV's rule gives), temperature reshapes as p^(1/T), penalties and
 * their decay, bans, stop tokens, seeds, parameter errors, stop strings. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "aviary/aviary.h"

#include "test_util.h"

static aviary_sampler *make(aviary_sampler_params p, int32_t V) {
    aviary_sampler *s = NULL;
    CHECK(aviary_sampler_create(&p, V, &s) == AVIARY_OK);
    return s;
}

/* Draw n tokens; counts[V] receives how often each came. */
static void draw(aviary_sampler *s, const float *logits, int32_t V, int n, int *counts) {
    memset(counts, 0, (size_t)V * sizeof *counts);
    for (int i = 0; i < n; i++) {
        int32_t t = -1;
        CHECK(aviary_sampler_sample(s, logits, &t) == AVIARY_OK);
        if (t >= 0 && t < V) counts[t]++;
        else failures++;
    }
}

static void test_greedy(void) {
    enum { V = 1000 };
    static float l[V];
    unsigned seed = 1;
    aviary_sampler_params p = aviary_sampler_default_params();
    p.temperature = 0;
    p.seed = 1;
    aviary_sampler *s = make(p, V);
    if (!s) return;
    for (int round = 0; round < 20; round++) {
        int32_t arg = 0;
        for (int i = 0; i < V; i++) {
            seed = seed * 1103515245u + 12345u;
            l[i] = (float)((seed >> 8) % 100000) / 1000.0f - 50.0f;
            if (l[i] > l[arg]) arg = i;
        }
        int32_t t = -1;
        CHECK(aviary_sampler_sample(s, l, &t) == AVIARY_OK && t == arg);
    }
    aviary_sampler_free(s);
    /* ties: the lowest id */
    s = make(p, 4);
    if (!s) return;
    float tie[4] = {1, 3, 3, 2};
    int32_t t = -1;
    CHECK(aviary_sampler_sample(s, tie, &t) == AVIARY_OK && t == 1);
    aviary_sampler_free(s);
}

static void test_top_k(void) {
    enum { V = 50 };
    float l[V];
    for (int i = 0; i < V; i++) l[i] = (float)((i * 17) % V) * 0.1f; /* a permutation */
    aviary_sampler_params p = aviary_sampler_default_params();
    p.top_p = 1.0f;
    p.top_k = 3;
    p.seed = 42;
    aviary_sampler *s = make(p, V);
    if (!s) return;
    int counts[V];
    draw(s, l, V, 3000, counts);
    int used = 0;
    for (int i = 0; i < V; i++) {
        bool in_top = l[i] >= (float)(V - 3) * 0.1f - 1e-4f;
        if (!in_top) CHECK(counts[i] == 0);
        if (counts[i]) used++;
    }
    CHECK(used == 3);
    aviary_sampler_free(s);
}

static void test_top_p_and_temperature(void) {
    enum { V = 4 };
    const float probs[V] = {0.15f, 0.5f, 0.05f, 0.3f};
    float l[V];
    for (int i = 0; i < V; i++) l[i] = logf(probs[i]);
    aviary_sampler_params p = aviary_sampler_default_params();
    p.seed = 7;
    p.top_p = 0.7f; /* cumsum 0.5, 0.8 -> cutoff 0.3: {1, 3} */
    aviary_sampler *s = make(p, V);
    int counts[V];
    if (s) {
        draw(s, l, V, 4000, counts);
        CHECK(counts[0] == 0 && counts[2] == 0);
        double f = counts[1] / 4000.0; /* 0.5 / 0.8 */
        CHECK(fabs(f - 0.625) < 0.04);
        aviary_sampler_free(s);
    }
    p.top_p = 0.4f; /* the most probable alone */
    s = make(p, V);
    if (s) {
        draw(s, l, V, 500, counts);
        CHECK(counts[1] == 500);
        aviary_sampler_free(s);
    }
    p.top_p = 0.0f; /* ChatRWKV: top_p 0 keeps the maxima */
    s = make(p, V);
    if (s) {
        draw(s, l, V, 200, counts);
        CHECK(counts[1] == 200);
        aviary_sampler_free(s);
    }
    p.top_p = 1.0f; /* everything, proportional */
    s = make(p, V);
    if (s) {
        draw(s, l, V, 8000, counts);
        for (int i = 0; i < V; i++) CHECK(fabs(counts[i] / 8000.0 - probs[i]) < 0.03);
        aviary_sampler_free(s);
    }
    /* temperature 0.5 on {1, 3}: p^2 -> 0.25 / (0.25 + 0.09) */
    p.top_p = 0.7f;
    p.temperature = 0.5f;
    s = make(p, V);
    if (s) {
        draw(s, l, V, 4000, counts);
        CHECK(counts[0] == 0 && counts[2] == 0);
        CHECK(fabs(counts[1] / 4000.0 - 0.25 / 0.34) < 0.04);
        aviary_sampler_free(s);
    }
}

/* The nucleus on a large vocabulary, computed here by brute force (full
 * sort, float running sum), against what the sampler draws. */
static const float *g_p;
static int desc(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    if (g_p[x] != g_p[y]) return g_p[x] > g_p[y] ? -1 : 1;
    return (x > y) - (x < y);
}

static void test_nucleus_large(void) {
    enum { V = 20000 };
    static float l[V], pr[V];
    static int ord[V], counts[V];
    unsigned seed = 5;
    double sum = 0, mx = -1e30;
    for (int i = 0; i < V; i++) {
        float g = 0;
        for (int r = 0; r < 12; r++) {
            seed = seed * 1103515245u + 12345u;
            g += (float)((seed >> 8) % 100000) / 100000.0f;
        }
        l[i] = (g - 6.0f) * 3.0f;
        if (l[i] > mx) mx = l[i];
    }
    for (int i = 0; i < V; i++) sum += exp(l[i] - mx);
    for (int i = 0; i < V; i++) pr[i] = (float)(exp(l[i] - mx) / sum);
    for (int i = 0; i < V; i++) ord[i] = i;
    g_p = pr;
    qsort(ord, V, sizeof *ord, desc);
    const float top_p[2] = {0.5f, 0.9f};
    const int top_k[2] = {0, 40};
    for (int c = 0; c < 2; c++) {
        float run = 0;
        int n_set = 0;
        while (n_set < V && run < top_p[c]) run += pr[ord[n_set++]];
        if (top_k[c] && n_set > top_k[c]) n_set = top_k[c];
        static char in_set[V];
        memset(in_set, 0, sizeof in_set);
        for (int k = 0; k < n_set; k++) in_set[ord[k]] = 1;
        aviary_sampler_params p = aviary_sampler_default_params();
        p.top_p = top_p[c];
        p.top_k = top_k[c];
        p.seed = 99;
        aviary_sampler *s = make(p, V);
        if (!s) return;
        draw(s, l, V, 3000, counts);
        int outside = 0, used = 0;
        for (int i = 0; i < V; i++) {
            if (counts[i] && !in_set[i]) outside++;
            used += counts[i] > 0;
        }
        CHECK(outside == 0);
        CHECK(counts[ord[0]] > 0);
        CHECK(n_set > 5 && used > 5);
        aviary_sampler_free(s);
    }
}

static void test_seed(void) {
    enum { V = 300 };
    float l[V];
    for (int i = 0; i < V; i++) l[i] = sinf((float)i) * 3.0f;
    aviary_sampler_params p = aviary_sampler_default_params();
    p.top_p = 0.95f;
    p.seed = 123;
    aviary_sampler *a = make(p, V), *b = make(p, V);
    p.seed = 124;
    aviary_sampler *c = make(p, V);
    if (!a || !b || !c) return;
    CHECK(aviary_sampler_seed(a) == 123);
    int diff = 0;
    for (int i = 0; i < 200; i++) {
        int32_t ta, tb, tc;
        CHECK(aviary_sampler_sample(a, l, &ta) == AVIARY_OK);
        CHECK(aviary_sampler_sample(b, l, &tb) == AVIARY_OK);
        CHECK(aviary_sampler_sample(c, l, &tc) == AVIARY_OK);
        CHECK(ta == tb);
        diff += ta != tc;
        aviary_sampler_accept(a, ta);
        aviary_sampler_accept(b, tb);
        aviary_sampler_accept(c, tc);
    }
    CHECK(diff > 0);
    aviary_sampler_free(a);
    aviary_sampler_free(b);
    aviary_sampler_free(c);
}

static void test_penalties(void) {
    float l[3] = {1.0f, 0.9f, 0.0f};
    aviary_sampler_params p = aviary_sampler_default_params();
    p.temperature = 0;
    p.presence_penalty = 0.2f;
    p.frequency_penalty = 0.2f;
    p.penalty_decay = 0.5f;
    int32_t ban = 2, stop = 1;
    p.ban_tokens = &ban;
    p.n_ban_tokens = 1;
    p.stop_tokens = &stop;
    p.n_stop_tokens = 1;
    aviary_sampler *s = make(p, 3);
    if (!s) return;
    int32_t t = -1;
    CHECK(aviary_sampler_sample(s, l, &t) == AVIARY_OK && t == 0);
    aviary_sampler_accept(s, 0); /* occ[0] = 1 -> logit 1 - 0.2 - 0.2 = 0.6 < 0.9 */
    CHECK(aviary_sampler_occurrence(s, 0) == 1.0f);
    CHECK(aviary_sampler_sample(s, l, &t) == AVIARY_OK && t == 1);
    aviary_sampler_accept(s, 1); /* occ[0] = 0.5, occ[1] = 1 */
    CHECK(aviary_sampler_occurrence(s, 0) == 0.5f && aviary_sampler_occurrence(s, 1) == 1.0f);
    /* logit0 = 1 - 0.2 - 0.1 = 0.7, logit1 = 0.9 - 0.4 = 0.5 */
    CHECK(aviary_sampler_sample(s, l, &t) == AVIARY_OK && t == 0);
    CHECK(aviary_sampler_is_stop(s, 1) && !aviary_sampler_is_stop(s, 0));
    aviary_sampler_reset(s);
    CHECK(aviary_sampler_occurrence(s, 0) == 0.0f);
    /* the banned token is never chosen even when it is the largest */
    float big[3] = {0.0f, 0.0f, 100.0f};
    CHECK(aviary_sampler_sample(s, big, &t) == AVIARY_OK && t == 0);
    aviary_sampler_free(s);
    /* all banned or all -inf: a clear error */
    int32_t all[2] = {0, 1};
    p.ban_tokens = all;
    p.n_ban_tokens = 2;
    p.n_stop_tokens = 0;
    s = make(p, 2);
    if (s) {
        CHECK(aviary_sampler_sample(s, l, &t) == AVIARY_INVALID_ARG);
        aviary_sampler_free(s);
    }
}

static void test_no_repeat(void) {
    float l[3] = {5.0f, 1.0f, 0.0f};
    aviary_sampler_params p = aviary_sampler_default_params();
    p.temperature = 0;
    p.presence_penalty = p.frequency_penalty = 0;
    int32_t nr = 0;
    p.no_repeat_tokens = &nr;
    p.n_no_repeat_tokens = 1;
    aviary_sampler *s = make(p, 3);
    if (!s) return;
    int32_t t = -1;
    CHECK(aviary_sampler_sample(s, l, &t) == AVIARY_OK && t == 0);
    aviary_sampler_accept(s, 0);
    CHECK(aviary_sampler_sample(s, l, &t) == AVIARY_OK && t == 1); /* 0 may not follow 0 */
    aviary_sampler_accept(s, 1);
    CHECK(aviary_sampler_sample(s, l, &t) == AVIARY_OK && t == 0);
    aviary_sampler_accept(s, 0);
    aviary_sampler_reset(s);
    CHECK(aviary_sampler_sample(s, l, &t) == AVIARY_OK && t == 0); /* reset forgets the last token */
    aviary_sampler_free(s);
}

static void test_errors(void) {
    aviary_sampler *s = (aviary_sampler *)1;
    aviary_sampler_params p = aviary_sampler_default_params();
    p.top_p = 1.5f;
    CHECK(aviary_sampler_create(&p, 10, &s) == AVIARY_INVALID_ARG && s == NULL);
    p = aviary_sampler_default_params();
    p.temperature = -1;
    CHECK(aviary_sampler_create(&p, 10, &s) == AVIARY_INVALID_ARG);
    p = aviary_sampler_default_params();
    p.top_k = -2;
    CHECK(aviary_sampler_create(&p, 10, &s) == AVIARY_INVALID_ARG);
    p = aviary_sampler_default_params();
    p.penalty_decay = 1.5f;
    CHECK(aviary_sampler_create(&p, 10, &s) == AVIARY_INVALID_ARG);
    p = aviary_sampler_default_params();
    int32_t bad = 10;
    p.stop_tokens = &bad;
    p.n_stop_tokens = 1;
    CHECK(aviary_sampler_create(&p, 10, &s) == AVIARY_INVALID_ARG);
    CHECK(strstr(aviary_errmsg(), "stop token 10 is outside the vocabulary [0, 10)") != NULL);
}

static void test_stop_strings(void) {
    const char *stops[] = {"\n\n", "\nUser:", ""};
    CHECK(aviary_stop_find("abc", 3, stops, 3) == -1);
    CHECK(aviary_stop_find("ab\n\nc", 5, stops, 3) == 2);
    CHECK(aviary_stop_find("a\nUser: x\n\n", 11, stops, 3) == 1);
    CHECK(aviary_stop_holdback("abc", 3, stops, 3) == 0);
    CHECK(aviary_stop_holdback("abc\n", 4, stops, 3) == 1);
    CHECK(aviary_stop_holdback("abc\nUse", 7, stops, 3) == 4);
    CHECK(aviary_stop_holdback("\nUse", 4, stops, 3) == 4);
    CHECK(aviary_stop_holdback("", 0, stops, 3) == 0);
}

int main(void) {
    test_greedy();
    test_top_k();
    test_top_p_and_temperature();
    test_nucleus_large();
    test_seed();
    test_penalties();
    test_no_repeat();
    test_errors();
    test_stop_strings();
    if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
    else printf("test_sampler: all checks passed\n");
    return failures != 0;
}
