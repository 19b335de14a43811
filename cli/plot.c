/* plot.c - line plots of history + forecast as PNG (see plot.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "plot.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wmissing-braces"
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>
#include <stb_easy_font.h>
#pragma GCC diagnostic pop

typedef struct canvas {
    int w, h;
    unsigned char *px; /* RGB */
} canvas;

typedef struct rgb {
    unsigned char r, g, b;
} rgb;

static const rgb palette[] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},  {148, 103, 189},
                              {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};

static void put(canvas *c, int x, int y, rgb col) {
    if (x < 0 || y < 0 || x >= c->w || y >= c->h) return;
    unsigned char *p = c->px + ((size_t)y * c->w + x) * 3;
    p[0] = col.r;
    p[1] = col.g;
    p[2] = col.b;
}

static void fill(canvas *c, int x0, int y0, int x1, int y1, rgb col) {
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) put(c, x, y, col);
}

/* Bresenham with a square brush of side `thick`; dash > 0 draws dash-on/dash-off pixels. */
static void line(canvas *c, double fx0, double fy0, double fx1, double fy1, rgb col, int thick, int dash) {
    int x0 = (int)lround(fx0), y0 = (int)lround(fy0), x1 = (int)lround(fx1), y1 = (int)lround(fy1);
    int dx = abs(x1 - x0), sx = x0 < x1 ? 1 : -1, dy = -abs(y1 - y0), sy = y0 < y1 ? 1 : -1, err = dx + dy, n = 0;
    for (;;) {
        if (!dash || (n / dash) % 2 == 0)
            for (int a = 0; a < thick; a++)
                for (int b = 0; b < thick; b++) put(c, x0 + a - thick / 2, y0 + b - thick / 2, col);
        n++;
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * err;
        if (e2 >= dy) { err += dy; x0 += sx; }
        if (e2 <= dx) { err += dx; y0 += sy; }
    }
}

/* Text with stb_easy_font quads, scaled by an integer factor. */
static void text(canvas *c, int x, int y, const char *s, rgb col, int scale) {
    static float vbuf[16384]; /* float-aligned; 16 bytes per vertex, 4 per quad */
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", s);
    int q = stb_easy_font_print(0, 0, tmp, NULL, vbuf, (int)sizeof vbuf);
    for (int i = 0; i < q; i++) {
        const float *v = vbuf + i * 16; /* 4 vertices x 4 floats */
        float xa = v[0], ya = v[1], xb = v[8], yb = v[9];
        fill(c, x + (int)(xa * scale), y + (int)(ya * scale), x + (int)(xb * scale), y + (int)(yb * scale), col);
    }
}

static int text_width(const char *s, int scale) {
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", s);
    return stb_easy_font_width(tmp) * scale;
}

static double nice_step(double range) {
    double raw = range / 4, mag = pow(10, floor(log10(raw))), norm = raw / mag;
    return (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
}

int plot_forecast_png(const char *path, const plot_series *s, int n_series, const char *title, const char *x_left,
                      const char *x_now, const char *x_right, char *err, size_t errn) {
    const int W = 1000, PANEL = 230, TOP = 40, BOTTOM = 10, L = 90, R = W - 30;
    if (n_series <= 0 || n_series > 64) {
        snprintf(err, errn, "%s: nothing to plot", path);
        return -1;
    }
    canvas c = {W, TOP + n_series * PANEL + BOTTOM, NULL};
    c.px = malloc((size_t)c.w * c.h * 3);
    if (!c.px) {
        snprintf(err, errn, "%s: out of memory", path);
        return -1;
    }
    memset(c.px, 255, (size_t)c.w * c.h * 3);
    const rgb black = {30, 30, 30}, grid = {225, 225, 225}, shade = {255, 246, 214}, grey = {110, 110, 110};
    if (title) text(&c, L, 12, title, black, 2);
    for (int k = 0; k < n_series; k++) {
        const plot_series *ps = &s[k];
        rgb col = palette[k % (int)(sizeof palette / sizeof palette[0])];
        int top = TOP + k * PANEL + 22, bot = TOP + (k + 1) * PANEL - 34;
        int n = ps->n_hist + ps->n_fc;
        if (n < 2 || ps->n_hist < 1) continue;
        double lo = INFINITY, hi = -INFINITY;
        for (int i = 0; i < ps->n_hist; i++) { lo = fmin(lo, ps->hist[i]); hi = fmax(hi, ps->hist[i]); }
        for (int i = 0; i < ps->n_fc; i++) { lo = fmin(lo, ps->fc[i]); hi = fmax(hi, ps->fc[i]); }
        if (!isfinite(lo) || !isfinite(hi)) continue;
        if (hi - lo < 1e-9 * (fabs(hi) + 1)) { lo -= 1; hi += 1; }
        double pad = (hi - lo) * 0.06;
        lo -= pad;
        hi += pad;
#define XP(i) (L + (double)(i) * (R - L) / (n - 1))
#define YP(v) (bot - ((v) - lo) / (hi - lo) * (bot - top))
        /* forecast region */
        int xnow = (int)lround(XP(ps->n_hist - 1));
        fill(&c, xnow, top, R + 1, bot + 1, shade);
        /* grid + y labels */
        double step = nice_step(hi - lo);
        for (double v = ceil(lo / step) * step; v <= hi; v += step) {
            int y = (int)lround(YP(v));
            line(&c, L, y, R, y, grid, 1, 0);
            char lab[32];
            snprintf(lab, sizeof lab, "%.6g", fabs(v) < step * 1e-6 ? 0.0 : v);
            text(&c, L - 8 - text_width(lab, 1), y - 3, lab, grey, 1);
        }
        /* axes */
        line(&c, L, top, L, bot, black, 1, 0);
        line(&c, L, bot, R, bot, black, 1, 0);
        line(&c, xnow, top, xnow, bot, grey, 1, 4);
        /* series */
        for (int i = 1; i < ps->n_hist; i++) line(&c, XP(i - 1), YP(ps->hist[i - 1]), XP(i), YP(ps->hist[i]), col, 2, 0);
        double px = XP(ps->n_hist - 1), py = YP(ps->hist[ps->n_hist - 1]);
        rgb dark = {(unsigned char)(col.r * 3 / 5), (unsigned char)(col.g * 3 / 5), (unsigned char)(col.b * 3 / 5)};
        for (int i = 0; i < ps->n_fc; i++) {
            double qx = XP(ps->n_hist + i), qy = YP(ps->fc[i]);
            line(&c, px, py, qx, qy, dark, 3, 0);
            px = qx;
            py = qy;
        }
#undef XP
#undef YP
        /* labels */
        char head[160];
        snprintf(head, sizeof head, "%s: history (%d) and forecast (%d, shaded)", ps->name ? ps->name : "series",
                 ps->n_hist, ps->n_fc);
        text(&c, L, top - 18, head, col, 2);
        if (x_left) text(&c, L, bot + 8, x_left, grey, 1);
        if (x_now) text(&c, xnow - text_width(x_now, 1) / 2, bot + 8, x_now, black, 1);
        if (x_right) text(&c, R - text_width(x_right, 1), bot + 8, x_right, grey, 1);
    }
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 32);
    if (!tmp) {
        free(c.px);
        snprintf(err, errn, "%s: out of memory", path);
        return -1;
    }
    snprintf(tmp, pl + 32, "%s.tmp%ld", path, (long)getpid());
    int ok = stbi_write_png(tmp, c.w, c.h, 3, c.px, c.w * 3);
    free(c.px);
    if (!ok) {
        remove(tmp);
        free(tmp);
        snprintf(err, errn, "%s: cannot write the PNG file", path);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        snprintf(err, errn, "%s: cannot write (%s)", path, strerror(errno));
        remove(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}
