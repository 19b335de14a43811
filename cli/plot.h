/*
 * plot.h - a small line-plot rasterizer for `aviary forecast --plot`: one
 * panel per series (each with its own y axis), history in the series colour,
 * the forecast in a lighter shade of it after a dashed "now" line, axis ticks
 * and labels drawn with stb_easy_font, written as PNG with stb_image_write.
 */
#ifndef AVIARY_PLOT_H
#define AVIARY_PLOT_H

#include <stddef.h>

typedef struct plot_series {
    const char *name;
    const double *hist; /* history values, n_hist of them (oldest first) */
    int n_hist;
    const double *fc;   /* forecast values following the history */
    int n_fc;
} plot_series;

/* x_left / x_now / x_right label the first history point, the last history
 * point and the last forecast point (NULL to omit). Writes to a temporary
 * file and renames it over `path`. Returns 0, or -1 with a one-line reason
 * in err. */
int plot_forecast_png(const char *path, const plot_series *s, int n_series, const char *title, const char *x_left,
                      const char *x_now, const char *x_right, char *err, size_t errn);

#endif
