/* fuzz_pipeline.c - libFuzzer target for the pipeline JSON parser and
 * validator (aviary_pipeline_parse). Plugins are in-process descriptors so
 * that every validation path (options, wiring, shape rules) is reachable
 * without loading files. Seeds: tests/corpus/pipeline/. */
#include <stdint.h>
#include <string.h>
#include "plugin_internal.h"
#include "aviary/aviary_pipeline.h"

static aviary_status f_create(const aviary_plugin_create_args *a, void **o) { (void)a; *o = NULL; return AVIARY_OK; }
static aviary_status f_run(void *i, const aviary_value *in, aviary_value *out) { (void)i; (void)in; (void)out; return AVIARY_ERROR; }
static void f_destroy(void *i) { (void)i; }

static const aviary_option_spec opts[] = {
    {"dim", AVIARY_OPT_INT, "4", ""},       {"factor", AVIARY_OPT_FLOAT, "1", ""},
    {"mode", AVIARY_OPT_STRING, "a", ""},   {"flag", AVIARY_OPT_BOOL, "false", ""},
    {"labels", AVIARY_OPT_PATH, "", ""},    {"need", AVIARY_OPT_INT, NULL, ""},
};
static const aviary_port_spec text_in[] = {{"values", AVIARY_PORT_TEXT, AVIARY_MODALITY_SERIES, AVIARY_DTYPE_ANY, NULL, ""},
                                           {"image", AVIARY_PORT_PATH, AVIARY_MODALITY_IMAGE, AVIARY_DTYPE_ANY, NULL, ""}};
static const aviary_port_spec feat_out[] = {{"features", AVIARY_PORT_TENSOR, AVIARY_MODALITY_FEATURES, AVIARY_F32, "[N, dim]", ""},
                                            {"pooled", AVIARY_PORT_TENSOR, AVIARY_MODALITY_FEATURES, AVIARY_F32, "[dim]", ""}};
static const aviary_port_spec feat_in[] = {{"x", AVIARY_PORT_TENSOR, AVIARY_MODALITY_FEATURES, AVIARY_F32, "[..., dim]", ""}};
static const aviary_port_spec any_in[] = {{"x", AVIARY_PORT_TENSOR, AVIARY_MODALITY_TENSOR, AVIARY_DTYPE_ANY, NULL, ""},
                                          {"y", AVIARY_PORT_PATH, AVIARY_MODALITY_IMAGE, AVIARY_DTYPE_ANY, NULL, ""}};
static const aviary_port_spec score_out[] = {{"scores", AVIARY_PORT_TENSOR, AVIARY_MODALITY_SCORES, AVIARY_F32, "[7]", ""},
                                             {"text", AVIARY_PORT_TEXT, AVIARY_MODALITY_TEXT, AVIARY_DTYPE_ANY, NULL, ""}};

#define DESC(nm, no, ni, i, nout, out)                                                                                 \
    {AVIARY_PLUGIN_DESCRIPTOR_HEADER, .name = nm, .kind = AVIARY_PLUGIN_ENCODER, .version = "1", .description = "fuzz", \
     .n_options = no, .options = opts, .n_inputs = ni, .inputs = i, .n_outputs = nout, .outputs = out,                 \
     .create = f_create, .run = f_run, .destroy = f_destroy}

static const aviary_plugin_descriptor descs[] = {
    DESC("enc", 5, 2, text_in, 2, feat_out),
    DESC("head", 5, 1, feat_in, 2, score_out),
    DESC("any", 6, 2, any_in, 2, score_out),
};

static aviary_plugin_registry *reg;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!reg) {
        if (aviary__plugin_registry_new(&reg)) return 0;
        for (size_t i = 0; i < sizeof descs / sizeof descs[0]; i++)
            if (aviary__plugin_registry_add(reg, "fuzz", &descs[i])) __builtin_trap();
    }
    aviary_pipeline *p = NULL;
    aviary_status st = aviary_pipeline_parse((const char *)data, size, "fuzz.json", "/nonexistent", reg, &p);
    if (st == AVIARY_OK) {
        /* Touch everything the CLI would list. */
        for (size_t i = 0; i < aviary_pipeline_input_count(p); i++)
            if (!aviary_pipeline_input_at(p, i)->name) __builtin_trap();
        for (size_t i = 0; i < aviary_pipeline_output_count(p); i++)
            if (!aviary_pipeline_output_name(p, i)) __builtin_trap();
    } else if (p || !aviary_errmsg()[0]) {
        __builtin_trap();  /* failure must leave no object and give a message */
    }
    aviary_pipeline_free(p);
    return 0;
}
