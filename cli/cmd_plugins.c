/*
 * cmd_plugins.c - `aviary plugins [--path DIRS] [NAME]`: list every plugin
 * found (kind, version, description, inputs, outputs, options) and every
 * file skipped with the reason. With NAME, show only that plugin (exit 1 if
 * it is not loadable, with the reason).
 */
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "aviary/aviary_plugin.h"

static void print_ports(const char *title, const aviary_port_spec *ports, size_t n) {
    printf("    %s:\n", title);
    for (size_t k = 0; k < n; k++) {
        const aviary_port_spec *p = &ports[k];
        if (p->type == AVIARY_PORT_TENSOR)
            printf("      %-14s %s tensor %s %s", p->name, aviary_modality_name(p->modality),
                   p->dtype == AVIARY_DTYPE_ANY ? "any-dtype" : aviary_dtype_name((aviary_dtype)p->dtype),
                   p->shape && *p->shape ? p->shape : "[any shape]");
        else
            printf("      %-14s %s %s", p->name, aviary_modality_name(p->modality), aviary_port_type_name(p->type));
        if (p->help && *p->help) printf("  - %s", p->help);
        printf("\n");
    }
}

static void print_plugin(const aviary_plugin_info *pi) {
    const aviary_plugin_descriptor *d = pi->desc;
    printf("%s  (%s, version %s, ABI %u.%u)\n", d->name, aviary_plugin_kind_name(d->kind), d->version, d->abi_major,
           d->abi_minor);
    printf("    %s\n", d->description);
    printf("    file: %s\n", pi->path);
    print_ports("inputs", d->inputs, d->n_inputs);
    print_ports("outputs", d->outputs, d->n_outputs);
    if (d->n_options) {
        printf("    options:\n");
        for (size_t k = 0; k < d->n_options; k++) {
            const aviary_option_spec *o = &d->options[k];
            printf("      %-14s %-6s ", o->name, aviary_option_type_name(o->type));
            if (!o->default_value) printf("(required)");
            else printf("default \"%s\"", o->default_value);
            if (o->help && *o->help) printf("  - %s", o->help);
            printf("\n");
        }
    }
}

int cli_cmd_plugins(int argc, char **argv) {
    const char *path = NULL, *name = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: aviary plugins [--path DIR[:DIR...]] [NAME]\n"
                   "  Lists the plugins found in $AVIARY_PLUGIN_PATH, the install dir and the build dir\n"
                   "  (or only in --path), with their inputs, outputs and options, and every file skipped\n"
                   "  and why. With NAME, shows that plugin only and fails if it cannot be loaded.\n");
            return 0;
        } else if (!strcmp(argv[i], "--path")) {
            if (++i >= argc) return cli_fail("plugins: --path needs a value");
            path = argv[i];
        } else if (argv[i][0] == '-') {
            return cli_fail("plugins: unknown option '%s' (see 'aviary plugins --help')", argv[i]);
        } else if (!name) {
            name = argv[i];
        } else {
            return cli_fail("plugins: give at most one plugin name");
        }
    }
    aviary_plugin_registry *reg = NULL;
    aviary_status st = aviary_plugin_registry_open(path, &reg);
    if (st) return cli_fail_status(st);
    int rc = 0;
    if (name) {
        const aviary_plugin_info *pi;
        if (aviary_plugin_registry_find(reg, name, &pi)) rc = cli_fail("%s", aviary_errmsg());
        else print_plugin(pi);
        aviary_plugin_registry_free(reg);
        return rc;
    }
    printf("search path:");
    for (size_t i = 0; i < aviary_plugin_registry_dir_count(reg); i++)
        printf("%s%s", i ? ":" : " ", aviary_plugin_registry_dir(reg, i));
    printf("\n\n");
    size_t n = aviary_plugin_registry_count(reg);
    printf("%zu plugin%s:\n", n, n == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
        printf("\n");
        print_plugin(aviary_plugin_registry_at(reg, i));
    }
    size_t ns = aviary_plugin_registry_skipped_count(reg);
    if (ns) {
        printf("\n%zu file%s skipped:\n", ns, ns == 1 ? "" : "s");
        for (size_t i = 0; i < ns; i++) {
            const char *f, *why;
            aviary_plugin_registry_skipped(reg, i, &f, &why);
            printf("  %s: %s\n", f, why);
        }
    }
    aviary_plugin_registry_free(reg);
    return 0;
}
