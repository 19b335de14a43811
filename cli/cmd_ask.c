/* cmd_ask.c - `aviary ask -c PIPELINE.json --image IMAGE "QUESTION"`:
 * VisualRWKV image question answering.
 *
 * The pipeline file names the language model (its "backbone") and the
 * stages that turn the image into embeddings in the LM's input space (e.g.
 * clip_vit -> visualrwkv_projection); its last tensor output must be
 * [tokens, n_embd] with the CLS row last (VisualRWKV's order). This command
 * then builds the prompt (aviary_visual_rwkv.h: each text segment tokenised
 * separately, the image rows spliced in), prefills layer by layer with the
 * bidirectional image scan and streams the answer in RNN mode: greedy by
 * default, stopping after "\n\n" (token 261). --chat keeps the state (and so
 * the image) for follow-up questions read from stdin, one per line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "aviary/aviary_pipeline.h"
#include "aviary/aviary_sampler.h"
#include "aviary/aviary_tokenizer.h"
#include "aviary/aviary_visual_rwkv.h"
#include "cli.h"

typedef struct ask {
    const aviary_model *m;
    aviary_state *s;
    aviary_tokenizer *tok;
    aviary_sampler *smp;
    float *logits;
    long max_tokens;
    bool stats;
} ask;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: aviary ask -c PIPELINE.json --image IMAGE [options] \"QUESTION\"\n"
            "  Answers a question about an image with a VisualRWKV pipeline (see examples/image-qa/).\n"
            "  -c, --config FILE       pipeline: backbone LM + stages producing image embeddings\n"
            "  --image FILE            the image (PNG, JPEG, ...)\n"
            "  --layout L              prompt layout: sandwich (default, the v6 evaluation:\n"
            "                          \"User: Q'\\n<image>\\nQ\\n\\nAssistant:\") or first (\"User: <image>\\nQ...\")\n"
            "  --max-tokens N          answer length limit (default 256); stops after \"\\n\\n\" anyway\n"
            "  --temperature T         0 = greedy (default); > 0 samples\n"
            "  --top-p P, --top-k K    nucleus / top-k sampling (default off)\n"
            "  --presence-penalty A, --frequency-penalty B   repetition penalties (default 0)\n"
            "  --seed N                sampling seed (default 42)\n"
            "  --threads N             threads (default: the pipeline's backbone.threads)\n"
            "  --chat                  after the answer, read follow-up questions from stdin (one per\n"
            "                          line) about the same image, keeping the state; empty line or EOF ends\n"
            "  --vocab FILE            World vocabulary (default: the one shipped with aviary)\n"
            "  --stats                 print timings to stderr\n");
}

/* Tokenise a segment (no BOS) and append it to *ids. */
static aviary_status encode_append(const aviary_tokenizer *t, const char *text, int32_t **ids, size_t *n) {
    int32_t *x = NULL;
    size_t k = 0;
    aviary_status s = aviary_tokenizer_encode(t, text, strlen(text), &x, &k);
    if (s) return s;
    int32_t *g = realloc(*ids, (*n + k + 1) * sizeof *g);
    if (!g) {
        free(x);
        return aviary_error(AVIARY_NOMEM, "out of memory");
    }
    if (k) memcpy(g + *n, x, k * sizeof *g);
    *ids = g;
    *n += k;
    free(x);
    return AVIARY_OK;
}

/* Stream one answer from a->logits. On return the state has seen every
 * emitted token except the last one (the stop token or the token at the
 * length limit), which *pending holds. */
static aviary_status answer(ask *a, int32_t *pending, int *n_out) {
    aviary_utf8_stream us;
    aviary_utf8_stream_init(&us);
    aviary_sampler_reset(a->smp);
    char buf[AVIARY_UTF8_STREAM_MAX_OUT(256)];
    int32_t t = AVIARY_VRWKV_STOP_TOKEN;
    aviary_status s = AVIARY_OK;
    int n = 0;
    for (long i = 0; i < a->max_tokens; i++) {
        if ((s = aviary_sampler_sample(a->smp, a->logits, &t))) break;
        n++;
        if (t == AVIARY_VRWKV_STOP_TOKEN) break;
        aviary_sampler_accept(a->smp, t);
        size_t len = 0;
        const uint8_t *b = aviary_tokenizer_token_bytes(a->tok, t, &len);
        if (b && len <= 256) {
            size_t k = aviary_utf8_stream_push(&us, b, len, buf);
            fwrite(buf, 1, k, stdout);
            fflush(stdout);
        }
        if (i + 1 == a->max_tokens) break;
        if ((s = aviary_model_eval(a->m, a->s, &t, 1, a->logits))) break;
    }
    size_t k = aviary_utf8_stream_flush(&us, buf);
    fwrite(buf, 1, k, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    *pending = t;
    *n_out = n;
    return s;
}

/* The last tensor output of the pipeline, checked to be [tokens, n_embd]. */
static aviary_status image_rows(const aviary_pipeline_results *r, const char *pipe, int C, const aviary_tensor **out) {
    for (size_t i = r->count; i-- > 0;) {
        if (r->values[i].type != AVIARY_PORT_TENSOR) continue;
        const aviary_tensor *t = &r->values[i].tensor;
        if (t->ndim != 2 || t->shape[1] != C || t->shape[0] < 2 || t->dtype != AVIARY_F32 ||
            !aviary_tensor_is_contiguous(t)) {
            char b[96];
            return aviary_error(AVIARY_CONFIG, "%s: output '%s' is %s %s, expected f32 [image tokens, %d] image "
                                "embeddings for the backbone", pipe, r->names[i], aviary_dtype_name(t->dtype),
                                aviary_tensor_shape_str(t, b, sizeof b), C);
        }
        *out = t;
        return AVIARY_OK;
    }
    return aviary_error(AVIARY_CONFIG, "%s: the pipeline has no tensor output (expected image embeddings)", pipe);
}

int cli_cmd_ask(int argc, char **argv) {
    const char *pipe = NULL, *image = NULL, *question = NULL, *layout_s = "sandwich", *vocab = NULL;
    long max_tokens = 256, top_k = 0, seed = 42, threads = 0;
    double temperature = 0, top_p = 1, presence = 0, frequency = 0;
    bool chat = false, stats = false;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        bool has = i + 1 < argc;
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
            usage(stdout);
            return 0;
        } else if ((!strcmp(o, "-c") || !strcmp(o, "--config")) && has) {
            pipe = argv[++i];
        } else if (!strcmp(o, "--image") && has) {
            image = argv[++i];
        } else if (!strcmp(o, "--layout") && has) {
            layout_s = argv[++i];
        } else if (!strcmp(o, "--vocab") && has) {
            vocab = argv[++i];
        } else if (!strcmp(o, "--max-tokens") && has) {
            if (!cli_parse_int(o, argv[++i], 1, 1000000, &max_tokens)) return 1;
        } else if (!strcmp(o, "--temperature") && has) {
            if (!cli_parse_float(o, argv[++i], 0, 100, &temperature)) return 1;
        } else if (!strcmp(o, "--top-p") && has) {
            if (!cli_parse_float(o, argv[++i], 0, 1, &top_p)) return 1;
        } else if (!strcmp(o, "--top-k") && has) {
            if (!cli_parse_int(o, argv[++i], 0, 1000000, &top_k)) return 1;
        } else if (!strcmp(o, "--presence-penalty") && has) {
            if (!cli_parse_float(o, argv[++i], 0, 100, &presence)) return 1;
        } else if (!strcmp(o, "--frequency-penalty") && has) {
            if (!cli_parse_float(o, argv[++i], 0, 100, &frequency)) return 1;
        } else if (!strcmp(o, "--seed") && has) {
            if (!cli_parse_int(o, argv[++i], 0, 2147483647L, &seed)) return 1;
        } else if (!strcmp(o, "--threads") && has) {
            if (!cli_parse_int(o, argv[++i], 1, 4096, &threads)) return 1;
        } else if (!strcmp(o, "--chat")) {
            chat = true;
        } else if (!strcmp(o, "--stats")) {
            stats = true;
        } else if (o[0] == '-' && o[1]) {
            usage(stderr);
            return cli_fail("ask: unknown or incomplete option '%s'", o);
        } else if (!question) {
            question = o;
        } else {
            return cli_fail("ask: more than one question given ('%s'); quote the question", o);
        }
    }
    if (!pipe) return cli_fail("ask: no pipeline given (-c PIPELINE.json)");
    if (!image) return cli_fail("ask: no image given (--image FILE)");
    if (!question) return cli_fail("ask: no question given");
    aviary_vrwkv_layout layout;
    if (aviary_vrwkv_layout_parse(layout_s, &layout)) return cli_fail("ask: --layout: %s", aviary_errmsg());
    if (access(image, R_OK) != 0) return cli_fail("%s: cannot read the image file", image);
    if (threads) aviary_set_num_threads((int)threads);

    int rc = 1;
    aviary_plugin_registry *reg = NULL;
    aviary_pipeline *pl = NULL;
    aviary_pipeline_results res = {0};
    ask a = {0};
    a.max_tokens = max_tokens;
    a.stats = stats;
    int32_t *ids_b = NULL, *ids_a = NULL;
    size_t nb = 0, na = 0;
    char *sb = NULL, *sa = NULL, *sas = NULL;
    float *x = NULL;
    aviary_status s;
    if ((s = vocab ? aviary_tokenizer_load(vocab, &a.tok) : aviary_tokenizer_load_default(&a.tok))) goto fail;
    if ((s = aviary_plugin_registry_open(NULL, &reg)) || (s = aviary_pipeline_load(pipe, reg, &pl))) goto fail;
    const char *in_name = NULL;
    for (size_t i = 0; i < aviary_pipeline_input_count(pl); i++) {
        const aviary_pipeline_input *pi = aviary_pipeline_input_at(pl, i);
        if (pi->modality == AVIARY_MODALITY_IMAGE && !in_name) in_name = pi->name;
        else {
            s = aviary_error(AVIARY_CONFIG, "%s: pipeline input '$%s' is not an image; ask gives the pipeline only "
                             "--image", pipe, pi->name);
            goto fail;
        }
    }
    if (!in_name) {
        s = aviary_error(AVIARY_CONFIG, "%s: the pipeline takes no image input (a stage input \"$image\")", pipe);
        goto fail;
    }
    double t0 = now();
    if ((s = aviary_pipeline_prepare(pl))) goto fail;
    a.m = aviary_pipeline_backbone(pl);
    if (!a.m) {
        s = aviary_error(AVIARY_CONFIG, "%s: ask needs a \"backbone\" (the VisualRWKV language model)", pipe);
        goto fail;
    }
    if (threads) aviary_set_num_threads((int)threads);
    const aviary_model_info *mi = aviary_model_get_info(a.m);
    double t1 = now();
    const char *names[1] = {in_name}, *values[1] = {image};
    if ((s = aviary_pipeline_run(pl, 1, names, values, &res))) goto fail;
    const aviary_tensor *img = NULL;
    if ((s = image_rows(&res, pipe, mi->n_embd, &img))) goto fail;
    double t2 = now();
    if ((s = aviary_vrwkv_prompt_text(question, layout, &sb, &sa, &sas)) ||
        (s = encode_append(a.tok, sb, &ids_b, &nb)) || (s = encode_append(a.tok, sa, &ids_a, &na)) ||
        (s = encode_append(a.tok, sas, &ids_a, &na)))
        goto fail;
    const size_t P1 = (size_t)img->shape[0], C = (size_t)mi->n_embd, T = nb + P1 + na;
    x = malloc(T * C * sizeof(float));
    a.logits = malloc((size_t)mi->vocab_size * sizeof(float));
    if (!x || !a.logits) {
        s = aviary_error(AVIARY_NOMEM, "out of memory for a %zu-token prompt", T);
        goto fail;
    }
    aviary_sampler_params sp = aviary_sampler_default_params();
    sp.temperature = (float)temperature;
    sp.top_p = (float)top_p;
    sp.top_k = (int)top_k;
    sp.presence_penalty = (float)presence;
    sp.frequency_penalty = (float)frequency;
    sp.seed = (uint64_t)seed;
    if ((s = aviary_state_create(a.m, &a.s)) || (s = aviary_sampler_create(&sp, mi->vocab_size, &a.smp)) ||
        (s = aviary_vrwkv_assemble(a.m, ids_b, nb, img->data, P1, ids_a, na, x)) ||
        (s = aviary_vrwkv_prefill(a.m, a.s, x, T, nb, nb + P1 - 1, NULL, a.logits)))
        goto fail;
    double t3 = now();
    int32_t pending;
    int n = 0;
    if ((s = answer(&a, &pending, &n))) goto fail;
    double t4 = now();
    if (stats)
        fprintf(stderr, "aviary: load %.2f s, image %.2f s (%zu tokens), prefill %.2f s (%zu tokens), first token "
                "after %.2f s, %d tokens at %.2f tokens/s\n", t1 - t0, t2 - t1, P1, t3 - t2, T, t3 - t1, n,
                n > 1 ? (n - 1) / (t4 - t3) : 0.0);
    while (chat) {
        char line[8192];
        if (isatty(0)) fputs("> ", stderr);
        if (!fgets(line, sizeof line, stdin)) break;
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0]) break;
        /* close the previous turn with "\n\n" (fed now if it was the stop
         * token), then "User: Q\n\n" and "Assistant:", each tokenised alone */
        int32_t *ids = NULL;
        size_t ni = 0;
        char *turn = malloc(strlen(line) + 16);
        if (!turn) {
            s = aviary_error(AVIARY_NOMEM, "out of memory");
            goto fail;
        }
        snprintf(turn, strlen(line) + 16, "User: %s\n\n", line);
        int32_t close = AVIARY_VRWKV_STOP_TOKEN;
        s = AVIARY_OK;
        if (pending != AVIARY_VRWKV_STOP_TOKEN) s = aviary_model_eval(a.m, a.s, &pending, 1, NULL);
        if (!s) s = aviary_model_eval(a.m, a.s, &close, 1, NULL);
        if (!s) s = encode_append(a.tok, turn, &ids, &ni);
        if (!s) s = encode_append(a.tok, "Assistant:", &ids, &ni);
        if (!s) s = aviary_model_eval(a.m, a.s, ids, ni, a.logits);
        free(turn);
        free(ids);
        if (!s) s = answer(&a, &pending, &n);
        if (s) goto fail;
    }
    rc = 0;
fail:
    if (rc) cli_fail_status(s);
    free(x);
    free(a.logits);
    free(ids_b);
    free(ids_a);
    free(sb);
    free(sa);
    free(sas);
    aviary_sampler_free(a.smp);
    aviary_state_free(a.s);
    aviary_tokenizer_free(a.tok);
    aviary_pipeline_results_free(&res);
    aviary_pipeline_free(pl);
    aviary_plugin_registry_free(reg);
    return rc;
}
