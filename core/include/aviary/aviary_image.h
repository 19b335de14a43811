/*
 * aviary_image.h - image input and the classification test-time
 * preprocessing of mmcls 0.25 (Vision-RWKV) and, for the resize, of CLIP
 * (VisualRWKV), reproduced pixel for pixel:
 *
 *  - decode with stb_image (PNG, JPEG, BMP, GIF first frame, TGA, PSD, PNM,
 *    HDR is refused). Grayscale is replicated to R=G=B and any alpha channel
 *    is dropped without compositing, as PIL's Image.convert('RGB') does;
 *    16-bit PNGs are reduced to 8 bits by stb (high byte).
 *    A JPEG without its end-of-image marker is reported as truncated (stb
 *    would silently fill the missing part with grey). JPEG decoding is
 *    stb's, which may differ from libjpeg by +-1 grey level.
 *  - Pillow 9.4 Image.resize(BICUBIC): separable, horizontal pass first,
 *    a = -0.5, support 2 x the down-scale factor (antialias), coefficients
 *    normalised in double then quantised to 22-bit fixed point (round half
 *    away from zero), accumulators start at 1<<21, each pass clipped to uint8.
 *  - centre crop with mmcv's rule: offset int(round((H-h)/2)) (half to even),
 *    the crop clipped to the image when the image is smaller.
 *  - mean/std normalisation in float32: (x - mean) * float32(1/std), on the
 *    0..255 scale, output CHW (R, G, B planes).
 *
 * An aviary_image owns its pixel buffer (interleaved RGB, row-major);
 * free it with aviary_image_free. All functions are thread-safe.
 */
#ifndef AVIARY_IMAGE_H
#define AVIARY_IMAGE_H

#include "aviary_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest accepted image side and pixel count; larger files are refused with
 * AVIARY_UNSUPPORTED before any pixel buffer is allocated. */
#define AVIARY_IMAGE_MAX_SIDE 32768
#define AVIARY_IMAGE_MAX_PIXELS (1LL << 27)

typedef struct aviary_image {
    int width, height;
    uint8_t *rgb;  /* width*height*3 bytes, owned (malloc), row-major RGB */
} aviary_image;

/* Decode a file. Errors (one line naming `path`): AVIARY_IO if it cannot be
 * read, AVIARY_FORMAT if it is not an image or is corrupt/truncated,
 * AVIARY_UNSUPPORTED for image types stb cannot decode or sizes above the
 * limits. On failure *out is zeroed. */
AVIARY_API aviary_status aviary_image_load(const char *path, aviary_image *out);
/* Same from memory; `name` labels error messages. */
AVIARY_API aviary_status aviary_image_load_memory(const void *data, size_t size, const char *name,
                                                  aviary_image *out);
/* Release the pixels and zero the struct. NULL or an empty image is fine. */
AVIARY_API void aviary_image_free(aviary_image *img);

/* Pillow-exact BICUBIC resize of `in` to out_w x out_h (both >= 1) into a new
 * image *out. A side that keeps its size is not resampled (as Pillow). */
AVIARY_API aviary_status aviary_image_resize_bicubic(const aviary_image *in, int out_w, int out_h,
                                                     aviary_image *out);

/* Size after mmcls Resize(size=(S, -1), adaptive_side='short'): the short side
 * becomes S, the long side int(S*long/short); unchanged when the short side
 * is already S. */
AVIARY_API void aviary_image_short_side_size(int w, int h, int S, int *out_w, int *out_h);

/* mmcv CenterCrop: new image of min(crop_h, H) x min(crop_w, W). */
AVIARY_API aviary_status aviary_image_center_crop(const aviary_image *in, int crop_h, int crop_w,
                                                  aviary_image *out);

/* Write (x - mean[c]) * float32(1/std[c]) as CHW floats into chw (3*W*H). */
AVIARY_API void aviary_image_normalize(const aviary_image *in, const double mean[3], const double std[3],
                                       float *chw);

/* The whole test pipeline. resize_short <= 0 skips the resize; crop sides
 * <= 0 skip the crop. */
typedef struct aviary_image_preprocess {
    int resize_short;
    int crop_h, crop_w;
    double mean[3], std[3];
} aviary_image_preprocess;

/* The ImageNet test pipeline of Vision-RWKV's configs (imagenet_bs64_swin_224):
 * resize_short 256, crop 224x224, mean (123.675, 116.28, 103.53),
 * std (58.395, 57.12, 57.375). */
AVIARY_API aviary_image_preprocess aviary_image_preprocess_default(void);

/* Run resize, crop and normalise on `in`; *chw is a new malloc'd [3, *h, *w]
 * float buffer (caller frees). */
AVIARY_API aviary_status aviary_image_preprocess_run(const aviary_image *in, const aviary_image_preprocess *p,
                                                     float **chw, int *h, int *w);

#ifdef __cplusplus
}
#endif
#endif /* AVIARY_IMAGE_H */
