/* test_pipeline.c - pipeline parsing, validation messages (exact, with JSON
 * paths), wiring defaults, symbolic shapes and execution, using in-process
 * plugins registered next to the test plugins loaded from TEST_PLUGIN_DIR. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "plugin_internal.h"
#include "aviary/aviary_pipeline.h"

#include "test_util.h"

/* ---- in-process plugins ----
 * src:   text "values" -> f32 features [N] (parsed numbers)
 * scale: features x [N] -> features y [N] = x * factor, plus "n" scores [1] = N
 * fixed: features x [dim] -> features s [dim]; INT option dim (default 4) */
typedef struct { double factor; } scale_inst;

static aviary_status src_create(const aviary_plugin_create_args *a, void **o) { (void)a; *o = NULL; return AVIARY_OK; }
static void nop_destroy(void *p) { free(p); }
static aviary_status src_run(void *p, const aviary_value *in, aviary_value *out) {
    (void)p;
    float v[16];
    int64_t n = 0;
    const char *s = in[0].text;
    char *end;
    while (n < 16) {
        double x = strtod(s, &end);
        if (end == s) break;
        v[n++] = (float)x;
        s = end;
    }
    while (*s == ' ') s++;
    if (*s) return aviary_error(AVIARY_INVALID_ARG, "src: bad number at \"%s\"", s);
    aviary_status st = aviary_tensor_alloc(&out[0].tensor, AVIARY_F32, 1, &n);
    if (!st) memcpy(out[0].tensor.data, v, (size_t)n * sizeof *v);
    return st;
}
static aviary_status scale_create(const aviary_plugin_create_args *a, void **o) {
    scale_inst *s = malloc(sizeof *s);
    if (!s) return AVIARY_NOMEM;
    s->factor = aviary_option_find(a, "factor")->f;
    *o = s;
    return AVIARY_OK;
}
static aviary_status scale_run(void *p, const aviary_value *in, aviary_value *out) {
    const scale_inst *s = p;
    const aviary_tensor *x = &in[0].tensor;
    aviary_status st = aviary_tensor_alloc(&out[0].tensor, AVIARY_F32, 1, x->shape);
    if (st) return st;
    int64_t one = 1;
    if ((st = aviary_tensor_alloc(&out[1].tensor, AVIARY_F32, 1, &one))) return st;  /* host frees out[0] */
    for (int64_t i = 0; i < x->shape[0]; i++) ((float *)out[0].tensor.data)[i] = (float)(((const float *)x->data)[i] * s->factor);
    ((float *)out[1].tensor.data)[0] = (float)x->shape[0];
    return AVIARY_OK;
}
static aviary_status fixed_run(void *p, const aviary_value *in, aviary_value *out) {
    (void)p;
    return aviary_tensor_alloc(&out[0].tensor, AVIARY_F32, 1, in[0].tensor.shape);
}

static const aviary_port_spec src_in[] = {{"values", AVIARY_PORT_TEXT, AVIARY_MODALITY_SERIES, AVIARY_DTYPE_ANY, NULL, "numbers"}};
static const aviary_port_spec src_out[] = {{"features", AVIARY_PORT_TENSOR, AVIARY_MODALITY_FEATURES, AVIARY_F32, "[N]", ""}};
static const aviary_option_spec scale_opts[] = {{"factor", AVIARY_OPT_FLOAT, "2", "multiplier"}};
static const aviary_port_spec scale_in[] = {{"x", AVIARY_PORT_TENSOR, AVIARY_MODALITY_TENSOR, AVIARY_F32, "[N]", ""}};
static const aviary_port_spec scale_out[] = {{"y", AVIARY_PORT_TENSOR, AVIARY_MODALITY_FEATURES, AVIARY_F32, "[N]", ""},
                                             {"n", AVIARY_PORT_TENSOR, AVIARY_MODALITY_SCORES, AVIARY_F32, "[1]", ""}};
static const aviary_option_spec fixed_opts[] = {{"dim", AVIARY_OPT_INT, "4", "size"}};
static const aviary_port_spec fixed_in[] = {{"x", AVIARY_PORT_TENSOR, AVIARY_MODALITY_FEATURES, AVIARY_F32, "[dim]", ""}};
static const aviary_port_spec fixed_out[] = {{"s", AVIARY_PORT_TENSOR, AVIARY_MODALITY_FEATURES, AVIARY_F32, "[dim]", ""}};

#define DESC(nm, k, no, o, ni, i, nout, out, cr, ru)                                                              \
    {AVIARY_PLUGIN_DESCRIPTOR_HEADER, .name = nm, .kind = k, .version = "1", .description = "test " nm,            \
     .n_options = no, .options = o, .n_inputs = ni, .inputs = i, .n_outputs = nout, .outputs = out, .create = cr, \
     .run = ru, .destroy = nop_destroy}

static const aviary_plugin_descriptor d_src = DESC("src", AVIARY_PLUGIN_ENCODER, 0, NULL, 1, src_in, 1, src_out, src_create, src_run);
static const aviary_plugin_descriptor d_scale = DESC("scale", AVIARY_PLUGIN_ADAPTER, 1, scale_opts, 1, scale_in, 2, scale_out, scale_create, scale_run);
static const aviary_plugin_descriptor d_fixed = DESC("fixed", AVIARY_PLUGIN_HEAD, 1, fixed_opts, 1, fixed_in, 1, fixed_out, src_create, fixed_run);

static aviary_plugin_registry *reg;

static aviary_status parse(const char *json, aviary_pipeline **p) {
    return aviary_pipeline_parse(json, strlen(json), "t.json", NULL, reg, p);
}

static void expect_error(const char *json, const char *msg) {
    aviary_pipeline *p = NULL;
    aviary_status st = parse(json, &p);
    if (st != AVIARY_CONFIG || strcmp(aviary_errmsg(), msg)) {
        fprintf(stderr, "for %s\n  got    %s (%s)\n  wanted %s\n", json, aviary_errmsg(), aviary_status_name(st), msg);
        failures++;
    }
    CHECK(p == NULL);
    aviary_pipeline_free(p);
}

static void test_errors(void) {
    expect_error("[1]", "t.json: expected a JSON object at the top, got an array");
    expect_error("{\"stages\": [{\"plugin\": \"src\"}], \"x\": 1}",
                 "t.json: x: unknown key (expected name, description, backbone, stages, outputs)");
    expect_error("{\"stages\": [{\"plugin\": \"src\", \"options\": {}}], \"stages\": []}", "t.json: stages: key given twice");
    expect_error("{\"stages\": {}}", "t.json: stages: expected array, got an object");
    expect_error("{\"stages\": [{\"plugin\": \"src\"}, {\"plugin\": \"scale\", \"options\": {\"factor\": \"2\"}}]}",
                 "t.json: stages[1].options.factor: expected number");
    expect_error("{\"stages\": [{\"plugin\": \"src\"}, {\"plugin\": \"scale\"}, {\"plugin\": \"fixed\", \"input\": \"scale.y\", "
                 "\"options\": {\"dim\": 2.5}}]}",
                 "t.json: stages[2].options.dim: expected integer");
    expect_error("{\"stages\": [{\"plugin\": \"src\", \"name\": 3}]}", "t.json: stages[0].name: expected string");
    expect_error("{\"stages\": [{\"plugin\": \"src\", \"name\": \"A\"}]}",
                 "t.json: stages[0].name: \"A\" is not a valid stage name ([a-z0-9_]{1,63})");
    expect_error("{\"stages\": [{\"plugin\": \"fixed\"}]}",
                 "t.json: stages[0].inputs.x: no producer: connect this features tensor input, e.g. \"inputs\": {\"x\": \"STAGE.OUTPUT\"}");
    /* scale has two outputs, one of them named like fixed's input? no: y and n; two tensor outputs -> no default */
    expect_error("{\"stages\": [{\"plugin\": \"src\"}, {\"plugin\": \"scale\"}, {\"plugin\": \"fixed\"}]}",
                 "t.json: stages[2].inputs.x: no producer: connect this features tensor input, e.g. \"inputs\": {\"x\": \"STAGE.OUTPUT\"}");
    expect_error("{\"stages\": [{\"plugin\": \"src\"}, {\"plugin\": \"scale\"}, {\"plugin\": \"fixed\", \"input\": \"scale\"}]}",
                 "t.json: stages[2].input: stage 'scale' has several outputs (y, n): name one as \"scale.OUTPUT\"");
    /* symbolic dims resolved from options: dim = 3 vs the literal 1 of scale.n */
    expect_error("{\"stages\": [{\"plugin\": \"src\"}, {\"plugin\": \"scale\"}, {\"plugin\": \"fixed\", \"input\": \"scale.n\", "
                 "\"options\": {\"dim\": 3}}]}",
                 "t.json: stages[2].input: modality mismatch: scale.n is scores, but input 'x' of plugin fixed takes features");
    /* [dim] resolved from each stage's own option: 4 (default) vs 3 */
    expect_error("{\"stages\": [{\"plugin\": \"src\"}, {\"name\": \"f4\", \"plugin\": \"fixed\"}, "
                 "{\"name\": \"f3\", \"plugin\": \"fixed\", \"options\": {\"dim\": 3}}]}",
                 "t.json: stages[2].inputs.x: shape mismatch: f4.s is [dim] (dim = 4), but input 'x' of plugin fixed takes [dim] (dim = 3)");
    /* unresolved symbols cannot be refuted before running: [N] into [dim] is accepted */
    aviary_pipeline *ok = NULL;
    CHECK(parse("{\"stages\": [{\"plugin\": \"src\"}, {\"plugin\": \"fixed\"}]}", &ok) == AVIARY_OK);
    aviary_pipeline_free(ok);
    expect_error("{\"stages\": [{\"plugin\": \"src\"}, {\"plugin\": \"tp_matrix\", \"options\": {\"label\": \"a\"}}, "
                 "{\"plugin\": \"fixed\", \"input\": \"tp_matrix.m\"}]}",
                 "t.json: stages[2].input: shape mismatch: tp_matrix.m is [2, N], but input 'x' of plugin fixed takes [dim] (dim = 4)");
    expect_error("{\"stages\": [{\"plugin\": \"src\", \"inputs\": {\"values\": \"$bad name\"}}]}",
                 "t.json: stages[0].inputs.values: '$bad name': a pipeline input name must be [a-z0-9_]{1,63}");
    expect_error("{\"stages\": [{\"plugin\": \"src\", \"inputs\": {\"nope\": \"$v\"}}]}",
                 "t.json: stages[0].inputs.nope: plugin src has no input 'nope' (inputs: values)");
    expect_error("{\"stages\": [{\"plugin\": \"src\", \"input\": \"$v\", \"inputs\": {}}]}",
                 "t.json: stages[0].input: give either \"input\" or \"inputs\", not both");
    expect_error("{\"stages\": [{\"plugin\": \"src\"}], \"outputs\": []}", "t.json: outputs: empty: list at least one STAGE.OUTPUT");
    expect_error("{\"stages\": [{\"plugin\": \"src\"}], \"outputs\": [\"$values\"]}",
                 "t.json: outputs[0]: outputs name stage outputs (STAGE or STAGE.OUTPUT), not pipeline inputs");
    expect_error("{\"stages\": [{\"plugin\": \"src\"}], \"outputs\": {\"a\": \"src\", \"b\": \"src.features\", \"a\": \"src\"}}",
                 "t.json: outputs.a: key given twice");
    expect_error("{\"backbone\": {\"checkpoint\": \"/nonexistent.pth\", \"precision\": \"fp8\"}, \"stages\": [{\"plugin\": \"src\"}]}",
                 "t.json: backbone.checkpoint: file not found: /nonexistent.pth");
    expect_error("{\"backbone\": {}, \"stages\": [{\"plugin\": \"src\"}]}",
                 "t.json: backbone.checkpoint: missing (the language model's checkpoint file)");
    expect_error("{\"backbone\": {\"checkpoint\": \"" TEST_PLUGIN_DIR "/garbage.so\", \"precision\": \"fp8\"}, \"stages\": [{\"plugin\": \"src\"}]}",
                 "t.json: backbone.precision: unknown precision \"fp8\" (expected auto, f32, bf16 or int8)");
    expect_error("{\"stages\": [{\"plugin\": \"src\"}, {\"plugin\": \"tp_image\"}]}",
                 "t.json: stages[1].inputs.pixels: modality mismatch: src.features is features, but input 'pixels' of plugin tp_image takes image");
    expect_error("{\"stages\": [{\"plugin\": \"src\"}, {\"plugin\": \"tp_sum\", \"options\": {\"top_k\": 1e300}}]}",
                 "t.json: stages[1].options.top_k: expected integer");
    aviary_pipeline *bad = NULL;
    CHECK(parse("{\"stages\": [{\"plugin\": \"src\"},", &bad) == AVIARY_CONFIG && !bad);
    CHECK(!strncmp(aviary_errmsg(), "t.json: not valid JSON (near line 1, column ", 44));
    CHECK(parse("{\n\n  \"stages\": nope}", &bad) == AVIARY_CONFIG && !bad);
    CHECK(!strncmp(aviary_errmsg(), "t.json: not valid JSON (near line 3, column ", 44));
}

static float at(const aviary_pipeline_results *r, const char *name, size_t i) {
    for (size_t k = 0; k < r->count; k++)
        if (!strcmp(r->names[k], name) && r->values[k].type == AVIARY_PORT_TENSOR &&
            (int64_t)i < aviary_tensor_numel(&r->values[k].tensor))
            return ((const float *)r->values[k].tensor.data)[i];
    return NAN;
}

static void test_run(void) {
    aviary_pipeline *p = NULL;
    /* Default wiring: scale.x <- src.features (previous stage's only tensor);
     * tp_sum.x <- scale.y by explicit source; loaded plugin next to in-process ones. */
    const char *json = "{\"name\": \"t\", \"_note\": \"ignored\", \"stages\": ["
                       "{\"plugin\": \"src\"},"
                       "{\"plugin\": \"scale\", \"options\": {\"factor\": 0.5}},"
                       "{\"name\": \"sum\", \"plugin\": \"tp_sum\", \"input\": \"scale.y\", \"options\": {\"offset\": 10}}],"
                       "\"outputs\": {\"half\": \"scale.y\", \"count\": \"scale.n\", \"total\": \"sum\"}}";
    CHECK(parse(json, &p) == AVIARY_OK);
    if (!p) {
        fprintf(stderr, "parse: %s\n", aviary_errmsg());
        failures++;
        return;
    }
    CHECK(aviary_pipeline_input_count(p) == 1 && !strcmp(aviary_pipeline_input_at(p, 0)->name, "values"));
    CHECK(aviary_pipeline_output_count(p) == 3 && !strcmp(aviary_pipeline_output_name(p, 2), "total"));
    const char *names[] = {"values"}, *vals[] = {"1 2 3 4"};
    aviary_pipeline_results r;
    for (int rep = 0; rep < 2; rep++) {  /* runs again with the same instances */
        CHECK(aviary_pipeline_run(p, 1, names, vals, &r) == AVIARY_OK);
        CHECK(r.count == 3);
        CHECK(at(&r, "half", 0) == 0.5f && at(&r, "half", 3) == 2.0f);
        CHECK(at(&r, "count", 0) == 4.0f);
        CHECK(at(&r, "total", 0) == 15.0f);  /* 0.5 + 1 + 1.5 + 2 + 10 */
        aviary_pipeline_results_free(&r);
    }
    /* The plugin's own error, prefixed with plugin and stage. */
    const char *bad[] = {"1 x"};
    CHECK(aviary_pipeline_run(p, 1, names, bad, &r) == AVIARY_INVALID_ARG);
    if (strcmp(aviary_errmsg(), "plugin src (stage 'src'): src: bad number at \"x\"")) {
        fprintf(stderr, "got: %s\n", aviary_errmsg());
        failures++;
    }
    CHECK(r.count == 0);
    /* Input checks at run time: a 5-element series into a dim-4 head. */
    aviary_pipeline_free(p);
    CHECK(parse("{\"stages\": [{\"plugin\": \"src\"}, {\"plugin\": \"fixed\"}]}", &p) == AVIARY_OK);
    const char *five[] = {"1 2 3 4 5"};
    CHECK(aviary_pipeline_run(p, 1, names, five, &r) == AVIARY_SHAPE);
    CHECK(!strcmp(aviary_errmsg(), "t.json: stage 'fixed' input 'x' (from src.features): shape [5] does not fit [dim] "
                                   "(dim 0 is 5, but dim = 4)"));
    const char *four[] = {"1 2 3 4"};
    CHECK(aviary_pipeline_run(p, 1, names, four, &r) == AVIARY_OK && r.count == 1 && !strcmp(r.names[0], "fixed.s"));
    aviary_pipeline_results_free(&r);
    const char *other[] = {"valuez"};
    CHECK(aviary_pipeline_run(p, 1, other, four, &r) == AVIARY_INVALID_ARG);
    CHECK(!strcmp(aviary_errmsg(), "t.json: unknown input 'valuez' (this pipeline takes: values)"));
    CHECK(aviary_pipeline_run(p, 0, NULL, NULL, &r) == AVIARY_INVALID_ARG);
    CHECK(!strcmp(aviary_errmsg(), "t.json: input 'values' not given (series text: numbers; use --in values=VALUE)"));
    aviary_pipeline_free(p);

    /* Broken loaded plugins, reported by name. */
    CHECK(parse("{\"stages\": [{\"plugin\": \"src\"}, {\"plugin\": \"tp_grow\"}]}", &p) == AVIARY_OK);
    CHECK(aviary_pipeline_run(p, 1, names, four, &r) == AVIARY_PLUGIN);
    CHECK(!strcmp(aviary_errmsg(), "plugin tp_grow (stage 'tp_grow') output 'y': shape [5] does not fit [N] "
                                   "(dim 0 is 5, but N = 4)"));
    aviary_pipeline_free(p);
    CHECK(parse("{\"stages\": [{\"plugin\": \"src\"}, {\"plugin\": \"tp_fail\"}]}", &p) == AVIARY_OK);
    CHECK(aviary_pipeline_run(p, 1, names, four, &r) == AVIARY_ERROR);
    CHECK(!strcmp(aviary_errmsg(), "plugin tp_fail (stage 'tp_fail'): tp_fail: deliberate failure in run"));
    aviary_pipeline_free(p);
}

int main(void) {
    if (aviary_plugin_registry_open(TEST_PLUGIN_DIR, &reg) || aviary__plugin_registry_add(reg, "test", &d_src) ||
        aviary__plugin_registry_add(reg, "test", &d_scale) || aviary__plugin_registry_add(reg, "test", &d_fixed)) {
        fprintf(stderr, "setup: %s\n", aviary_errmsg());
        return 1;
    }
    test_errors();
    test_run();
    aviary_plugin_registry_free(reg);
    if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
    else printf("test_pipeline: all checks passed\n");
    return failures ? 1 : 0;
}
