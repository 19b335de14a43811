/*
 * aviary_checkpoint.h - read official checkpoints in place, no conversion.
 *
 * Formats (detected from content, not the file name):
 *   - PyTorch torch.save zip format (.pth/.bin/.pt), including ZIP64;
 *     the pickle subset a state_dict uses. A nested dict such as
 *     {"state_dict": {...}} or {"model": {...}} is flattened to its tensors.
 *   - safetensors, and a sharded safetensors set given by its
 *     *.safetensors.index.json (or any one shard of a
 *     model-0000N-of-0000M.safetensors set). pytorch_model-0000N-of-0000M.bin
 *     sets (torch zip shards) are read the same way, from their index or
 *     any one shard.
 * Files are memory-mapped read-only: opening costs no more resident memory
 * than the tensors later touched. Every tensor is a zero-copy view
 * (owned == NULL) into the mapping, valid until aviary_checkpoint_close().
 * A checkpoint is immutable after open and may be read from any thread.
 */
#ifndef AVIARY_CHECKPOINT_H
#define AVIARY_CHECKPOINT_H

#include "aviary_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct aviary_checkpoint aviary_checkpoint;

typedef enum aviary_checkpoint_format {
    AVIARY_CKPT_PTH = 0,          /* torch.save zip */
    AVIARY_CKPT_SAFETENSORS = 1,  /* one safetensors file */
    AVIARY_CKPT_SHARDED = 2       /* several shard files (safetensors or torch zip) */
} aviary_checkpoint_format;

/* Open `path`. On failure returns AVIARY_IO / AVIARY_FORMAT / AVIARY_UNSUPPORTED
 * / AVIARY_NOMEM with a message naming the file and the problem; *out = NULL.
 * Malformed or hostile files never crash and never cause allocations larger
 * than the file itself justifies. */
AVIARY_API aviary_status aviary_checkpoint_open(const char *path, aviary_checkpoint **out);

/* Unmap and free. Invalidates every tensor and name obtained from it. NULL ok. */
AVIARY_API void aviary_checkpoint_close(aviary_checkpoint *ck);

AVIARY_API aviary_checkpoint_format aviary_checkpoint_get_format(const aviary_checkpoint *ck);
AVIARY_API const char *aviary_checkpoint_path(const aviary_checkpoint *ck);

/* Tensors in file order (pickle / header order). */
AVIARY_API size_t aviary_checkpoint_count(const aviary_checkpoint *ck);
AVIARY_API const aviary_tensor *aviary_checkpoint_at(const aviary_checkpoint *ck, size_t i);

/* Look a tensor up by name. Keys saved under a DataParallel "module." prefix
 * are found by their name without it, and vice versa. NULL if absent (this
 * does not set an error message). */
AVIARY_API const aviary_tensor *aviary_checkpoint_find(const aviary_checkpoint *ck, const char *name);

/* Like find, but sets an AVIARY_NOT_FOUND error naming the checkpoint file
 * and the key when it is absent. */
AVIARY_API aviary_status aviary_checkpoint_get(const aviary_checkpoint *ck, const char *name,
                                               const aviary_tensor **out);

/* Sum of tensor bytes (what a full load would read). */
AVIARY_API uint64_t aviary_checkpoint_total_bytes(const aviary_checkpoint *ck);

#ifdef __cplusplus
}
#endif
#endif /* AVIARY_CHECKPOINT_H */
