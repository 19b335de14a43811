/*
 * aviary_model.h - RWKV language models (RWKV-4 Dove, RWKV-5 Eagle,
 * RWKV-6 Finch, RWKV-7 Goose) straight from official checkpoints.
 *
 * Weights and state are kept apart (as in llama.cpp):
 *   - aviary_model holds the weights. It is immutable after load and may be
 *     shared by any number of states and threads.
 *   - aviary_state holds one stream's recurrent state. It belongs to one
 *     thread at a time. Create as many as you like per model: copy one to fork
 *     a conversation after a long, cached system prompt.
 *
 * The version and every size (layers, width, heads, head size, ffn size,
 * LoRA ranks, vocab) are inferred from tensor names and shapes. Official key
 * names (emb.weight, blocks.N.att.*, ...) and the Hugging Face copies' names
 * (rwkv.embeddings.*, pre_ln, attention, feed_forward; RWKV-7
 * model.layers.N.attn.*) are accepted, with or without a prefix such as
 * VisualRWKV's "rwkv." (see aviary_model_params.prefix).
 */
#ifndef AVIARY_MODEL_H
#define AVIARY_MODEL_H

#include "aviary_checkpoint.h"
#include "aviary_linear.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct aviary_model aviary_model;
typedef struct aviary_state aviary_state;

typedef struct aviary_model_params {
    aviary_weight_type weights; /* matmul weight precision; default AVIARY_WEIGHTS_AUTO (as stored) */
    const char *prefix;         /* key prefix to strip, e.g. "rwkv."; NULL/"" = auto-detect */
} aviary_model_params;

AVIARY_API aviary_model_params aviary_model_default_params(void);

typedef struct aviary_model_info {
    int version;        /* 4, 5, 6 or 7 */
    int n_layer;
    int n_embd;         /* model width C */
    int dim_att;        /* attention width (usually C) */
    int dim_ffn;        /* channel-mix hidden width */
    int n_head;         /* 0 for RWKV-4 */
    int head_size;      /* 0 for RWKV-4 */
    int vocab_size;
    int lora_mix, lora_decay, lora_aaa, lora_mv, lora_gate; /* 0 where not used */
    aviary_weight_type weights;   /* resolved matmul weight precision */
    uint64_t weight_bytes;        /* bytes of weights held for compute */
    size_t state_floats;          /* floats in one aviary_state */
    uint64_t embedding_bytes;     /* part of weight_bytes that is the embedding table (one row read per token) */
} aviary_model_info;

/* Load a model from a checkpoint file (any format aviary_checkpoint_open
 * reads). params may be NULL for defaults. */
AVIARY_API aviary_status aviary_model_load(const char *path, const aviary_model_params *params,
                                           aviary_model **out);
/* Load from an already open checkpoint (e.g. the "rwkv." part of a
 * VisualRWKV file). The model may keep zero-copy views into ck: ck must
 * outlive the model. */
AVIARY_API aviary_status aviary_model_load_checkpoint(aviary_checkpoint *ck, const aviary_model_params *params,
                                                      aviary_model **out);
/* Infer the version and sizes of the RWKV language model in ck without
 * loading it: only tensor names and shapes are read (no weight data is
 * touched, nothing is allocated beyond a few bytes). Fills the size fields
 * of *info (version, n_layer, n_embd, dim_att, dim_ffn, n_head, head_size,
 * vocab_size, LoRA ranks, state_floats); weights, weight_bytes and
 * embedding_bytes are 0. params may be NULL (prefix auto-detected). Errors
 * are those aviary_model_load_checkpoint() gives for the same file. */
AVIARY_API aviary_status aviary_model_probe(aviary_checkpoint *ck, const aviary_model_params *params,
                                            aviary_model_info *info);
/* A model of the given shape with random weights, for benchmarks (`aviary
 * bench --shape`): spec "rwkvV:L<layers>:D<width>:V<vocab>", e.g.
 * "rwkv6:L24:D2048:V65536". Head size 64; ffn and LoRA sizes as the official
 * releases of that width use. params->weights picks the precision (AUTO =
 * f32); the values are deterministic for a seed but meaningless. */
AVIARY_API aviary_status aviary_model_random(const char *spec, const aviary_model_params *params, uint64_t seed,
                                             aviary_model **out);
AVIARY_API void aviary_model_free(aviary_model *m);
AVIARY_API const aviary_model_info *aviary_model_get_info(const aviary_model *m);

/* Zero state (RWKV-4's running max starts at -1e30, as the reference does). */
AVIARY_API aviary_status aviary_state_create(const aviary_model *m, aviary_state **out);
AVIARY_API void aviary_state_free(aviary_state *s);
AVIARY_API void aviary_state_reset(aviary_state *s);
/* dst must come from the same model. */
AVIARY_API aviary_status aviary_state_copy(aviary_state *dst, const aviary_state *src);
/* Save / load a state to a file. The file records the model's version and
 * shapes; loading into a state of a different model fails with AVIARY_SHAPE.
 * Save writes to a temporary file and renames it, so a failed save never
 * leaves a half-written file. */
AVIARY_API aviary_status aviary_state_save(const aviary_state *s, const char *path);
AVIARY_API aviary_status aviary_state_load(aviary_state *s, const char *path);

/* Named parts of the state for inspection/tests, per layer: "att_x"
 * (time-mix shift = ln1 output of the last token, [n_embd]), "ffn_x" (ln2
 * output, [n_embd]), "wkv" (RWKV-5/6/7: [n_head, head_size, head_size] as the
 * reference stores it: RWKV-5/6 [h][key][value], RWKV-7 [h][value][key]),
 * "aa", "bb", "pp" (RWKV-4, [n_embd]). Returns a pointer into the state (the
 * caller may read or write it), or NULL for an unknown name or layer. */
AVIARY_API float *aviary_state_part(aviary_state *s, const char *name, int layer, size_t *n_floats);

/* Feed tokens. logits (may be NULL) receives the [vocab] logits after the
 * LAST token. Sequence mode: all projections of all n tokens run as matrix
 * multiplies, then the recurrence; gives the same result as n calls with
 * one token each (RNN mode). */
AVIARY_API aviary_status aviary_model_eval(const aviary_model *m, aviary_state *s, const int32_t *tokens, size_t n,
                                           float *logits);
/* Same, strictly one token at a time (RNN mode); for tests and comparison. */
AVIARY_API aviary_status aviary_model_eval_rnn(const aviary_model *m, aviary_state *s, const int32_t *tokens,
                                               size_t n, float *logits);
/* Feed n input embeddings [n, n_embd] instead of token ids (VisualRWKV image
 * tokens). */
AVIARY_API aviary_status aviary_model_eval_embeddings(const aviary_model *m, aviary_state *s, const float *emb,
                                                      size_t n, float *logits);

/* Per-layer API (VisualRWKV and other callers that reorder or inject tokens
 * between layers). aviary_model_eval is exactly:
 *   embed(tokens) -> x; for l in 0..n_layer-1: forward_layer(l, x); head(last row of x).
 *
 * aviary_model_embed: x[n, n_embd] = the raw embedding rows of the tokens
 * (no norm; blocks.0.ln0 is applied by layer 0). Fails on an id outside
 * [0, vocab_size).
 * aviary_model_forward_layer: run block `layer` (layer 0 first applies ln0)
 * over the hidden sequence x[n, n_embd] in place, in order, with that layer's
 * part of s (token shift and WKV state). Layers must be called in order
 * 0..n_layer-1 for the same n rows (RWKV-7 keeps layer 0's v for the later
 * layers in s's scratch); rows may be reordered between layers only for
 * RWKV-4/5/6. Grows s's scratch to n rows if needed (one allocation).
 * aviary_model_head: logits[n, vocab] = head(ln_out(x[n, n_embd])). */
AVIARY_API aviary_status aviary_model_embed(const aviary_model *m, const int32_t *tokens, size_t n, float *x);
AVIARY_API aviary_status aviary_model_forward_layer(const aviary_model *m, aviary_state *s, int layer, float *x,
                                                    size_t n);
AVIARY_API aviary_status aviary_model_head(const aviary_model *m, const float *x, size_t n, float *logits);
/* y[n, n_embd] = ln_out(x[n, n_embd]): the final LayerNorm alone, the input
 * of the head (VisualRWKV's hidden states). y may equal x. */
AVIARY_API aviary_status aviary_model_ln_out(const aviary_model *m, const float *x, size_t n, float *y);

#ifdef __cplusplus
}
#endif
#endif /* AVIARY_MODEL_H */
