/* audio.c - decode audio files/memory through libsndfile into planar float. */
#include <errno.h>
#include <sndfile.h>
#include <sys/stat.h>
#include <stdio.h>
#include "aviary/aviary_audio.h"
#include "internal.h"

/* Memory image for libsndfile's virtual I/O. */
typedef struct memfile {
    const unsigned char *data;
    sf_count_t size, pos;
} memfile;

static sf_count_t mem_get_filelen(void *user) { return ((memfile *)user)->size; }

static sf_count_t mem_seek(sf_count_t offset, int whence, void *user) {
    memfile *m = user;
    sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? m->pos : m->size;
    if (offset > 0 && base > INT64_MAX - offset) return -1;
    sf_count_t p = base + offset;
    if (p < 0) return -1;
    m->pos = p; /* seeking past the end is allowed; reads there return 0 */
    return p;
}

static sf_count_t mem_read(void *ptr, sf_count_t count, void *user) {
    memfile *m = user;
    if (count <= 0 || m->pos >= m->size) return 0;
    sf_count_t n = m->size - m->pos < count ? m->size - m->pos : count;
    memcpy(ptr, m->data + m->pos, (size_t)n);
    m->pos += n;
    return n;
}

static sf_count_t mem_write(const void *ptr, sf_count_t count, void *user) {
    (void)ptr, (void)count, (void)user;
    return 0; /* read-only */
}

static sf_count_t mem_tell(void *user) { return ((memfile *)user)->pos; }

/* Upper bound on decoded samples (all channels): 2^31 floats = 8 GiB. */
#define MAX_TOTAL_SAMPLES ((int64_t)1 << 31)

static aviary_status decode(SNDFILE *sf, const SF_INFO *info, const char *name, aviary_audio *out) {
    if (info->channels < 1 || info->samplerate < 1)
        return aviary_error(AVIARY_FORMAT, "%s: invalid header (%d channels, %d Hz)", name, info->channels,
                            info->samplerate);
    /* Keep float samples at their file scale (sf_command SFC_SET_NORM_FLOAT
     * defaults to on: integer PCM is divided by 2^(bits-1)). */
    const int ch = info->channels;
    /* ~256 KiB of samples per read, whatever the channel count */
    const sf_count_t chunk = ch < 65536 ? 65536 / ch : 1;
    size_t cap = 0, len = 0; /* in frames */
    float *inter = NULL;
    for (;;) {
        if (len + (size_t)chunk > cap) {
            size_t ncap = cap ? cap * 2 : (size_t)chunk * 4;
            size_t bytes;
            if ((int64_t)ncap * ch > MAX_TOTAL_SAMPLES * 2 || !aviary__mul_size(ncap, (size_t)ch * sizeof(float), &bytes)) {
                free(inter);
                return aviary_error(AVIARY_UNSUPPORTED, "%s: audio longer than %lld samples is not supported", name,
                                    (long long)MAX_TOTAL_SAMPLES);
            }
            float *p = realloc(inter, bytes);
            if (!p) {
                free(inter);
                return aviary_error(AVIARY_NOMEM, "%s: out of memory decoding audio", name);
            }
            inter = p;
            cap = ncap;
        }
        sf_count_t got = sf_readf_float(sf, inter + len * (size_t)ch, chunk);
        if (got <= 0) break;
        len += (size_t)got;
        if ((int64_t)len * ch > MAX_TOTAL_SAMPLES) {
            free(inter);
            return aviary_error(AVIARY_UNSUPPORTED, "%s: audio longer than %lld samples is not supported", name,
                                (long long)MAX_TOTAL_SAMPLES);
        }
    }
    int err = sf_error(sf);
    if (err != SF_ERR_NO_ERROR) {
        free(inter);
        return aviary_error(AVIARY_FORMAT, "%s: corrupt audio data (%s)", name, sf_error_number(err));
    }
    if (len == 0) {
        free(inter);
        return aviary_error(AVIARY_FORMAT, "%s: no audio samples (empty file)", name);
    }
    /* A header that promises more frames than the data holds means the file
     * was cut short. MPEG frame counts are estimates, so only PCM-like
     * containers with an exact count are checked. */
    int major = info->format & SF_FORMAT_TYPEMASK;
    if (info->frames != SF_COUNT_MAX && major != SF_FORMAT_MPEG && major != SF_FORMAT_OGG &&
        (sf_count_t)len < info->frames) {
        free(inter);
        return aviary_error(AVIARY_FORMAT, "%s: truncated (header declares %lld frames, file holds %lld)", name,
                            (long long)info->frames, (long long)len);
    }
    /* libsndfile shortens a data chunk that runs past the end of the file
     * and logs "data : N (should be M)": the file was cut short. */
    char log[4096];
    log[0] = '\0';
    sf_command(sf, SFC_GET_LOG_INFO, log, (int)sizeof log);
    log[sizeof log - 1] = '\0';
    for (const char *line = log; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        const char *eol = strchr(line, '\n');
        size_t ll = eol ? (size_t)(eol - line) : strlen(line);
        const char *sb = strstr(line, "(should be");
        if ((!strncmp(line, "data", 4) || !strncmp(line, "SSND", 4)) && sb && (size_t)(sb - line) < ll) {
            free(inter);
            return aviary_error(AVIARY_FORMAT, "%s: truncated (the audio data chunk runs past the end of the file)",
                                name);
        }
    }
    /* Non-finite samples (float WAV) would poison every later stage. */
    for (size_t i = 0; i < len * (size_t)ch; i++) {
        if (!(inter[i] == inter[i]) || inter[i] > 3.4e38f || inter[i] < -3.4e38f) {
            free(inter);
            return aviary_error(AVIARY_FORMAT, "%s: sample %zu is not a finite number", name, i / (size_t)ch);
        }
    }
    float *planar = malloc(len * (size_t)ch * sizeof(float));
    if (!planar) {
        free(inter);
        return aviary_error(AVIARY_NOMEM, "%s: out of memory decoding audio", name);
    }
    for (size_t f = 0; f < len; f++)
        for (int c = 0; c < ch; c++) planar[(size_t)c * len + f] = inter[f * (size_t)ch + (size_t)c];
    free(inter);
    out->samples = planar;
    out->frames = (int64_t)len;
    out->channels = ch;
    out->sample_rate = info->samplerate;
    return AVIARY_OK;
}

static aviary_status open_error(const char *name) {
    /* sf_strerror(NULL) describes the last sf_open failure on this thread's
     * libsndfile state; name the file in front of it. */
    return aviary_error(AVIARY_FORMAT, "%s: not a readable audio file (%s)", name, sf_strerror(NULL));
}

aviary_status aviary_audio_read(const char *path, aviary_audio *out) {
    if (!out) return aviary_error(AVIARY_INVALID_ARG, "aviary_audio_read: out is NULL");
    memset(out, 0, sizeof *out);
    if (!path) return aviary_error(AVIARY_INVALID_ARG, "aviary_audio_read: path is NULL");
    FILE *probe = fopen(path, "rb");
    if (!probe) return aviary_error(AVIARY_IO, "%s: cannot open audio file (%s)", path, strerror(errno));
    struct stat stbuf;
    if (fstat(fileno(probe), &stbuf) == 0 && S_ISDIR(stbuf.st_mode)) {
        fclose(probe);
        return aviary_error(AVIARY_IO, "%s: is a directory, not an audio file", path);
    }
    int c = fgetc(probe);
    fclose(probe);
    if (c == EOF) return aviary_error(AVIARY_FORMAT, "%s: no audio samples (empty file)", path);
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (!sf) return open_error(path);
    aviary_status s = decode(sf, &info, path, out);
    sf_close(sf);
    return s;
}

aviary_status aviary_audio_read_memory(const void *data, size_t size, const char *name, aviary_audio *out) {
    if (!out) return aviary_error(AVIARY_INVALID_ARG, "aviary_audio_read_memory: out is NULL");
    memset(out, 0, sizeof *out);
    if (!name) name = "<memory>";
    if (!data || size == 0) return aviary_error(AVIARY_FORMAT, "%s: no audio samples (empty file)", name);
    if (size > (size_t)INT64_MAX) return aviary_error(AVIARY_INVALID_ARG, "%s: buffer too large", name);
    memfile m = {data, (sf_count_t)size, 0};
    SF_VIRTUAL_IO vio = {mem_get_filelen, mem_seek, mem_read, mem_write, mem_tell};
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *sf = sf_open_virtual(&vio, SFM_READ, &info, &m);
    if (!sf) return open_error(name);
    aviary_status s = decode(sf, &info, name, out);
    sf_close(sf);
    return s;
}

void aviary_audio_free(aviary_audio *a) {
    if (!a) return;
    free(a->samples);
    memset(a, 0, sizeof *a);
}

aviary_status aviary_audio_mono(const aviary_audio *a, aviary_audio_mix mix, float **out) {
    if (!out) return aviary_error(AVIARY_INVALID_ARG, "aviary_audio_mono: out is NULL");
    *out = NULL;
    if (!a || !a->samples || a->frames <= 0 || a->channels < 1)
        return aviary_error(AVIARY_INVALID_ARG, "aviary_audio_mono: no audio");
    if (mix != AVIARY_AUDIO_MIX_MEAN && mix != AVIARY_AUDIO_MIX_FIRST)
        return aviary_error(AVIARY_INVALID_ARG, "aviary_audio_mono: unknown channel mix %d", (int)mix);
    size_t n = (size_t)a->frames;
    float *y = malloc(n * sizeof(float));
    if (!y) return aviary_error(AVIARY_NOMEM, "aviary_audio_mono: out of memory (%zu samples)", n);
    if (mix == AVIARY_AUDIO_MIX_FIRST || a->channels == 1) {
        memcpy(y, a->samples, n * sizeof(float));
    } else {
        for (size_t i = 0; i < n; i++) {
            double s = 0;
            for (int c = 0; c < a->channels; c++) s += a->samples[(size_t)c * n + i];
            y[i] = (float)(s / a->channels);
        }
    }
    *out = y;
    return AVIARY_OK;
}
