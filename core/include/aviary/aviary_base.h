/*
 * aviary_base.h - result codes, error messages, export macros and threads:
 * the part of the API every other aviary header needs. Include <aviary/aviary.h>
 * for everything; sub-headers include this one so they can be included alone
 * and in any order.
 */
#ifndef AVIARY_BASE_H
#define AVIARY_BASE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(AVIARY_BUILDING_LIBRARY)
#define AVIARY_API __attribute__((visibility("default")))
#else
#define AVIARY_API
#endif

#if defined(__GNUC__)
#define AVIARY_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define AVIARY_PRINTF(fmt, args)
#endif

/* Result codes. New codes are only ever appended. */
typedef enum aviary_status {
    AVIARY_OK = 0,
    AVIARY_ERROR = 1,          /* generic failure */
    AVIARY_NOMEM = 2,          /* allocation failed or a size would overflow */
    AVIARY_IO = 3,             /* a file could not be opened, read, mapped or written */
    AVIARY_FORMAT = 4,         /* a file is malformed (truncated, bad offsets, bad syntax) */
    AVIARY_UNSUPPORTED = 5,    /* well-formed but outside what aviary implements */
    AVIARY_NOT_FOUND = 6,      /* a named tensor, key, plugin or file does not exist */
    AVIARY_INVALID_ARG = 7,    /* caller passed a bad value (API misuse or bad option) */
    AVIARY_SHAPE = 8,          /* tensor shapes or dtypes do not fit together */
    AVIARY_PLUGIN = 9,         /* a plugin failed to load or broke its contract */
    AVIARY_MISMATCH = 10,      /* a verified output is outside its tolerance */
    AVIARY_CONFIG = 11         /* a pipeline/config file is invalid */
} aviary_status;

/* Static name of a status, e.g. "AVIARY_FORMAT". Never NULL. */
AVIARY_API const char *aviary_status_name(aviary_status s);

/* The calling thread's last error message ("" if none). Borrowed; valid until
 * the next aviary call on this thread that sets an error. */
AVIARY_API const char *aviary_errmsg(void);

/* Set the calling thread's error message (printf-style) and return `s`, so
 * that library and plugin code can write `return aviary_error(AVIARY_IO, ...)`.
 * The message is truncated to 1023 bytes. */
AVIARY_API aviary_status aviary_error(aviary_status s, const char *fmt, ...) AVIARY_PRINTF(2, 3);

/* Clear the calling thread's error message. */
AVIARY_API void aviary_clear_error(void);

/* Library version, "MAJOR.MINOR.PATCH". */
AVIARY_API const char *aviary_version(void);

/* Number of threads aviary's kernels (and oneDNN, via OpenMP) use. n <= 0
 * means "all cores". Process-wide; call before running models. */
AVIARY_API void aviary_set_num_threads(int n);
AVIARY_API int aviary_get_num_threads(void);

#ifdef __cplusplus
}
#endif

#endif /* AVIARY_BASE_H */
