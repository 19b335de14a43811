/*
 * aviary_plugin.h - the plugin ABI (what a plugin implements) and the host's
 * plugin registry (how aviary finds and loads plugins).
 *
 * A plugin is a shared object (NAME.so, built with aviary_add_plugin() from
 * AviaryPlugin.cmake) in encoders/, adapters/ or heads/. It exports ONE
 * symbol, `aviary_plugin_entry`, that returns a static descriptor:
 *
 *     #include <aviary/aviary_plugin.h>
 *     static const aviary_plugin_descriptor desc = {
 *         AVIARY_PLUGIN_DESCRIPTOR_HEADER,          // ABI major/minor + size
 *         .name = "my_encoder", .kind = AVIARY_PLUGIN_ENCODER, ...
 *     };
 *     AVIARY_PLUGIN_DEFINE(desc);   // the exported aviary_plugin_entry()
 *
 * Versioning (in the spirit of GStreamer / ONNX Runtime):
 *   - AVIARY_PLUGIN_ABI_MAJOR changes when anything in this file changes
 *     incompatibly; the host refuses a plugin of another major.
 *   - AVIARY_PLUGIN_ABI_MINOR grows when something is appended (a field at
 *     the end of a struct, an enum value); the host refuses a plugin built
 *     against a NEWER minor than its own, and accepts older ones.
 *   - aviary_host_api and aviary_plugin_create_args only ever grow at their
 *     end; their `struct_size` field tells the other side which fields exist
 *     (use AVIARY_HAS_FIELD before touching a field newer than minor 0).
 *   - The first three fields of aviary_plugin_descriptor (abi_major,
 *     abi_minor, struct_size) stay first forever, so any host can read them.
 *
 * Core library: plugins link libaviary and use its public headers directly
 * (aviary_tensor.h, aviary_checkpoint.h, aviary_linear.h, aviary_blocks.h,
 * aviary_model.h, ...): the WKV kernels, norms, matmul and loaders exist once,
 * in libaviary. Plugins report errors with aviary_error() (or host->error,
 * identical in effect) and return the status; the host prefixes the message
 * with the plugin and stage name. Plugins never include core/src/ headers.
 *
 * Data exchange: inputs and outputs are aviary_value (a tensor, or a string
 * for TEXT/PATH ports), in the order the descriptor declares them.
 *   - Inputs are borrowed: valid only during run(); never modify or free them.
 *   - Outputs: the host passes n_outputs zeroed values with `type` already
 *     set; the plugin fills each one. Tensors MUST be allocated with
 *     aviary_tensor_alloc() (owned, contiguous); strings with malloc()/strdup().
 *     The host owns and releases them after run() returns, whether it
 *     succeeded or not (so on error a plugin may leave partial outputs).
 *   - The host checks every output against its port (type, dtype, shape rule,
 *     non-NULL data). A plugin that breaks its own declaration is reported by
 *     name and the pipeline stops; the host never trusts a plugin's output.
 */
#ifndef AVIARY_PLUGIN_H
#define AVIARY_PLUGIN_H

#include <stdarg.h>
#include "aviary.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AVIARY_PLUGIN_ABI_MAJOR 1
#define AVIARY_PLUGIN_ABI_MINOR 0

/* The entry symbol every plugin exports. */
#define AVIARY_PLUGIN_ENTRY_SYMBOL "aviary_plugin_entry"
#define AVIARY_PLUGIN_EXPORT __attribute__((visibility("default")))

/* True if struct *p (with a leading uint32_t struct_size) has field f. */
#define AVIARY_HAS_FIELD(p, type, f) \
    ((p)->struct_size >= offsetof(type, f) + sizeof(((type *)0)->f))

/* ---------------------------------------------------------------- kinds */

typedef enum aviary_plugin_kind {
    AVIARY_PLUGIN_ENCODER = 1,  /* raw modality (file/tensor) -> features */
    AVIARY_PLUGIN_ADAPTER = 2,  /* features -> features (e.g. projection into the LM space) */
    AVIARY_PLUGIN_HEAD = 3      /* features -> task result (labels, forecast, text) */
} aviary_plugin_kind;

/* Option types. Values in a pipeline file: INT a JSON integer, FLOAT a JSON
 * number, BOOL true/false, STRING a JSON string, PATH a JSON string naming a
 * file, resolved relative to the pipeline file by the host. */
typedef enum aviary_option_type {
    AVIARY_OPT_INT = 1,
    AVIARY_OPT_FLOAT = 2,
    AVIARY_OPT_STRING = 3,
    AVIARY_OPT_BOOL = 4,
    AVIARY_OPT_PATH = 5
} aviary_option_type;

typedef struct aviary_option_spec {
    const char *name;            /* [a-z0-9_]+, unique within the plugin */
    aviary_option_type type;
    /* Default in text form ("224", "0.5", "true", "bicubic", "labels.txt");
     * NULL = required (the pipeline must set it). */
    const char *default_value;
    const char *help;            /* one line */
} aviary_option_spec;

/* How a port's value travels. */
typedef enum aviary_port_type {
    AVIARY_PORT_TENSOR = 1,      /* aviary_value.tensor */
    AVIARY_PORT_TEXT = 2,        /* aviary_value.text: UTF-8 text */
    AVIARY_PORT_PATH = 3         /* aviary_value.text: a file name */
} aviary_port_type;

/* What a port's value means. Connected ports must have the same modality,
 * except that a consumer port of modality TENSOR accepts any tensor. */
typedef enum aviary_modality {
    AVIARY_MODALITY_TENSOR = 1,     /* generic numbers */
    AVIARY_MODALITY_IMAGE = 2,      /* an image file or pixels */
    AVIARY_MODALITY_AUDIO = 3,      /* an audio file or samples */
    AVIARY_MODALITY_TEXT = 4,       /* natural-language text */
    AVIARY_MODALITY_SERIES = 5,     /* time series (CSV file or [T, channels] values) */
    AVIARY_MODALITY_TOKENS = 6,     /* token ids */
    AVIARY_MODALITY_FEATURES = 7,   /* encoder features: [tokens, dim] or pooled [dim] */
    AVIARY_MODALITY_EMBEDDINGS = 8, /* vectors in the language model's embedding space */
    AVIARY_MODALITY_SCORES = 9      /* logits / probabilities / regression values */
} aviary_modality;

/* dtype value meaning "any dtype" in a port spec. */
#define AVIARY_DTYPE_ANY (-1)

/* A named input or output.
 *
 * Shape rule (tensor ports; NULL or "" = any shape): "[d0, d1, ...]" where
 * each dim is a non-negative integer, a symbol ([A-Za-z_][A-Za-z0-9_]*) or
 * "*" (any size); a leading "..." matches any number of leading dims; "[]" is
 * a scalar. Within one stage a symbol takes one value: it is bound first
 * from an INT option of the same name, then by the first input (in declared
 * order) that uses it, then by the first output. Example: a classifier head
 * with an INT option num_classes declares input "[C]" and output
 * "[num_classes]". Between stages the host checks rank and literal dims
 * before anything runs, and the full rule on every value at run time. */
typedef struct aviary_port_spec {
    const char *name;            /* [a-z0-9_]+, unique among the plugin's inputs (or outputs) */
    aviary_port_type type;
    aviary_modality modality;
    int dtype;                   /* aviary_dtype, or AVIARY_DTYPE_ANY; ignored for TEXT/PATH */
    const char *shape;           /* shape rule, see above */
    const char *help;            /* one line */
} aviary_port_spec;

/* ---------------------------------------------------------------- values */

typedef struct aviary_value {
    aviary_port_type type;
    aviary_tensor tensor;        /* AVIARY_PORT_TENSOR */
    char *text;                  /* AVIARY_PORT_TEXT / PATH (NUL-terminated) */
} aviary_value;

/* One resolved option, as the stage gets it: the host fills one per declared
 * option, in declaration order, with the default applied when the pipeline
 * does not set it. Strings are borrowed, valid until destroy(). */
typedef struct aviary_option_value {
    const char *name;
    aviary_option_type type;
    bool is_set;                 /* true if the pipeline set it (not the default) */
    bool has_value;              /* false only for an optional STRING/PATH whose default is "" */
    int64_t i;                   /* INT (BOOL also sets i = 0/1) */
    double f;                    /* FLOAT (INT also sets f) */
    bool b;                      /* BOOL */
    const char *s;               /* STRING, PATH (absolute or relative to the cwd) */
} aviary_option_value;

/* ---------------------------------------------------------------- host table */

typedef enum aviary_log_level {
    AVIARY_LOG_DEBUG = 0,
    AVIARY_LOG_INFO = 1,
    AVIARY_LOG_WARN = 2,
    AVIARY_LOG_ERROR = 3
} aviary_log_level;

/* Functions the host offers plugins. Grows only at its end (check
 * struct_size with AVIARY_HAS_FIELD for fields newer than ABI 1.0). */
typedef struct aviary_host_api {
    uint32_t struct_size;        /* sizeof(aviary_host_api) as the host built it */
    uint32_t abi_major;          /* the host's AVIARY_PLUGIN_ABI_MAJOR */
    uint32_t abi_minor;          /* the host's AVIARY_PLUGIN_ABI_MINOR */
    const char *aviary_version;  /* "MAJOR.MINOR.PATCH" of the host's libaviary */
    /* Log a line to stderr (prefixed "aviary: PLUGIN: "); DEBUG/INFO only
     * when the user asked for verbosity. */
    void (*log)(aviary_log_level level, const char *plugin, const char *fmt, ...) AVIARY_PRINTF(3, 4);
    /* Set the error message the host reports and return s (like aviary_error). */
    aviary_status (*error)(aviary_status s, const char *fmt, ...) AVIARY_PRINTF(2, 3);
    /* Threads the user asked for (the pipeline's backbone.threads / --threads). */
    int (*num_threads)(void);
} aviary_host_api;

/* ---------------------------------------------------------------- create args */

typedef struct aviary_model aviary_model;
typedef struct aviary_checkpoint aviary_checkpoint;

/* What create() receives. Grows only at its end. All pointers are borrowed
 * and stay valid until destroy() returns. */
typedef struct aviary_plugin_create_args {
    uint32_t struct_size;                 /* sizeof as the host built it */
    const aviary_host_api *host;
    const char *stage;                    /* the stage's name in the pipeline */
    const aviary_option_value *options;   /* descriptor->n_options entries, declaration order */
    size_t n_options;
    /* The stage's "weights" file, opened (memory-mapped) once by the host and
     * shared by all stages naming the same file; NULL when the stage has none.
     * Tensors from it are zero-copy views valid until destroy(). */
    aviary_checkpoint *weights;
    const char *weights_path;             /* NULL when weights is NULL */
    /* The pipeline's backbone language model, NULL when it has none. Shared:
     * create your own aviary_state from it. */
    const aviary_model *backbone;
    const char *base_dir;                 /* directory of the pipeline file */
} aviary_plugin_create_args;

/* Look an option up by name (NULL if the plugin did not declare it). */
static inline const aviary_option_value *aviary_option_find(const aviary_plugin_create_args *a, const char *name) {
    for (size_t k = 0; k < a->n_options; k++) {
        const char *x = a->options[k].name, *y = name;
        while (*x && *x == *y) x++, y++;
        if (*x == *y) return &a->options[k];
    }
    return 0;
}

/* ---------------------------------------------------------------- descriptor */

typedef struct aviary_plugin_descriptor {
    /* --- these three stay first forever --- */
    uint32_t abi_major;          /* AVIARY_PLUGIN_ABI_MAJOR the plugin was built with */
    uint32_t abi_minor;          /* AVIARY_PLUGIN_ABI_MINOR the plugin was built with */
    uint32_t struct_size;        /* sizeof(aviary_plugin_descriptor) at build time */

    const char *name;            /* [a-z0-9_]+; what a pipeline stage's "plugin" names */
    aviary_plugin_kind kind;
    const char *version;         /* the plugin's own version, e.g. "1.0.0" */
    const char *description;     /* one line */

    size_t n_options;
    const aviary_option_spec *options;
    size_t n_inputs;             /* >= 1 */
    const aviary_port_spec *inputs;
    size_t n_outputs;            /* >= 1 */
    const aviary_port_spec *outputs;

    /* Build an instance for one pipeline stage (load weights, check option
     * values). On failure return an error status (message via aviary_error),
     * leave *instance NULL and free what you allocated. */
    aviary_status (*create)(const aviary_plugin_create_args *args, void **instance);
    /* Compute outputs[0..n_outputs) from inputs[0..n_inputs) (see the data
     * exchange rules at the top). May be called many times; never
     * concurrently on the same instance. */
    aviary_status (*run)(void *instance, const aviary_value *inputs, aviary_value *outputs);
    /* Release an instance (NULL allowed). */
    void (*destroy)(void *instance);
} aviary_plugin_descriptor;

/* Fill the first three descriptor fields for the ABI this header describes. */
#define AVIARY_PLUGIN_DESCRIPTOR_HEADER \
    .abi_major = AVIARY_PLUGIN_ABI_MAJOR, .abi_minor = AVIARY_PLUGIN_ABI_MINOR, \
    .struct_size = (uint32_t)sizeof(aviary_plugin_descriptor)

/* The entry point's type. It may return NULL to refuse to load (after
 * host->error(...) explaining why). The descriptor must stay valid while the
 * plugin is loaded (make it static const). */
typedef const aviary_plugin_descriptor *(*aviary_plugin_entry_fn)(const aviary_host_api *host);

/* AVIARY_PLUGIN_DEFINE(desc); -- the usual entry point: declares and defines
 * the exported `aviary_plugin_entry` returning &desc (desc: the plugin's
 * static const aviary_plugin_descriptor), ignoring `host`. The prototype is
 * repeated around the definition so -Wmissing-prototypes stays quiet and the
 * caller's `;` ends a declaration (no stray `;` at file scope). It expands to
 * exactly the hand-written function, so the ABI is the same. Write the
 * entry by hand instead when it must look at `host` or may refuse to load. */
#define AVIARY_PLUGIN_ENTRY_DECL_ \
    AVIARY_PLUGIN_EXPORT const aviary_plugin_descriptor *aviary_plugin_entry(const aviary_host_api *host)
#define AVIARY_PLUGIN_DEFINE(desc) \
    AVIARY_PLUGIN_ENTRY_DECL_;     \
    AVIARY_PLUGIN_ENTRY_DECL_ {    \
        (void)host;                \
        return &(desc);            \
    }                              \
    AVIARY_PLUGIN_ENTRY_DECL_

/* ================================================================ host side
 * Discovery and loading, used by `aviary plugins` and pipelines. */

typedef struct aviary_plugin_registry aviary_plugin_registry;

/* One loaded, validated plugin (borrowed from the registry). */
typedef struct aviary_plugin_info {
    const char *name;
    const char *path;                        /* the .so file */
    const aviary_plugin_descriptor *desc;
} aviary_plugin_info;

/* Scan for plugins: every *.so in the directories of `search_path`
 * (colon-separated; NULL = the default order: $AVIARY_PLUGIN_PATH, then the
 * install dir, then the build tree's plugin dir). Files that fail to load,
 * lack the entry symbol, have another ABI or a malformed descriptor are
 * recorded as skipped with the reason; this never fails because of a bad
 * plugin. A name found twice: the first wins, the later file is skipped.
 * Fails only on AVIARY_NOMEM. */
AVIARY_API aviary_status aviary_plugin_registry_open(const char *search_path, aviary_plugin_registry **out);
/* Unload every plugin (invalidates descriptors and infos). NULL allowed. */
AVIARY_API void aviary_plugin_registry_free(aviary_plugin_registry *r);

AVIARY_API size_t aviary_plugin_registry_count(const aviary_plugin_registry *r);
AVIARY_API const aviary_plugin_info *aviary_plugin_registry_at(const aviary_plugin_registry *r, size_t i);
/* Find by name; sets AVIARY_NOT_FOUND (listing the search dirs and, if the
 * name matches a skipped file, why it was skipped) when absent. */
AVIARY_API aviary_status aviary_plugin_registry_find(const aviary_plugin_registry *r, const char *name,
                                                     const aviary_plugin_info **out);
/* The directories searched, in order (borrowed). */
AVIARY_API size_t aviary_plugin_registry_dir_count(const aviary_plugin_registry *r);
AVIARY_API const char *aviary_plugin_registry_dir(const aviary_plugin_registry *r, size_t i);
/* Files skipped, and the one-line reason why (borrowed). */
AVIARY_API size_t aviary_plugin_registry_skipped_count(const aviary_plugin_registry *r);
AVIARY_API void aviary_plugin_registry_skipped(const aviary_plugin_registry *r, size_t i, const char **path,
                                               const char **reason);

/* Static names: "encoder", "int", "tensor", "image", ... ("?" if invalid). */
AVIARY_API const char *aviary_plugin_kind_name(aviary_plugin_kind k);
AVIARY_API const char *aviary_option_type_name(aviary_option_type t);
AVIARY_API const char *aviary_port_type_name(aviary_port_type t);
AVIARY_API const char *aviary_modality_name(aviary_modality m);

/* Check a shape rule's syntax (AVIARY_INVALID_ARG naming the problem). */
AVIARY_API aviary_status aviary_shape_rule_parse_check(const char *rule);

#ifdef __cplusplus
}
#endif
#endif /* AVIARY_PLUGIN_H */
