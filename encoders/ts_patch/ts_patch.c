/* ts_patch.c - RWKV-TS encoder plugin.
 *
 * Input  "series" (PATH, modality series): a CSV file (aviary_csv.h rules);
 *        its last seq_len rows of every chosen numeric column are the window.
 * Output "tokens" [channels, patches, d_model]: the RWKV-TS block outputs
 *        (channel-independent: one token sequence per column).
 * Output "stats"  [channels, 2]: per column (loc, scale) such that a
 *        forecast in the model's normalised space maps back to the CSV's
 *        units as y * scale + loc. It folds the instance norm (RevIN mean,
 *        std) and the standard scaler the model was trained with (option
 *        "scale": fitted on the train part of the file as in training, on all
 *        rows, or none) into one affine map for the ts_forecast head.
 * Everything numeric is libaviary's aviary_ts_* (aviary_ts.h).
 */
#include <stdlib.h>
#include <string.h>
#include <aviary/aviary_csv.h>
#include <aviary/aviary_plugin.h>
#include <aviary/aviary_ts_eval.h>

typedef struct ts_patch {
    aviary_ts_model *model;
    char *columns;      /* comma-separated, or NULL for all */
    char *date_column;  /* or NULL = auto */
    bool fill_forward;
    int scale;          /* 0 train, 1 all, 2 none */
} ts_patch;

static const aviary_option_spec options[] = {
    {"seq_len", AVIARY_OPT_INT, NULL, "input length the model was trained with (not stored in the checkpoint)"},
    {"stride", AVIARY_OPT_INT, NULL, "patch stride the model was trained with (not stored in the checkpoint)"},
    {"revin_eps", AVIARY_OPT_FLOAT, "1e-5", "instance-norm eps: std = sqrt(var + eps)"},
    {"layernorm_eps", AVIARY_OPT_FLOAT, "1e-5", "LayerNorm eps of the blocks"},
    {"groupnorm_eps", AVIARY_OPT_FLOAT, "0.00064", "GroupNorm (ln_x) eps of the blocks"},
    {"precision", AVIARY_OPT_STRING, "f32", "matmul weights: f32, bf16 or int8"},
    {"columns", AVIARY_OPT_STRING, "", "comma-separated CSV columns (default: every numeric column)"},
    {"date_column", AVIARY_OPT_STRING, "", "the CSV's date column (default: auto-detected)"},
    {"fill_forward", AVIARY_OPT_BOOL, "false", "fill missing CSV cells with the value above"},
    {"scale", AVIARY_OPT_STRING, "train", "standard scaler: train (fitted on the train part, as in training), all or none"},
};

static const aviary_port_spec inputs[] = {
    {"series", AVIARY_PORT_PATH, AVIARY_MODALITY_SERIES, AVIARY_F32, NULL, "CSV file: header row, optional date column"},
};

static const aviary_port_spec outputs[] = {
    {"tokens", AVIARY_PORT_TENSOR, AVIARY_MODALITY_FEATURES, AVIARY_F32, "[channels, patches, d_model]",
     "RWKV-TS block outputs, one token sequence per column"},
    {"stats", AVIARY_PORT_TENSOR, AVIARY_MODALITY_TENSOR, AVIARY_F32, "[channels, 2]",
     "per column (loc, scale): forecast = y * scale + loc"},
};

static void destroy(void *inst) {
    ts_patch *p = inst;
    if (!p) return;
    aviary_ts_model_free(p->model);
    free(p->columns);
    free(p->date_column);
    free(p);
}

static aviary_status create(const aviary_plugin_create_args *a, void **instance) {
    *instance = NULL;
    if (!a->weights) return aviary_error(AVIARY_CONFIG, "ts_patch needs a \"weights\" file (an RWKV-TS checkpoint)");
    ts_patch *p = calloc(1, sizeof *p);
    if (!p) return aviary_error(AVIARY_NOMEM, "out of memory");
    aviary_ts_params tp = aviary_ts_default_params();
    tp.seq_len = (int)aviary_option_find(a, "seq_len")->i;
    tp.stride = (int)aviary_option_find(a, "stride")->i;
    tp.revin_eps = aviary_option_find(a, "revin_eps")->f;
    tp.ln_eps = aviary_option_find(a, "layernorm_eps")->f;
    tp.gn_eps = aviary_option_find(a, "groupnorm_eps")->f;
    aviary_status s;
    const aviary_option_value *prec = aviary_option_find(a, "precision");
    if ((s = aviary_weight_type_parse(prec->s, &tp.weights))) {
        destroy(p);
        return aviary_error(AVIARY_CONFIG, "options.precision: expected f32, bf16 or int8, got '%s'", prec->s);
    }
    const aviary_option_value *sc = aviary_option_find(a, "scale");
    if (!strcmp(sc->s, "train")) p->scale = 0;
    else if (!strcmp(sc->s, "all")) p->scale = 1;
    else if (!strcmp(sc->s, "none")) p->scale = 2;
    else {
        destroy(p);
        return aviary_error(AVIARY_CONFIG, "options.scale: expected train, all or none, got '%s'", sc->s);
    }
    const aviary_option_value *cols = aviary_option_find(a, "columns"), *dc = aviary_option_find(a, "date_column");
    if ((cols->has_value && cols->s[0] && !(p->columns = strdup(cols->s))) ||
        (dc->has_value && dc->s[0] && !(p->date_column = strdup(dc->s)))) {
        destroy(p);
        return aviary_error(AVIARY_NOMEM, "out of memory");
    }
    p->fill_forward = aviary_option_find(a, "fill_forward")->b;
    if ((s = aviary_ts_model_create(a->weights, &tp, &p->model))) {
        destroy(p);
        return s;
    }
    *instance = p;
    return AVIARY_OK;
}

static aviary_status run(void *inst, const aviary_value *in, aviary_value *out) {
    ts_patch *p = inst;
    const aviary_ts_info *I = aviary_ts_model_info(p->model);
    const char *path = in[0].text;
    const char *names[256];
    size_t n_names = 0;
    char *colbuf = NULL;
    if (p->columns) {
        colbuf = strdup(p->columns);
        if (!colbuf) return aviary_error(AVIARY_NOMEM, "out of memory");
        for (char *tok = strtok(colbuf, ","); tok && n_names < 256; tok = strtok(NULL, ",")) names[n_names++] = tok;
    }
    aviary_csv_options co = aviary_csv_default_options();
    co.columns = n_names ? names : NULL;
    co.n_columns = n_names;
    co.date_column = p->date_column;
    co.fill_forward = p->fill_forward;
    aviary_csv *csv = NULL;
    aviary_status s = aviary_csv_read(path, &co, &csv);
    free(colbuf);
    if (s) return s;
    const int64_t C = (int64_t)aviary_csv_cols(csv), N = (int64_t)aviary_csv_rows(csv), L = I->seq_len;
    double *mean = NULL, *sd = NULL;
    float *x = NULL, *xn = NULL, *pat = NULL, *rmean = NULL, *rstd = NULL;
    if (N < L) {
        s = aviary_error(AVIARY_SHAPE, "%s: %lld data rows, the model needs at least seq_len = %lld", path, (long long)N,
                         (long long)L);
        goto done;
    }
    mean = malloc((size_t)C * sizeof *mean);
    sd = malloc((size_t)C * sizeof *sd);
    x = malloc((size_t)(C * L) * sizeof *x);
    xn = malloc((size_t)(C * L) * sizeof *xn);
    pat = malloc((size_t)(C * I->patch_num * I->patch_len) * sizeof *pat);
    rmean = malloc((size_t)C * sizeof *rmean);
    rstd = malloc((size_t)C * sizeof *rstd);
    if (!mean || !sd || !x || !xn || !pat || !rmean || !rstd) {
        s = aviary_error(AVIARY_NOMEM, "out of memory");
        goto done;
    }
    aviary_ts_borders bd;
    if (p->scale == 2) {
        for (int64_t c = 0; c < C; c++) { mean[c] = 0; sd[c] = 1; }
    } else if (p->scale == 0 &&
               aviary_ts_split_borders(aviary_ts_split_for_file(path), N, I->seq_len, I->pred_len, &bd) == AVIARY_OK) {
        aviary_ts_scaler_fit(aviary_csv_data(csv), C, bd.train[0], bd.train[1], mean, sd);
    } else {
        aviary_ts_scaler_fit(aviary_csv_data(csv), C, 0, N, mean, sd);
    }
    for (int64_t c = 0; c < C; c++)
        for (int64_t t = 0; t < L; t++)
            x[c * L + t] = (float)((aviary_csv_value(csv, (size_t)(N - L + t), (size_t)c) - mean[c]) / sd[c]);
    int64_t tshape[3] = {C, I->patch_num, I->d_model}, sshape[2] = {C, 2};
    if ((s = aviary_tensor_alloc(&out[0].tensor, AVIARY_F32, 3, tshape)) ||
        (s = aviary_tensor_alloc(&out[1].tensor, AVIARY_F32, 2, sshape)))
        goto done;
    float *tok = out[0].tensor.data, *st = out[1].tensor.data;
    if ((s = aviary_ts_normalize(p->model, x, C, xn, rmean, rstd)) || (s = aviary_ts_patchify(p->model, xn, C, pat)) ||
        (s = aviary_ts_embed(p->model, pat, C, tok)))
        goto done;
    for (int l = 0; l < I->n_layer; l++)
        if ((s = aviary_ts_block(p->model, l, tok, C))) goto done;
    for (int64_t c = 0; c < C; c++) {
        st[2 * c] = (float)((double)rmean[c] * sd[c] + mean[c]);
        st[2 * c + 1] = (float)((double)rstd[c] * sd[c]);
    }
done:
    free(mean);
    free(sd);
    free(x);
    free(xn);
    free(pat);
    free(rmean);
    free(rstd);
    aviary_csv_free(csv);
    return s;
}

static const aviary_plugin_descriptor desc = {
    AVIARY_PLUGIN_DESCRIPTOR_HEADER,
    .name = "ts_patch",
    .kind = AVIARY_PLUGIN_ENCODER,
    .version = "1.0.0",
    .description = "RWKV-TS encoder: instance norm, padding, patches, patch embedding, RWKV-TS blocks (CSV in)",
    .n_options = sizeof options / sizeof options[0],
    .options = options,
    .n_inputs = 1,
    .inputs = inputs,
    .n_outputs = 2,
    .outputs = outputs,
    .create = create,
    .run = run,
    .destroy = destroy,
};

AVIARY_PLUGIN_DEFINE(desc);
