/* ckpt_pth.c - PyTorch zip checkpoint reader (being written). */
#include "checkpoint_internal.h"

aviary_status aviary__pth_parse(aviary_checkpoint *ck, const void *buf, size_t size, const char *what) {
    (void)ck; (void)buf; (void)size;
    return aviary_error(AVIARY_UNSUPPORTED, "%s: PyTorch zip checkpoints are not readable yet", what);
}

aviary_status aviary__pth_read(aviary_checkpoint *ck, const char *path) {
    const void *base;
    size_t size;
    aviary_status s = aviary__ckpt_map(ck, path, &base, &size);
    if (s != AVIARY_OK) return s;
    return aviary__pth_parse(ck, base, size, path);
}
