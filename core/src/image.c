/* image.c - image decoding (stb_image) and the Pillow-exact test-time
 * preprocessing of aviary_image.h. The resize follows Pillow 9.4
 * src/libImaging/Resample.c (precompute_coeffs, normalize_coeffs_8bpc,
 * ImagingResampleHorizontal_8bpc / Vertical_8bpc) step by step. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include "aviary/aviary_image.h"
#include "internal.h"

/* stb_image is compiled once, in stb_image_impl.c (see why there). */
#define STBI_NO_STDIO
#include <stb_image.h>

void aviary_image_free(aviary_image *img) {
    if (!img) return;
    free(img->rgb);
    img->rgb = NULL;
    img->width = img->height = 0;
}

static aviary_status image_alloc(aviary_image *img, int w, int h) {
    size_t n;
    img->width = img->height = 0;
    img->rgb = NULL;
    if (w < 1 || h < 1 || !aviary__mul_size((size_t)w, (size_t)h, &n) || !aviary__mul_size(n, 3, &n))
        return aviary_error(AVIARY_INVALID_ARG, "image: invalid size %dx%d", w, h);
    if (!(img->rgb = malloc(n))) return aviary_error(AVIARY_NOMEM, "image: out of memory for %dx%d pixels", w, h);
    img->width = w;
    img->height = h;
    return AVIARY_OK;
}

/* A JPEG whose last scan (SOS, FF DA) is not followed by an EOI marker
 * (FF D9) ends early: entropy-coded data never contains a bare FF DA/FF D9,
 * and an EXIF thumbnail's markers come before the main image's scans. */
static bool jpeg_truncated(const uint8_t *d, size_t n) {
    size_t last_sos = 0, last_eoi = 0;
    for (size_t i = 2; i + 1 < n; i++) {
        if (d[i] != 0xFF) continue;
        if (d[i + 1] == 0xDA) last_sos = i;
        else if (d[i + 1] == 0xD9) last_eoi = i;
    }
    return last_sos == 0 || last_eoi < last_sos;
}

/* stb_image as Debian 12 ships it writes past its Huffman size table when a
 * DHT table's 16 code counts add up to more than 256 (later stb releases
 * check this), already in stbi_info. Walk the markers as stb does (fill
 * bytes skipped, bytes between markers and stuffed FF00/RSTn inside scans
 * passed over; a DHT segment's tables read while its length lasts, reading
 * past the segment like stb, zeros past the end of the file) and find such a
 * table before stb sees it. */
static bool jpeg_bad_huffman(const uint8_t *d, size_t n) {
    size_t i = 0;
    while (i + 1 < n) {
        if (d[i] != 0xFF) {
            i++;
            continue;
        }
        const uint8_t m = d[i + 1];
        if (m == 0xFF) { /* fill byte */
            i++;
            continue;
        }
        if (m == 0x00 || m == 0x01 || (m >= 0xD0 && m <= 0xD9)) { /* stuffing, TEM, RSTn, SOI, EOI */
            i += 2;
            continue;
        }
        if (i + 4 > n) break;
        const size_t len = (size_t)d[i + 2] << 8 | d[i + 3];
        if (m == 0xC4 && len > 2) {
            long left = (long)len - 2;
            size_t p = i + 4;
            while (left > 0) {
                unsigned total = 0;
                for (size_t k = 1; k <= 16; k++) total += p + k < n ? d[p + k] : 0;
                if (total > 256) return true;
                left -= 17 + (long)total;
                p += 17 + total;
            }
        }
        i += 2 + (len < 2 ? 2 : len);
    }
    return false;
}

static uint32_t le32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* The three numbers of a binary PNM header (P5/P6: width, height, maxval),
 * parsed as stb does (whitespace and # comments between them); *end is just
 * past the last digit. False when a number has more than 9 digits: Debian
 * 12's stb accumulates them in an int without an overflow check. */
static bool pnm_header(const uint8_t *d, size_t n, unsigned long v[3], size_t *end) {
    size_t pos = 2;
    for (int i = 0; i < 3; i++) {
        for (;;) { /* whitespace and comments */
            while (pos < n && (d[pos] == ' ' || d[pos] == '\t' || d[pos] == '\n' || d[pos] == '\r' ||
                               d[pos] == '\f' || d[pos] == '\v'))
                pos++;
            if (pos < n && d[pos] == '#')
                while (pos < n && d[pos] != '\n' && d[pos] != '\r') pos++;
            else
                break;
        }
        v[i] = 0;
        int digits = 0;
        while (pos < n && d[pos] >= '0' && d[pos] <= '9') {
            if (++digits > 9) return false;
            v[i] = v[i] * 10 + (unsigned long)(d[pos++] - '0');
        }
    }
    *end = pos;
    return true;
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

/* Walk a PNG's chunks before stb does. Debian 12's stb grows its IDAT buffer
 * to the declared chunk length (doubling up to 2 GB) before it finds the file
 * too short, so a chunk longer than the bytes left is refused here. The IDAT
 * bytes must also be able to inflate to the pixels IHDR claims: deflate
 * expands at most 1032:1 (a 258-byte match per ~2 bits), and stb allocates the
 * whole output image before it checks. Returns a reason, or NULL if the
 * chunk layout is sound (stb still decides everything else). */
static const char *png_bad_chunks(const uint8_t *d, size_t n) {
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (n < 8 || memcmp(d, sig, 8) != 0) return NULL;
    unsigned long long idat = 0, need = 0;
    size_t pos = 8;
    for (;;) {
        if (n - pos < 12) return "truncated or corrupt image data (PNG ends inside a chunk header)";
        const uint32_t len = be32(d + pos);
        const uint8_t *type = d + pos + 4;
        if (len > n - pos - 12) return "truncated or corrupt image data (a PNG chunk runs past the end of the file)";
        if (!memcmp(type, "IHDR", 4) && len >= 13) {
            static const unsigned channels[7] = {1, 0, 3, 1, 2, 0, 4}; /* by colour type */
            const uint8_t *h = d + pos + 8;
            const unsigned ct = h[9] < 7 ? channels[h[9]] : 0;
            const uint32_t w = be32(h), ht = be32(h + 4);
            /* sides past aviary's limit are refused after stbi_info */
            if (w <= AVIARY_IMAGE_MAX_SIDE && ht <= AVIARY_IMAGE_MAX_SIDE)
                need = (unsigned long long)w * ht * (ct ? ct : 1) * (h[8] ? h[8] : 1) / 8;
        } else if (!memcmp(type, "IDAT", 4)) {
            idat += len;
        } else if (!memcmp(type, "IEND", 4)) {
            break;
        }
        pos += 12 + (size_t)len;
    }
    if (need > 1032ull * idat + 1024) return "truncated or corrupt image data (too little PNG image data for its size)";
    return NULL;
}

/* stb fills the missing end of a PNM, BMP or TGA file with zeros instead of
 * failing; those formats say exactly how many bytes they need (TGA's
 * run-length packets are walked). Returns true if the file is shorter. */
static bool raw_truncated(const uint8_t *d, size_t n, int w, int h) {
    if (n >= 2 && d[0] == 'P' && (d[1] == '5' || d[1] == '6')) {
        unsigned long v[3];
        size_t pos;
        if (!pnm_header(d, n, v, &pos)) return true;
        pos++; /* the single whitespace before the samples */
        const unsigned long long need =
            (unsigned long long)w * (unsigned long long)h * (d[1] == '6' ? 3u : 1u) * (v[2] > 255 ? 2u : 1u);
        return pos > n || n - pos < need;
    }
    if (n >= 26 && d[0] == 'B' && d[1] == 'M') {
        const uint32_t off = le32(d + 10), hsz = le32(d + 14);
        uint32_t bpp = 0, comp = 0;
        if (hsz == 12) bpp = le16(d + 24);
        else if (hsz >= 40 && n >= 34) bpp = le16(d + 28), comp = le32(d + 30);
        if (!bpp || (comp != 0 && comp != 3)) return false; /* RLE etc.: stb decides */
        const unsigned long long row = (((unsigned long long)bpp * (unsigned)w + 31) / 32) * 4;
        return (unsigned long long)n < (unsigned long long)off + row * (unsigned)h;
    }
    /* TGA has no magic: trust the header only where it repeats stb's size */
    if (n >= 18 && le16(d + 12) == w && le16(d + 14) == h && (d[2] & ~8) >= 1 && (d[2] & ~8) <= 3) {
        const unsigned px = (d[16] + 7u) / 8u, cmap_entry = (d[7] + 7u) / 8u;
        unsigned long long pos = 18ull + d[0] + (d[1] ? (unsigned long long)le16(d + 5) * cmap_entry : 0);
        unsigned long long left = (unsigned long long)w * (unsigned)h;
        if (px == 0) return false;
        if (!(d[2] & 8)) return n < pos + left * px; /* uncompressed */
        while (left > 0) { /* run-length packets: header byte, then one pixel (run) or `count` pixels (raw) */
            if (pos >= n) return true;
            const unsigned cnt = (d[pos] & 0x7f) + 1u;
            pos += 1 + (d[pos] & 0x80 ? px : (unsigned long long)cnt * px);
            left = left > cnt ? left - cnt : 0;
        }
        return pos > n;
    }
    return false;
}

aviary_status aviary_image_load_memory(const void *data, size_t size, const char *name, aviary_image *out) {
    const uint8_t *d = data;
    out->width = out->height = 0;
    out->rgb = NULL;
    if (!name) name = "image";
    if (size == 0) return aviary_error(AVIARY_FORMAT, "%s: empty file", name);
    if (size > (size_t)INT32_MAX) return aviary_error(AVIARY_UNSUPPORTED, "%s: file larger than 2 GB", name);
    int w = 0, h = 0, comp = 0;
    if (size >= 10 && !memcmp(d, "#?RADIANCE", 10))
        return aviary_error(AVIARY_UNSUPPORTED, "%s: HDR (Radiance) images are not supported", name);
    unsigned long pnm[3];
    size_t pnm_end;
    if (size >= 2 && d[0] == 'P' && (d[1] == '5' || d[1] == '6') && !pnm_header(d, size, pnm, &pnm_end))
        return aviary_error(AVIARY_FORMAT, "%s: corrupt PNM header (a number with more than 9 digits)", name);
    if (d[0] == 0xFF && jpeg_bad_huffman(d, size))
        return aviary_error(AVIARY_FORMAT, "%s: corrupt JPEG (Huffman table with more than 256 codes)", name);
    const char *png_why = png_bad_chunks(d, size);
    if (png_why) return aviary_error(AVIARY_FORMAT, "%s: %s", name, png_why);
    if (!stbi_info_from_memory(d, (int)size, &w, &h, &comp)) {
        const char *why = stbi_failure_reason();
        return aviary_error(AVIARY_FORMAT, "%s: not a readable image (PNG, JPEG, BMP, GIF, TGA, PSD, PNM)%s%s", name,
                            why ? ": " : "", why ? why : "");
    }
    if (w < 1 || h < 1 || w > AVIARY_IMAGE_MAX_SIDE || h > AVIARY_IMAGE_MAX_SIDE ||
        (long long)w * h > AVIARY_IMAGE_MAX_PIXELS)
        return aviary_error(AVIARY_UNSUPPORTED, "%s: image size %dx%d is outside the supported range", name, w, h);
    /* no format packs more than ~16k pixels into a byte (a blank 1-bit PNG);
     * a header claiming more is corrupt and must not cost a huge decode */
    if ((long long)w * h > 16384LL * (long long)size + (1LL << 20))
        return aviary_error(AVIARY_FORMAT, "%s: header claims %dx%d pixels, more than a %zu-byte file can hold", name,
                            w, h, size);
    if (raw_truncated(d, size, w, h)) return aviary_error(AVIARY_FORMAT, "%s: truncated image data", name);
    bool is_jpeg = size >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF;
    if (is_jpeg && jpeg_truncated(d, size)) return aviary_error(AVIARY_FORMAT, "%s: truncated JPEG (no end-of-image marker)", name);
    int cw = 0, ch = 0, cc = 0;
    /* Native channels (req_comp 0), converted to RGB below: stb 2.27's own
     * conversion treats 16-bit samples as 8-bit (a 16-bit PGM asked for 3
     * channels reads past its buffer). */
    stbi_uc *px = stbi_load_from_memory(d, (int)size, &cw, &ch, &cc, 0);
    if (!px) {
        const char *why = stbi_failure_reason();
        aviary_status st = AVIARY_FORMAT;
        if (why && (strstr(why, "not supported") || strstr(why, "unsupported") || strstr(why, "8/16-bit only") ||
                    strstr(why, "CMYK")))
            st = AVIARY_UNSUPPORTED;
        if (why && !strcmp(why, "outofmem")) st = AVIARY_NOMEM;
        if (why && (!strcmp(why, "outofdata") || !strcmp(why, "bad zlib header") || strstr(why, "corrupt")))
            return aviary_error(st, "%s: truncated or corrupt image data (%s)", name, why);
        return aviary_error(st, "%s: cannot decode image: %s", name, why ? why : "unknown error");
    }
    if (cw != w || ch != h || cc < 1 || cc > 4) {
        stbi_image_free(px);
        return aviary_error(AVIARY_FORMAT, "%s: inconsistent image header", name);
    }
    aviary_status st = image_alloc(out, w, h);
    if (st == AVIARY_OK) {
        /* As PIL's convert('RGB'): grey replicated, alpha dropped. */
        const size_t n = (size_t)w * (size_t)h;
        for (size_t i = 0; i < n; i++) {
            const stbi_uc *p = px + i * (size_t)cc;
            uint8_t *o = out->rgb + i * 3;
            if (cc < 3) o[0] = o[1] = o[2] = p[0];
            else o[0] = p[0], o[1] = p[1], o[2] = p[2];
        }
    }
    stbi_image_free(px);
    return st;
}

aviary_status aviary_image_load(const char *path, aviary_image *out) {
    out->width = out->height = 0;
    out->rgb = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return aviary_error(AVIARY_IO, "%s: cannot open: %s", path, strerror(errno));
    uint8_t *buf = NULL;
    long sz = -1;
    if (fseek(f, 0, SEEK_END) == 0) sz = ftell(f);
    if (sz < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return aviary_error(AVIARY_IO, "%s: cannot read (not a regular file?)", path);
    }
    if (sz > INT32_MAX) {
        fclose(f);
        return aviary_error(AVIARY_UNSUPPORTED, "%s: file larger than 2 GB", path);
    }
    if (!(buf = malloc(sz > 0 ? (size_t)sz : 1))) {
        fclose(f);
        return aviary_error(AVIARY_NOMEM, "%s: out of memory", path);
    }
    size_t got = fread(buf, 1, (size_t)sz, f);
    int err = ferror(f);
    fclose(f);
    if (err || got != (size_t)sz) {
        free(buf);
        return aviary_error(AVIARY_IO, "%s: read error", path);
    }
    aviary_status st = aviary_image_load_memory(buf, (size_t)sz, path, out);
    free(buf);
    return st;
}

/* ---- Pillow bicubic ------------------------------------------------------ */

#define PRECISION_BITS (32 - 8 - 2)

static double bicubic_filter(double x) {
    const double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

/* Pillow precompute_coeffs + normalize_coeffs_8bpc for box [0, in_size):
 * bounds[2*xx] = first input index, bounds[2*xx+1] = count; kk[xx*ksize + i]
 * the fixed-point weights. Returns ksize, or 0 on allocation failure. */
static int coeffs(int in_size, int out_size, int **bounds_out, int32_t **kk_out) {
    double scale = (double)in_size / out_size, filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 2.0 * filterscale;
    int ksize = (int)ceil(support) * 2 + 1;
    double *k = malloc((size_t)ksize * sizeof(double));
    int32_t *kk = malloc((size_t)out_size * (size_t)ksize * sizeof(int32_t));
    int *bounds = malloc((size_t)out_size * 2 * sizeof(int));
    if (!k || !kk || !bounds) {
        free(k);
        free(kk);
        free(bounds);
        return 0;
    }
    for (int xx = 0; xx < out_size; xx++) {
        double center = (xx + 0.5) * scale, ww = 0.0, ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        int x;
        for (x = 0; x < xmax; x++) {
            double w = bicubic_filter((x + xmin - center + 0.5) * ss);
            k[x] = w;
            ww += w;
        }
        for (x = 0; x < xmax; x++)
            if (ww != 0.0) k[x] /= ww;
        for (; x < ksize; x++) k[x] = 0;
        for (x = 0; x < ksize; x++)
            kk[xx * ksize + x] = k[x] < 0 ? (int32_t)(-0.5 + k[x] * (1 << PRECISION_BITS))
                                          : (int32_t)(0.5 + k[x] * (1 << PRECISION_BITS));
        bounds[2 * xx] = xmin;
        bounds[2 * xx + 1] = xmax;
    }
    free(k);
    *bounds_out = bounds;
    *kk_out = kk;
    return ksize;
}

static inline uint8_t clip8(int32_t v) {
    v >>= PRECISION_BITS;
    return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
}

aviary_status aviary_image_resize_bicubic(const aviary_image *in, int out_w, int out_h, aviary_image *out) {
    out->rgb = NULL;
    out->width = out->height = 0;
    if (!in || !in->rgb || in->width < 1 || in->height < 1)
        return aviary_error(AVIARY_INVALID_ARG, "image resize: empty input image");
    if (out_w < 1 || out_h < 1 || out_w > AVIARY_IMAGE_MAX_SIDE || out_h > AVIARY_IMAGE_MAX_SIDE)
        return aviary_error(AVIARY_INVALID_ARG, "image resize: invalid target size %dx%d", out_w, out_h);
    const int W = in->width, H = in->height;
    aviary_image tmp = {0, 0, NULL};
    const aviary_image *src = in;
    aviary_status st = AVIARY_OK;
    int *bh = NULL, *bv = NULL;
    int32_t *kh = NULL, *kv = NULL;
    if (out_w != W) {
        int ks = coeffs(W, out_w, &bh, &kh);
        if (!ks) return aviary_error(AVIARY_NOMEM, "image resize: out of memory");
        if ((st = image_alloc(&tmp, out_w, H)) != AVIARY_OK) goto done;
        for (int y = 0; y < H; y++) {
            const uint8_t *row = in->rgb + (size_t)y * W * 3;
            uint8_t *o = tmp.rgb + (size_t)y * out_w * 3;
            for (int xx = 0; xx < out_w; xx++) {
                const int xmin = bh[2 * xx], xmax = bh[2 * xx + 1];
                const int32_t *k = kh + (size_t)xx * ks;
                int32_t s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
                for (int x = 0; x < xmax; x++) {
                    const uint8_t *p = row + (size_t)(x + xmin) * 3;
                    s0 += p[0] * k[x];
                    s1 += p[1] * k[x];
                    s2 += p[2] * k[x];
                }
                o[3 * xx] = clip8(s0);
                o[3 * xx + 1] = clip8(s1);
                o[3 * xx + 2] = clip8(s2);
            }
        }
        src = &tmp;
    }
    if (out_h != H) {
        int ks = coeffs(H, out_h, &bv, &kv);
        if (!ks) {
            st = aviary_error(AVIARY_NOMEM, "image resize: out of memory");
            goto done;
        }
        const int w = src->width;
        if ((st = image_alloc(out, w, out_h)) != AVIARY_OK) goto done;
        for (int yy = 0; yy < out_h; yy++) {
            const int ymin = bv[2 * yy], ymax = bv[2 * yy + 1];
            const int32_t *k = kv + (size_t)yy * ks;
            uint8_t *o = out->rgb + (size_t)yy * w * 3;
            for (int xx = 0; xx < w * 3; xx++) {
                int32_t s = 1 << (PRECISION_BITS - 1);
                for (int y = 0; y < ymax; y++) s += src->rgb[((size_t)(y + ymin) * w) * 3 + xx] * k[y];
                o[xx] = clip8(s);
            }
        }
    } else if (src == &tmp) {
        *out = tmp;
        tmp.rgb = NULL;
    } else {
        if ((st = image_alloc(out, W, H)) == AVIARY_OK) memcpy(out->rgb, in->rgb, (size_t)W * H * 3);
    }
done:
    aviary_image_free(&tmp);
    free(bh);
    free(bv);
    free(kh);
    free(kv);
    return st;
}

void aviary_image_short_side_size(int w, int h, int S, int *out_w, int *out_h) {
    *out_w = w;
    *out_h = h;
    if ((w < h ? w : h) == S) return;
    if (w < h) {
        *out_w = S;
        *out_h = (int)((double)((long long)S * h) / w);
    } else {
        *out_w = (int)((double)((long long)S * w) / h);
        *out_h = S;
    }
}

/* Python int(round(d / 2)) for an integer d: half to even. */
static int half_round_even(int d) {
    int q = d / 2; /* d >= 0 here */
    if (d % 2 == 0) return q;
    return (q % 2 == 0) ? q : q + 1;
}

aviary_status aviary_image_center_crop(const aviary_image *in, int crop_h, int crop_w, aviary_image *out) {
    out->rgb = NULL;
    out->width = out->height = 0;
    if (!in || !in->rgb || in->width < 1 || in->height < 1)
        return aviary_error(AVIARY_INVALID_ARG, "image crop: empty input image");
    if (crop_h < 1 || crop_w < 1) return aviary_error(AVIARY_INVALID_ARG, "image crop: invalid size %dx%d", crop_h, crop_w);
    int y1 = in->height > crop_h ? half_round_even(in->height - crop_h) : 0;
    int x1 = in->width > crop_w ? half_round_even(in->width - crop_w) : 0;
    int h = in->height - y1 < crop_h ? in->height - y1 : crop_h;
    int w = in->width - x1 < crop_w ? in->width - x1 : crop_w;
    aviary_status st = image_alloc(out, w, h);
    if (st != AVIARY_OK) return st;
    for (int y = 0; y < h; y++)
        memcpy(out->rgb + (size_t)y * w * 3, in->rgb + ((size_t)(y + y1) * in->width + x1) * 3, (size_t)w * 3);
    return AVIARY_OK;
}

void aviary_image_normalize(const aviary_image *in, const double mean[3], const double std[3], float *chw) {
    const size_t n = (size_t)in->width * in->height;
    for (int c = 0; c < 3; c++) {
        const float m = (float)mean[c], inv = (float)(1.0 / std[c]);
        float *o = chw + c * n;
        for (size_t i = 0; i < n; i++) o[i] = ((float)in->rgb[3 * i + c] - m) * inv;
    }
}

aviary_image_preprocess aviary_image_preprocess_default(void) {
    aviary_image_preprocess p = {256, 224, 224, {123.675, 116.28, 103.53}, {58.395, 57.12, 57.375}};
    return p;
}

aviary_status aviary_image_preprocess_run(const aviary_image *in, const aviary_image_preprocess *p, float **chw,
                                          int *h, int *w) {
    *chw = NULL;
    for (int c = 0; c < 3; c++)
        if (!(p->std[c] != 0.0) || !isfinite(p->std[c]) || !isfinite(p->mean[c]))
            return aviary_error(AVIARY_INVALID_ARG, "image preprocess: std must be finite and non-zero");
    aviary_image a = {0, 0, NULL}, b = {0, 0, NULL};
    const aviary_image *cur = in;
    aviary_status st = AVIARY_OK;
    if (p->resize_short > 0) {
        int rw, rh;
        aviary_image_short_side_size(in->width, in->height, p->resize_short, &rw, &rh);
        if (rw < 1) rw = 1;
        if (rh < 1) rh = 1;
        if (rw != in->width || rh != in->height) {
            if ((st = aviary_image_resize_bicubic(in, rw, rh, &a)) != AVIARY_OK) return st;
            cur = &a;
        }
    }
    if (p->crop_h > 0 && p->crop_w > 0) {
        if ((st = aviary_image_center_crop(cur, p->crop_h, p->crop_w, &b)) != AVIARY_OK) goto done;
        cur = &b;
    }
    float *buf = malloc((size_t)cur->width * cur->height * 3 * sizeof(float));
    if (!buf) {
        st = aviary_error(AVIARY_NOMEM, "image preprocess: out of memory");
        goto done;
    }
    aviary_image_normalize(cur, p->mean, p->std, buf);
    *chw = buf;
    *h = cur->height;
    *w = cur->width;
done:
    aviary_image_free(&a);
    aviary_image_free(&b);
    return st;
}
