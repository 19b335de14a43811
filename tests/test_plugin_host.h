/* test_plugin_host.h - the host side the plugin tests play by hand (as the
 * pipeline runner does): a silent aviary_host_api's callbacks and option
 * resolution. Header-only; include after test_util.h. */
#ifndef AVIARY_TEST_PLUGIN_HOST_H
#define AVIARY_TEST_PLUGIN_HOST_H

#include <stdlib.h>
#include <string.h>
#include "aviary/aviary_plugin.h"

/* aviary_host_api callbacks: errors pass the status through, logs are dropped, one thread. */
static aviary_status host_error(aviary_status s, const char *fmt, ...) {
    (void)fmt;
    return s;
}
static void host_log(aviary_log_level l, const char *p, const char *fmt, ...) { (void)l, (void)p, (void)fmt; }
static int host_threads(void) { return 1; }

/* Resolve every option d declares into out[0..d->n_options): the value from
 * `set` (n_set name, value pairs) or the default. Strings point into `set` /
 * the descriptor (borrowed). */
static void fill_options(const aviary_plugin_descriptor *d, const char *const *set, size_t n_set,
                         aviary_option_value *out) {
    for (size_t k = 0; k < d->n_options; k++) {
        const aviary_option_spec *o = &d->options[k];
        const char *v = o->default_value;
        aviary_option_value *x = &out[k];
        memset(x, 0, sizeof *x);
        for (size_t j = 0; j + 1 < n_set * 2; j += 2)
            if (!strcmp(set[j], o->name)) {
                v = set[j + 1];
                x->is_set = true;
            }
        x->name = o->name;
        x->type = o->type;
        x->has_value = v && (o->type == AVIARY_OPT_INT || o->type == AVIARY_OPT_FLOAT || o->type == AVIARY_OPT_BOOL || v[0]);
        if (!v) continue;
        x->s = v;
        x->i = strtoll(v, NULL, 10);
        x->f = strtod(v, NULL);
        x->b = !strcmp(v, "true");
        if (o->type == AVIARY_OPT_BOOL) x->i = x->b;
    }
}

#endif
