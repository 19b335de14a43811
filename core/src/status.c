/* status.c - result codes, the per-thread error message, version, threads. */
#include <stdarg.h>
#include <stdio.h>
#include <omp.h>
#include "internal.h"

#ifndef AVIARY_VERSION_STRING
#define AVIARY_VERSION_STRING "0.0.0"
#endif

/* Per-thread, so concurrent users of shared weights don't clobber each
 * other's messages. */
static _Thread_local char tls_errmsg[1024];

const char *aviary_status_name(aviary_status s) {
    switch (s) {
    case AVIARY_OK: return "AVIARY_OK";
    case AVIARY_ERROR: return "AVIARY_ERROR";
    case AVIARY_NOMEM: return "AVIARY_NOMEM";
    case AVIARY_IO: return "AVIARY_IO";
    case AVIARY_FORMAT: return "AVIARY_FORMAT";
    case AVIARY_UNSUPPORTED: return "AVIARY_UNSUPPORTED";
    case AVIARY_NOT_FOUND: return "AVIARY_NOT_FOUND";
    case AVIARY_INVALID_ARG: return "AVIARY_INVALID_ARG";
    case AVIARY_SHAPE: return "AVIARY_SHAPE";
    case AVIARY_PLUGIN: return "AVIARY_PLUGIN";
    case AVIARY_MISMATCH: return "AVIARY_MISMATCH";
    case AVIARY_CONFIG: return "AVIARY_CONFIG";
    }
    return "AVIARY_UNKNOWN";
}

const char *aviary_errmsg(void) { return tls_errmsg; }

void aviary_clear_error(void) { tls_errmsg[0] = '\0'; }

aviary_status aviary_error(aviary_status s, const char *fmt, ...) {
    /* Format into a scratch buffer first: callers may pass aviary_errmsg()
     * itself as an argument to prepend context. */
    char tmp[sizeof tls_errmsg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    memcpy(tls_errmsg, tmp, sizeof tmp);
    return s;
}

const char *aviary_version(void) { return AVIARY_VERSION_STRING; }

void aviary_set_num_threads(int n) {
    if (n <= 0) n = omp_get_num_procs();
    omp_set_num_threads(n);
}

int aviary_get_num_threads(void) { return omp_get_max_threads(); }

void *aviary__alloc_aligned(size_t bytes) {
    size_t rounded;
    if (!aviary__add_size(bytes, 63, &rounded)) return NULL;
    rounded &= ~(size_t)63;
    if (rounded == 0) rounded = 64;
    void *p = aligned_alloc(64, rounded);
    if (p) memset(p, 0, rounded);
    return p;
}

void aviary__free_aligned(void *p) { free(p); }
