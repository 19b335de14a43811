/*
 * plugin_internal.h - what pipeline.c needs from plugin.c beyond the public
 * registry API: shape rules, symbol binding, checked value exchange and the
 * error-message plumbing for calls into plugins. Not installed.
 */
#ifndef AVIARY_PLUGIN_INTERNAL_H
#define AVIARY_PLUGIN_INTERNAL_H

#include "internal.h"
#include "aviary/aviary_plugin.h"

#define AVIARY__SYM_LEN 32
#define AVIARY__MAX_SYMS 64

typedef enum { AVIARY__DIM_LIT = 0, AVIARY__DIM_SYM = 1, AVIARY__DIM_ANY = 2 } aviary__dim_kind;

typedef struct aviary__shape_dim {
    aviary__dim_kind kind;
    int64_t value;                 /* LIT */
    char sym[AVIARY__SYM_LEN];     /* SYM */
} aviary__shape_dim;

/* A parsed shape rule. any: no constraint at all (NULL or "" rule). */
typedef struct aviary__shape_rule {
    bool any;
    bool ellipsis;                 /* leading "..." */
    int ndim;                      /* dims after the ellipsis */
    aviary__shape_dim d[AVIARY_MAX_DIMS];
} aviary__shape_rule;

/* Parse; AVIARY_INVALID_ARG with a message describing the problem (no file prefix). */
AVIARY_INTERNAL aviary_status aviary__shape_rule_parse(const char *rule, aviary__shape_rule *out);

/* Symbol bindings of one stage run. */
typedef struct aviary__symbols {
    int n;
    char name[AVIARY__MAX_SYMS][AVIARY__SYM_LEN];
    int64_t value[AVIARY__MAX_SYMS];
} aviary__symbols;

/* Bind every INT option whose name is a valid symbol. */
AVIARY_INTERNAL void aviary__symbols_from_options(aviary__symbols *s, const aviary_option_value *opts, size_t n);

/* Check value v against port (type, dtype, data, shape rule), binding new
 * symbols. On failure: AVIARY_PLUGIN (blame = plugin) or AVIARY_SHAPE, with
 * "<what>: <problem>". */
AVIARY_INTERNAL aviary_status aviary__check_value(const char *what, const aviary_port_spec *port,
                                                  const aviary_value *v, aviary__symbols *syms,
                                                  aviary_status code);

/* Release an output value's storage (tensor via aviary_tensor_free, text via free). */
AVIARY_INTERNAL void aviary__value_release(aviary_value *v);

/* The host API table given to plugins. */
AVIARY_INTERNAL const aviary_host_api *aviary__host_api(void);

/* After a plugin call failed with status st: make sure the calling thread's
 * message says what the plugin reported (the plugin may have set it in its
 * own copy of libaviary, found via the plugin's aviary_errmsg), prefixed
 * with `who`. Returns st (or AVIARY_PLUGIN if st was not a valid error). */
AVIARY_INTERNAL aviary_status aviary__plugin_failed(const aviary_plugin_info *p, const char *who, aviary_status st);

/* Clear the error message before calling into plugin p (ours and the
 * plugin's own libaviary copy). */
AVIARY_INTERNAL void aviary__plugin_call_begin(const aviary_plugin_info *p);

/* Register an in-process descriptor (tests, fuzzers, built-in stages).
 * It is validated like a loaded one; on a bad descriptor the registry
 * records it as skipped under `origin` and returns AVIARY_PLUGIN. */
AVIARY_INTERNAL aviary_status aviary__plugin_registry_add(aviary_plugin_registry *r, const char *origin,
                                                          const aviary_plugin_descriptor *d);
/* An empty registry (no directory scanned). */
AVIARY_INTERNAL aviary_status aviary__plugin_registry_new(aviary_plugin_registry **out);

/* True if s is a valid plugin/option/port name: [a-z0-9_]{1,63}. */
AVIARY_INTERNAL bool aviary__plugin_name_ok(const char *s);

/* Parse an option value given in text form (descriptor defaults).
 * Returns false if it does not parse as `type`. */
AVIARY_INTERNAL bool aviary__option_parse_text(aviary_option_type type, const char *text, aviary_option_value *out);

#endif
