/* spectrogram.c - STFT / Kaldi fbank log-mel front ends on FFTW (fftw3f). */
#include <fftw3.h>
#include <math.h>
#include <pthread.h>
#include "aviary/aviary_spectrogram.h"
#include "internal.h"

/* FFTW's planner (and plan destruction) is not thread-safe. */
static pthread_mutex_t fftw_planner_lock = PTHREAD_MUTEX_INITIALIZER;

struct aviary_spectrogram {
    aviary_spectrogram_params p;
    int n_bins;
    double *window;      /* win_length */
    float *banks;        /* [n_mels][n_bins], as applied */
    int *band_lo, *band_hi; /* non-zero bin range [lo, hi) per mel band */
    double *frame;       /* win_length scratch */
    float *fft_in;       /* n_fft */
    fftwf_complex *fft_out; /* n_bins */
    double *power;       /* n_bins */
    fftwf_plan plan;
};

void aviary_spectrogram_params_audiorwkv2024(aviary_spectrogram_params *p) {
    memset(p, 0, sizeof *p);
    p->sample_rate = 32000;
    p->n_fft = 1024;
    p->win_length = 1024;
    p->hop_length = 320;
    p->window = AVIARY_WINDOW_HANN_PERIODIC;
    p->center = true;
    p->n_mels = 64;
    p->fmin = 50;
    p->fmax = 14000;
    p->mel_scale = AVIARY_MEL_SLANEY;
    p->mel_layout = AVIARY_MEL_LIBROSA;
    p->slaney_norm = true;
    p->log = AVIARY_LOG_DB;
    p->log_floor = 1e-10;
    p->db_ref = 1.0;
    p->top_db = 0;
}

void aviary_spectrogram_params_arwkv2025(aviary_spectrogram_params *p) {
    memset(p, 0, sizeof *p);
    p->sample_rate = 32000;
    p->n_fft = 1024;
    p->win_length = 800;
    p->hop_length = 320;
    p->window = AVIARY_WINDOW_HANN_SYMMETRIC;
    p->center = false;
    p->remove_dc = true;
    p->preemphasis = 0.97;
    p->n_mels = 128;
    p->fmin = 50;
    p->fmax = 14000;
    p->mel_scale = AVIARY_MEL_HTK;
    p->mel_layout = AVIARY_MEL_KALDI;
    p->slaney_norm = false;
    p->log = AVIARY_LOG_LN;
    p->log_floor = 1.1920928955078125e-07;
    p->db_ref = 1.0;
}

/* ---- mel scales ---------------------------------------------------------- */

static double hz_to_mel(aviary_mel_scale s, double f) {
    if (s == AVIARY_MEL_HTK) return 1127.0 * log(1.0 + f / 700.0);
    const double f_sp = 200.0 / 3, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
    const double logstep = log(6.4) / 27.0;
    if (f >= min_log_hz) return min_log_mel + log(f / min_log_hz) / logstep;
    return f / f_sp;
}

static double mel_to_hz(aviary_mel_scale s, double m) {
    if (s == AVIARY_MEL_HTK) return 700.0 * (exp(m / 1127.0) - 1.0);
    const double f_sp = 200.0 / 3, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
    const double logstep = log(6.4) / 27.0;
    if (m >= min_log_mel) return min_log_hz * exp(logstep * (m - min_log_mel));
    return f_sp * m;
}

/* librosa.filters.mel (0.8): weights stored float32, then scaled by the
 * float64 Slaney norm and stored float32 again. */
static aviary_status banks_librosa(aviary_spectrogram *s) {
    const aviary_spectrogram_params *p = &s->p;
    const int nm = p->n_mels, nb = s->n_bins;
    double *mel_f = malloc((size_t)(nm + 2) * sizeof(double));
    if (!mel_f) return aviary_error(AVIARY_NOMEM, "spectrogram: out of memory");
    const double lo = hz_to_mel(p->mel_scale, p->fmin), hi = hz_to_mel(p->mel_scale, p->fmax);
    const double step = (hi - lo) / (double)(nm + 1); /* np.linspace */
    for (int i = 0; i < nm + 2; i++) mel_f[i] = mel_to_hz(p->mel_scale, i == nm + 1 ? hi : lo + (double)i * step);
    const double fstep = ((double)p->sample_rate / 2) / (double)(nb - 1);
    for (int m = 0; m < nm; m++) {
        const double d0 = mel_f[m + 1] - mel_f[m], d1 = mel_f[m + 2] - mel_f[m + 1];
        const double enorm = p->slaney_norm ? 2.0 / (mel_f[m + 2] - mel_f[m]) : 1.0;
        for (int k = 0; k < nb; k++) {
            double f = k == nb - 1 ? (double)p->sample_rate / 2 : (double)k * fstep;
            double lower = -(mel_f[m] - f) / d0, upper = (mel_f[m + 2] - f) / d1;
            double w = lower < upper ? lower : upper;
            float wf = (float)(w > 0 ? w : 0);
            s->banks[(size_t)m * nb + k] = p->slaney_norm ? (float)((double)wf * enorm) : wf;
        }
    }
    free(mel_f);
    return AVIARY_OK;
}

/* torchaudio.compliance.kaldi.get_mel_banks: triangles with slopes measured
 * in mel, bins k < n_fft/2 at k*sr/n_fft; the Nyquist bin gets weight 0.
 * torchaudio evaluates the triangle in float32 (band edges from float64
 * scalars, then float32 tensor arithmetic); this follows the same roundings
 * so the bank matches it to about one float32 ulp of the mel value
 * (~1e-5 in weight) instead of ~2e-5 for a float64 build. */
static aviary_status banks_kaldi(aviary_spectrogram *s) {
    const aviary_spectrogram_params *p = &s->p;
    const int nm = p->n_mels, nb = s->n_bins;
    const double lo = hz_to_mel(p->mel_scale, p->fmin), hi = hz_to_mel(p->mel_scale, p->fmax);
    const double delta = (hi - lo) / (double)(nm + 1);
    const float lo_f = (float)lo, delta_f = (float)delta;
    const float bin_width = (float)((double)p->sample_rate / (double)p->n_fft);
    for (int m = 0; m < nm; m++) {
        const float left = lo_f + (float)m * delta_f;
        const float center = lo_f + ((float)m + 1.0f) * delta_f;
        const float right = lo_f + ((float)m + 2.0f) * delta_f;
        for (int k = 0; k < nb; k++) {
            float w = 0;
            if (k < nb - 1) {
                float f = bin_width * (float)k, mel;
                if (p->mel_scale == AVIARY_MEL_HTK)
                    mel = 1127.0f * logf(1.0f + f / 700.0f);
                else
                    mel = (float)hz_to_mel(p->mel_scale, f);
                float up = (mel - left) / (center - left), down = (right - mel) / (right - center);
                w = up < down ? up : down;
                if (w < 0) w = 0;
            }
            s->banks[(size_t)m * nb + k] = w;
        }
    }
    return AVIARY_OK;
}

/* ---- object -------------------------------------------------------------- */

static aviary_status check_params(const aviary_spectrogram_params *p, double *fmax_out) {
#define BAD(...) aviary_error(AVIARY_INVALID_ARG, "spectrogram params: " __VA_ARGS__)
    if (p->sample_rate < 1 || p->sample_rate > 10000000) return BAD("sample_rate %d out of range", p->sample_rate);
    if (p->n_fft < 2 || p->n_fft > (1 << 20)) return BAD("n_fft %d outside [2, 2^20]", p->n_fft);
    if (p->win_length < 1 || p->win_length > p->n_fft)
        return BAD("win_length %d outside [1, n_fft=%d]", p->win_length, p->n_fft);
    if (p->hop_length < 1) return BAD("hop_length %d must be positive", p->hop_length);
    if ((unsigned)p->window > AVIARY_WINDOW_RECTANGULAR) return BAD("unknown window %d", (int)p->window);
    if (!(p->preemphasis >= 0 && p->preemphasis <= 1)) return BAD("preemphasis %g outside [0, 1]", p->preemphasis);
    if (p->n_mels < 1 || p->n_mels > 4096) return BAD("n_mels %d outside [1, 4096]", p->n_mels);
    double fmax = p->fmax > 0 ? p->fmax : p->sample_rate / 2.0 + p->fmax;
    if (!(p->fmin >= 0 && fmax > p->fmin && fmax <= p->sample_rate / 2.0))
        return BAD("mel range %g-%g Hz invalid for %d Hz audio", p->fmin, fmax, p->sample_rate);
    if ((unsigned)p->mel_scale > AVIARY_MEL_HTK) return BAD("unknown mel_scale %d", (int)p->mel_scale);
    if ((unsigned)p->mel_layout > AVIARY_MEL_KALDI) return BAD("unknown mel_layout %d", (int)p->mel_layout);
    if ((unsigned)p->log > AVIARY_LOG_NONE) return BAD("unknown log kind %d", (int)p->log);
    if (p->log != AVIARY_LOG_NONE && !(p->log_floor > 0)) return BAD("log_floor %g must be positive", p->log_floor);
    if (p->log == AVIARY_LOG_DB && !(p->db_ref > 0)) return BAD("db_ref %g must be positive", p->db_ref);
#undef BAD
    *fmax_out = fmax;
    return AVIARY_OK;
}

void aviary_spectrogram_free(aviary_spectrogram *s) {
    if (!s) return;
    if (s->plan) {
        pthread_mutex_lock(&fftw_planner_lock);
        fftwf_destroy_plan(s->plan);
        pthread_mutex_unlock(&fftw_planner_lock);
    }
    fftwf_free(s->fft_in);
    fftwf_free(s->fft_out);
    free(s->window);
    free(s->banks);
    free(s->band_lo);
    free(s->band_hi);
    free(s->frame);
    free(s->power);
    free(s);
}

aviary_status aviary_spectrogram_create(const aviary_spectrogram_params *p, aviary_spectrogram **out) {
    if (!out) return aviary_error(AVIARY_INVALID_ARG, "aviary_spectrogram_create: out is NULL");
    *out = NULL;
    if (!p) return aviary_error(AVIARY_INVALID_ARG, "aviary_spectrogram_create: params is NULL");
    double fmax = 0;
    aviary_status st = check_params(p, &fmax);
    if (st) return st;
    aviary_spectrogram *s = calloc(1, sizeof *s);
    if (!s) return aviary_error(AVIARY_NOMEM, "spectrogram: out of memory");
    s->p = *p;
    s->p.fmax = fmax;
    s->n_bins = p->n_fft / 2 + 1;
    const int W = p->win_length, nb = s->n_bins, nm = p->n_mels;
    s->window = malloc((size_t)W * sizeof(double));
    s->frame = malloc((size_t)W * sizeof(double));
    s->banks = malloc((size_t)nm * (size_t)nb * sizeof(float));
    s->band_lo = malloc((size_t)nm * sizeof(int));
    s->band_hi = malloc((size_t)nm * sizeof(int));
    s->power = malloc((size_t)nb * sizeof(double));
    s->fft_in = fftwf_alloc_real((size_t)p->n_fft);
    s->fft_out = fftwf_alloc_complex((size_t)nb);
    if (!s->window || !s->frame || !s->banks || !s->band_lo || !s->band_hi || !s->power || !s->fft_in ||
        !s->fft_out) {
        aviary_spectrogram_free(s);
        return aviary_error(AVIARY_NOMEM, "spectrogram: out of memory");
    }
    for (int i = 0; i < W; i++) {
        double N = p->window == AVIARY_WINDOW_HANN_PERIODIC ? W : (W > 1 ? W - 1 : 1);
        double c = cos(2 * M_PI * i / N);
        switch (p->window) {
        case AVIARY_WINDOW_HANN_PERIODIC:
        case AVIARY_WINDOW_HANN_SYMMETRIC: s->window[i] = 0.5 - 0.5 * c; break;
        case AVIARY_WINDOW_POVEY: s->window[i] = pow(0.5 - 0.5 * c, 0.85); break;
        case AVIARY_WINDOW_HAMMING: s->window[i] = 0.54 - 0.46 * c; break;
        case AVIARY_WINDOW_RECTANGULAR: s->window[i] = 1.0; break;
        }
    }
    st = p->mel_layout == AVIARY_MEL_KALDI ? banks_kaldi(s) : banks_librosa(s);
    if (st) {
        aviary_spectrogram_free(s);
        return st;
    }
    for (int m = 0; m < nm; m++) {
        int lo = nb, hi = 0;
        for (int k = 0; k < nb; k++)
            if (s->banks[(size_t)m * nb + k] != 0) {
                if (k < lo) lo = k;
                hi = k + 1;
            }
        s->band_lo[m] = lo < hi ? lo : 0;
        s->band_hi[m] = lo < hi ? hi : 0;
    }
    pthread_mutex_lock(&fftw_planner_lock);
    s->plan = fftwf_plan_dft_r2c_1d(p->n_fft, s->fft_in, s->fft_out, FFTW_ESTIMATE);
    pthread_mutex_unlock(&fftw_planner_lock);
    if (!s->plan) {
        aviary_spectrogram_free(s);
        return aviary_error(AVIARY_ERROR, "spectrogram: FFTW could not plan a %d-point FFT", p->n_fft);
    }
    *out = s;
    return AVIARY_OK;
}

int64_t aviary_spectrogram_n_frames(const aviary_spectrogram *s, int64_t n) {
    if (!s || n <= 0) return 0;
    if (s->p.center) return 1 + n / s->p.hop_length;
    if (n < s->p.win_length) return 0;
    return 1 + (n - s->p.win_length) / s->p.hop_length;
}

int aviary_spectrogram_n_mels(const aviary_spectrogram *s) { return s ? s->p.n_mels : 0; }
int aviary_spectrogram_n_bins(const aviary_spectrogram *s) { return s ? s->n_bins : 0; }
const float *aviary_spectrogram_mel_banks(const aviary_spectrogram *s) { return s ? s->banks : NULL; }

aviary_status aviary_spectrogram_compute(aviary_spectrogram *s, const float *x, int64_t n, float *out) {
    if (!s || !x || !out) return aviary_error(AVIARY_INVALID_ARG, "aviary_spectrogram_compute: NULL argument");
    const aviary_spectrogram_params *p = &s->p;
    const int W = p->win_length, F = p->n_fft, nb = s->n_bins, nm = p->n_mels, half = F / 2;
    if (p->center && n < half + 1)
        return aviary_error(AVIARY_INVALID_ARG, "spectrogram: %lld samples is too short (needs at least %d for reflect padding)",
                            (long long)n, half + 1);
    int64_t frames = aviary_spectrogram_n_frames(s, n);
    if (frames < 1)
        return aviary_error(AVIARY_INVALID_ARG, "spectrogram: %lld samples is too short (one frame needs %d)",
                            (long long)n, W);
    /* Window placement inside the n_fft buffer: centred (librosa pad_center)
     * with center=true, left-aligned (Kaldi zero-pads on the right) otherwise. */
    const int woff = p->center ? (F - W) / 2 : 0;
    double dmax = -INFINITY;
    for (int64_t t = 0; t < frames; t++) {
        for (int i = 0; i < W; i++) {
            int64_t j;
            if (p->center) {
                j = t * p->hop_length + woff + i - half;
                if (j < 0) j = -j;
                if (j >= n) j = 2 * (n - 1) - j;
            } else {
                j = t * p->hop_length + i;
            }
            s->frame[i] = x[j];
        }
        if (p->remove_dc) {
            double mean = 0;
            for (int i = 0; i < W; i++) mean += s->frame[i];
            mean /= W;
            for (int i = 0; i < W; i++) s->frame[i] -= mean;
        }
        if (p->preemphasis != 0) {
            for (int i = W - 1; i > 0; i--) s->frame[i] -= p->preemphasis * s->frame[i - 1];
            s->frame[0] -= p->preemphasis * s->frame[0];
        }
        memset(s->fft_in, 0, (size_t)F * sizeof(float));
        for (int i = 0; i < W; i++) s->fft_in[woff + i] = (float)(s->frame[i] * s->window[i]);
        fftwf_execute(s->plan);
        for (int k = 0; k < nb; k++) {
            double re = s->fft_out[k][0], im = s->fft_out[k][1];
            s->power[k] = re * re + im * im;
        }
        float *row = out + t * nm;
        for (int m = 0; m < nm; m++) {
            const float *bank = s->banks + (size_t)m * nb;
            double e = 0;
            for (int k = s->band_lo[m]; k < s->band_hi[m]; k++) e += (double)bank[k] * s->power[k];
            double v;
            switch (p->log) {
            case AVIARY_LOG_DB:
                v = 10.0 * log10(e > p->log_floor ? e : p->log_floor) -
                    10.0 * log10(p->db_ref > p->log_floor ? p->db_ref : p->log_floor);
                if (v > dmax) dmax = v;
                break;
            case AVIARY_LOG_LN: v = log(e > p->log_floor ? e : p->log_floor); break;
            default: v = e; break;
            }
            row[m] = (float)v;
        }
    }
    if (p->log == AVIARY_LOG_DB && p->top_db > 0) {
        float lo = (float)(dmax - p->top_db);
        for (int64_t i = 0; i < frames * nm; i++)
            if (out[i] < lo) out[i] = lo;
    }
    return AVIARY_OK;
}

aviary_status aviary_spectrogram_fit_frames(const float *in, int64_t n_frames, int n_mels, int64_t target,
                                            float pad_value, double mean, double std, float *out) {
    if (!in || !out || n_frames < 0 || n_mels < 1 || target < 1)
        return aviary_error(AVIARY_INVALID_ARG, "spectrogram fit: bad arguments (%lld frames -> %lld, %d mels)",
                            (long long)n_frames, (long long)target, n_mels);
    if (!(std != 0) || !isfinite(std) || !isfinite(mean))
        return aviary_error(AVIARY_INVALID_ARG, "spectrogram fit: normalisation std %g / mean %g invalid", std, mean);
    int64_t keep = n_frames < target ? n_frames : target;
    for (int64_t t = 0; t < target; t++)
        for (int m = 0; m < n_mels; m++) {
            double v = t < keep ? in[t * n_mels + m] : pad_value;
            out[t * n_mels + m] = (float)((v - mean) / std);
        }
    return AVIARY_OK;
}
