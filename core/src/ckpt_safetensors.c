/* ckpt_safetensors.c - safetensors reader (single file and sharded index).
 *
 * Layout: u64 little-endian header length N, N bytes of JSON mapping names to
 * {"dtype","shape","data_offsets":[begin,end]} (offsets relative to the byte
 * after the header), optional "__metadata__", then the raw data. Every
 * declared span is checked against the file before a view is made. */
#include <errno.h>
#include <stdio.h>
#include <cjson/cJSON.h>
#include "checkpoint_internal.h"

/* A header larger than this is refused (the format's own reference readers
 * cap it at 100 MB). */
#define ST_MAX_HEADER (100u * 1024u * 1024u)

static bool st_dtype(const char *s, aviary_dtype *dt) {
    static const struct { const char *name; aviary_dtype dt; } map[] = {
        {"F32", AVIARY_F32}, {"BF16", AVIARY_BF16}, {"F16", AVIARY_F16}, {"I8", AVIARY_I8},
        {"U8", AVIARY_U8},   {"I16", AVIARY_I16},   {"I32", AVIARY_I32}, {"I64", AVIARY_I64},
        {"F64", AVIARY_F64}, {"BOOL", AVIARY_BOOL},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(s, map[i].name)) {
            *dt = map[i].dt;
            return true;
        }
    return false;
}

/* A JSON number that is a non-negative integer representable exactly. */
static bool json_u64(const cJSON *n, uint64_t *out) {
    if (!cJSON_IsNumber(n)) return false;
    double d = n->valuedouble;
    if (!(d >= 0 && d <= 9007199254740992.0) || d != (double)(uint64_t)d) return false;
    *out = (uint64_t)d;
    return true;
}

aviary_status aviary__safetensors_parse(aviary_checkpoint *ck, const void *buf, size_t size, const char *what) {
    const unsigned char *p = buf;
    if (size < 8) return aviary_error(AVIARY_FORMAT, "%s: truncated safetensors file (%zu bytes)", what, size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | p[i];
    if (hlen > ST_MAX_HEADER)
        return aviary_error(AVIARY_FORMAT, "%s: safetensors header length %llu is too large", what,
                            (unsigned long long)hlen);
    if (hlen > size - 8)
        return aviary_error(AVIARY_FORMAT, "%s: truncated safetensors header (declares %llu bytes, file has %zu)",
                            what, (unsigned long long)hlen, size - 8);
    cJSON *root = cJSON_ParseWithLength((const char *)p + 8, (size_t)hlen);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return aviary_error(AVIARY_FORMAT, "%s: safetensors header is not a JSON object", what);
    }
    const unsigned char *data = p + 8 + hlen;
    uint64_t data_size = size - 8 - hlen;
    aviary_status s = AVIARY_OK;
    for (const cJSON *e = root->child; e && s == AVIARY_OK; e = e->next) {
        if (!e->string) continue;
        if (!strcmp(e->string, "__metadata__")) continue;
        const cJSON *jd = cJSON_GetObjectItemCaseSensitive(e, "dtype");
        const cJSON *js = cJSON_GetObjectItemCaseSensitive(e, "shape");
        const cJSON *jo = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
        aviary_dtype dt;
        if (!cJSON_IsString(jd) || !cJSON_IsArray(js) || !cJSON_IsArray(jo) || cJSON_GetArraySize(jo) != 2) {
            s = aviary_error(AVIARY_FORMAT, "%s: tensor '%s': header entry lacks dtype, shape or data_offsets", what,
                             e->string);
            break;
        }
        if (!st_dtype(jd->valuestring, &dt)) {
            s = aviary_error(AVIARY_UNSUPPORTED, "%s: tensor '%s': unsupported dtype '%s'", what, e->string,
                             jd->valuestring);
            break;
        }
        int ndim = cJSON_GetArraySize(js);
        if (ndim > AVIARY_MAX_DIMS) {
            s = aviary_error(AVIARY_UNSUPPORTED, "%s: tensor '%s' has %d dimensions", what, e->string, ndim);
            break;
        }
        int64_t shape[AVIARY_MAX_DIMS];
        int d = 0;
        for (const cJSON *x = js->child; x; x = x->next, d++) {
            uint64_t v;
            if (!json_u64(x, &v) || v > (uint64_t)INT64_MAX) {
                s = aviary_error(AVIARY_FORMAT, "%s: tensor '%s': bad shape", what, e->string);
                break;
            }
            shape[d] = (int64_t)v;
        }
        if (s != AVIARY_OK) break;
        uint64_t begin, end, need;
        if (!json_u64(jo->child, &begin) || !json_u64(jo->child->next, &end) || end < begin) {
            s = aviary_error(AVIARY_FORMAT, "%s: tensor '%s': bad data_offsets", what, e->string);
            break;
        }
        if (!aviary__ckpt_span(ndim, shape, NULL, aviary_dtype_size(dt), &need)) {
            s = aviary_error(AVIARY_FORMAT, "%s: tensor '%s': shape is too large (byte size overflows)", what, e->string);
            break;
        }
        if (need != end - begin) {
            s = aviary_error(AVIARY_FORMAT, "%s: tensor '%s': data_offsets span %llu bytes but shape needs %llu", what,
                             e->string, (unsigned long long)(end - begin), (unsigned long long)need);
            break;
        }
        if (end > data_size) {
            s = aviary_error(AVIARY_FORMAT, "%s: tensor '%s' ends at byte %llu past the end of the data (%llu bytes)",
                             what, e->string, (unsigned long long)end, (unsigned long long)data_size);
            break;
        }
        s = aviary__ckpt_add(ck, e->string, dt, ndim, shape, NULL, data + begin);
    }
    cJSON_Delete(root);
    return s;
}

aviary_status aviary__safetensors_read(aviary_checkpoint *ck, const char *path) {
    const void *base;
    size_t size;
    aviary_status s = aviary__ckpt_map(ck, path, &base, &size);
    if (s != AVIARY_OK) return s;
    return aviary__safetensors_parse(ck, base, size, path);
}

aviary_status aviary__safetensors_read_index(aviary_checkpoint *ck, const char *index_path) {
    const void *base;
    size_t size;
    aviary_status s = aviary__ckpt_map(ck, index_path, &base, &size);
    if (s != AVIARY_OK) return s;
    cJSON *root = cJSON_ParseWithLength(base, size);
    const cJSON *wm = root ? cJSON_GetObjectItemCaseSensitive(root, "weight_map") : NULL;
    if (!cJSON_IsObject(wm)) {
        cJSON_Delete(root);
        return aviary_error(AVIARY_FORMAT, "%s: not a safetensors index (no \"weight_map\" object)", index_path);
    }
    /* Directory of the index: shard names are relative to it. */
    const char *slash = strrchr(index_path, '/');
    size_t dirlen = slash ? (size_t)(slash - index_path + 1) : 0;
    /* Read each distinct shard once, in order of first appearance. */
    for (const cJSON *e = wm->child; e && s == AVIARY_OK; e = e->next) {
        if (!cJSON_IsString(e) || strchr(e->valuestring, '/') || !strcmp(e->valuestring, "..")) {
            s = aviary_error(AVIARY_FORMAT, "%s: weight_map entry '%s' is not a plain shard file name", index_path,
                             e->string ? e->string : "?");
            break;
        }
        bool seen = false;
        for (const cJSON *q = wm->child; q != e; q = q->next)
            if (!strcmp(q->valuestring, e->valuestring)) seen = true;
        if (seen) continue;
        size_t n = dirlen + strlen(e->valuestring) + 1;
        char *shard = malloc(n);
        if (!shard) {
            s = aviary_error(AVIARY_NOMEM, "%s: out of memory", index_path);
            break;
        }
        memcpy(shard, index_path, dirlen);
        strcpy(shard + dirlen, e->valuestring);
        s = aviary__safetensors_read(ck, shard);
        free(shard);
    }
    /* Every key the index names must be present. */
    for (const cJSON *e = wm->child; e && s == AVIARY_OK; e = e->next)
        if (!aviary_checkpoint_find(ck, e->string))
            s = aviary_error(AVIARY_FORMAT, "%s: tensor '%s' is listed but missing from shard %s", index_path,
                             e->string, e->valuestring);
    cJSON_Delete(root);
    return s;
}
