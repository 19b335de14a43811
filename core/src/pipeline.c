/* pipeline.c - JSON pipelines: parse and validate (every error with its JSON
 * path), then prepare (weights, backbone, plugin instances) and run with
 * every value checked against its port. See aviary_pipeline.h. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "plugin_internal.h"
#include "aviary/aviary_pipeline.h"

#define MAX_PIPELINE_BYTES (16u << 20)
#define MAX_STAGES 256

typedef struct src_ref {
    int stage;  /* producing stage, or -1 for a pipeline input */
    int port;   /* output index of that stage, or pipeline input index */
} src_ref;

typedef struct stage {
    char *name;
    const aviary_plugin_info *plugin;
    char *weights;                  /* resolved path or NULL */
    aviary_option_value *opts;      /* desc->n_options */
    char **opt_strings;             /* owned strings referenced by opts[k].s */
    src_ref *in;                    /* desc->n_inputs */
    void *instance;
    bool created;
    aviary_value *outs;             /* desc->n_outputs, during a run */
} stage;

struct aviary_pipeline {
    char *file;                     /* name used in messages */
    char *base_dir;
    const aviary_plugin_registry *reg;
    stage *stages;
    size_t n_stages;
    aviary_pipeline_input *inputs;
    size_t n_inputs;
    src_ref *outs;
    char **out_names;
    size_t n_outs;
    bool has_backbone;
    char *bb_checkpoint;
    char *bb_prefix;
    aviary_weight_type bb_precision;
    int bb_threads;
    aviary_model *model;
    char **ck_paths;
    aviary_checkpoint **cks;
    size_t n_cks;
    bool prepared;
    const cJSON *stages_json;       /* during parsing only */
};

/* ------------------------------------------------------------ helpers */

static aviary_status cfg(const aviary_pipeline *p, const char *path, const char *fmt, ...) AVIARY_PRINTF(3, 4);
static aviary_status cfg(const aviary_pipeline *p, const char *path, const char *fmt, ...) {
    char msg[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (path && *path) return aviary_error(AVIARY_CONFIG, "%s: %s: %s", p->file, path, msg);
    return aviary_error(AVIARY_CONFIG, "%s: %s", p->file, msg);
}

static char *dupstr(const char *s) { return s ? strdup(s) : NULL; }

/* Resolve a file name relative to the pipeline's directory. */
static char *resolve(const aviary_pipeline *p, const char *name) {
    if (name[0] == '/' || !p->base_dir || !*p->base_dir) return strdup(name);
    size_t n = strlen(p->base_dir) + strlen(name) + 2;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s/%s", p->base_dir, name);
    return s;
}

static bool file_exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && !S_ISDIR(sb.st_mode);
}

static const char *json_type(const cJSON *j) {
    if (cJSON_IsObject(j)) return "an object";
    if (cJSON_IsArray(j)) return "an array";
    if (cJSON_IsString(j)) return "a string";
    if (cJSON_IsBool(j)) return "a boolean";
    if (cJSON_IsNull(j)) return "null";
    if (cJSON_IsNumber(j)) return "a number";
    return "invalid";
}

/* Keys: each key of obj must be in `known` (NULL-terminated) or start with '_'. */
static aviary_status check_keys(const aviary_pipeline *p, const char *path, const cJSON *obj,
                                const char *const *known) {
    const cJSON *it;
    cJSON_ArrayForEach(it, obj) {
        if (!it->string || it->string[0] == '_') continue;
        bool ok = false;
        for (size_t k = 0; known[k]; k++) ok |= !strcmp(it->string, known[k]);
        if (!ok) {
            char list[300];
            size_t o = 0;
            list[0] = '\0';
            for (size_t k = 0; known[k] && o < sizeof list; k++) {
                int w = snprintf(list + o, sizeof list - o, "%s%s", k ? ", " : "", known[k]);
                if (w < 0) break;
                o += (size_t)w;
            }
            char kp[400];
            snprintf(kp, sizeof kp, "%s%s%.200s", path, *path ? "." : "", it->string);
            return cfg(p, kp, "unknown key (expected %s)", list);
        }
    }
    return AVIARY_OK;
}

/* Duplicate keys are an error too (cJSON keeps both; the first would win silently). */
static aviary_status check_dup_keys(const aviary_pipeline *p, const char *path, const cJSON *obj) {
    const cJSON *a, *b;
    cJSON_ArrayForEach(a, obj) {
        for (b = a->next; b; b = b->next)
            if (a->string && b->string && !strcmp(a->string, b->string)) {
                char kp[400];
                snprintf(kp, sizeof kp, "%s%s%.200s", path, *path ? "." : "", a->string);
                return cfg(p, kp, "key given twice");
            }
    }
    return AVIARY_OK;
}

static bool json_int(const cJSON *j, int64_t *out) {
    if (!cJSON_IsNumber(j)) return false;
    double v = j->valuedouble;
    if (!isfinite(v) || v != floor(v) || v < -9007199254740992.0 || v > 9007199254740992.0) return false;
    *out = (int64_t)v;
    return true;
}

/* ------------------------------------------------------------ free */

static void stage_free(stage *s) {
    const aviary_plugin_descriptor *d = s->plugin ? s->plugin->desc : NULL;
    if (s->created && d) d->destroy(s->instance);
    if (s->outs && d)
        for (size_t k = 0; k < d->n_outputs; k++) aviary__value_release(&s->outs[k]);
    free(s->outs);
    if (s->opt_strings && d)
        for (size_t k = 0; k < d->n_options; k++) free(s->opt_strings[k]);
    free(s->opt_strings);
    free(s->opts);
    free(s->in);
    free(s->weights);
    free(s->name);
}

void aviary_pipeline_free(aviary_pipeline *p) {
    if (!p) return;
    for (size_t i = 0; i < p->n_stages; i++) stage_free(&p->stages[i]);
    free(p->stages);
    for (size_t i = 0; i < p->n_inputs; i++) free((char *)p->inputs[i].name);
    free(p->inputs);
    for (size_t i = 0; i < p->n_outs; i++) free(p->out_names[i]);
    free(p->out_names);
    free(p->outs);
    aviary_model_free(p->model);
    for (size_t i = 0; i < p->n_cks; i++) {
        aviary_checkpoint_close(p->cks[i]);
        free(p->ck_paths[i]);
    }
    free(p->cks);
    free(p->ck_paths);
    free(p->bb_checkpoint);
    free(p->bb_prefix);
    free(p->file);
    free(p->base_dir);
    free(p);
}

/* ------------------------------------------------------------ parse: backbone */

static aviary_status parse_backbone(aviary_pipeline *p, const cJSON *bb) {
    static const char *const keys[] = {"checkpoint", "precision", "threads", "prefix", NULL};
    aviary_status st;
    if (!cJSON_IsObject(bb)) return cfg(p, "backbone", "expected object, got %s", json_type(bb));
    if ((st = check_dup_keys(p, "backbone", bb)) || (st = check_keys(p, "backbone", bb, keys))) return st;
    const cJSON *ck = cJSON_GetObjectItemCaseSensitive(bb, "checkpoint");
    if (!ck) return cfg(p, "backbone.checkpoint", "missing (the language model's checkpoint file)");
    if (!cJSON_IsString(ck) || !*ck->valuestring) return cfg(p, "backbone.checkpoint", "expected string (a file name)");
    p->bb_checkpoint = resolve(p, ck->valuestring);
    if (!p->bb_checkpoint) return aviary_error(AVIARY_NOMEM, "%s: out of memory", p->file);
    if (!file_exists(p->bb_checkpoint)) return cfg(p, "backbone.checkpoint", "file not found: %s", p->bb_checkpoint);
    const cJSON *pr = cJSON_GetObjectItemCaseSensitive(bb, "precision");
    p->bb_precision = AVIARY_WEIGHTS_AUTO;
    if (pr) {
        if (!cJSON_IsString(pr)) return cfg(p, "backbone.precision", "expected string (auto, f32, bf16 or int8)");
        if (aviary_weight_type_parse(pr->valuestring, &p->bb_precision))
            return cfg(p, "backbone.precision", "unknown precision \"%.40s\" (expected auto, f32, bf16 or int8)",
                       pr->valuestring);
    }
    const cJSON *th = cJSON_GetObjectItemCaseSensitive(bb, "threads");
    if (th) {
        int64_t v;
        if (!json_int(th, &v)) return cfg(p, "backbone.threads", "expected integer");
        if (v < 0 || v > 4096) return cfg(p, "backbone.threads", "expected 0 (all cores) to 4096, got %lld", (long long)v);
        p->bb_threads = (int)v;
    }
    const cJSON *px = cJSON_GetObjectItemCaseSensitive(bb, "prefix");
    if (px) {
        if (!cJSON_IsString(px)) return cfg(p, "backbone.prefix", "expected string");
        p->bb_prefix = strdup(px->valuestring);
        if (!p->bb_prefix) return aviary_error(AVIARY_NOMEM, "%s: out of memory", p->file);
    }
    p->has_backbone = true;
    return AVIARY_OK;
}

/* ------------------------------------------------------------ parse: options */

static aviary_status parse_options(aviary_pipeline *p, stage *s, const char *sp, const cJSON *opts) {
    const aviary_plugin_descriptor *d = s->plugin->desc;
    size_t no = d->n_options;
    s->opts = calloc(no ? no : 1, sizeof *s->opts);
    s->opt_strings = calloc(no ? no : 1, sizeof *s->opt_strings);
    if (!s->opts || !s->opt_strings) return aviary_error(AVIARY_NOMEM, "%s: out of memory", p->file);
    char path[400];
    aviary_status st;
    if (opts) {
        snprintf(path, sizeof path, "%s.options", sp);
        if (!cJSON_IsObject(opts)) return cfg(p, path, "expected object, got %s", json_type(opts));
        if ((st = check_dup_keys(p, path, opts))) return st;
        const cJSON *it;
        cJSON_ArrayForEach(it, opts) {
            if (!it->string || it->string[0] == '_') continue;
            bool known = false;
            for (size_t k = 0; k < no; k++) known |= !strcmp(d->options[k].name, it->string);
            if (!known) {
                char list[300];
                size_t o = 0;
                list[0] = '\0';
                for (size_t k = 0; k < no && o < sizeof list; k++) {
                    int w = snprintf(list + o, sizeof list - o, "%s%s", k ? ", " : "", d->options[k].name);
                    if (w < 0) break;
                    o += (size_t)w;
                }
                snprintf(path, sizeof path, "%s.options.%.100s", sp, it->string);
                return cfg(p, path, "unknown option (plugin %s takes %s)", d->name, no ? list : "no options");
            }
        }
    }
    for (size_t k = 0; k < no; k++) {
        const aviary_option_spec *os = &d->options[k];
        aviary_option_value *v = &s->opts[k];
        v->name = os->name;
        v->type = os->type;
        snprintf(path, sizeof path, "%s.options.%s", sp, os->name);
        const cJSON *j = opts ? cJSON_GetObjectItemCaseSensitive(opts, os->name) : NULL;
        if (!j) {
            if (!os->default_value)
                return cfg(p, path, "missing (plugin %s requires it: %s)", d->name, os->help ? os->help : "no help");
            if (!aviary__option_parse_text(os->type, os->default_value, v))
                return cfg(p, path, "plugin %s has a bad default", d->name);
            if ((os->type == AVIARY_OPT_STRING || os->type == AVIARY_OPT_PATH) && v->has_value) {
                s->opt_strings[k] = os->type == AVIARY_OPT_PATH ? resolve(p, os->default_value) : strdup(os->default_value);
                if (!s->opt_strings[k]) return aviary_error(AVIARY_NOMEM, "%s: out of memory", p->file);
                v->s = s->opt_strings[k];
            }
            continue;
        }
        v->is_set = true;
        v->has_value = true;
        switch (os->type) {
        case AVIARY_OPT_INT:
            if (!json_int(j, &v->i)) return cfg(p, path, "expected integer");
            v->f = (double)v->i;
            break;
        case AVIARY_OPT_FLOAT:
            if (!cJSON_IsNumber(j) || !isfinite(j->valuedouble)) return cfg(p, path, "expected number");
            v->f = j->valuedouble;
            break;
        case AVIARY_OPT_BOOL:
            if (!cJSON_IsBool(j)) return cfg(p, path, "expected boolean");
            v->b = cJSON_IsTrue(j);
            v->i = v->b;
            break;
        case AVIARY_OPT_STRING:
        case AVIARY_OPT_PATH:
            if (!cJSON_IsString(j)) return cfg(p, path, "expected string%s", os->type == AVIARY_OPT_PATH ? " (a file name)" : "");
            s->opt_strings[k] = os->type == AVIARY_OPT_PATH && *j->valuestring ? resolve(p, j->valuestring)
                                                                             : strdup(j->valuestring);
            if (!s->opt_strings[k]) return aviary_error(AVIARY_NOMEM, "%s: out of memory", p->file);
            v->s = s->opt_strings[k];
            v->has_value = *v->s != '\0';
            break;
        }
    }
    return AVIARY_OK;
}

/* ------------------------------------------------------------ parse: wiring */

static int find_stage(const aviary_pipeline *p, const char *name, size_t n) {
    for (size_t i = 0; i < p->n_stages; i++)
        if (p->stages[i].name && strlen(p->stages[i].name) == n && !strncmp(p->stages[i].name, name, n)) return (int)i;
    return -1;
}

static int find_port(const aviary_port_spec *ports, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(ports[i].name, name)) return (int)i;
    return -1;
}

static void port_list(const aviary_port_spec *ports, size_t n, char *buf, size_t bn) {
    size_t o = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < n && o < bn; k++) {
        int w = snprintf(buf + o, bn - o, "%s%s", k ? ", " : "", ports[k].name);
        if (w < 0) break;
        o += (size_t)w;
    }
}

/* Resolve "STAGE.OUTPUT" or "STAGE" against stages [0, before). */
static aviary_status resolve_stage_source(aviary_pipeline *p, const char *path, const char *src, size_t before,
                                          src_ref *out) {
    const char *dot = strchr(src, '.');
    size_t sl = dot ? (size_t)(dot - src) : strlen(src);
    int si = find_stage(p, src, sl);
    if (si < 0 && p->stages_json) {
        /* A stage that comes later in the file? */
        size_t k = 0;
        const cJSON *js;
        cJSON_ArrayForEach(js, p->stages_json) {
            const cJSON *nm = cJSON_GetObjectItemCaseSensitive(js, "name");
            if (!cJSON_IsString(nm)) nm = cJSON_GetObjectItemCaseSensitive(js, "plugin");
            if (k++ >= before && cJSON_IsString(nm) && strlen(nm->valuestring) == sl && !strncmp(nm->valuestring, src, sl))
                return cfg(p, path, "no producer: stage '%s' does not run before this one (stages run in file order)",
                           nm->valuestring);
        }
    }
    if (si < 0) {
        char list[300];
        size_t o = 0;
        list[0] = '\0';
        for (size_t k = 0; k < before && o < sizeof list; k++) {
            int w = snprintf(list + o, sizeof list - o, "%s%s", k ? ", " : "", p->stages[k].name);
            if (w < 0) break;
            o += (size_t)w;
        }
        return cfg(p, path, "no producer: there is no stage '%.*s' (stages before this one: %s)", (int)(sl > 100 ? 100 : sl),
                   src, before ? list : "none");
    }
    if ((size_t)si >= before)
        return cfg(p, path, "no producer: stage '%s' does not run before this one (stages run in file order)",
                   p->stages[si].name);
    const aviary_plugin_descriptor *d = p->stages[si].plugin->desc;
    char list[300];
    port_list(d->outputs, d->n_outputs, list, sizeof list);
    int port = -1;
    if (dot) {
        port = find_port(d->outputs, d->n_outputs, dot + 1);
        if (port < 0)
            return cfg(p, path, "no producer: stage '%s' (plugin %s) has no output '%.100s' (outputs: %s)",
                       p->stages[si].name, d->name, dot + 1, list);
    } else if (d->n_outputs == 1) {
        port = 0;
    } else {
        int only = -1, nt = 0;
        for (size_t k = 0; k < d->n_outputs; k++)
            if (d->outputs[k].type == AVIARY_PORT_TENSOR) only = (int)k, nt++;
        if (nt != 1)
            return cfg(p, path, "stage '%s' has several outputs (%s): name one as \"%s.OUTPUT\"", p->stages[si].name,
                       list, p->stages[si].name);
        port = only;
    }
    out->stage = si;
    out->port = port;
    return AVIARY_OK;
}

static aviary_status add_pipeline_input(aviary_pipeline *p, const char *path, const char *name,
                                        const aviary_port_spec *port, src_ref *out) {
    if (!aviary__plugin_name_ok(name))
        return cfg(p, path, "'$%.60s': a pipeline input name must be [a-z0-9_]{1,63}", name);
    if (port->type == AVIARY_PORT_TENSOR)
        return cfg(p, path, "'$%s' is a command-line input (text or a file name), but this input takes a %s tensor", name,
                   aviary_modality_name(port->modality));
    for (size_t i = 0; i < p->n_inputs; i++)
        if (!strcmp(p->inputs[i].name, name)) {
            if (p->inputs[i].type != port->type || p->inputs[i].modality != port->modality)
                return cfg(p, path, "'$%s' is used as %s %s here but as %s %s before", name,
                           aviary_modality_name(port->modality), aviary_port_type_name(port->type),
                           aviary_modality_name(p->inputs[i].modality), aviary_port_type_name(p->inputs[i].type));
            out->stage = -1;
            out->port = (int)i;
            return AVIARY_OK;
        }
    aviary_pipeline_input *ni = realloc(p->inputs, (p->n_inputs + 1) * sizeof *ni);
    if (!ni) return aviary_error(AVIARY_NOMEM, "%s: out of memory", p->file);
    p->inputs = ni;
    char *nm = strdup(name);
    if (!nm) return aviary_error(AVIARY_NOMEM, "%s: out of memory", p->file);
    ni[p->n_inputs].name = nm;
    ni[p->n_inputs].type = port->type;
    ni[p->n_inputs].modality = port->modality;
    ni[p->n_inputs].help = port->help;
    out->stage = -1;
    out->port = (int)p->n_inputs++;
    return AVIARY_OK;
}

/* Rule with symbols resolved from a stage's INT options. */
static void rule_resolved(const aviary_port_spec *port, const stage *s, aviary__shape_rule *r) {
    if (aviary__shape_rule_parse(port->shape, r)) { r->any = true; return; }
    aviary__symbols syms;
    syms.n = 0;
    aviary__symbols_from_options(&syms, s->opts, s->plugin->desc->n_options);
    for (int k = 0; k < r->ndim; k++) {
        if (r->d[k].kind != AVIARY__DIM_SYM) continue;
        for (int j = 0; j < syms.n; j++)
            if (!strcmp(syms.name[j], r->d[k].sym)) {
                r->d[k].kind = AVIARY__DIM_LIT;
                r->d[k].value = syms.value[j];
            }
    }
}

/* " (dim = 4, ...)" for the symbols of port's rule bound by s's INT options. */
static void resolved_note(const aviary_port_spec *port, const stage *s, char *buf, size_t n) {
    buf[0] = '\0';
    aviary__shape_rule r;
    if (aviary__shape_rule_parse(port->shape, &r)) return;
    size_t o = 0;
    for (int k = 0; k < r.ndim; k++) {
        if (r.d[k].kind != AVIARY__DIM_SYM) continue;
        for (size_t j = 0; j < s->plugin->desc->n_options; j++) {
            const aviary_option_value *v = &s->opts[j];
            if (v->type != AVIARY_OPT_INT || strcmp(v->name, r.d[k].sym) || o >= n) continue;
            int w = snprintf(buf + o, n - o, "%s%s = %lld", o ? ", " : " (", v->name, (long long)v->i);
            if (w > 0) o += (size_t)w;
        }
    }
    if (o && o + 1 < n) snprintf(buf + o, n - o, ")");
}

/* Producer port -> consumer port compatibility, before anything runs. */
static aviary_status check_link(aviary_pipeline *p, const char *path, const stage *prod, int oport, const stage *cons,
                                int iport) {
    const aviary_port_spec *o = &prod->plugin->desc->outputs[oport];
    const aviary_port_spec *i = &cons->plugin->desc->inputs[iport];
    if (o->type != i->type)
        return cfg(p, path, "type mismatch: %s.%s is %s, but input '%s' of plugin %s takes %s", prod->name, o->name,
                   aviary_port_type_name(o->type), i->name, cons->plugin->name, aviary_port_type_name(i->type));
    if (o->modality != i->modality && !(i->type == AVIARY_PORT_TENSOR && i->modality == AVIARY_MODALITY_TENSOR))
        return cfg(p, path, "modality mismatch: %s.%s is %s, but input '%s' of plugin %s takes %s", prod->name, o->name,
                   aviary_modality_name(o->modality), i->name, cons->plugin->name, aviary_modality_name(i->modality));
    if (i->type != AVIARY_PORT_TENSOR) return AVIARY_OK;
    if (o->dtype != AVIARY_DTYPE_ANY && i->dtype != AVIARY_DTYPE_ANY && o->dtype != i->dtype)
        return cfg(p, path, "dtype mismatch: %s.%s is %s, but input '%s' of plugin %s takes %s", prod->name, o->name,
                   aviary_dtype_name((aviary_dtype)o->dtype), i->name, cons->plugin->name,
                   aviary_dtype_name((aviary_dtype)i->dtype));
    aviary__shape_rule ro, ri;
    rule_resolved(o, prod, &ro);
    rule_resolved(i, cons, &ri);
    if (ro.any || ri.any) return AVIARY_OK;
    bool bad = false;
    if (!ro.ellipsis && !ri.ellipsis && ro.ndim != ri.ndim) bad = true;
    if (!ri.ellipsis && ro.ndim > ri.ndim) bad = true;
    if (!ro.ellipsis && ri.ndim > ro.ndim) bad = true;
    int m = ro.ndim < ri.ndim ? ro.ndim : ri.ndim;
    for (int k = 1; !bad && k <= m; k++) {
        const aviary__shape_dim *a = &ro.d[ro.ndim - k], *b = &ri.d[ri.ndim - k];
        if (a->kind == AVIARY__DIM_LIT && b->kind == AVIARY__DIM_LIT && a->value != b->value) bad = true;
    }
    if (bad) {
        char no[120], ni[120];
        resolved_note(o, prod, no, sizeof no);
        resolved_note(i, cons, ni, sizeof ni);
        return cfg(p, path, "shape mismatch: %s.%s is %s%s, but input '%s' of plugin %s takes %s%s", prod->name, o->name,
                   o->shape, no, i->name, cons->plugin->name, i->shape, ni);
    }
    return AVIARY_OK;
}

static aviary_status wire_input(aviary_pipeline *p, size_t si, int iport, const char *path, const char *src) {
    stage *s = &p->stages[si];
    const aviary_port_spec *port = &s->plugin->desc->inputs[iport];
    src_ref r;
    aviary_status st;
    if (src[0] == '$') {
        if ((st = add_pipeline_input(p, path, src + 1, port, &r))) return st;
    } else {
        if ((st = resolve_stage_source(p, path, src, si, &r))) return st;
        if ((st = check_link(p, path, &p->stages[r.stage], r.port, s, iport))) return st;
    }
    s->in[iport] = r;
    return AVIARY_OK;
}

static aviary_status wire_default(aviary_pipeline *p, size_t si, int iport, const char *sp) {
    stage *s = &p->stages[si];
    const aviary_port_spec *port = &s->plugin->desc->inputs[iport];
    char path[400];
    snprintf(path, sizeof path, "%s.inputs.%s", sp, port->name);
    if (port->type != AVIARY_PORT_TENSOR) {
        char src[80];
        snprintf(src, sizeof src, "$%s", port->name);
        return wire_input(p, si, iport, path, src);
    }
    if (si > 0) {
        const stage *prev = &p->stages[si - 1];
        const aviary_plugin_descriptor *pd = prev->plugin->desc;
        int o = find_port(pd->outputs, pd->n_outputs, port->name);
        if (o < 0) {
            int nt = 0;
            for (size_t k = 0; k < pd->n_outputs; k++)
                if (pd->outputs[k].type == AVIARY_PORT_TENSOR) o = (int)k, nt++;
            if (nt != 1) o = -1;
        }
        if (o >= 0) {
            aviary_status st = check_link(p, path, prev, o, s, iport);
            if (st) return st;
            s->in[iport].stage = (int)si - 1;
            s->in[iport].port = o;
            return AVIARY_OK;
        }
    }
    return cfg(p, path, "no producer: connect this %s tensor input, e.g. \"inputs\": {\"%s\": \"STAGE.OUTPUT\"}",
               aviary_modality_name(port->modality), port->name);
}

/* ------------------------------------------------------------ parse: stages */

static aviary_status parse_stage(aviary_pipeline *p, size_t si, const cJSON *js) {
    static const char *const keys[] = {"name", "plugin", "weights", "options", "inputs", "input", NULL};
    char sp[64], path[400];
    snprintf(sp, sizeof sp, "stages[%zu]", si);
    stage *s = &p->stages[si];
    aviary_status st;
    if (!cJSON_IsObject(js)) return cfg(p, sp, "expected object, got %s", json_type(js));
    if ((st = check_dup_keys(p, sp, js)) || (st = check_keys(p, sp, js, keys))) return st;

    const cJSON *pl = cJSON_GetObjectItemCaseSensitive(js, "plugin");
    snprintf(path, sizeof path, "%s.plugin", sp);
    if (!pl) return cfg(p, path, "missing (the plugin this stage runs; see 'aviary plugins')");
    if (!cJSON_IsString(pl)) return cfg(p, path, "expected string");
    if (!p->reg) return cfg(p, path, "no plugin registry to find '%.60s' in", pl->valuestring);
    if (aviary_plugin_registry_find(p->reg, pl->valuestring, &s->plugin)) return cfg(p, path, "%s", aviary_errmsg());
    const aviary_plugin_descriptor *d = s->plugin->desc;

    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(js, "name");
    snprintf(path, sizeof path, "%s.name", sp);
    if (nm && !cJSON_IsString(nm)) return cfg(p, path, "expected string");
    const char *name = nm ? nm->valuestring : d->name;
    if (!aviary__plugin_name_ok(name)) return cfg(p, path, "\"%.60s\" is not a valid stage name ([a-z0-9_]{1,63})", name);
    for (size_t k = 0; k < si; k++)
        if (!strcmp(p->stages[k].name, name))
            return cfg(p, path, "stage name '%s' is used twice (stages[%zu] has it)%s", name, k,
                       nm ? "" : "; give each stage a \"name\"");
    s->name = strdup(name);
    if (!s->name) return aviary_error(AVIARY_NOMEM, "%s: out of memory", p->file);

    const cJSON *w = cJSON_GetObjectItemCaseSensitive(js, "weights");
    if (w) {
        snprintf(path, sizeof path, "%s.weights", sp);
        if (!cJSON_IsString(w) || !*w->valuestring) return cfg(p, path, "expected string (a checkpoint file name)");
        s->weights = resolve(p, w->valuestring);
        if (!s->weights) return aviary_error(AVIARY_NOMEM, "%s: out of memory", p->file);
        if (!file_exists(s->weights)) return cfg(p, path, "file not found: %s", s->weights);
    }

    if ((st = parse_options(p, s, sp, cJSON_GetObjectItemCaseSensitive(js, "options")))) return st;

    s->in = calloc(d->n_inputs, sizeof *s->in);
    if (!s->in) return aviary_error(AVIARY_NOMEM, "%s: out of memory", p->file);
    bool *wired = calloc(d->n_inputs, sizeof *wired);
    if (!wired) return aviary_error(AVIARY_NOMEM, "%s: out of memory", p->file);
    const cJSON *in1 = cJSON_GetObjectItemCaseSensitive(js, "input");
    const cJSON *ins = cJSON_GetObjectItemCaseSensitive(js, "inputs");
    st = AVIARY_OK;
    if (in1 && ins) {
        snprintf(path, sizeof path, "%s.input", sp);
        st = cfg(p, path, "give either \"input\" or \"inputs\", not both");
    } else if (in1) {
        snprintf(path, sizeof path, "%s.input", sp);
        if (!cJSON_IsString(in1)) st = cfg(p, path, "expected string (a source: STAGE, STAGE.OUTPUT or $NAME)");
        else if (d->n_inputs != 1) {
            char list[300];
            port_list(d->inputs, d->n_inputs, list, sizeof list);
            st = cfg(p, path, "plugin %s has %zu inputs (%s): use \"inputs\": {\"NAME\": SOURCE}", d->name, d->n_inputs,
                     list);
        } else {
            st = wire_input(p, si, 0, path, in1->valuestring);
            wired[0] = true;
        }
    } else if (ins) {
        snprintf(path, sizeof path, "%s.inputs", sp);
        if (!cJSON_IsObject(ins)) st = cfg(p, path, "expected object, got %s", json_type(ins));
        else st = check_dup_keys(p, path, ins);
        const cJSON *it;
        if (!st) cJSON_ArrayForEach(it, ins) {
            if (!it->string || it->string[0] == '_') continue;
            snprintf(path, sizeof path, "%s.inputs.%.100s", sp, it->string);
            int ip = find_port(d->inputs, d->n_inputs, it->string);
            if (ip < 0) {
                char list[300];
                port_list(d->inputs, d->n_inputs, list, sizeof list);
                st = cfg(p, path, "plugin %s has no input '%.100s' (inputs: %s)", d->name, it->string, list);
                break;
            }
            if (!cJSON_IsString(it)) {
                st = cfg(p, path, "expected string (a source: STAGE, STAGE.OUTPUT or $NAME)");
                break;
            }
            if ((st = wire_input(p, si, ip, path, it->valuestring))) break;
            wired[ip] = true;
        }
    }
    for (size_t k = 0; !st && k < d->n_inputs; k++)
        if (!wired[k]) st = wire_default(p, si, (int)k, sp);
    free(wired);
    return st;
}

/* ------------------------------------------------------------ parse: outputs */

static aviary_status add_output(aviary_pipeline *p, const char *path, const char *alias, const char *src) {
    if (src[0] == '$') return cfg(p, path, "outputs name stage outputs (STAGE or STAGE.OUTPUT), not pipeline inputs");
    src_ref r;
    aviary_status st = resolve_stage_source(p, path, src, p->n_stages, &r);
    if (st) return st;
    char *name;
    if (alias) {
        name = strdup(alias);
    } else {
        const char *sn = p->stages[r.stage].name, *on = p->stages[r.stage].plugin->desc->outputs[r.port].name;
        size_t n = strlen(sn) + strlen(on) + 2;
        name = malloc(n);
        if (name) snprintf(name, n, "%s.%s", sn, on);
    }
    if (!name) return aviary_error(AVIARY_NOMEM, "%s: out of memory", p->file);
    for (size_t k = 0; k < p->n_outs; k++)
        if (!strcmp(p->out_names[k], name)) {
            free(name);
            return cfg(p, path, "output '%s' is listed twice", p->out_names[k]);
        }
    src_ref *no = realloc(p->outs, (p->n_outs + 1) * sizeof *no);
    if (!no) { free(name); return aviary_error(AVIARY_NOMEM, "%s: out of memory", p->file); }
    p->outs = no;
    char **nn = realloc(p->out_names, (p->n_outs + 1) * sizeof *nn);
    if (!nn) { free(name); return aviary_error(AVIARY_NOMEM, "%s: out of memory", p->file); }
    p->out_names = nn;
    p->outs[p->n_outs] = r;
    p->out_names[p->n_outs++] = name;
    return AVIARY_OK;
}

static aviary_status parse_outputs(aviary_pipeline *p, const cJSON *jo) {
    char path[400];
    aviary_status st;
    if (!jo) {
        size_t last = p->n_stages - 1;
        const aviary_plugin_descriptor *d = p->stages[last].plugin->desc;
        for (size_t k = 0; k < d->n_outputs; k++) {
            snprintf(path, sizeof path, "%s.%s", p->stages[last].name, d->outputs[k].name);
            if ((st = add_output(p, "outputs", NULL, path))) return st;
        }
        return AVIARY_OK;
    }
    if (cJSON_IsArray(jo)) {
        size_t i = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, jo) {
            snprintf(path, sizeof path, "outputs[%zu]", i++);
            if (!cJSON_IsString(it)) return cfg(p, path, "expected string (STAGE or STAGE.OUTPUT)");
            if ((st = add_output(p, path, NULL, it->valuestring))) return st;
        }
        if (!i) return cfg(p, "outputs", "empty: list at least one STAGE.OUTPUT");
        return AVIARY_OK;
    }
    if (cJSON_IsObject(jo)) {
        if ((st = check_dup_keys(p, "outputs", jo))) return st;
        const cJSON *it;
        cJSON_ArrayForEach(it, jo) {
            if (!it->string || it->string[0] == '_') continue;
            snprintf(path, sizeof path, "outputs.%.100s", it->string);
            if (!cJSON_IsString(it)) return cfg(p, path, "expected string (STAGE or STAGE.OUTPUT)");
            if (!*it->string) return cfg(p, path, "empty output name");
            if ((st = add_output(p, path, it->string, it->valuestring))) return st;
        }
        if (!p->n_outs) return cfg(p, "outputs", "empty: name at least one output");
        return AVIARY_OK;
    }
    return cfg(p, "outputs", "expected array or object, got %s", json_type(jo));
}

/* ------------------------------------------------------------ parse: root */

static aviary_status parse_root(aviary_pipeline *p, const char *json, size_t len) {
    static const char *const keys[] = {"name", "description", "backbone", "stages", "outputs", NULL};
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, false);
    if (!root) {
        size_t line = 1, col = 1;
        const char *e = end && end >= json && end <= json + len ? end : json;
        for (const char *c = json; c < e; c++) {
            if (*c == '\n') line++, col = 1;
            else col++;
        }
        return cfg(p, NULL, "not valid JSON (near line %zu, column %zu)", line, col);
    }
    aviary_status st = AVIARY_OK;
    const cJSON *it;
    if (!cJSON_IsObject(root)) {
        st = cfg(p, NULL, "expected a JSON object at the top, got %s", json_type(root));
        goto out;
    }
    if ((st = check_dup_keys(p, "", root)) || (st = check_keys(p, "", root, keys))) goto out;
    it = cJSON_GetObjectItemCaseSensitive(root, "name");
    if (it && !cJSON_IsString(it)) { st = cfg(p, "name", "expected string"); goto out; }
    it = cJSON_GetObjectItemCaseSensitive(root, "description");
    if (it && !cJSON_IsString(it)) { st = cfg(p, "description", "expected string"); goto out; }
    it = cJSON_GetObjectItemCaseSensitive(root, "backbone");
    if (it && (st = parse_backbone(p, it))) goto out;
    const cJSON *stages = cJSON_GetObjectItemCaseSensitive(root, "stages");
    if (!stages) { st = cfg(p, "stages", "missing (a pipeline needs at least one stage)"); goto out; }
    if (!cJSON_IsArray(stages)) { st = cfg(p, "stages", "expected array, got %s", json_type(stages)); goto out; }
    size_t n = (size_t)cJSON_GetArraySize(stages);
    if (!n) { st = cfg(p, "stages", "empty (a pipeline needs at least one stage)"); goto out; }
    if (n > MAX_STAGES) { st = cfg(p, "stages", "more than %d stages", MAX_STAGES); goto out; }
    p->stages = calloc(n, sizeof *p->stages);
    if (!p->stages) { st = aviary_error(AVIARY_NOMEM, "%s: out of memory", p->file); goto out; }
    size_t si = 0;
    p->stages_json = stages;
    cJSON_ArrayForEach(it, stages) {
        p->n_stages = si + 1;  /* stage_free handles the partly parsed one */
        if ((st = parse_stage(p, si, it))) goto out;
        si++;
    }
    st = parse_outputs(p, cJSON_GetObjectItemCaseSensitive(root, "outputs"));
out:
    p->stages_json = NULL;
    cJSON_Delete(root);
    return st;
}

aviary_status aviary_pipeline_parse(const char *json, size_t len, const char *name, const char *base_dir,
                                    const aviary_plugin_registry *reg, aviary_pipeline **out) {
    *out = NULL;
    aviary_pipeline *p = calloc(1, sizeof *p);
    if (!p) return aviary_error(AVIARY_NOMEM, "pipeline: out of memory");
    p->reg = reg;
    p->file = strdup(name ? name : "pipeline");
    p->base_dir = dupstr(base_dir && *base_dir ? base_dir : NULL);
    if (!p->file || (base_dir && *base_dir && !p->base_dir)) {
        aviary_pipeline_free(p);
        return aviary_error(AVIARY_NOMEM, "pipeline: out of memory");
    }
    aviary_status st = parse_root(p, json, len);
    if (st) {
        aviary_pipeline_free(p);
        return st;
    }
    *out = p;
    return AVIARY_OK;
}

aviary_status aviary_pipeline_load(const char *path, const aviary_plugin_registry *reg, aviary_pipeline **out) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return aviary_error(AVIARY_IO, "%s: cannot open the pipeline file (%s)", path, strerror(errno));
    char *buf = malloc(MAX_PIPELINE_BYTES + 1);
    if (!buf) {
        fclose(f);
        return aviary_error(AVIARY_NOMEM, "%s: out of memory", path);
    }
    size_t n = fread(buf, 1, MAX_PIPELINE_BYTES + 1, f);
    bool err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return aviary_error(AVIARY_IO, "%s: cannot read the pipeline file", path);
    }
    if (n > MAX_PIPELINE_BYTES) {
        free(buf);
        return aviary_error(AVIARY_CONFIG, "%s: larger than %u MiB: not a pipeline file", path, MAX_PIPELINE_BYTES >> 20);
    }
    buf[n] = '\0';
    const char *slash = strrchr(path, '/');
    char *dir = NULL;
    if (slash) {
        size_t dl = slash == path ? 1 : (size_t)(slash - path);
        dir = malloc(dl + 1);
        if (!dir) {
            free(buf);
            return aviary_error(AVIARY_NOMEM, "%s: out of memory", path);
        }
        memcpy(dir, path, dl);
        dir[dl] = '\0';
    }
    aviary_status st = aviary_pipeline_parse(buf, n, path, dir, reg, out);
    free(dir);
    free(buf);
    return st;
}

size_t aviary_pipeline_input_count(const aviary_pipeline *p) { return p ? p->n_inputs : 0; }

const aviary_pipeline_input *aviary_pipeline_input_at(const aviary_pipeline *p, size_t i) {
    return p && i < p->n_inputs ? &p->inputs[i] : NULL;
}

size_t aviary_pipeline_output_count(const aviary_pipeline *p) { return p ? p->n_outs : 0; }

const char *aviary_pipeline_output_name(const aviary_pipeline *p, size_t i) {
    return p && i < p->n_outs ? p->out_names[i] : NULL;
}

/* ------------------------------------------------------------ prepare */

static aviary_status open_weights(aviary_pipeline *p, const char *path, aviary_checkpoint **out) {
    for (size_t i = 0; i < p->n_cks; i++)
        if (!strcmp(p->ck_paths[i], path)) {
            *out = p->cks[i];
            return AVIARY_OK;
        }
    aviary_checkpoint **nc = realloc(p->cks, (p->n_cks + 1) * sizeof *nc);
    if (!nc) return aviary_error(AVIARY_NOMEM, "%s: out of memory", p->file);
    p->cks = nc;
    char **np = realloc(p->ck_paths, (p->n_cks + 1) * sizeof *np);
    if (!np) return aviary_error(AVIARY_NOMEM, "%s: out of memory", p->file);
    p->ck_paths = np;
    char *dup = strdup(path);
    if (!dup) return aviary_error(AVIARY_NOMEM, "%s: out of memory", p->file);
    aviary_status st = aviary_checkpoint_open(path, out);
    if (st) {
        free(dup);
        return st;
    }
    p->cks[p->n_cks] = *out;
    p->ck_paths[p->n_cks++] = dup;
    return AVIARY_OK;
}

aviary_status aviary_pipeline_prepare(aviary_pipeline *p) {
    if (p->prepared) return AVIARY_OK;
    aviary_status st;
    if (p->has_backbone) {
        if (p->bb_threads) aviary_set_num_threads(p->bb_threads);
        if (!p->model) {
            aviary_model_params prm = aviary_model_default_params();
            prm.weights = p->bb_precision;
            prm.prefix = p->bb_prefix;
            if ((st = aviary_model_load(p->bb_checkpoint, &prm, &p->model)))
                return aviary_error(st, "%s: backbone: %s", p->file, aviary_errmsg());
        }
    }
    for (size_t i = 0; i < p->n_stages; i++) {
        stage *s = &p->stages[i];
        if (s->created) continue;
        const aviary_plugin_descriptor *d = s->plugin->desc;
        aviary_checkpoint *ck = NULL;
        if (s->weights && (st = open_weights(p, s->weights, &ck)))
            return aviary_error(st, "%s: stages[%zu].weights: %s", p->file, i, aviary_errmsg());
        aviary_plugin_create_args args;
        memset(&args, 0, sizeof args);
        args.struct_size = (uint32_t)sizeof args;
        args.host = aviary__host_api();
        args.stage = s->name;
        args.options = s->opts;
        args.n_options = d->n_options;
        args.weights = ck;
        args.weights_path = ck ? s->weights : NULL;
        args.backbone = p->model;
        args.base_dir = p->base_dir ? p->base_dir : ".";
        void *inst = NULL;
        aviary__plugin_call_begin(s->plugin);
        st = d->create(&args, &inst);
        if (st) {
            if (inst) d->destroy(inst);
            char who[200];
            snprintf(who, sizeof who, "plugin %s (stage '%s', %s): create", d->name, s->name, s->plugin->path);
            return aviary__plugin_failed(s->plugin, who, st);
        }
        s->instance = inst;
        s->created = true;
    }
    p->prepared = true;
    return AVIARY_OK;
}

const aviary_model *aviary_pipeline_backbone(const aviary_pipeline *p) { return p ? p->model : NULL; }

/* ------------------------------------------------------------ run */

static void release_stage_outputs(aviary_pipeline *p) {
    for (size_t i = 0; i < p->n_stages; i++) {
        stage *s = &p->stages[i];
        if (!s->outs) continue;
        for (size_t k = 0; k < s->plugin->desc->n_outputs; k++) aviary__value_release(&s->outs[k]);
        free(s->outs);
        s->outs = NULL;
    }
}

static aviary_status copy_value(const aviary_value *src, aviary_value *dst) {
    memset(dst, 0, sizeof *dst);
    dst->type = src->type;
    if (src->type != AVIARY_PORT_TENSOR) {
        dst->text = strdup(src->text ? src->text : "");
        return dst->text ? AVIARY_OK : aviary_error(AVIARY_NOMEM, "pipeline: out of memory");
    }
    aviary_status st = aviary_tensor_alloc(&dst->tensor, src->tensor.dtype, src->tensor.ndim, src->tensor.shape);
    if (st) return st;
    size_t bytes = (size_t)aviary_tensor_numel(&src->tensor) * aviary_dtype_size(src->tensor.dtype);
    if (bytes) memcpy(dst->tensor.data, src->tensor.data, bytes);
    return AVIARY_OK;
}

void aviary_pipeline_results_free(aviary_pipeline_results *r) {
    if (!r) return;
    for (size_t i = 0; i < r->count; i++) aviary__value_release(&r->values[i]);
    free(r->values);
    free(r->names);
    memset(r, 0, sizeof *r);
}

static aviary_status run_stage(aviary_pipeline *p, size_t si, const char *const *in_values) {
    stage *s = &p->stages[si];
    const aviary_plugin_descriptor *d = s->plugin->desc;
    aviary_value *ins = calloc(d->n_inputs, sizeof *ins);
    s->outs = calloc(d->n_outputs, sizeof *s->outs);
    if (!ins || !s->outs) {
        free(ins);
        return aviary_error(AVIARY_NOMEM, "%s: out of memory", p->file);
    }
    aviary__symbols syms;
    syms.n = 0;
    aviary__symbols_from_options(&syms, s->opts, d->n_options);
    aviary_status st = AVIARY_OK;
    char what[300];
    for (size_t k = 0; k < d->n_inputs && !st; k++) {
        const src_ref *r = &s->in[k];
        ins[k].type = d->inputs[k].type;
        if (r->stage < 0) {
            ins[k].text = (char *)in_values[r->port];
            snprintf(what, sizeof what, "stage '%s' input '%s' (from $%s)", s->name, d->inputs[k].name,
                     p->inputs[r->port].name);
        } else {
            const aviary_value *pv = &p->stages[r->stage].outs[r->port];
            ins[k] = *pv;
            ins[k].tensor.owned = NULL;  /* borrowed view */
            snprintf(what, sizeof what, "stage '%s' input '%s' (from %s.%s)", s->name, d->inputs[k].name,
                     p->stages[r->stage].name, p->stages[r->stage].plugin->desc->outputs[r->port].name);
        }
        st = aviary__check_value(what, &d->inputs[k], &ins[k], &syms, AVIARY_SHAPE);
        if (st) aviary_error(st, "%s: %s", p->file, aviary_errmsg());
    }
    if (!st) {
        for (size_t k = 0; k < d->n_outputs; k++) s->outs[k].type = d->outputs[k].type;
        aviary__plugin_call_begin(s->plugin);
        st = d->run(s->instance, ins, s->outs);
        if (st) {
            snprintf(what, sizeof what, "plugin %s (stage '%s')", d->name, s->name);
            aviary__plugin_failed(s->plugin, what, st);
        }
    }
    for (size_t k = 0; k < d->n_outputs && !st; k++) {
        snprintf(what, sizeof what, "plugin %s (stage '%s') output '%s'", d->name, s->name, d->outputs[k].name);
        st = aviary__check_value(what, &d->outputs[k], &s->outs[k], &syms, AVIARY_PLUGIN);
    }
    free(ins);
    return st;
}

aviary_status aviary_pipeline_run(aviary_pipeline *p, size_t n_inputs, const char *const *names,
                                  const char *const *values, aviary_pipeline_results *out) {
    memset(out, 0, sizeof *out);
    const char **in_values = calloc(p->n_inputs ? p->n_inputs : 1, sizeof *in_values);
    if (!in_values) return aviary_error(AVIARY_NOMEM, "%s: out of memory", p->file);
    aviary_status st = AVIARY_OK;
    for (size_t i = 0; i < n_inputs && !st; i++) {
        size_t k = 0;
        while (k < p->n_inputs && strcmp(p->inputs[k].name, names[i])) k++;
        if (k == p->n_inputs) {
            char list[300];
            size_t o = 0;
            list[0] = '\0';
            for (size_t j = 0; j < p->n_inputs && o < sizeof list; j++) {
                int w = snprintf(list + o, sizeof list - o, "%s%s", j ? ", " : "", p->inputs[j].name);
                if (w < 0) break;
                o += (size_t)w;
            }
            st = aviary_error(AVIARY_INVALID_ARG, "%s: unknown input '%s' (this pipeline takes: %s)", p->file, names[i],
                              p->n_inputs ? list : "no inputs");
        } else if (in_values[k]) {
            st = aviary_error(AVIARY_INVALID_ARG, "%s: input '%s' given twice", p->file, names[i]);
        } else {
            in_values[k] = values[i];
        }
    }
    for (size_t k = 0; k < p->n_inputs && !st; k++) {
        if (!in_values[k]) {
            st = aviary_error(AVIARY_INVALID_ARG, "%s: input '%s' not given (%s %s%s%s; use --in %s=VALUE)", p->file,
                              p->inputs[k].name, aviary_modality_name(p->inputs[k].modality),
                              aviary_port_type_name(p->inputs[k].type), p->inputs[k].help ? ": " : "",
                              p->inputs[k].help ? p->inputs[k].help : "", p->inputs[k].name);
        } else if (p->inputs[k].type == AVIARY_PORT_PATH && !file_exists(in_values[k])) {
            st = aviary_error(AVIARY_IO, "%s: input '%s': file not found", in_values[k], p->inputs[k].name);
        }
    }
    if (!st) st = aviary_pipeline_prepare(p);
    release_stage_outputs(p);
    for (size_t i = 0; i < p->n_stages && !st; i++) st = run_stage(p, i, in_values);
    if (!st) {
        out->names = calloc(p->n_outs, sizeof *out->names);
        out->values = calloc(p->n_outs, sizeof *out->values);
        if (!out->names || !out->values) st = aviary_error(AVIARY_NOMEM, "%s: out of memory", p->file);
        for (size_t i = 0; i < p->n_outs && !st; i++) {
            out->names[i] = p->out_names[i];
            st = copy_value(&p->stages[p->outs[i].stage].outs[p->outs[i].port], &out->values[i]);
            out->count = i + 1;
        }
        if (st) aviary_pipeline_results_free(out);
    }
    release_stage_outputs(p);
    free(in_values);
    return st;
}
