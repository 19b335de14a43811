/*
 * aviary_pipeline.h - JSON pipelines: plugin stages (and an optional RWKV
 * backbone) composed by a file, validated before anything runs.
 *
 * File format (every key but "stages" optional; keys starting with "_" are
 * comments and ignored; any other unknown key is an error):
 *
 *   {
 *     "name": "my-pipeline", "description": "one line",
 *     "backbone": {"checkpoint": "rwkv.pth", "precision": "bf16", "threads": 2,
 *                  "prefix": "rwkv."},
 *     "stages": [
 *       {"name": "encoder", "plugin": "vision_rwkv", "weights": "vrwkv_t.pth",
 *        "options": {"size": 224},
 *        "inputs": {"image": "$image"}},
 *       {"name": "head", "plugin": "classifier", "weights": "vrwkv_t.pth",
 *        "input": "encoder"}
 *     ],
 *     "outputs": ["head.labels", "encoder.features"]
 *   }
 *
 * A stage's "name" defaults to its plugin's name; names must be unique.
 * Wiring. A stage input takes a *source*:
 *   "STAGE.OUTPUT"  an output of an EARLIER stage;
 *   "STAGE"         that stage's only output (or its only tensor output);
 *   "$NAME"         a pipeline input given by the caller (`--in NAME=VALUE`);
 *                   only text and path ports can take one.
 * "input": SOURCE is shorthand for a stage with exactly one input. An input
 * left unconnected takes, for text/path ports, the pipeline input of the
 * same name ("$PORT"); for tensor ports, the previous stage's output of the
 * same name, else the previous stage's only tensor output.
 * "outputs" lists the sources printed/returned (default: every output of
 * the last stage); it may also be an object {"alias": "SOURCE"}.
 * File names (weights, backbone.checkpoint, PATH options) are relative to
 * the pipeline file.
 *
 * The backbone (aviary_model.h) is loaded once and handed to every stage's
 * create() as args->backbone; "precision" is "auto", "f32", "bf16" or
 * "int8"; "threads" sets aviary_set_num_threads().
 *
 * Validation happens in aviary_pipeline_load(), before any weights are read:
 * each error is AVIARY_CONFIG with "FILE: JSON.PATH: problem", e.g.
 * "pipe.json: stages[2].options.top_k: expected integer".
 */
#ifndef AVIARY_PIPELINE_H
#define AVIARY_PIPELINE_H

#include "aviary_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct aviary_pipeline aviary_pipeline;

/* Read, parse and validate a pipeline file against the plugins of `reg`
 * (which must outlive the pipeline). Checks syntax, keys, types, option
 * values, that weights files exist, wiring and port compatibility
 * (type, modality, dtype, rank and literal dims). Loads nothing heavy. */
AVIARY_API aviary_status aviary_pipeline_load(const char *path, const aviary_plugin_registry *reg,
                                              aviary_pipeline **out);
/* Same from memory: `name` is used in messages, `base_dir` resolves
 * relative file names (NULL = current directory). */
AVIARY_API aviary_status aviary_pipeline_parse(const char *json, size_t len, const char *name, const char *base_dir,
                                               const aviary_plugin_registry *reg, aviary_pipeline **out);
AVIARY_API void aviary_pipeline_free(aviary_pipeline *p);

/* Pipeline inputs the caller must give, in first-use order. */
typedef struct aviary_pipeline_input {
    const char *name;
    aviary_port_type type;        /* TEXT or PATH */
    aviary_modality modality;
    const char *help;             /* the consuming port's help (borrowed) */
} aviary_pipeline_input;
AVIARY_API size_t aviary_pipeline_input_count(const aviary_pipeline *p);
AVIARY_API const aviary_pipeline_input *aviary_pipeline_input_at(const aviary_pipeline *p, size_t i);

/* The pipeline's outputs, in order: "STAGE.OUTPUT" or the alias given in
 * "outputs" (borrowed). */
AVIARY_API size_t aviary_pipeline_output_count(const aviary_pipeline *p);
AVIARY_API const char *aviary_pipeline_output_name(const aviary_pipeline *p, size_t i);

/* Open weights, load the backbone and create every stage's instance.
 * Called automatically by the first aviary_pipeline_run(). */
AVIARY_API aviary_status aviary_pipeline_prepare(aviary_pipeline *p);

/* Results of one run: named values (names borrowed from the pipeline). */
typedef struct aviary_pipeline_results {
    size_t count;
    const char **names;
    aviary_value *values;
} aviary_pipeline_results;

/* Run every stage in order. names/values: the pipeline inputs (text/path
 * strings, borrowed). Each plugin input and output is checked against its
 * port; a failing or misbehaving plugin is reported by plugin and stage
 * name. On success *out holds the pipeline outputs; release it with
 * aviary_pipeline_results_free(). The pipeline may be run again. */
AVIARY_API aviary_status aviary_pipeline_run(aviary_pipeline *p, size_t n_inputs, const char *const *names,
                                             const char *const *values, aviary_pipeline_results *out);
AVIARY_API void aviary_pipeline_results_free(aviary_pipeline_results *r);
/* The backbone language model after aviary_pipeline_prepare() (borrowed,
 * owned by the pipeline), or NULL when the pipeline has none or is not
 * prepared. Callers that drive the LM themselves (`aviary ask`) use it. */
AVIARY_API const aviary_model *aviary_pipeline_backbone(const aviary_pipeline *p);

#ifdef __cplusplus
}
#endif
#endif /* AVIARY_PIPELINE_H */
