/* cmd_inspect.c - `aviary inspect FILE`: list every tensor of a checkpoint. */
#include <stdio.h>
#include <string.h>
#include "cli.h"

int cli_cmd_inspect(int argc, char **argv) {
    if (argc != 2 || argv[1][0] == '-') {
        FILE *f = (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) ? stdout : stderr;
        fprintf(f, "usage: aviary inspect CHECKPOINT\n");
        return f == stdout ? 0 : 2;
    }
    aviary_checkpoint *ck = NULL;
    aviary_status s = aviary_checkpoint_open(argv[1], &ck);
    if (s != AVIARY_OK) return cli_fail_status(s);
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
