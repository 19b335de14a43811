/*
 * verify.h - `aviary verify FIXTURE_DIR`: run one reference fixture
 * (tests/fixtures/FORMAT.md) and compare every expected tensor.
 *
 * Each family ("rwkv-lm", "tokenizer", "vision-rwkv", ...) has one function
 * in verify_<family>.c registered in cmd_verify.c's table. It computes its
 * outputs and calls verify_compare() for each expected tensor, which prints
 * the largest absolute and relative error and records pass/fail.
 */
#ifndef AVIARY_VERIFY_H
#define AVIARY_VERIFY_H

#include <cjson/cJSON.h>
#include "cli.h"

typedef struct verify_ctx {
    const char *dir;                /* fixture folder */
    const cJSON *fixture;           /* parsed fixture.json (owned by the driver) */
    aviary_checkpoint *expected;    /* expected.safetensors, NULL if the fixture has none */
    const char *weights;            /* --weights FILE override (path), or NULL for the family default */
    const char *mode;               /* --mode value, or NULL for "all" */
    int n_checked, n_failed;
} verify_ctx;

/* Compare `actual` (n contiguous floats) with expected tensor `name`, using its
 * atol/rtol from fixture.json. `label` (may be NULL) tags the line, e.g. "rnn".
 * Prints one line; returns true if within tolerance. Shape/size mismatch or a
 * missing expected tensor counts as a failure with a clear line. */
bool verify_compare(verify_ctx *v, const char *name, const float *actual, int64_t n, const char *label);

/* Like verify_compare but for a slice: compares actual[0..n) with the expected
 * tensor's elements [offset, offset+n). */
bool verify_compare_slice(verify_ctx *v, const char *name, int64_t offset, const float *actual, int64_t n,
                          const char *label);

/* Record an error that prevented a check (prints "  FAIL <what>: <msg>"). */
void verify_failf(verify_ctx *v, const char *fmt, ...) AVIARY_PRINTF(2, 3);

/* Path of a file inside the fixture folder (static buffer per call site: copy it). */
const char *verify_path(const verify_ctx *v, const char *file, char *buf, size_t n);

/* The fixture's expected tensor as a contiguous f32 copy; NULL + failure line if absent. */
float *verify_expected_f32(verify_ctx *v, const char *name, int64_t *n_out);

/* Family entry points (one per verify_<family>.c). Return 0 after running (the
 * driver looks at n_failed), non-zero if the fixture could not be run at all. */
typedef int (*verify_family_fn)(verify_ctx *v);
int verify_rwkv_ts(verify_ctx *v);
int verify_audio_rwkv(verify_ctx *v);
int verify_rwkv_lm(verify_ctx *v);
int verify_visual_rwkv(verify_ctx *v);
int verify_tokenizer(verify_ctx *v);
int verify_vision_rwkv(verify_ctx *v);

#endif
