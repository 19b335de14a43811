/* resample.c - torchaudio windowed-sinc and resampy kaiser_best resamplers. */
#include <math.h>
#include "aviary/aviary_resample.h"
#include "internal.h"

void aviary_resample_params_default(aviary_resample_params *p, aviary_resample_method method) {
    memset(p, 0, sizeof *p);
    p->method = method;
    if (method == AVIARY_RESAMPLE_KAISER_BEST) {
        /* resampy's shipped kaiser_best table (librosa 0.8 default res_type). */
        p->rolloff = 0.917347;
        p->num_zeros = 50;
        p->precision = 13;
        p->kaiser_beta = 12.9846;
    } else {
        p->lowpass_filter_width = 6;
        p->rolloff = 0.99;
    }
}

static int64_t gcd64(int64_t a, int64_t b) {
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static aviary_status check_args(const aviary_resample_params *p, int64_t n, int orig, int new_rate) {
    if (!p) return aviary_error(AVIARY_INVALID_ARG, "resample: params is NULL");
    if (orig <= 0 || new_rate <= 0)
        return aviary_error(AVIARY_INVALID_ARG, "resample: sample rates must be positive (got %d -> %d)", orig,
                            new_rate);
    if (n <= 0) return aviary_error(AVIARY_INVALID_ARG, "resample: no input samples");
    if (!(p->rolloff > 0 && p->rolloff <= 1))
        return aviary_error(AVIARY_INVALID_ARG, "resample: rolloff %g outside (0, 1]", p->rolloff);
    if (p->method == AVIARY_RESAMPLE_TORCHAUDIO) {
        if (p->lowpass_filter_width < 1 || p->lowpass_filter_width > 1024)
            return aviary_error(AVIARY_INVALID_ARG, "resample: lowpass_filter_width %d outside [1, 1024]",
                                p->lowpass_filter_width);
    } else if (p->method == AVIARY_RESAMPLE_KAISER_BEST) {
        if (p->num_zeros < 1 || p->num_zeros > 1024 || p->precision < 1 || p->precision > 20 ||
            !(p->kaiser_beta >= 0 && p->kaiser_beta < 700))
            return aviary_error(AVIARY_INVALID_ARG, "resample: bad kaiser filter parameters (zeros %d, precision %d, beta %g)",
                                p->num_zeros, p->precision, p->kaiser_beta);
    } else {
        return aviary_error(AVIARY_INVALID_ARG, "resample: unknown method %d", (int)p->method);
    }
    return AVIARY_OK;
}

int64_t aviary_resample_out_len(const aviary_resample_params *p, int64_t n, int orig, int new_rate) {
    if (!p || n <= 0 || orig <= 0 || new_rate <= 0) return 0;
    if (orig == new_rate) return n;
    if (p->method == AVIARY_RESAMPLE_TORCHAUDIO) {
        int64_t g = gcd64(orig, new_rate), o = orig / g, nn = new_rate / g;
        /* ceil(nn*n/o) without overflow for realistic n (n < 2^40, nn < 2^31). */
        return (int64_t)ceil((double)nn * (double)n / (double)o);
    }
    double ratio = (double)new_rate / (double)orig;
    return (int64_t)ceil((double)n * ratio);
}

/* ---- torchaudio ---------------------------------------------------------- */

static aviary_status resample_torchaudio(const aviary_resample_params *p, const float *x, int64_t n, int orig,
                                         int new_rate, float **out, int64_t *n_out) {
    const int64_t g = gcd64(orig, new_rate);
    const int64_t o = orig / g, nn = new_rate / g;
    const double lw = p->lowpass_filter_width;
    const double base = (double)(o < nn ? o : nn) * p->rolloff;
    const int64_t width = (int64_t)ceil(lw * (double)o / base);
    const int64_t K = 2 * width + o;
    size_t kbytes;
    if (!aviary__mul_size((size_t)nn, (size_t)K * sizeof(float), &kbytes) || kbytes > ((size_t)1 << 31))
        return aviary_error(AVIARY_UNSUPPORTED, "resample: %d -> %d Hz needs a %lld x %lld kernel (too large)", orig,
                            new_rate, (long long)nn, (long long)K);
    float *kern = malloc(kbytes);
    const int64_t total = aviary_resample_out_len(p, n, orig, new_rate);
    float *y = malloc((size_t)total * sizeof(float));
    if (!kern || !y) {
        free(kern);
        free(y);
        return aviary_error(AVIARY_NOMEM, "resample: out of memory");
    }
    const double scale = base / (double)o;
    for (int64_t j = 0; j < nn; j++) {
        /* torch.arange(0, -n, -1) / n: int64 divided by an int gives float32. */
        const double phase = (double)((float)(-j) / (float)nn);
        for (int64_t i = 0; i < K; i++) {
            double t = (phase + (double)(i - width) / (double)o) * base;
            if (t < -lw) t = -lw;
            if (t > lw) t = lw;
            double w = cos(t * M_PI / lw / 2);
            w *= w;
            double tp = t * M_PI;
            double s = tp == 0 ? 1.0 : sin(tp) / tp;
            kern[j * K + i] = (float)(s * (w * scale));
        }
    }
    /* Taps with |t| clamped to the filter edge are exactly 0 in float32; for
     * o > n most of each phase is such padding, so keep each phase's non-zero
     * range [tap_lo, tap_hi) (skipping exact zeros leaves every sum unchanged). */
    int64_t *tap_lo = malloc((size_t)nn * 2 * sizeof(int64_t));
    if (!tap_lo) {
        free(kern);
        free(y);
        return aviary_error(AVIARY_NOMEM, "resample: out of memory");
    }
    int64_t *tap_hi = tap_lo + nn;
    for (int64_t j = 0; j < nn; j++) {
        int64_t lo = 0, hi = K;
        while (lo < hi && kern[j * K + lo] == 0.0f) lo++;
        while (hi > lo && kern[j * K + hi - 1] == 0.0f) hi--;
        tap_lo[j] = lo;
        tap_hi[j] = hi;
    }
    /* y[m*nn + j] = sum_i kern[j][i] * xpad[m*o + i], xpad = [width zeros, x, zeros]. */
#pragma omp parallel for schedule(static)
    for (int64_t idx = 0; idx < total; idx++) {
        int64_t m = idx / nn, j = idx % nn;
        int64_t start = m * o - width; /* index into x of tap 0 */
        int64_t i0 = start < 0 ? -start : 0;
        int64_t i1 = K;
        if (start + i1 > n) i1 = n - start;
        if (i0 < tap_lo[j]) i0 = tap_lo[j];
        if (i1 > tap_hi[j]) i1 = tap_hi[j];
        const float *kj = kern + j * K;
        double acc = 0;
        for (int64_t i = i0; i < i1; i++) acc += (double)kj[i] * (double)x[start + i];
        y[idx] = (float)acc;
    }
    free(tap_lo);
    free(kern);
    *out = y;
    *n_out = total;
    return AVIARY_OK;
}

/* ---- resampy kaiser_best ------------------------------------------------- */

/* Modified Bessel function of the first kind, order 0 (power series; the
 * terms are positive so the sum is accurate to a few ulp for |x| < 700). */
static double bessel_i0(double x) {
    double q = x * x / 4, term = 1, sum = 1;
    for (int k = 1; k < 1000; k++) {
        term *= q / ((double)k * (double)k);
        sum += term;
        if (term < sum * 1e-17) break;
    }
    return sum;
}

aviary_status aviary_resample_kaiser_table(const aviary_resample_params *p, double **table, int64_t *n_table) {
    if (!table || !n_table) return aviary_error(AVIARY_INVALID_ARG, "resample: table output is NULL");
    *table = NULL;
    *n_table = 0;
    aviary_resample_params q = *p;
    q.method = AVIARY_RESAMPLE_KAISER_BEST;
    aviary_status s = check_args(&q, 1, 1, 1);
    if (s) return s;
    const int64_t per = (int64_t)1 << p->precision;
    const int64_t half = (int64_t)p->num_zeros * per; /* window is 2*half+1 long; keep [half, 2*half] */
    double *w = malloc((size_t)(half + 1) * sizeof(double));
    if (!w) return aviary_error(AVIARY_NOMEM, "resample: out of memory for the kaiser table");
    const double i0b = bessel_i0(p->kaiser_beta);
    for (int64_t i = 0; i <= half; i++) {
        double t = (double)i / (double)per; /* linspace(0, num_zeros, half+1): exact for power-of-two steps */
        double u = (double)i / (double)half;
        double kais = bessel_i0(p->kaiser_beta * sqrt(1.0 - u * u)) / i0b;
        double xs = M_PI * (p->rolloff * t);
        double sinc = i == 0 ? 1.0 : sin(xs) / xs;
        w[i] = p->rolloff * sinc * kais;
    }
    *table = w;
    *n_table = half + 1;
    return AVIARY_OK;
}

static aviary_status resample_kaiser(const aviary_resample_params *p, const float *x, int64_t n, int orig,
                                     int new_rate, float **out, int64_t *n_out) {
    double *win = NULL;
    int64_t nwin = 0;
    aviary_status s = aviary_resample_kaiser_table(p, &win, &nwin);
    if (s) return s;
    const double ratio = (double)new_rate / (double)orig;
    const double scale = ratio < 1.0 ? ratio : 1.0;
    const int64_t num_table = (int64_t)1 << p->precision;
    const int64_t step = (int64_t)(scale * (double)num_table);
    const int64_t n_res = (int64_t)((double)n * ratio);
    const int64_t total = aviary_resample_out_len(p, n, orig, new_rate);
    /* (window, delta) pairs side by side: each tap touches one cache line. */
    double *wd = malloc((size_t)nwin * 2 * sizeof(double));
    float *y = calloc((size_t)(total > n_res ? total : n_res) + 1, sizeof(float));
    if (!wd || !y || step < 1) {
        free(win);
        free(wd);
        free(y);
        if (step < 1) return aviary_error(AVIARY_UNSUPPORTED, "resample: ratio %d -> %d too extreme", orig, new_rate);
        return aviary_error(AVIARY_NOMEM, "resample: out of memory");
    }
    if (ratio < 1.0)
        for (int64_t i = 0; i < nwin; i++) win[i] *= ratio;
    for (int64_t i = 0; i < nwin; i++) {
        wd[2 * i] = win[i];
        wd[2 * i + 1] = i + 1 < nwin ? win[i + 1] - win[i] : 0.0;
    }
    const double time_inc = 1.0 / ratio;
    /* Output samples are independent: threads split them (same result). The
     * loop is bound by table look-ups and the per-tap float32 rounding chain;
     * running several outputs side by side measured no faster. */
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < n_res; t++) {
        const double time = (double)t * time_inc;
        const int64_t nidx = (int64_t)time;
        float acc = 0.0f;
        /* left wing: x[n], x[n-1], ... */
        double frac = scale * (time - (double)nidx);
        double index_frac = frac * (double)num_table;
        int64_t off = (int64_t)index_frac;
        double eta = index_frac - (double)off;
        int64_t imax = (nwin - off) / step;
        if (nidx + 1 < imax) imax = nidx + 1;
        for (int64_t i = 0; i < imax; i++) {
            int64_t k = off + i * step;
            double wgt = wd[2 * k] + eta * wd[2 * k + 1];
            acc = (float)((double)acc + wgt * (double)x[nidx - i]);
        }
        /* right wing: x[n+1], x[n+2], ... */
        frac = scale - frac;
        index_frac = frac * (double)num_table;
        off = (int64_t)index_frac;
        eta = index_frac - (double)off;
        int64_t kmax = (nwin - off) / step;
        if (n - nidx - 1 < kmax) kmax = n - nidx - 1;
        for (int64_t k = 0; k < kmax; k++) {
            int64_t q = off + k * step;
            double wgt = wd[2 * q] + eta * wd[2 * q + 1];
            acc = (float)((double)acc + wgt * (double)x[nidx + k + 1]);
        }
        y[t] = acc;
    }
    free(win);
    free(wd);
    *out = y;
    *n_out = total;
    return AVIARY_OK;
}

aviary_status aviary_resample(const aviary_resample_params *p, const float *x, int64_t n, int orig_rate,
                              int new_rate, float **out, int64_t *n_out) {
    if (!out || !n_out) return aviary_error(AVIARY_INVALID_ARG, "resample: output pointer is NULL");
    *out = NULL;
    *n_out = 0;
    aviary_status s = check_args(p, n, orig_rate, new_rate);
    if (s) return s;
    if (!x) return aviary_error(AVIARY_INVALID_ARG, "resample: input is NULL");
    if (n > ((int64_t)1 << 40)) return aviary_error(AVIARY_UNSUPPORTED, "resample: input too long");
    if (orig_rate == new_rate) {
        float *y = malloc((size_t)n * sizeof(float));
        if (!y) return aviary_error(AVIARY_NOMEM, "resample: out of memory");
        memcpy(y, x, (size_t)n * sizeof(float));
        *out = y;
        *n_out = n;
        return AVIARY_OK;
    }
    if (p->method == AVIARY_RESAMPLE_TORCHAUDIO) return resample_torchaudio(p, x, n, orig_rate, new_rate, out, n_out);
    return resample_kaiser(p, x, n, orig_rate, new_rate, out, n_out);
}
