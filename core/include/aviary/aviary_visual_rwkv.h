/*
 * aviary_visual_rwkv.h - VisualRWKV (howard-hou/VisualRWKV, arXiv 2406.13362):
 * image question answering with a CLIP vision tower (aviary_clip_vit.h), an
 * image projection into the LM's embedding space, and an RWKV language model
 * (aviary_model.h).
 *
 * The pieces, as VisualRWKV-v6/v6.0 evaluate.py -> src/model.py
 * VisualRWKV.generate runs them:
 *   1. features = CLIP last_hidden_state with CLS moved to the end
 *      (aviary_clip_vit_forward + aviary_clip_vit_cls_last);
 *   2. image_embeds = projection(features) (aviary_vrwkv_proj_*);
 *   3. the prompt's text segments, each tokenised separately, around the
 *      image embeddings (aviary_vrwkv_prompt_text, aviary_vrwkv_assemble);
 *   4. layer-major prefill of the whole sequence with the patch rows reversed
 *      before every odd layer and restored after (aviary_vrwkv_prefill);
 *   5. RNN-mode decoding with aviary_model_eval on the state the prefill left.
 * aviary_vrwkv bundles 1-4 for one checkpoint (or an LM file + a vision file).
 */
#ifndef AVIARY_VISUAL_RWKV_H
#define AVIARY_VISUAL_RWKV_H
#include "aviary_clip_vit.h"
#include "aviary_model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* VisualRWKV's stop token: "\n\n" (STOP_TOKEN_INDEX in src/dataset.py). */
#define AVIARY_VRWKV_STOP_TOKEN 261

/* ------------------------------------------------------------ projection */

/* The image projection. Two forms, picked by the keys present:
 *   v6 (VisualRWKV-v6 src/model.py: nn.Linear(vision_dim, n_embd, bias=False)):
 *       y = x @ proj.weight^T
 *   v7 (VisualRWKV-v7/v7.00 src/model.py class MLPWithContextGating, used when
 *       proj_type != "linear"; keys proj.gate.weight [D, D],
 *       proj.o_proj.weight [C, D], proj.ln_v.{weight,bias} [C]):
 *       y = LayerNorm_eps1e-5( o_proj( x * sigmoid(gate(x)) ) )
 * Immutable after load; forward may run from several threads. */
typedef struct aviary_vrwkv_proj aviary_vrwkv_proj;

/* prefix: the key prefix (NULL = "proj."). The checkpoint may be closed
 * afterwards (weights are copied). */
AVIARY_API aviary_status aviary_vrwkv_proj_load(const aviary_checkpoint *ck, const char *prefix,
                                                aviary_weight_type weights, aviary_vrwkv_proj **out);
/* Random v6 projection (in_dim -> out_dim) for benchmarks. */
AVIARY_API aviary_status aviary_vrwkv_proj_random(int in_dim, int out_dim, uint64_t seed, aviary_vrwkv_proj **out);
AVIARY_API void aviary_vrwkv_proj_free(aviary_vrwkv_proj *p);
AVIARY_API int aviary_vrwkv_proj_in(const aviary_vrwkv_proj *p);
AVIARY_API int aviary_vrwkv_proj_out(const aviary_vrwkv_proj *p);
AVIARY_API bool aviary_vrwkv_proj_gated(const aviary_vrwkv_proj *p);
/* y[n, out] = proj(x[n, in]). */
AVIARY_API aviary_status aviary_vrwkv_proj_forward(const aviary_vrwkv_proj *p, const float *x, size_t n, float *y);

/* ------------------------------------------------------------ prompt */

typedef enum aviary_vrwkv_layout {
    /* evaluate.py --image_position middle (the v6 evaluation, the published
     * benchmark numbers): "User: {Q'}\n<image>\n{Q}\n\nAssistant:" where Q' is
     * Q without "Answer the question using a single word or phrase." */
    AVIARY_VRWKV_SANDWICH = 0,
    /* --image_position first (training layout): "User: <image>\n{Q}\n\nAssistant:" */
    AVIARY_VRWKV_IMAGE_FIRST = 1
} aviary_vrwkv_layout;

/* Parse "sandwich"/"middle" or "first"/"image-first". */
AVIARY_API aviary_status aviary_vrwkv_layout_parse(const char *s, aviary_vrwkv_layout *out);

/* The three text segments of a first question (src/dataset.py
 * process_image_tokens_in_conversations + _add_speaker_and_signal):
 * before the image, after the image, and "Assistant:". Each is tokenised
 * separately (no BOS). The question is normalised as the reference does
 * (strip, runs of blank lines collapsed to one "\n"). The strings are
 * malloc'd; free them with free(). */
AVIARY_API aviary_status aviary_vrwkv_prompt_text(const char *question, aviary_vrwkv_layout layout, char **before,
                                                  char **after, char **assistant);

/* x[T, C] = [emb(before) | image[n_image, C] | emb(after)] with
 * T = n_before + n_image + n_after (raw embedding rows: ln0 is applied by
 * layer 0). Token ids are checked against the vocabulary. */
AVIARY_API aviary_status aviary_vrwkv_assemble(const aviary_model *m, const int32_t *before, size_t n_before,
                                               const float *image, size_t n_image, const int32_t *after,
                                               size_t n_after, float *x);

/* ------------------------------------------------------------ prefill */

/* Layer-major prefill of x[T, C] (in place) from state s: for each layer l,
 * rows [img_start, img_end) are reversed before odd layers and restored
 * after (VisualRWKV-6's bidirectional image scan; img_end excludes CLS), then
 * the layer runs over all T rows. s ends holding every layer's state after
 * row T-1, ready for RNN-mode decoding with aviary_model_eval.
 * block_outputs (NULL or [n_layer, T, C]) receives x after each layer in
 * sequence order; logits (NULL or [vocab]) the last row's logits. On return
 * x holds the last layer's output (before ln_out). Use img_start == img_end
 * for no image. RWKV-4/5/6 only (rows may not be reordered for RWKV-7). */
AVIARY_API aviary_status aviary_vrwkv_prefill(const aviary_model *m, aviary_state *s, float *x, size_t T,
                                              size_t img_start, size_t img_end, float *block_outputs, float *logits);

/* ------------------------------------------------------------ bundle */

typedef struct aviary_vrwkv aviary_vrwkv;

typedef struct aviary_vrwkv_params {
    aviary_weight_type weights;   /* LM, vision and projection matmul precision (AUTO = as stored) */
    int vision_heads;             /* CLIP heads; 0 = hidden/64 (CLIP-L: 16) */
    const char *lm_prefix;        /* NULL = "rwkv." if present, else auto */
    const char *proj_prefix;      /* NULL = "proj." */
} aviary_vrwkv_params;

AVIARY_API aviary_vrwkv_params aviary_vrwkv_default_params(void);

/* Load the LM, projection and vision tower. vision_path NULL: everything
 * from lm_path (a released checkpoint holding rwkv.*, proj.*, vit.*); else
 * the LM from lm_path and the projection + vision tower from vision_path
 * (proj.* is looked up in vision_path first, then lm_path). */
AVIARY_API aviary_status aviary_vrwkv_load(const char *lm_path, const char *vision_path,
                                           const aviary_vrwkv_params *params, aviary_vrwkv **out);
/* Random weights of a given shape for benchmarks. */
AVIARY_API aviary_status aviary_vrwkv_random(const char *lm_spec, const char *clip_spec, uint64_t seed,
                                             aviary_weight_type weights, aviary_vrwkv **out);
AVIARY_API void aviary_vrwkv_free(aviary_vrwkv *v);
AVIARY_API const aviary_model *aviary_vrwkv_lm(const aviary_vrwkv *v);
AVIARY_API const aviary_clip_vit *aviary_vrwkv_vision(const aviary_vrwkv *v);
AVIARY_API const aviary_vrwkv_proj *aviary_vrwkv_projection(const aviary_vrwkv *v);
/* Image tokens per image: P + 1. */
AVIARY_API int aviary_vrwkv_image_tokens(const aviary_vrwkv *v);

/* embeds[P+1, n_embd] for pixels [3, S, S]; features (NULL or [P+1, D])
 * receives the CLS-last vision features. */
AVIARY_API aviary_status aviary_vrwkv_encode_image(const aviary_vrwkv *v, const float *pixels, float *features,
                                                   float *embeds);

#ifdef __cplusplus
}
#endif
#endif /* AVIARY_VISUAL_RWKV_H */
