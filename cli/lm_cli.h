/*
 * lm_cli.h - options and setup shared by `aviary generate` and `aviary chat`:
 * model/precision/threads, tokenizer choice, sampler parameters, stop
 * strings, state files.
 */
#ifndef AVIARY_LM_CLI_H
#define AVIARY_LM_CLI_H

#include "cli.h"

#define LM_MAX_STOPS 16

typedef struct lm_opts {
    const char *model, *vocab, *precision, *state_in, *state_out;
    long threads, max_tokens;
    aviary_sampler_params sp;
    bool sp_set_top_p, sp_set_presence, sp_set_frequency; /* given on the command line */
    char *stops[LM_MAX_STOPS];  /* unescaped copies (owned) */
    size_t n_stops;
    bool ids_out, verbose;
} lm_opts;

/* Defaults (sampler: aviary_sampler_default_params). */
void lm_opts_init(lm_opts *o, long max_tokens);
void lm_opts_free(lm_opts *o);
/* If argv[*i] is a shared option, consume it (and its value) and return 1;
 * 0 if it is not one; -1 after printing an error for a bad value. */
int lm_parse_option(lm_opts *o, int argc, char **argv, int *i);
/* Print the shared options' help. */
void lm_usage_options(FILE *f);
/* Load the model, pick its tokenizer, create a state (loaded from
 * --state-in if given). Returns 0 or prints the error and returns 1. */
int lm_setup(const lm_opts *o, aviary_model **m, aviary_tokenizer **t, aviary_state **s);
/* Write the generated text to stdout as it comes (an aviary_text_fn). */
bool lm_print_text(void *user, const char *text, size_t len);

#endif
