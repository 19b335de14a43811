/* lm_generate.c - text generation head plugin.
 *
 * Input   "prompt" (text): the prompt, or with chat=true the user's message.
 * Output  "text" (text): what the model writes after it.
 * Uses the pipeline's backbone RWKV LM (args->backbone, shared, read-only):
 * every run starts from a fresh zero state and a fresh sampler, so a run
 * with a fixed seed is reproducible. The prompt is prefilled in sequence
 * mode, then tokens are sampled one at a time (aviary_generate, ChatRWKV's
 * sampling rules: see aviary_sampler.h).
 * chat=true wraps the prompt as "User: PROMPT\n\nAssistant:", stops at
 * "\n\n" / "\nUser:" and applies aviary_chat_sampler_setup (end of text
 * banned, no "，，"), as `aviary chat` does for one turn. Otherwise end of text (id 0, World
 * vocabulary) stops the generation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <aviary/aviary_plugin.h>
#include <aviary/aviary_generate.h>

typedef struct lm_generate {
    const aviary_model *model;   /* borrowed from the host */
    aviary_tokenizer *tok;
    aviary_sampler_params sp;
    int max_tokens;
    bool chat;
    char *stop;                  /* owned; NULL = none */
    int32_t end_token;           /* 0: stops plain generation with the World vocabulary */
} lm_generate;

static const aviary_option_spec options[] = {
    {"max_tokens", AVIARY_OPT_INT, "100", "tokens to generate at most"},
    {"temperature", AVIARY_OPT_FLOAT, "1.0", "sampling temperature; 0 = greedy (argmax)"},
    {"top_p", AVIARY_OPT_FLOAT, "0.85", "nucleus sampling threshold, 0..1 (1 = off)"},
    {"top_k", AVIARY_OPT_INT, "0", "keep only the K most likely tokens (0 = off)"},
    {"presence_penalty", AVIARY_OPT_FLOAT, "0.2", "ChatRWKV alpha_presence"},
    {"frequency_penalty", AVIARY_OPT_FLOAT, "0.2", "ChatRWKV alpha_frequency"},
    {"penalty_decay", AVIARY_OPT_FLOAT, "0.996", "occurrence decay per generated token"},
    {"seed", AVIARY_OPT_INT, "-1", "sampling seed (-1 = from the clock)"},
    {"stop", AVIARY_OPT_STRING, "", "stop when the text contains this string (\"\" = none)"},
    {"chat", AVIARY_OPT_BOOL, "false", "wrap the prompt as one User:/Assistant: chat turn"},
    {"vocab", AVIARY_OPT_PATH, "", "vocabulary file, or \"bytes\" (default: by the model's vocabulary size)"},
};

static const aviary_port_spec inputs[] = {
    {"prompt", AVIARY_PORT_TEXT, AVIARY_MODALITY_TEXT, AVIARY_DTYPE_ANY, NULL, "the prompt (UTF-8)"},
};

static const aviary_port_spec outputs[] = {
    {"text", AVIARY_PORT_TEXT, AVIARY_MODALITY_TEXT, AVIARY_DTYPE_ANY, NULL, "the generated text (UTF-8)"},
};

static void destroy(void *inst) {
    lm_generate *g = inst;
    if (!g) return;
    aviary_tokenizer_free(g->tok);
    free(g->stop);
    free(g);
}

static aviary_status create(const aviary_plugin_create_args *a, void **instance) {
    *instance = NULL;
    if (!a->backbone)
        return aviary_error(AVIARY_CONFIG, "lm_generate needs the pipeline's \"backbone\" (an RWKV LM checkpoint)");
    lm_generate *g = calloc(1, sizeof *g);
    if (!g) return aviary_error(AVIARY_NOMEM, "out of memory");
    g->model = a->backbone;
    const aviary_option_value *o;
    int64_t max_tokens = aviary_option_find(a, "max_tokens")->i;
    if (max_tokens < 0 || max_tokens > (1 << 24)) {
        destroy(g);
        return aviary_error(AVIARY_CONFIG, "max_tokens must be from 0 to %d, got %lld", 1 << 24, (long long)max_tokens);
    }
    g->max_tokens = (int)max_tokens;
    g->sp = aviary_sampler_default_params();
    g->sp.temperature = (float)aviary_option_find(a, "temperature")->f;
    g->sp.top_p = (float)aviary_option_find(a, "top_p")->f;
    int64_t top_k = aviary_option_find(a, "top_k")->i;
    g->sp.top_k = top_k < 0 ? -1 : top_k > (1 << 24) ? (1 << 24) : (int)top_k;
    g->sp.presence_penalty = (float)aviary_option_find(a, "presence_penalty")->f;
    g->sp.frequency_penalty = (float)aviary_option_find(a, "frequency_penalty")->f;
    g->sp.penalty_decay = (float)aviary_option_find(a, "penalty_decay")->f;
    int64_t seed = aviary_option_find(a, "seed")->i;
    if (seed < -1) {
        destroy(g);
        return aviary_error(AVIARY_CONFIG, "seed must be -1 (from the clock) or >= 0, got %lld", (long long)seed);
    }
    g->sp.seed = seed < 0 ? AVIARY_SEED_RANDOM : (uint64_t)seed;
    g->chat = aviary_option_find(a, "chat")->b;
    o = aviary_option_find(a, "stop");
    if (o->has_value && o->s && *o->s && !(g->stop = strdup(o->s))) {
        destroy(g);
        return aviary_error(AVIARY_NOMEM, "out of memory");
    }
    o = aviary_option_find(a, "vocab");
    /* "bytes" is a keyword, not a file: the host resolved it against the pipeline's folder. */
    const char *vocab = o->has_value ? o->s : NULL;
    if (vocab) {
        const char *base = strrchr(vocab, '/');
        if (!strcmp(base ? base + 1 : vocab, "bytes") && access(vocab, F_OK) != 0) vocab = "bytes";
    }
    aviary_status st = aviary_tokenizer_for_model(g->model, vocab, &g->tok);
    /* Check the sampler options once here, so a bad value fails before running. */
    aviary_sampler *probe = NULL;
    if (!st) st = aviary_sampler_create(&g->sp, aviary_model_get_info(g->model)->vocab_size, &probe);
    aviary_sampler_free(probe);
    if (st) {
        destroy(g);
        return st;
    }
    *instance = g;
    return AVIARY_OK;
}

static aviary_status run(void *inst, const aviary_value *in, aviary_value *out) {
    lm_generate *g = inst;
    const char *prompt = in[0].text;
    char *wrapped = NULL;
    if (g->chat) {
        size_t n = strlen(prompt) + 32;
        if (!(wrapped = malloc(n))) return aviary_error(AVIARY_NOMEM, "out of memory");
        snprintf(wrapped, n, "User: %s\n\nAssistant:", prompt);
        prompt = wrapped;
    }
    if (!*prompt) return aviary_error(AVIARY_INVALID_ARG, "the prompt is empty");
    const int32_t V = aviary_model_get_info(g->model)->vocab_size;
    aviary_sampler_params sp = g->sp;
    aviary_chat_tokens chat_tokens;
    const char *stops[3] = AVIARY_CHAT_STOP_STRINGS;
    size_t n_stops = 0;
    if (g->chat) {
        aviary_chat_sampler_setup(g->tok, &chat_tokens, &sp);
        n_stops = 2;
    } else if (aviary_tokenizer_has_end_token(g->tok)) {
        sp.stop_tokens = &g->end_token;
        sp.n_stop_tokens = 1;
    }
    if (g->stop) stops[n_stops++] = g->stop;
    aviary_state *s = NULL;
    aviary_sampler *smp = NULL;
    int32_t *ids = NULL;
    size_t n_ids = 0;
    float *logits = malloc((size_t)V * sizeof *logits);
    aviary_generation gen = {0};
    aviary_status st = logits ? AVIARY_OK : aviary_error(AVIARY_NOMEM, "out of memory");
    if (!st) st = aviary_tokenizer_encode(g->tok, prompt, strlen(prompt), &ids, &n_ids);
    if (!st) st = aviary_state_create(g->model, &s);
    if (!st) st = aviary_sampler_create(&sp, V, &smp);
    aviary_generate_params gp = {g->max_tokens, stops, n_stops, NULL, NULL, !g->chat};
    if (!st) st = aviary_generate(g->model, s, g->tok, smp, ids, n_ids, logits, &gp, &gen);
    if (!st) {
        /* The host frees outputs with free(): hand over the malloc'd text. */
        out[0].text = gen.text;
        gen.text = NULL;
    }
    aviary_generation_free(&gen);
    aviary_sampler_free(smp);
    aviary_state_free(s);
    free(ids);
    free(logits);
    free(wrapped);
    return st;
}

static const aviary_plugin_descriptor desc = {
    AVIARY_PLUGIN_DESCRIPTOR_HEADER,
    .name = "lm_generate",
    .kind = AVIARY_PLUGIN_HEAD,
    .version = "1.0.0",
    .description = "generate text from a prompt with the pipeline's backbone RWKV language model",
    .n_options = sizeof options / sizeof options[0],
    .options = options,
    .n_inputs = 1,
    .inputs = inputs,
    .n_outputs = 1,
    .outputs = outputs,
    .create = create,
    .run = run,
    .destroy = destroy,
};

AVIARY_PLUGIN_DEFINE(desc);
