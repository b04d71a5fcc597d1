// SPDX-License-Identifier: LGPL-2.1-or-later
//
// stage-dump.c: stage tensors to a safetensors file. See stage-dump.h.

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L   // fileno, strdup
#endif

#include "stage-dump.h"
#include "error.h"
#include "json.h"
#include "safetensors.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char * name;
    int32_t c, h, w;
    float * data;
    size_t count;   // c * h * w
} stage_t;

struct stage_dump {
    stage_t * stages;
    size_t n, cap;
    char error[256];   // first problem met in the callback
};

stage_dump_t * stage_dump_new(void) { return calloc(1, sizeof(stage_dump_t)); }

void stage_dump_free(stage_dump_t * dump) {
    if (!dump) return;
    for (size_t i = 0; i < dump->n; i++) {
        free(dump->stages[i].name);
        free(dump->stages[i].data);
    }
    free(dump->stages);
    free(dump);
}

size_t stage_dump_count(const stage_dump_t * dump) { return dump ? dump->n : 0; }

static void remember_error(stage_dump_t * dump, const char * fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void remember_error(stage_dump_t * dump, const char * fmt, ...) {
    if (dump->error[0]) return;
    va_list ap;
    va_start(ap, fmt);
    ipg_format_error_prefixed_v(dump->error, sizeof dump->error, NULL, fmt, ap);
    va_end(ap);
}

void stage_dump_callback(const char * name, const float * data, int32_t channels, int32_t height, int32_t width,
                         void * user_data) {
    stage_dump_t * dump = user_data;
    if (!dump) return;
    if (!name || !*name) {
        remember_error(dump, "a stage without a name");
        return;
    }
    if (channels < 0 || height < 0 || width < 0) {
        remember_error(dump, "stage %s has a negative dimension", name);
        return;
    }
    size_t count = (size_t) channels * (size_t) height * (size_t) width;
    if (count > 0 && !data) {
        remember_error(dump, "stage %s has no data", name);
        return;
    }
    float * copy = malloc(count ? count * sizeof(float) : 1);
    if (!copy) {
        remember_error(dump, "out of memory copying stage %s", name);
        return;
    }
    if (count) memcpy(copy, data, count * sizeof(float));

    stage_t * s = NULL;
    for (size_t i = 0; i < dump->n; i++) {
        if (strcmp(dump->stages[i].name, name) == 0) {
            s = &dump->stages[i];
            free(s->data);
            s->data = NULL;
            break;
        }
    }
    if (!s) {
        if (dump->n == dump->cap) {
            size_t ncap = dump->cap ? dump->cap * 2 : 32;
            stage_t * ns = realloc(dump->stages, ncap * sizeof *ns);
            if (!ns) {
                free(copy);
                remember_error(dump, "out of memory collecting stage %s", name);
                return;
            }
            dump->stages = ns;
            dump->cap = ncap;
        }
        char * nm = strdup(name);
        if (!nm) {
            free(copy);
            remember_error(dump, "out of memory collecting stage %s", name);
            return;
        }
        s = &dump->stages[dump->n++];
        s->name = nm;
    }
    s->c = channels;
    s->h = height;
    s->w = width;
    s->data = copy;
    s->count = count;
}

// ---- a small growable string for the order metadata ------------------------

typedef struct {
    char * s;
    size_t len, cap;
    int failed;
} sbuf_t;

static void sb_putn(sbuf_t * b, const char * s, size_t n) {
    if (b->failed) return;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 1024;
        while (b->len + n + 1 > ncap) ncap *= 2;
        char * ns = realloc(b->s, ncap);
        if (!ns) {
            b->failed = 1;
            return;
        }
        b->s = ns;
        b->cap = ncap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_puts(sbuf_t * b, const char * s) { sb_putn(b, s, strlen(s)); }

static void sb_sink(void * ud, const char * bytes, size_t n) { sb_putn(ud, bytes, n); }

static void sb_json_string(sbuf_t * b, const char * s) { ipg_json_write_string(s, strlen(s), false, sb_sink, b); }

static int write_all(FILE * f, const void * data, size_t n) { return n == 0 || fwrite(data, 1, n, f) == n; }

static int host_is_little_endian(void) {
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

int stage_dump_write(const stage_dump_t * dump, const char * path, char * err, size_t err_size) {
    if (err && err_size) err[0] = '\0';
    if (!dump || !path) {
        ipg_format_error(err, err_size, "stage dump: no dump or no path");
        return -1;
    }
    if (dump->error[0]) {
        ipg_format_error_prefixed(err, err_size, path, "%s", dump->error);
        return -1;
    }

    // The order, as a JSON array, goes into the header as a string.
    sbuf_t order = { 0 };
    sb_puts(&order, "[");
    for (size_t i = 0; i < dump->n; i++) {
        if (i) sb_puts(&order, ", ");
        sb_json_string(&order, dump->stages[i].name);
    }
    sb_puts(&order, "]");

    ipg_st_entry_t * entries = calloc(dump->n ? dump->n : 1, sizeof *entries);
    int64_t * shapes = calloc(dump->n ? dump->n * 3 : 1, sizeof *shapes);
    uint8_t * hdr = NULL;
    size_t hdr_len = 0;
    if (!order.failed && entries && shapes) {
        uint64_t offset = 0;
        for (size_t i = 0; i < dump->n; i++) {
            const stage_t * s = &dump->stages[i];
            int64_t * shape = &shapes[3 * i];
            shape[0] = s->c;
            shape[1] = s->h;
            shape[2] = s->w;
            uint64_t bytes = (uint64_t) s->count * sizeof(float);
            entries[i] = (ipg_st_entry_t){ s->name, "F32", 3, shape, offset, offset + bytes };
            offset += bytes;
        }
        const char * meta[] = { "order", order.s };
        hdr = ipg_st_write_header(meta, 1, entries, (int32_t) dump->n, &hdr_len);
    }
    free(order.s);
    free(entries);
    free(shapes);
    if (!hdr) {
        ipg_format_error_prefixed(err, err_size, path, "out of memory building the header");
        return -1;
    }

    FILE * f = fopen(path, "wb");
    if (!f) {
        ipg_format_error_prefixed(err, err_size, path, "cannot create (%s)", strerror(errno));
        free(hdr);
        return -1;
    }
    int ok = write_all(f, hdr, hdr_len);
    free(hdr);
    int le = host_is_little_endian();
    for (size_t i = 0; ok && i < dump->n; i++) {
        const stage_t * s = &dump->stages[i];
        if (le) {
            ok = write_all(f, s->data, s->count * sizeof(float));
        } else {
            for (size_t k = 0; ok && k < s->count; k++) {
                unsigned char v[4], r[4];
                memcpy(v, &s->data[k], 4);
                r[0] = v[3];
                r[1] = v[2];
                r[2] = v[1];
                r[3] = v[0];
                ok = write_all(f, r, 4);
            }
        }
    }
    int e = errno;
    if (fclose(f) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    if (!ok) {
        ipg_format_error_prefixed(err, err_size, path, "write failed (%s)", strerror(e));
        remove(path);
        return -1;
    }
    return 0;
}
