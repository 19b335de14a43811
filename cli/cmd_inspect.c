/* cmd_inspect.c - `aviary inspect FILE`: the checkpoint's format, the model
 * family it holds with its hyper-parameters (aviary_model_family.h), then
 * every tensor: name, dtype, shape, bytes. Reads names and shapes only, so it
 * is instant and light even on multi-GB files (the data stays unmapped-in). */
#include <stdio.h>
#include <string.h>
#include "cli.h"

int cli_cmd_inspect(int argc, char **argv) {
    if (argc != 2 || argv[1][0] == '-') {
        FILE *f = (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) ? stdout : stderr;
        fprintf(f, "usage: aviary inspect CHECKPOINT\n"
                   "  CHECKPOINT: a torch.save .pth/.bin/.pt, a .safetensors file, or a sharded\n"
                   "  *.safetensors.index.json. Prints the model family and every tensor.\n");
        return f == stdout ? 0 : 2;
    }
    aviary_checkpoint *ck = NULL;
    aviary_status s = aviary_checkpoint_open(argv[1], &ck);
    if (s != AVIARY_OK) return cli_fail_status(s);
    aviary_family_info fam;
    s = aviary_family_detect(ck, &fam);
    if (s != AVIARY_OK) {
        aviary_checkpoint_close(ck);
        return cli_fail_status(s);
    }
    static const char *formats[] = {"PyTorch zip", "safetensors", "sharded safetensors"};
    aviary_checkpoint_format fmt = aviary_checkpoint_get_format(ck);
    printf("file: %s\nformat: %s, %zu tensors, %llu bytes\nfamily: %s\n", argv[1],
           (unsigned)fmt < 3 ? formats[fmt] : "?", aviary_checkpoint_count(ck),
           (unsigned long long)aviary_checkpoint_total_bytes(ck), fam.summary);
    for (size_t i = 0; i < aviary_checkpoint_count(ck); i++) {
        const aviary_tensor *t = aviary_checkpoint_at(ck, i);
        char shp[128];
        printf("%-48s %-5s %-20s %llu\n", t->name, aviary_dtype_name(t->dtype),
               aviary_tensor_shape_str(t, shp, sizeof shp),
               (unsigned long long)(aviary_tensor_numel(t) * (int64_t)aviary_dtype_size(t->dtype)));
    }
    aviary_checkpoint_close(ck);
    return 0;
}
