/* test_visual.c - VisualRWKV pieces that the fixture does not pin down alone:
 * prompt text layouts and normalisation, CLS reordering, the v7 gated
 * projection formula (against a double-precision hand computation), the
 * bidirectional prefill's properties on a random RWKV-6 model, and errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "aviary/aviary_visual_rwkv.h"

#include "test_util.h"

static void check_prompt(const char *q, aviary_vrwkv_layout lay, const char *b, const char *a) {
    char *pb = NULL, *pa = NULL, *as = NULL;
    CHECK(aviary_vrwkv_prompt_text(q, lay, &pb, &pa, &as) == AVIARY_OK);
    if (pb && strcmp(pb, b)) fprintf(stderr, "before: got [%s] want [%s]\n", pb, b), failures++;
    if (pa && strcmp(pa, a)) fprintf(stderr, "after: got [%s] want [%s]\n", pa, a), failures++;
    CHECK(as && !strcmp(as, "Assistant:"));
    free(pb);
    free(pa);
    free(as);
}

static void test_prompt(void) {
    /* the fixture's GQA question and its reference segments (README_visual.md §1.5) */
    const char *q = "What animal is in the picture?\nAnswer the question using a single word or phrase.";
    check_prompt(q, AVIARY_VRWKV_SANDWICH, "User: What animal is in the picture?\n",
                 "\nWhat animal is in the picture?\nAnswer the question using a single word or phrase.\n\n");
    check_prompt(q, AVIARY_VRWKV_IMAGE_FIRST, "User: ",
                 "\nWhat animal is in the picture?\nAnswer the question using a single word or phrase.\n\n");
    /* strip + blank-line runs collapsed, <image> removed */
    check_prompt("  <image>\nWhat is  this?\n\n \n\nDescribe it.  ", AVIARY_VRWKV_SANDWICH,
                 "User: What is  this?\nDescribe it.\n", "\nWhat is  this?\nDescribe it.\n\n");
    char *pb = NULL, *pa = NULL, *as = NULL;
    CHECK(aviary_vrwkv_prompt_text(" \n<image>\n ", AVIARY_VRWKV_SANDWICH, &pb, &pa, &as) == AVIARY_INVALID_ARG);
    CHECK(strstr(aviary_errmsg(), "empty") != NULL);
    CHECK(!pb && !pa && !as);
    aviary_vrwkv_layout l;
    CHECK(aviary_vrwkv_layout_parse("first", &l) == AVIARY_OK && l == AVIARY_VRWKV_IMAGE_FIRST);
    CHECK(aviary_vrwkv_layout_parse("middle", &l) == AVIARY_OK && l == AVIARY_VRWKV_SANDWICH);
    CHECK(aviary_vrwkv_layout_parse("last", &l) == AVIARY_INVALID_ARG);
}

static void test_cls_last(void) {
    float h[4 * 2] = {9, 9, 1, 2, 3, 4, 5, 6};
    aviary_clip_vit_cls_last(h, 3, 2);
    const float want[8] = {1, 2, 3, 4, 5, 6, 9, 9};
    CHECK(!memcmp(h, want, sizeof want));
}

/* Write a small F32 safetensors file. */
static void write_st(const char *path, int n, const char **names, const int64_t (*shapes)[2], const int *ndims,
                     const float **data) {
    char hdr[2048];
    size_t off = 0, hl = 0;
    hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, "{");
    for (int i = 0; i < n; i++) {
        size_t cnt = (size_t)(shapes[i][0] * (ndims[i] == 2 ? shapes[i][1] : 1));
        if (ndims[i] == 2)
            hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%lld,%lld],"
                                   "\"data_offsets\":[%zu,%zu]}", i ? "," : "", names[i], (long long)shapes[i][0],
                                   (long long)shapes[i][1], off, off + cnt * 4);
        else
            hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%lld],"
                                   "\"data_offsets\":[%zu,%zu]}", i ? "," : "", names[i], (long long)shapes[i][0],
                                   off, off + cnt * 4);
        off += cnt * 4;
    }
    hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, "}");
    while (hl % 8) hdr[hl++] = ' ';
    FILE *f = fopen(path, "wb");
    uint64_t h64 = hl;
    fwrite(&h64, 8, 1, f);
    fwrite(hdr, 1, hl, f);
    for (int i = 0; i < n; i++)
        fwrite(data[i], 4, (size_t)(shapes[i][0] * (ndims[i] == 2 ? shapes[i][1] : 1)), f);
    fclose(f);
}

static void test_gated_projection(void) {
    enum { D = 3, C = 4, N = 2 };
    float gate[D * D], o[C * D], lw[C], lb[C], x[N * D];
    for (int i = 0; i < D * D; i++) gate[i] = 0.3f * sinf((float)i + 0.5f);
    for (int i = 0; i < C * D; i++) o[i] = 0.7f * cosf(1.3f * (float)i);
    for (int i = 0; i < C; i++) lw[i] = 1.0f + 0.1f * (float)i, lb[i] = 0.05f * (float)i - 0.1f;
    for (int i = 0; i < N * D; i++) x[i] = 0.9f * sinf(2.1f * (float)i) + 0.2f;
    const char *names[] = {"proj.gate.weight", "proj.o_proj.weight", "proj.ln_v.weight", "proj.ln_v.bias"};
    const int64_t shapes[][2] = {{D, D}, {C, D}, {C, 0}, {C, 0}};
    const int nd[] = {2, 2, 1, 1};
    const float *data[] = {gate, o, lw, lb};
    char path[] = "/tmp/aviary_test_visual_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    write_st(path, 4, names, shapes, nd, data);
    aviary_checkpoint *ck = NULL;
    aviary_vrwkv_proj *p = NULL;
    CHECK(aviary_checkpoint_open(path, &ck) == AVIARY_OK);
    CHECK(ck && aviary_vrwkv_proj_load(ck, NULL, AVIARY_WEIGHTS_F32, &p) == AVIARY_OK);
    if (p) {
        CHECK(aviary_vrwkv_proj_gated(p) && aviary_vrwkv_proj_in(p) == D && aviary_vrwkv_proj_out(p) == C);
        float y[N * C];
        CHECK(aviary_vrwkv_proj_forward(p, x, N, y) == AVIARY_OK);
        for (int r = 0; r < N; r++) {
            double h[D], z[C], mean = 0, var = 0;
            for (int i = 0; i < D; i++) {
                double g = 0;
                for (int j = 0; j < D; j++) g += (double)gate[i * D + j] * x[r * D + j];
                h[i] = x[r * D + i] / (1.0 + exp(-g));
            }
            for (int c = 0; c < C; c++) {
                z[c] = 0;
                for (int i = 0; i < D; i++) z[c] += (double)o[c * D + i] * h[i];
                mean += z[c] / C;
            }
            for (int c = 0; c < C; c++) var += (z[c] - mean) * (z[c] - mean) / C;
            for (int c = 0; c < C; c++) {
                double want = (z[c] - mean) / sqrt(var + 1e-5) * lw[c] + lb[c];
                if (fabs(want - y[r * C + c]) > 1e-5) {
                    fprintf(stderr, "gated row %d col %d: got %g want %g\n", r, c, y[r * C + c], want);
                    failures++;
                }
            }
        }
    }
    aviary_vrwkv_proj_free(p);
    /* a v7 file missing ln_v: clear error naming the file */
    const char *names2[] = {"proj.gate.weight", "proj.o_proj.weight"};
    write_st(path, 2, names2, shapes, nd, data);
    aviary_checkpoint_close(ck);
    ck = NULL;
    CHECK(aviary_checkpoint_open(path, &ck) == AVIARY_OK);
    CHECK(ck && aviary_vrwkv_proj_load(ck, NULL, AVIARY_WEIGHTS_F32, &p) == AVIARY_NOT_FOUND);
    CHECK(strstr(aviary_errmsg(), "ln_v") && strstr(aviary_errmsg(), path));
    aviary_checkpoint_close(ck);
    unlink(path);
}

static void test_prefill(void) {
    aviary_model *m = NULL;
    CHECK(aviary_model_random("rwkv6:L3:D64:V300", NULL, 7, &m) == AVIARY_OK);
    if (!m) return;
    enum { T = 12, C = 64, V = 300, A = 3, B = 9 };
    float x0[T * C], x[T * C], blocks[3 * T * C], blocks2[3 * T * C], lg[V], lg2[V];
    for (int i = 0; i < T * C; i++) x0[i] = 0.5f * sinf(0.37f * (float)i);
    aviary_state *s = NULL;
    CHECK(aviary_state_create(m, &s) == AVIARY_OK);
    /* no image rows: the same as feeding the embeddings in sequence mode */
    memcpy(x, x0, sizeof x);
    CHECK(aviary_vrwkv_prefill(m, s, x, T, 5, 5, blocks, lg) == AVIARY_OK);
    aviary_state_reset(s);
    CHECK(aviary_model_eval_embeddings(m, s, x0, T, lg2) == AVIARY_OK);
    for (int i = 0; i < V; i++) CHECK(fabsf(lg[i] - lg2[i]) <= 1e-4f + 1e-4f * fabsf(lg2[i]));
    /* with the flip: rows before the image are unchanged in every layer (causal),
     * layer 0 is unchanged everywhere, and layer 1 differs inside the image */
    aviary_state_reset(s);
    memcpy(x, x0, sizeof x);
    CHECK(aviary_vrwkv_prefill(m, s, x, T, A, B, blocks2, lg2) == AVIARY_OK);
    CHECK(!memcmp(blocks, blocks2, (size_t)T * C * sizeof(float)));
    for (int l = 1; l < 3; l++) CHECK(!memcmp(blocks + l * T * C, blocks2 + l * T * C, (size_t)A * C * sizeof(float)));
    double d = 0;
    for (int i = A * C; i < B * C; i++) d = fmax(d, fabs(blocks[T * C + i] - blocks2[T * C + i]));
    CHECK(d > 1e-3);
    /* layer 1 with the flip equals layer 1 run on reversed rows (checked via the per-layer API) */
    aviary_state_reset(s);
    memcpy(x, x0, sizeof x);
    CHECK(aviary_model_forward_layer(m, s, 0, x, T) == AVIARY_OK);
    float r[T * C];
    memcpy(r, x, sizeof r);
    for (int i = A; i < B; i++) memcpy(r + i * C, x + (A + B - 1 - i) * C, C * sizeof(float));
    CHECK(aviary_model_forward_layer(m, s, 1, r, T) == AVIARY_OK);
    for (int i = A; i < B; i++)
        for (int c = 0; c < C; c++) CHECK(r[(A + B - 1 - i) * C + c] == blocks2[T * C + i * C + c]);
    /* a long prefix (processed in row chunks inside each layer) equals one
     * forward_layer call per layer over all rows with the same flips */
    {
        enum { TL = 600, IA = 7, IB = 583 };
        float *y0 = malloc((size_t)TL * C * sizeof(float)), *y1 = malloc((size_t)TL * C * sizeof(float));
        float *tmp = malloc((size_t)C * sizeof(float)), lg3[V];
        CHECK(y0 && y1 && tmp);
        if (y0 && y1 && tmp) {
            for (int i = 0; i < TL * C; i++) y0[i] = y1[i] = 0.4f * cosf(0.011f * (float)i);
            aviary_state_reset(s);
            CHECK(aviary_vrwkv_prefill(m, s, y0, TL, IA, IB, NULL, lg3) == AVIARY_OK);
            aviary_state_reset(s);
            for (int l = 0; l < 3; l++) {
                if (l % 2)
                    for (int i = IA, j = IB - 1; i < j; i++, j--) {
                        memcpy(tmp, y1 + i * C, C * sizeof(float));
                        memcpy(y1 + i * C, y1 + j * C, C * sizeof(float));
                        memcpy(y1 + j * C, tmp, C * sizeof(float));
                    }
                CHECK(aviary_model_forward_layer(m, s, l, y1, TL) == AVIARY_OK);
                if (l % 2)
                    for (int i = IA, j = IB - 1; i < j; i++, j--) {
                        memcpy(tmp, y1 + i * C, C * sizeof(float));
                        memcpy(y1 + i * C, y1 + j * C, C * sizeof(float));
                        memcpy(y1 + j * C, tmp, C * sizeof(float));
                    }
            }
            double dmax = 0;
            for (int i = 0; i < TL * C; i++) dmax = fmax(dmax, fabs(y0[i] - y1[i]));
            if (dmax > 1e-4) fprintf(stderr, "chunked prefill differs by %g\n", dmax), failures++;
        }
        free(y0);
        free(y1);
        free(tmp);
    }
    /* errors */
    CHECK(aviary_vrwkv_prefill(m, s, x, T, 4, T + 1, NULL, NULL) == AVIARY_INVALID_ARG);
    int32_t bad = V + 5;
    CHECK(aviary_vrwkv_assemble(m, &bad, 1, x0, 1, NULL, 0, x) == AVIARY_INVALID_ARG);
    CHECK(strstr(aviary_errmsg(), "outside the vocabulary") != NULL);
    aviary_state_free(s);
    aviary_model_free(m);
}

/* Split the fixture's one-file checkpoint into an official-style LM file
 * (rwkv.* without the prefix) and a vision file (vit.* + proj.*), as
 * safetensors; return false if that is not possible. */
static bool split_write(const aviary_checkpoint *ck, const char *path, bool lm, const char *skip) {
    FILE *f = fopen(path, "wb");
    if (!f) return false;
    char *hdr = malloc(1 << 20);
    size_t hl = 0, off = 0;
    hl += (size_t)snprintf(hdr + hl, 64, "{");
    bool first = true;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            hl += (size_t)snprintf(hdr + hl, 8, "}");
            while (hl % 8) hdr[hl++] = ' ';
            uint64_t h64 = hl;
            fwrite(&h64, 8, 1, f);
            fwrite(hdr, 1, hl, f);
        }
        for (size_t i = 0; i < aviary_checkpoint_count(ck); i++) {
            const aviary_tensor *t = aviary_checkpoint_at(ck, i);
            bool is_lm = !strncmp(t->name, "rwkv.", 5);
            if (is_lm != lm || t->dtype != AVIARY_BF16 || !aviary_tensor_is_contiguous(t)) continue;
            if (skip && !strcmp(t->name, skip)) continue;
            size_t bytes = (size_t)aviary_tensor_numel(t) * 2;
            if (pass == 0) {
                hl += (size_t)snprintf(hdr + hl, 512, "%s\"%s\":{\"dtype\":\"BF16\",\"shape\":[", first ? "" : ",",
                                       lm ? t->name + 5 : t->name);
                for (int d = 0; d < t->ndim; d++)
                    hl += (size_t)snprintf(hdr + hl, 32, "%s%lld", d ? "," : "", (long long)t->shape[d]);
                hl += (size_t)snprintf(hdr + hl, 96, "],\"data_offsets\":[%zu,%zu]}", off, off + bytes);
                off += bytes;
                first = false;
            } else {
                fwrite(t->data, 1, bytes, f);
            }
        }
    }
    free(hdr);
    return fclose(f) == 0;
}

static void test_separate_files(const char *one_file) {
    aviary_checkpoint *ck = NULL;
    if (aviary_checkpoint_open(one_file, &ck)) {
        fprintf(stderr, "%s\n", aviary_errmsg());
        failures++;
        return;
    }
    char lm[] = "/tmp/aviary_test_vlm_XXXXXX", vis[] = "/tmp/aviary_test_vvis_XXXXXX";
    int f1 = mkstemp(lm), f2 = mkstemp(vis);
    CHECK(f1 >= 0 && f2 >= 0);
    CHECK(split_write(ck, lm, true, NULL) && split_write(ck, vis, false, NULL));
    aviary_checkpoint_close(ck);
    aviary_vrwkv_params p = aviary_vrwkv_default_params();
    p.vision_heads = 2;
    aviary_vrwkv *one = NULL, *two = NULL;
    CHECK(aviary_vrwkv_load(one_file, NULL, &p, &one) == AVIARY_OK);
    CHECK(aviary_vrwkv_load(lm, vis, &p, &two) == AVIARY_OK);
    if (one && two) {
        const aviary_clip_vit_info *vi = aviary_clip_vit_get_info(aviary_vrwkv_vision(two));
        const int S = vi->image_size, n = aviary_vrwkv_image_tokens(two);
        const int C = aviary_model_get_info(aviary_vrwkv_lm(two))->n_embd;
        float *pix = malloc((size_t)3 * S * S * sizeof(float));
        float *e1 = malloc((size_t)n * C * sizeof(float)), *e2 = malloc((size_t)n * C * sizeof(float));
        for (int i = 0; i < 3 * S * S; i++) pix[i] = sinf(0.01f * (float)i);
        CHECK(aviary_vrwkv_encode_image(one, pix, NULL, e1) == AVIARY_OK);
        CHECK(aviary_vrwkv_encode_image(two, pix, NULL, e2) == AVIARY_OK);
        CHECK(!memcmp(e1, e2, (size_t)n * C * sizeof(float)));
        int32_t ids[3] = {24281, 59, 11};
        float *x1 = malloc((size_t)(n + 3) * C * sizeof(float)), *x2 = malloc((size_t)(n + 3) * C * sizeof(float));
        float *lg1 = malloc(65536 * sizeof(float)), *lg2 = malloc(65536 * sizeof(float));
        aviary_state *s1 = NULL, *s2 = NULL;
        CHECK(aviary_state_create(aviary_vrwkv_lm(one), &s1) == AVIARY_OK);
        CHECK(aviary_state_create(aviary_vrwkv_lm(two), &s2) == AVIARY_OK);
        CHECK(aviary_vrwkv_assemble(aviary_vrwkv_lm(one), ids, 2, e1, (size_t)n, ids + 2, 1, x1) == AVIARY_OK);
        CHECK(aviary_vrwkv_assemble(aviary_vrwkv_lm(two), ids, 2, e2, (size_t)n, ids + 2, 1, x2) == AVIARY_OK);
        CHECK(aviary_vrwkv_prefill(aviary_vrwkv_lm(one), s1, x1, (size_t)n + 3, 2, (size_t)n + 1, NULL, lg1) == AVIARY_OK);
        CHECK(aviary_vrwkv_prefill(aviary_vrwkv_lm(two), s2, x2, (size_t)n + 3, 2, (size_t)n + 1, NULL, lg2) == AVIARY_OK);
        CHECK(!memcmp(lg1, lg2, 65536 * sizeof(float)));
        aviary_state_free(s1);
        aviary_state_free(s2);
        free(pix); free(e1); free(e2); free(x1); free(x2); free(lg1); free(lg2);
    }
    /* the vision file alone has no LM: a clear error */
    aviary_vrwkv *bad = NULL;
    CHECK(aviary_vrwkv_load(vis, NULL, &p, &bad) != AVIARY_OK && !bad);
    /* a vision file missing one tensor: the error names the file and the key */
    if (aviary_checkpoint_open(one_file, &ck) == AVIARY_OK) {
        CHECK(split_write(ck, vis, false, "vit.vision_model.encoder.layers.1.mlp.fc2.bias"));
        aviary_checkpoint_close(ck);
        CHECK(aviary_vrwkv_load(lm, vis, &p, &bad) == AVIARY_NOT_FOUND && !bad);
        CHECK(strstr(aviary_errmsg(), "vit.vision_model.encoder.layers.1.mlp.fc2.bias") && strstr(aviary_errmsg(), vis));
    }
    aviary_vrwkv_free(one);
    aviary_vrwkv_free(two);
    unlink(lm);
    unlink(vis);
    if (f1 >= 0) close(f1);
    if (f2 >= 0) close(f2);
}

int main(int argc, char **argv) {
    test_prompt();
    test_cls_last();
    test_gated_projection();
    test_prefill();
    test_separate_files(argc > 1 ? argv[1] : "fixtures/visual-rwkv6-tiny/model.pth");
    if (failures) fprintf(stderr, "%d failures\n", failures);
    else printf("test_visual: all passed\n");
    return failures ? 1 : 0;
}
