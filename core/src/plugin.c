/* plugin.c - plugin discovery, loading, descriptor validation, checked value
 * exchange with plugins (see aviary_plugin.h for the ABI). */
#define _GNU_SOURCE 1 /* dladdr */
#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include "plugin_internal.h"

#ifndef AVIARY_VERSION_STRING
#define AVIARY_VERSION_STRING "0.0.0"
#endif
#ifndef AVIARY_PLUGIN_INSTALL_DIR
#define AVIARY_PLUGIN_INSTALL_DIR ""
#endif
#ifndef AVIARY_PLUGIN_BUILD_DIR
#define AVIARY_PLUGIN_BUILD_DIR ""
#endif

#define MAX_PORTS 64
#define MAX_OPTIONS 256

typedef struct loaded {
    aviary_plugin_info info;
    char *path;                      /* owned copy of info.path */
    void *handle;                    /* dlopen handle, NULL for in-process descriptors */
    const char *(*errmsg)(void);     /* the plugin's libaviary aviary_errmsg, or NULL */
    void (*clear)(void);             /* the plugin's libaviary aviary_clear_error, or NULL */
} loaded;

typedef struct skipped {
    char *path;
    char *reason;
} skipped;

struct aviary_plugin_registry {
    loaded *plugins;
    size_t n_plugins, cap_plugins;
    skipped *skips;
    size_t n_skips, cap_skips;
    char **dirs;
    size_t n_dirs;
};

/* ------------------------------------------------------------ names */

const char *aviary_plugin_kind_name(aviary_plugin_kind k) {
    switch (k) {
    case AVIARY_PLUGIN_ENCODER: return "encoder";
    case AVIARY_PLUGIN_ADAPTER: return "adapter";
    case AVIARY_PLUGIN_HEAD: return "head";
    }
    return "?";
}

const char *aviary_option_type_name(aviary_option_type t) {
    switch (t) {
    case AVIARY_OPT_INT: return "int";
    case AVIARY_OPT_FLOAT: return "float";
    case AVIARY_OPT_STRING: return "string";
    case AVIARY_OPT_BOOL: return "bool";
    case AVIARY_OPT_PATH: return "path";
    }
    return "?";
}

const char *aviary_port_type_name(aviary_port_type t) {
    switch (t) {
    case AVIARY_PORT_TENSOR: return "tensor";
    case AVIARY_PORT_TEXT: return "text";
    case AVIARY_PORT_PATH: return "path";
    }
    return "?";
}

const char *aviary_modality_name(aviary_modality m) {
    switch (m) {
    case AVIARY_MODALITY_TENSOR: return "tensor";
    case AVIARY_MODALITY_IMAGE: return "image";
    case AVIARY_MODALITY_AUDIO: return "audio";
    case AVIARY_MODALITY_TEXT: return "text";
    case AVIARY_MODALITY_SERIES: return "series";
    case AVIARY_MODALITY_TOKENS: return "tokens";
    case AVIARY_MODALITY_FEATURES: return "features";
    case AVIARY_MODALITY_EMBEDDINGS: return "embeddings";
    case AVIARY_MODALITY_SCORES: return "scores";
    }
    return "?";
}

bool aviary__plugin_name_ok(const char *s) {
    if (!s || !*s) return false;
    size_t n = 0;
    for (; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        if (n >= 63 || !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    }
    return true;
}

/* ------------------------------------------------------------ host table */

static void host_log(aviary_log_level level, const char *plugin, const char *fmt, ...) {
    if (level < AVIARY_LOG_WARN) {
        const char *v = getenv("AVIARY_VERBOSE");
        if (!v || !*v || !strcmp(v, "0")) return;
    }
    static const char *names[] = {"debug", "info", "warning", "error"};
    const char *lv = (level >= AVIARY_LOG_DEBUG && level <= AVIARY_LOG_ERROR) ? names[level] : "log";
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt ? fmt : "", ap);
    va_end(ap);
    fprintf(stderr, "aviary: %s: %s: %s\n", plugin ? plugin : "plugin", lv, buf);
}

static aviary_status host_error(aviary_status s, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt ? fmt : "", ap);
    va_end(ap);
    return aviary_error(s, "%s", buf);
}

static int host_num_threads(void) { return aviary_get_num_threads(); }

static const aviary_host_api host_api = {
    .struct_size = (uint32_t)sizeof(aviary_host_api),
    .abi_major = AVIARY_PLUGIN_ABI_MAJOR,
    .abi_minor = AVIARY_PLUGIN_ABI_MINOR,
    .aviary_version = AVIARY_VERSION_STRING,
    .log = host_log,
    .error = host_error,
    .num_threads = host_num_threads,
};

const aviary_host_api *aviary__host_api(void) { return &host_api; }

/* ------------------------------------------------------------ shape rules */

static const char *skip_ws(const char *p) {
    while (*p == ' ' || *p == '\t') p++;
    return p;
}

aviary_status aviary__shape_rule_parse(const char *rule, aviary__shape_rule *out) {
    memset(out, 0, sizeof *out);
    if (!rule || !*skip_ws(rule)) {
        out->any = true;
        return AVIARY_OK;
    }
    const char *p = skip_ws(rule);
    if (*p != '[') return aviary_error(AVIARY_INVALID_ARG, "shape rule \"%s\": must start with '['", rule);
    p = skip_ws(p + 1);
    if (*p == ']') {
        p = skip_ws(p + 1);
        if (*p) return aviary_error(AVIARY_INVALID_ARG, "shape rule \"%s\": text after ']'", rule);
        return AVIARY_OK;
    }
    for (int idx = 0;; idx++) {
        p = skip_ws(p);
        if (!strncmp(p, "...", 3)) {
            if (idx != 0) return aviary_error(AVIARY_INVALID_ARG, "shape rule \"%s\": '...' must come first", rule);
            out->ellipsis = true;
            p += 3;
        } else {
            if (out->ndim >= AVIARY_MAX_DIMS)
                return aviary_error(AVIARY_INVALID_ARG, "shape rule \"%s\": more than %d dims", rule, AVIARY_MAX_DIMS);
            aviary__shape_dim *d = &out->d[out->ndim];
            if (*p == '*') {
                d->kind = AVIARY__DIM_ANY;
                p++;
            } else if (isdigit((unsigned char)*p)) {
                int64_t v = 0;
                while (isdigit((unsigned char)*p)) {
                    if (v > (INT64_MAX - 9) / 10)
                        return aviary_error(AVIARY_INVALID_ARG, "shape rule \"%s\": dim too large", rule);
                    v = v * 10 + (*p++ - '0');
                }
                d->kind = AVIARY__DIM_LIT;
                d->value = v;
            } else if (isalpha((unsigned char)*p) || *p == '_') {
                size_t n = 0;
                while (isalnum((unsigned char)p[n]) || p[n] == '_') n++;
                if (n >= AVIARY__SYM_LEN)
                    return aviary_error(AVIARY_INVALID_ARG, "shape rule \"%s\": symbol longer than %d characters", rule,
                                        AVIARY__SYM_LEN - 1);
                d->kind = AVIARY__DIM_SYM;
                memcpy(d->sym, p, n);
                d->sym[n] = '\0';
                p += n;
            } else {
                return aviary_error(AVIARY_INVALID_ARG,
                                    "shape rule \"%s\": expected a number, a symbol, '*' or '...' at dim %d", rule, idx);
            }
            out->ndim++;
        }
        p = skip_ws(p);
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == ']') {
            p = skip_ws(p + 1);
            if (*p) return aviary_error(AVIARY_INVALID_ARG, "shape rule \"%s\": text after ']'", rule);
            return AVIARY_OK;
        }
        return aviary_error(AVIARY_INVALID_ARG, "shape rule \"%s\": expected ',' or ']'", rule);
    }
}

aviary_status aviary_shape_rule_parse_check(const char *rule) {
    aviary__shape_rule r;
    return aviary__shape_rule_parse(rule, &r);
}

static int sym_find(const aviary__symbols *s, const char *name) {
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->name[i], name)) return i;
    return -1;
}

static void sym_bind(aviary__symbols *s, const char *name, int64_t v) {
    if (sym_find(s, name) >= 0 || s->n >= AVIARY__MAX_SYMS || strlen(name) >= AVIARY__SYM_LEN) return;
    snprintf(s->name[s->n], AVIARY__SYM_LEN, "%s", name);
    s->value[s->n++] = v;
}

void aviary__symbols_from_options(aviary__symbols *s, const aviary_option_value *opts, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (opts[i].type == AVIARY_OPT_INT && opts[i].has_value) sym_bind(s, opts[i].name, opts[i].i);
}

static void rule_str(const aviary_port_spec *port, char *buf, size_t n) {
    snprintf(buf, n, "%s", port->shape && *port->shape ? port->shape : "any shape");
}

aviary_status aviary__check_value(const char *what, const aviary_port_spec *port, const aviary_value *v,
                                  aviary__symbols *syms, aviary_status code) {
    if (v->type != port->type)
        return aviary_error(code, "%s: holds a %s value, expected %s", what, aviary_port_type_name(v->type),
                            aviary_port_type_name(port->type));
    if (port->type != AVIARY_PORT_TENSOR) {
        if (!v->text) return aviary_error(code, "%s: no %s value was produced", what, aviary_port_type_name(port->type));
        return AVIARY_OK;
    }
    const aviary_tensor *t = &v->tensor;
    if ((int)t->dtype < 0 || t->dtype >= AVIARY_DTYPE_COUNT)
        return aviary_error(code, "%s: invalid dtype %d", what, (int)t->dtype);
    if (t->ndim < 0 || t->ndim > AVIARY_MAX_DIMS)
        return aviary_error(code, "%s: invalid rank %d", what, t->ndim);
    for (int k = 0; k < t->ndim; k++)
        if (t->shape[k] < 0) return aviary_error(code, "%s: negative dimension %lld", what, (long long)t->shape[k]);
    if (port->dtype != AVIARY_DTYPE_ANY && (int)t->dtype != port->dtype)
        return aviary_error(code, "%s: dtype %s, expected %s", what, aviary_dtype_name(t->dtype),
                            aviary_dtype_name((aviary_dtype)port->dtype));
    if (!aviary_tensor_is_contiguous(t)) return aviary_error(code, "%s: tensor is not contiguous", what);
    if (!t->data && aviary_tensor_numel(t) > 0) return aviary_error(code, "%s: tensor has no data", what);

    aviary__shape_rule r;
    if (aviary__shape_rule_parse(port->shape, &r)) return aviary_error(code, "%s: %s", what, aviary_errmsg());
    if (r.any) return AVIARY_OK;
    char sb[96], rb[96];
    if (r.ellipsis ? t->ndim < r.ndim : t->ndim != r.ndim) {
        rule_str(port, rb, sizeof rb);
        return aviary_error(code, "%s: shape %s does not fit %s (rank %d)", what,
                            aviary_tensor_shape_str(t, sb, sizeof sb), rb, t->ndim);
    }
    int off = t->ndim - r.ndim;
    /* Check first, bind after, so a failed check leaves syms untouched. */
    aviary__symbols tmp = *syms;
    for (int k = 0; k < r.ndim; k++) {
        const aviary__shape_dim *d = &r.d[k];
        int64_t got = t->shape[off + k];
        int64_t want = -1;
        const char *why = NULL;
        if (d->kind == AVIARY__DIM_LIT) {
            want = d->value;
        } else if (d->kind == AVIARY__DIM_SYM) {
            int si = sym_find(&tmp, d->sym);
            if (si < 0) {
                sym_bind(&tmp, d->sym, got);
                continue;
            }
            want = tmp.value[si];
            why = d->sym;
        } else {
            continue;
        }
        if (got != want) {
            rule_str(port, rb, sizeof rb);
            if (why)
                return aviary_error(code, "%s: shape %s does not fit %s (dim %d is %lld, but %s = %lld)", what,
                                    aviary_tensor_shape_str(t, sb, sizeof sb), rb, off + k, (long long)got, why,
                                    (long long)want);
            return aviary_error(code, "%s: shape %s does not fit %s (dim %d is %lld, expected %lld)", what,
                                aviary_tensor_shape_str(t, sb, sizeof sb), rb, off + k, (long long)got, (long long)want);
        }
    }
    *syms = tmp;
    return AVIARY_OK;
}

void aviary__value_release(aviary_value *v) {
    if (!v) return;
    if (v->tensor.owned) aviary_tensor_free(&v->tensor);
    free(v->text);
    v->text = NULL;
    memset(&v->tensor, 0, sizeof v->tensor);
}

void aviary__plugin_call_begin(const aviary_plugin_info *p) {
    const loaded *l = (const loaded *)p;
    aviary_clear_error();
    if (l->clear && l->clear != aviary_clear_error) l->clear();
}

aviary_status aviary__plugin_failed(const aviary_plugin_info *p, const char *who, aviary_status st) {
    if (st <= AVIARY_OK || st > AVIARY_CONFIG) st = AVIARY_PLUGIN;
    const char *msg = aviary_errmsg();
    /* The plugin links libaviary itself; if that is another copy than ours
     * (e.g. the host linked libaviary statically), its message is there. */
    const loaded *l = (const loaded *)p;  /* info is the first member of loaded */
    if (l->errmsg && l->errmsg != aviary_errmsg) {
        const char *pm = l->errmsg();
        if (pm && *pm) msg = pm;
    }
    if (!msg || !*msg) return aviary_error(st, "%s: failed (%s) without a message", who, aviary_status_name(st));
    return aviary_error(st, "%s: %s", who, msg);
}

/* ------------------------------------------------------------ descriptor validation */

bool aviary__option_parse_text(aviary_option_type type, const char *text, aviary_option_value *out) {
    out->type = type;
    out->has_value = true;
    char *end = NULL;
    switch (type) {
    case AVIARY_OPT_INT: {
        if (!text || !*text) return false;
        errno = 0;
        long long v = strtoll(text, &end, 10);
        if (errno || *end) return false;
        out->i = v;
        out->f = (double)v;
        return true;
    }
    case AVIARY_OPT_FLOAT: {
        if (!text || !*text) return false;
        errno = 0;
        double v = strtod(text, &end);
        if (errno || *end) return false;
        out->f = v;
        return true;
    }
    case AVIARY_OPT_BOOL:
        if (!text) return false;
        if (!strcmp(text, "true")) out->b = true;
        else if (!strcmp(text, "false")) out->b = false;
        else return false;
        out->i = out->b;
        return true;
    case AVIARY_OPT_STRING:
    case AVIARY_OPT_PATH:
        if (!text) return false;
        out->s = text;
        out->has_value = *text != '\0';
        return true;
    }
    return false;
}

static bool port_type_ok(aviary_port_type t) { return t >= AVIARY_PORT_TENSOR && t <= AVIARY_PORT_PATH; }
static bool modality_ok(aviary_modality m) { return m >= AVIARY_MODALITY_TENSOR && m <= AVIARY_MODALITY_SCORES; }

static bool validate_ports(const char *which, const aviary_port_spec *ports, size_t n, char *why, size_t wn) {
    if (n < 1 || n > MAX_PORTS) {
        snprintf(why, wn, "bad descriptor: n_%s is %zu (must be 1..%d)", which, n, MAX_PORTS);
        return false;
    }
    if (!ports) {
        snprintf(why, wn, "bad descriptor: %s is NULL", which);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const aviary_port_spec *p = &ports[i];
        if (!aviary__plugin_name_ok(p->name)) {
            snprintf(why, wn, "bad descriptor: %s[%zu].name is not [a-z0-9_]{1,63}", which, i);
            return false;
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(ports[j].name, p->name)) {
                snprintf(why, wn, "bad descriptor: %s[%zu].name '%s' is declared twice", which, i, p->name);
                return false;
            }
        if (!port_type_ok(p->type)) {
            snprintf(why, wn, "bad descriptor: %s.%s: invalid type %d", which, p->name, (int)p->type);
            return false;
        }
        if (!modality_ok(p->modality)) {
            snprintf(why, wn, "bad descriptor: %s.%s: invalid modality %d", which, p->name, (int)p->modality);
            return false;
        }
        if (p->type == AVIARY_PORT_TENSOR) {
            if (p->dtype != AVIARY_DTYPE_ANY && (p->dtype < 0 || p->dtype >= AVIARY_DTYPE_COUNT)) {
                snprintf(why, wn, "bad descriptor: %s.%s: invalid dtype %d", which, p->name, p->dtype);
                return false;
            }
            aviary__shape_rule r;
            if (aviary__shape_rule_parse(p->shape, &r)) {
                snprintf(why, wn, "bad descriptor: %s.%s: %s", which, p->name, aviary_errmsg());
                return false;
            }
        }
    }
    return true;
}

/* Validate everything after the ABI check. */
static bool validate_descriptor(const aviary_plugin_descriptor *d, char *why, size_t wn) {
    if (d->struct_size < offsetof(aviary_plugin_descriptor, destroy) + sizeof d->destroy) {
        snprintf(why, wn, "bad descriptor: struct_size %u is smaller than ABI %d.%u needs", d->struct_size,
                 AVIARY_PLUGIN_ABI_MAJOR, d->abi_minor);
        return false;
    }
    if (!aviary__plugin_name_ok(d->name)) {
        snprintf(why, wn, "bad descriptor: name is not [a-z0-9_]{1,63}");
        return false;
    }
    if (d->kind < AVIARY_PLUGIN_ENCODER || d->kind > AVIARY_PLUGIN_HEAD) {
        snprintf(why, wn, "bad descriptor: plugin '%s': invalid kind %d", d->name, (int)d->kind);
        return false;
    }
    if (!d->version || !*d->version || !d->description || !*d->description) {
        snprintf(why, wn, "bad descriptor: plugin '%s': missing version or description", d->name);
        return false;
    }
    if (!d->create || !d->run || !d->destroy) {
        snprintf(why, wn, "bad descriptor: plugin '%s': create, run and destroy must all be set", d->name);
        return false;
    }
    if (d->n_options > MAX_OPTIONS || (d->n_options && !d->options)) {
        snprintf(why, wn, "bad descriptor: plugin '%s': bad options table (n_options %zu)", d->name, d->n_options);
        return false;
    }
    for (size_t i = 0; i < d->n_options; i++) {
        const aviary_option_spec *o = &d->options[i];
        if (!aviary__plugin_name_ok(o->name)) {
            snprintf(why, wn, "bad descriptor: plugin '%s': options[%zu].name is not [a-z0-9_]{1,63}", d->name, i);
            return false;
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(d->options[j].name, o->name)) {
                snprintf(why, wn, "bad descriptor: plugin '%s': option '%s' is declared twice", d->name, o->name);
                return false;
            }
        if (o->type < AVIARY_OPT_INT || o->type > AVIARY_OPT_PATH) {
            snprintf(why, wn, "bad descriptor: plugin '%s': option '%s': invalid type %d", d->name, o->name,
                     (int)o->type);
            return false;
        }
        aviary_option_value tmp;
        memset(&tmp, 0, sizeof tmp);
        if (o->default_value && !aviary__option_parse_text(o->type, o->default_value, &tmp)) {
            snprintf(why, wn, "bad descriptor: plugin '%s': option '%s': default \"%.60s\" is not a valid %s", d->name,
                     o->name, o->default_value, aviary_option_type_name(o->type));
            return false;
        }
    }
    char sub[400];
    if (!validate_ports("inputs", d->inputs, d->n_inputs, sub, sizeof sub) ||
        !validate_ports("outputs", d->outputs, d->n_outputs, sub, sizeof sub)) {
        snprintf(why, wn, "plugin '%s': %s", d->name, sub);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------ registry */

static aviary_status add_skip(aviary_plugin_registry *r, const char *path, const char *reason) {
    if (r->n_skips == r->cap_skips) {
        size_t nc = r->cap_skips ? r->cap_skips * 2 : 8;
        skipped *ns = realloc(r->skips, nc * sizeof *ns);
        if (!ns) return aviary_error(AVIARY_NOMEM, "plugins: out of memory");
        r->skips = ns;
        r->cap_skips = nc;
    }
    char *p = strdup(path), *w = strdup(reason);
    if (!p || !w) {
        free(p);
        free(w);
        return aviary_error(AVIARY_NOMEM, "plugins: out of memory");
    }
    r->skips[r->n_skips].path = p;
    r->skips[r->n_skips].reason = w;
    r->n_skips++;
    return AVIARY_OK;
}

static const loaded *find_loaded(const aviary_plugin_registry *r, const char *name) {
    for (size_t i = 0; i < r->n_plugins; i++)
        if (!strcmp(r->plugins[i].info.name, name)) return &r->plugins[i];
    return NULL;
}

/* Validate d and add it. Returns AVIARY_OK (added), AVIARY_PLUGIN (skipped,
 * reason recorded) or AVIARY_NOMEM. On anything but OK the caller keeps
 * ownership of handle. */
static aviary_status add_descriptor(aviary_plugin_registry *r, const char *path, void *handle,
                                    const aviary_plugin_descriptor *d) {
    char why[600];
    if (d->abi_major != AVIARY_PLUGIN_ABI_MAJOR || d->abi_minor > AVIARY_PLUGIN_ABI_MINOR) {
        snprintf(why, sizeof why,
                 "ABI mismatch: built for plugin ABI %u.%u, this aviary %s supports %d.0 to %d.%d (%s)", d->abi_major,
                 d->abi_minor, aviary_version(), AVIARY_PLUGIN_ABI_MAJOR, AVIARY_PLUGIN_ABI_MAJOR,
                 AVIARY_PLUGIN_ABI_MINOR,
                 d->abi_major != AVIARY_PLUGIN_ABI_MAJOR ? "rebuild the plugin against this aviary"
                                                         : "upgrade aviary or rebuild the plugin against it");
        aviary_status st = add_skip(r, path, why);
        return st ? st : AVIARY_PLUGIN;
    }
    if (!validate_descriptor(d, why, sizeof why)) {
        aviary_status st = add_skip(r, path, why);
        return st ? st : AVIARY_PLUGIN;
    }
    const loaded *dup = find_loaded(r, d->name);
    if (dup) {
        snprintf(why, sizeof why, "duplicate: plugin '%s' is already loaded from %s (earlier in the search path)",
                 d->name, dup->path);
        aviary_status st = add_skip(r, path, why);
        return st ? st : AVIARY_PLUGIN;
    }
    if (r->n_plugins == r->cap_plugins) {
        size_t nc = r->cap_plugins ? r->cap_plugins * 2 : 8;
        loaded *np = realloc(r->plugins, nc * sizeof *np);
        if (!np) return aviary_error(AVIARY_NOMEM, "plugins: out of memory");
        r->plugins = np;
        r->cap_plugins = nc;
        /* info.path points into each entry's own heap string: still valid. */
    }
    loaded *l = &r->plugins[r->n_plugins];
    memset(l, 0, sizeof *l);
    l->path = strdup(path);
    if (!l->path) return aviary_error(AVIARY_NOMEM, "plugins: out of memory");
    l->handle = handle;
    l->info.name = d->name;
    l->info.path = l->path;
    l->info.desc = d;
    if (handle) {
        void *sym = dlsym(handle, "aviary_errmsg");
        if (sym) memcpy(&l->errmsg, &sym, sizeof sym);
        sym = dlsym(handle, "aviary_clear_error");
        if (sym) memcpy(&l->clear, &sym, sizeof sym);
    }
    r->n_plugins++;
    return AVIARY_OK;
}

aviary_status aviary__plugin_registry_add(aviary_plugin_registry *r, const char *origin,
                                          const aviary_plugin_descriptor *d) {
    aviary_status st = add_descriptor(r, origin, NULL, d);
    if (st == AVIARY_PLUGIN)
        return aviary_error(AVIARY_PLUGIN, "%s: %s", origin, r->skips[r->n_skips - 1].reason);
    return st;
}

static aviary_status load_file(aviary_plugin_registry *r, const char *path) {
    char why[600];
    dlerror();
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(why, sizeof why, "cannot load: %s", e ? e : "dlopen failed");
        return add_skip(r, path, why);
    }
    void *sym = dlsym(h, AVIARY_PLUGIN_ENTRY_SYMBOL);
    if (!sym) {
        dlclose(h);
        return add_skip(r, path, "missing symbol " AVIARY_PLUGIN_ENTRY_SYMBOL " (not an aviary plugin?)");
    }
    aviary_plugin_entry_fn entry;
    memcpy(&entry, &sym, sizeof entry);
    aviary_clear_error();
    const aviary_plugin_descriptor *d = entry(&host_api);
    if (!d) {
        const char *m = aviary_errmsg();
        snprintf(why, sizeof why, "bad descriptor: %s returned NULL%s%s", AVIARY_PLUGIN_ENTRY_SYMBOL, *m ? ": " : "",
                 m);
        dlclose(h);
        return add_skip(r, path, why);
    }
    aviary_status st = add_descriptor(r, path, h, d);
    if (st == AVIARY_OK) return AVIARY_OK;
    dlclose(h);
    return st == AVIARY_PLUGIN ? AVIARY_OK : st;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static aviary_status scan_dir(aviary_plugin_registry *r, const char *dir) {
    DIR *dp = opendir(dir);
    if (!dp) return AVIARY_OK;  /* a search dir that does not exist is not an error */
    char **names = NULL;
    size_t n = 0, cap = 0;
    aviary_status st = AVIARY_OK;
    struct dirent *e;
    while ((e = readdir(dp))) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 3, ".so") || e->d_name[0] == '.') continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            char **nn = realloc(names, nc * sizeof *nn);
            if (!nn) { st = aviary_error(AVIARY_NOMEM, "plugins: out of memory"); break; }
            names = nn;
            cap = nc;
        }
        size_t pl = strlen(dir) + len + 2;
        names[n] = malloc(pl);
        if (!names[n]) { st = aviary_error(AVIARY_NOMEM, "plugins: out of memory"); break; }
        snprintf(names[n], pl, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(dp);
    if (!st && n) qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (!st) {
            struct stat sb;
            if (stat(names[i], &sb) == 0 && S_ISREG(sb.st_mode)) st = load_file(r, names[i]);
        }
        free(names[i]);
    }
    free(names);
    return st;
}

static aviary_status add_dir(aviary_plugin_registry *r, const char *dir, size_t len) {
    if (!len) return AVIARY_OK;
    for (size_t i = 0; i < r->n_dirs; i++)
        if (strlen(r->dirs[i]) == len && !strncmp(r->dirs[i], dir, len)) return AVIARY_OK;
    char **nd = realloc(r->dirs, (r->n_dirs + 1) * sizeof *nd);
    if (!nd) return aviary_error(AVIARY_NOMEM, "plugins: out of memory");
    r->dirs = nd;
    char *s = malloc(len + 1);
    if (!s) return aviary_error(AVIARY_NOMEM, "plugins: out of memory");
    memcpy(s, dir, len);
    s[len] = '\0';
    r->dirs[r->n_dirs++] = s;
    return AVIARY_OK;
}

/* The install directory relative to where libaviary itself was loaded from
 * (<libdir>/aviary/plugins), so an install moved with `cmake --install
 * --prefix` or DESTDIR still finds its own plugins. */
static aviary_status add_dir_beside_library(aviary_plugin_registry *r) {
    Dl_info info;
    if (!dladdr((void *)&aviary_plugin_registry_open, &info) || !info.dli_fname) return AVIARY_OK;
    const char *slash = strrchr(info.dli_fname, '/');
    if (!slash) return AVIARY_OK;
    char buf[4096];
    int n = snprintf(buf, sizeof buf, "%.*s/aviary/plugins", (int)(slash - info.dli_fname), info.dli_fname);
    if (n <= 0 || (size_t)n >= sizeof buf) return AVIARY_OK;
    return add_dir(r, buf, (size_t)n);
}

static aviary_status add_path_list(aviary_plugin_registry *r, const char *list) {
    if (!list) return AVIARY_OK;
    const char *p = list;
    for (;;) {
        const char *c = strchr(p, ':');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        aviary_status st = add_dir(r, p, len);
        if (st) return st;
        if (!c) return AVIARY_OK;
        p = c + 1;
    }
}

aviary_status aviary__plugin_registry_new(aviary_plugin_registry **out) {
    *out = calloc(1, sizeof **out);
    return *out ? AVIARY_OK : aviary_error(AVIARY_NOMEM, "plugins: out of memory");
}

aviary_status aviary_plugin_registry_open(const char *search_path, aviary_plugin_registry **out) {
    aviary_plugin_registry *r;
    aviary_status st = aviary__plugin_registry_new(&r);
    if (st) {
        *out = NULL;
        return st;
    }
    if (search_path) {
        st = add_path_list(r, search_path);
    } else {
        st = add_path_list(r, getenv("AVIARY_PLUGIN_PATH"));
        if (!st) st = add_dir_beside_library(r);
        if (!st) st = add_dir(r, AVIARY_PLUGIN_INSTALL_DIR, strlen(AVIARY_PLUGIN_INSTALL_DIR));
        if (!st) st = add_dir(r, AVIARY_PLUGIN_BUILD_DIR, strlen(AVIARY_PLUGIN_BUILD_DIR));
    }
    for (size_t i = 0; !st && i < r->n_dirs; i++) st = scan_dir(r, r->dirs[i]);
    if (st) {
        aviary_plugin_registry_free(r);
        *out = NULL;
        return st;
    }
    *out = r;
    return AVIARY_OK;
}

void aviary_plugin_registry_free(aviary_plugin_registry *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n_plugins; i++) {
        /* Under ASan keep plugins mapped so leak reports can still symbolize them. */
#if !defined(__SANITIZE_ADDRESS__)
        if (r->plugins[i].handle) dlclose(r->plugins[i].handle);
#endif
        free(r->plugins[i].path);
    }
    free(r->plugins);
    for (size_t i = 0; i < r->n_skips; i++) {
        free(r->skips[i].path);
        free(r->skips[i].reason);
    }
    free(r->skips);
    for (size_t i = 0; i < r->n_dirs; i++) free(r->dirs[i]);
    free(r->dirs);
    free(r);
}

size_t aviary_plugin_registry_count(const aviary_plugin_registry *r) { return r ? r->n_plugins : 0; }

const aviary_plugin_info *aviary_plugin_registry_at(const aviary_plugin_registry *r, size_t i) {
    return r && i < r->n_plugins ? &r->plugins[i].info : NULL;
}

size_t aviary_plugin_registry_dir_count(const aviary_plugin_registry *r) { return r ? r->n_dirs : 0; }

const char *aviary_plugin_registry_dir(const aviary_plugin_registry *r, size_t i) {
    return r && i < r->n_dirs ? r->dirs[i] : NULL;
}

size_t aviary_plugin_registry_skipped_count(const aviary_plugin_registry *r) { return r ? r->n_skips : 0; }

void aviary_plugin_registry_skipped(const aviary_plugin_registry *r, size_t i, const char **path,
                                    const char **reason) {
    bool ok = r && i < r->n_skips;
    if (path) *path = ok ? r->skips[i].path : NULL;
    if (reason) *reason = ok ? r->skips[i].reason : NULL;
}

aviary_status aviary_plugin_registry_find(const aviary_plugin_registry *r, const char *name,
                                          const aviary_plugin_info **out) {
    *out = NULL;
    const loaded *l = r ? find_loaded(r, name) : NULL;
    if (l) {
        *out = &l->info;
        return AVIARY_OK;
    }
    /* A skipped file named after the plugin explains the most likely cause. */
    for (size_t i = 0; r && i < r->n_skips; i++) {
        const char *base = strrchr(r->skips[i].path, '/');
        base = base ? base + 1 : r->skips[i].path;
        size_t bl = strlen(base), nl = strlen(name);
        if (bl == nl + 3 && !strncmp(base, name, nl) && !strcmp(base + nl, ".so"))
            return aviary_error(AVIARY_PLUGIN, "plugin '%s': %s was skipped: %s", name, r->skips[i].path,
                                r->skips[i].reason);
    }
    char dirs[600];
    size_t k = 0;
    dirs[0] = '\0';
    for (size_t i = 0; r && i < r->n_dirs && k < sizeof dirs; i++) {
        int w = snprintf(dirs + k, sizeof dirs - k, "%s%s", i ? ":" : "", r->dirs[i]);
        if (w < 0) break;
        k += (size_t)w;
    }
    return aviary_error(AVIARY_NOT_FOUND, "plugin '%s' not found (searched %s; see 'aviary plugins')", name,
                        dirs[0] ? dirs : "no directories");
}
