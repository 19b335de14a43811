/* main.c - the aviary command: dispatch to one cmd_<name>.c per subcommand. */
#include <stdio.h>
#include <string.h>
#include "cli.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

/* Keep sorted by how a newcomer meets them. */
static const command commands[] = {
    {"inspect", cli_cmd_inspect, "list a checkpoint's tensors and the model it holds"},
    {"verify", cli_cmd_verify, "check aviary against a reference fixture folder"},
    {"run", cli_cmd_run, "run a JSON pipeline of plugin stages"},
    {"tag", cli_cmd_tag, "tag audio files with AudioSet labels using an AudioRWKV pipeline"},
    {"plugins", cli_cmd_plugins, "list the plugins found (inputs, outputs, options) and files skipped"},
    {"forecast", cli_cmd_forecast, "forecast time series from a CSV file with an RWKV-TS pipeline"},
    {"ask", cli_cmd_ask, "answer a question about an image with a VisualRWKV pipeline"},
    {"classify", cli_cmd_classify, "classify images with an image-classification pipeline (top-5 per image)"},
    {"bench", cli_cmd_bench, "measure prefill/generation speed and memory of an RWKV LM"},
    {"generate", cli_cmd_generate, "continue a prompt with an RWKV LM, streaming the text"},
    {"tokenize", cli_cmd_tokenize, "text to RWKV World token ids and back"},
    {"chat", cli_cmd_chat, "chat with an RWKV LM (User:/Assistant: turns, state kept between turns)"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: aviary <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'aviary <command> --help' shows a command's options.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("aviary %s\n", aviary_version());
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "aviary: unknown command '%s' (see 'aviary --help')\n", argv[1]);
    return 2;
}
