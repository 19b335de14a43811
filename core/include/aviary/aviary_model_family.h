/*
 * aviary_model_family.h - tell which model family a checkpoint holds, and its
 * hyper-parameters, from tensor names and shapes alone (no weight data is
 * read). Used by `aviary inspect`; verify/run can use it to pick a loader.
 *
 * Recognised:
 *   RWKV-4/5/6/7 language models (official names emb/blocks.N/head and the
 *     Hugging Face names rwkv.embeddings / blocks.N.attention / RWKV-7
 *     model.layers.N.attn; sizes via aviary_model_probe());
 *   VisualRWKV (rwkv.* LM + proj.* + vit.* CLIP vision tower);
 *   Vision-RWKV classifiers (VRWKV and VRWKV6: patch_embed + layers.N.att);
 *   AudioRWKV 2024 (bn0 / sed_model.*) and A-RWKV 2025 (conv emb + RWKV-7);
 *   RWKV-TS forecasters (rwkv.N.* blocks + in_layer / out_layer).
 * A DataParallel "module." prefix and a wrapper prefix such as "backbone."
 * or "sed_model." are accepted.
 */
#ifndef AVIARY_MODEL_FAMILY_H
#define AVIARY_MODEL_FAMILY_H

#include "aviary_checkpoint.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum aviary_family {
    AVIARY_FAMILY_UNKNOWN = 0,
    AVIARY_FAMILY_RWKV_LM = 1,     /* RWKV-4/5/6/7 language model */
    AVIARY_FAMILY_VISUAL_RWKV = 2, /* VisualRWKV: RWKV LM + CLIP vision tower + projection */
    AVIARY_FAMILY_VISION_RWKV = 3, /* Vision-RWKV image classifier (VRWKV, VRWKV6) */
    AVIARY_FAMILY_AUDIO_RWKV = 4,  /* AudioRWKV 2024 or A-RWKV 2025 */
    AVIARY_FAMILY_RWKV_TS = 5      /* RWKV-TS time-series forecaster */
} aviary_family;

/* What was recognised. Sizes that do not apply to the family are 0. */
typedef struct aviary_family_info {
    aviary_family family;
    char variant[32];   /* e.g. "RWKV-6", "VRWKV6", "AudioRWKV 2024", "A-RWKV 2025" */
    char prefix[32];    /* key prefix of the model's tensors ("", "rwkv.", "backbone.", ...) */
    int version;        /* RWKV block version 4..7 (0 if unknown) */
    int n_layer;        /* RWKV blocks */
    int n_embd;         /* width (d_model / embed_dims) */
    int n_head, head_size;
    int dim_ffn;        /* channel-mix hidden width */
    int vocab_size;     /* LM */
    int n_classes;      /* vision / audio classifiers */
    int patch_size;     /* vision / audio patch (square), RWKV-TS patch length */
    int in_channels;    /* vision / audio patch-embedding input channels */
    int n_tokens;       /* position-embedding tokens (vision / audio), RWKV-TS patch count */
    int pred_len;       /* RWKV-TS forecast horizon */
    int n_mels;         /* AudioRWKV 2024 mel bins */
    int enc_layers, enc_width, enc_image; /* VisualRWKV vision tower: layers, width, image size */
    bool key_norm, layer_scale;           /* Vision-RWKV options visible in the keys */
    char summary[384];  /* one line: "<family> <variant>: key=value, ..." */
} aviary_family_info;

/* Recognise ck's family. Returns AVIARY_OK with family UNKNOWN (and a
 * summary saying so) when nothing matches; an error only when the names say
 * a family but a shape contradicts it (message names the file and tensor). */
AVIARY_API aviary_status aviary_family_detect(aviary_checkpoint *ck, aviary_family_info *out);

/* "RWKV LM", "VisualRWKV", "Vision-RWKV", "AudioRWKV", "RWKV-TS", "unknown". */
AVIARY_API const char *aviary_family_name(aviary_family f);

#ifdef __cplusplus
}
#endif
#endif /* AVIARY_MODEL_FAMILY_H */
