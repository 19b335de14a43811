/* test_plugin.c - plugin registry: discovery, ABI refusal, descriptor
 * validation, shape rules and value checks. */
#include <stdio.h>
#include <string.h>
#include "plugin_internal.h"

#include "test_util.h"
#define CHECK_MSG(sub)                                                                        \
    do {                                                                                      \
        if (!strstr(aviary_errmsg(), sub)) {                                                  \
            fprintf(stderr, "%s:%d: message \"%s\" lacks \"%s\"\n", __FILE__, __LINE__, aviary_errmsg(), sub); \
            failures++;                                                                       \
        }                                                                                     \
    } while (0)

static void test_shape_rules(void) {
    aviary__shape_rule r;
    CHECK(aviary__shape_rule_parse("[N, C]", &r) == AVIARY_OK && r.ndim == 2 && !r.ellipsis &&
          r.d[0].kind == AVIARY__DIM_SYM && !strcmp(r.d[1].sym, "C"));
    CHECK(aviary__shape_rule_parse("[..., 3]", &r) == AVIARY_OK && r.ellipsis && r.ndim == 1 && r.d[0].value == 3);
    CHECK(aviary__shape_rule_parse("[]", &r) == AVIARY_OK && r.ndim == 0 && !r.any);
    CHECK(aviary__shape_rule_parse(NULL, &r) == AVIARY_OK && r.any);
    CHECK(aviary__shape_rule_parse("[*, 7, n_embd]", &r) == AVIARY_OK && r.d[0].kind == AVIARY__DIM_ANY &&
          r.d[1].value == 7 && !strcmp(r.d[2].sym, "n_embd"));
    CHECK(aviary__shape_rule_parse("N, C", &r) == AVIARY_INVALID_ARG);
    CHECK_MSG("must start with '['");
    CHECK(aviary__shape_rule_parse("[N C]", &r) == AVIARY_INVALID_ARG);
    CHECK_MSG("expected ',' or ']'");
    CHECK(aviary__shape_rule_parse("[1,,2]", &r) == AVIARY_INVALID_ARG);
    CHECK(aviary__shape_rule_parse("[N, ...]", &r) == AVIARY_INVALID_ARG);
    CHECK_MSG("'...' must come first");
    CHECK(aviary__shape_rule_parse("[1,2,3,4,5,6,7,8,9]", &r) == AVIARY_INVALID_ARG);
    CHECK(aviary__shape_rule_parse("[N] x", &r) == AVIARY_INVALID_ARG);
    CHECK(aviary_shape_rule_parse_check("[99999999999999999999]") == AVIARY_INVALID_ARG);
}

static void test_check_value(void) {
    aviary_port_spec port = {"x", AVIARY_PORT_TENSOR, AVIARY_MODALITY_FEATURES, AVIARY_F32, "[N, C]", ""};
    aviary_value v;
    memset(&v, 0, sizeof v);
    v.type = AVIARY_PORT_TENSOR;
    int64_t s23[2] = {2, 3}, s24[2] = {2, 4};
    CHECK(aviary_tensor_alloc(&v.tensor, AVIARY_F32, 2, s23) == AVIARY_OK);
    aviary__symbols syms = {0};
    CHECK(aviary__check_value("x", &port, &v, &syms, AVIARY_SHAPE) == AVIARY_OK);
    CHECK(syms.n == 2 && syms.value[0] == 2 && syms.value[1] == 3);
    aviary_tensor_free(&v.tensor);
    CHECK(aviary_tensor_alloc(&v.tensor, AVIARY_F32, 2, s24) == AVIARY_OK);
    CHECK(aviary__check_value("out 'y'", &port, &v, &syms, AVIARY_PLUGIN) == AVIARY_PLUGIN);
    CHECK(!strcmp(aviary_errmsg(), "out 'y': shape [2, 4] does not fit [N, C] (dim 1 is 4, but C = 3)"));
    aviary_port_spec lit = {"x", AVIARY_PORT_TENSOR, AVIARY_MODALITY_FEATURES, AVIARY_F32, "[..., 5]", ""};
    CHECK(aviary__check_value("x", &lit, &v, &syms, AVIARY_SHAPE) == AVIARY_SHAPE);
    CHECK_MSG("dim 1 is 4, expected 5");
    aviary_port_spec rank = {"x", AVIARY_PORT_TENSOR, AVIARY_MODALITY_FEATURES, AVIARY_F32, "[N]", ""};
    CHECK(aviary__check_value("x", &rank, &v, &syms, AVIARY_SHAPE) == AVIARY_SHAPE);
    CHECK_MSG("(rank 2)");
    aviary_port_spec dt = {"x", AVIARY_PORT_TENSOR, AVIARY_MODALITY_FEATURES, AVIARY_BF16, NULL, ""};
    CHECK(aviary__check_value("x", &dt, &v, &syms, AVIARY_SHAPE) == AVIARY_SHAPE);
    CHECK_MSG("dtype f32, expected bf16");
    aviary_port_spec txt = {"t", AVIARY_PORT_TEXT, AVIARY_MODALITY_TEXT, AVIARY_DTYPE_ANY, NULL, ""};
    CHECK(aviary__check_value("t", &txt, &v, &syms, AVIARY_PLUGIN) == AVIARY_PLUGIN);
    CHECK_MSG("holds a tensor value, expected text");
    /* A NULL data pointer with elements is a broken output. */
    void *keep = v.tensor.data;
    v.tensor.data = NULL;
    aviary_port_spec any = {"x", AVIARY_PORT_TENSOR, AVIARY_MODALITY_FEATURES, AVIARY_DTYPE_ANY, NULL, ""};
    CHECK(aviary__check_value("x", &any, &v, &syms, AVIARY_PLUGIN) == AVIARY_PLUGIN);
    CHECK_MSG("tensor has no data");
    v.tensor.data = keep;
    v.tensor.strides[1] = 2;  /* not contiguous */
    CHECK(aviary__check_value("x", &any, &v, &syms, AVIARY_PLUGIN) == AVIARY_PLUGIN);
    CHECK_MSG("not contiguous");
    aviary_tensor_free(&v.tensor);
}

static aviary_status d_create(const aviary_plugin_create_args *a, void **o) { (void)a; *o = NULL; return AVIARY_OK; }
static aviary_status d_run(void *i, const aviary_value *in, aviary_value *out) { (void)i; (void)in; (void)out; return AVIARY_OK; }
static void d_destroy(void *i) { (void)i; }

static const aviary_option_spec g_opts[] = {{"k", AVIARY_OPT_INT, "5", "k"}};
static const aviary_port_spec g_in[] = {{"x", AVIARY_PORT_TENSOR, AVIARY_MODALITY_FEATURES, AVIARY_F32, "[N]", ""}};
static const aviary_port_spec g_out[] = {{"y", AVIARY_PORT_TENSOR, AVIARY_MODALITY_SCORES, AVIARY_F32, "[k]", ""}};

static aviary_plugin_descriptor good(void) {
    aviary_plugin_descriptor d = {AVIARY_PLUGIN_DESCRIPTOR_HEADER, .name = "good", .kind = AVIARY_PLUGIN_HEAD,
                                  .version = "1", .description = "d", .n_options = 1, .options = g_opts,
                                  .n_inputs = 1, .inputs = g_in, .n_outputs = 1, .outputs = g_out,
                                  .create = d_create, .run = d_run, .destroy = d_destroy};
    return d;
}

static void expect_bad(aviary_plugin_registry *r, const aviary_plugin_descriptor *d, const char *sub) {
    CHECK(aviary__plugin_registry_add(r, "test", d) == AVIARY_PLUGIN);
    CHECK_MSG(sub);
}

static void test_descriptor_validation(void) {
    aviary_plugin_registry *r;
    CHECK(aviary__plugin_registry_new(&r) == AVIARY_OK);
    aviary_plugin_descriptor d = good();
    CHECK(aviary__plugin_registry_add(r, "test", &d) == AVIARY_OK);
    CHECK(aviary_plugin_registry_count(r) == 1);
    expect_bad(r, &d, "duplicate: plugin 'good' is already loaded");
    d = good(); d.name = "other"; d.run = NULL;
    expect_bad(r, &d, "create, run and destroy must all be set");
    d = good(); d.name = "x y";
    expect_bad(r, &d, "name is not [a-z0-9_]");
    d = good(); d.name = "other"; d.kind = (aviary_plugin_kind)9;
    expect_bad(r, &d, "invalid kind 9");
    d = good(); d.name = "other"; d.abi_major = 2;
    expect_bad(r, &d, "ABI mismatch: built for plugin ABI 2.0");
    d = good(); d.name = "other"; d.abi_minor = AVIARY_PLUGIN_ABI_MINOR + 1;
    expect_bad(r, &d, "upgrade aviary");
    d = good(); d.name = "other"; d.struct_size = 8;
    expect_bad(r, &d, "struct_size 8 is smaller");
    d = good(); d.name = "other"; d.n_inputs = 0;
    expect_bad(r, &d, "n_inputs is 0");
    static const aviary_option_spec bad_default[] = {{"k", AVIARY_OPT_INT, "five", "k"}};
    d = good(); d.name = "other"; d.options = bad_default;
    expect_bad(r, &d, "option 'k': default \"five\" is not a valid int");
    static const aviary_option_spec dup_opt[] = {{"k", AVIARY_OPT_INT, "1", ""}, {"k", AVIARY_OPT_BOOL, "true", ""}};
    d = good(); d.name = "other"; d.options = dup_opt; d.n_options = 2;
    expect_bad(r, &d, "option 'k' is declared twice");
    static const aviary_port_spec bad_shape[] = {{"x", AVIARY_PORT_TENSOR, AVIARY_MODALITY_FEATURES, AVIARY_F32, "N", ""}};
    d = good(); d.name = "other"; d.inputs = bad_shape;
    expect_bad(r, &d, "inputs.x: shape rule \"N\": must start with '['");
    static const aviary_port_spec bad_dtype[] = {{"y", AVIARY_PORT_TENSOR, AVIARY_MODALITY_SCORES, 77, NULL, ""}};
    d = good(); d.name = "other"; d.outputs = bad_dtype;
    expect_bad(r, &d, "outputs.y: invalid dtype 77");
    static const aviary_port_spec bad_mod[] = {{"y", AVIARY_PORT_TENSOR, (aviary_modality)0, AVIARY_F32, NULL, ""}};
    d = good(); d.name = "other"; d.outputs = bad_mod;
    expect_bad(r, &d, "outputs.y: invalid modality 0");
    static const aviary_port_spec dup_port[] = {{"x", AVIARY_PORT_TEXT, AVIARY_MODALITY_TEXT, AVIARY_DTYPE_ANY, NULL, ""},
                                                {"x", AVIARY_PORT_PATH, AVIARY_MODALITY_IMAGE, AVIARY_DTYPE_ANY, NULL, ""}};
    d = good(); d.name = "other"; d.inputs = dup_port; d.n_inputs = 2;
    expect_bad(r, &d, "inputs[1].name 'x' is declared twice");
    d = good(); d.name = "other"; d.description = NULL;
    expect_bad(r, &d, "missing version or description");
    CHECK(aviary_plugin_registry_count(r) == 1);
    CHECK(aviary_plugin_registry_skipped_count(r) == 15);
    aviary_plugin_registry_free(r);
}

static bool skipped_with(const aviary_plugin_registry *r, const char *file, const char *why) {
    for (size_t i = 0; i < aviary_plugin_registry_skipped_count(r); i++) {
        const char *p, *w;
        aviary_plugin_registry_skipped(r, i, &p, &w);
        const char *base = strrchr(p, '/');
        if (base && !strcmp(base + 1, file)) {
            if (strstr(w, why)) return true;
            fprintf(stderr, "%s skipped for \"%s\", expected \"%s\"\n", file, w, why);
            return false;
        }
    }
    fprintf(stderr, "%s was not skipped\n", file);
    return false;
}

static void test_discovery(void) {
    aviary_plugin_registry *r;
    CHECK(aviary_plugin_registry_open(TEST_PLUGIN_DIR ":/nonexistent/dir:" TEST_PLUGIN_DIR, &r) == AVIARY_OK);
    CHECK(aviary_plugin_registry_dir_count(r) == 2);  /* duplicates dropped, missing dir kept and ignored */
    const aviary_plugin_info *pi;
    const char *good[] = {"tp_sum", "tp_grow", "tp_fail", "tp_matrix", "tp_image", "tp_dtype", "template_series"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        CHECK(aviary_plugin_registry_find(r, good[i], &pi) == AVIARY_OK);
        if (pi) CHECK(!strcmp(pi->desc->name, good[i]) && strstr(pi->path, good[i]));
    }
    CHECK(aviary_plugin_registry_count(r) == 7);
    CHECK(skipped_with(r, "bad_abi.so", "ABI mismatch: built for plugin ABI 2.0, this aviary"));
    CHECK(skipped_with(r, "bad_abi.so", "supports 1.0 to 1.0 (rebuild the plugin against this aviary)"));
    CHECK(skipped_with(r, "bad_minor.so", "built for plugin ABI 1.1"));
    CHECK(skipped_with(r, "no_entry.so", "missing symbol aviary_plugin_entry"));
    CHECK(skipped_with(r, "bad_desc.so", "bad descriptor: name is not"));
    CHECK(skipped_with(r, "garbage.so", "cannot load: "));
    CHECK(aviary_plugin_registry_skipped_count(r) == 5);
    CHECK(aviary_plugin_registry_find(r, "bad_abi", &pi) == AVIARY_PLUGIN && pi == NULL);
    CHECK_MSG("plugin 'bad_abi': " TEST_PLUGIN_DIR "/bad_abi.so was skipped: ABI mismatch");
    CHECK(aviary_plugin_registry_find(r, "nothing", &pi) == AVIARY_NOT_FOUND);
    CHECK_MSG("plugin 'nothing' not found (searched " TEST_PLUGIN_DIR ":/nonexistent/dir;");
    aviary_plugin_registry_free(r);

    /* The same dir twice under different spellings: the second copy is a duplicate. */
    CHECK(aviary_plugin_registry_open(TEST_PLUGIN_DIR ":" TEST_PLUGIN_DIR "/.", &r) == AVIARY_OK);
    CHECK(aviary_plugin_registry_count(r) == 7);
    CHECK(skipped_with(r, "tp_sum.so", "duplicate: plugin 'tp_sum' is already loaded from " TEST_PLUGIN_DIR "/tp_sum.so"));
    aviary_plugin_registry_free(r);

    const aviary_host_api *h = aviary__host_api();
    CHECK(h->struct_size == sizeof *h && h->abi_major == AVIARY_PLUGIN_ABI_MAJOR && h->error && h->log);
    CHECK(AVIARY_HAS_FIELD(h, aviary_host_api, num_threads));
    CHECK(h->error(AVIARY_IO, "x %d", 3) == AVIARY_IO && !strcmp(aviary_errmsg(), "x 3"));
}

int main(void) {
    test_shape_rules();
    test_check_value();
    test_descriptor_validation();
    test_discovery();
    if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
    else printf("test_plugin: all checks passed\n");
    return failures ? 1 : 0;
}
