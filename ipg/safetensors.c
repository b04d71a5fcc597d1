// SPDX-License-Identifier: LGPL-2.1-or-later
// safetensors.c: the distrustful safetensors reader (checks listed in
// safetensors.h). Style after gguf.cpp: every length is checked against what
// is left, every product against INT64_MAX, and a bad file gets one sentence
// naming the tensor, the field and the numbers.
#define _DEFAULT_SOURCE   // madvise(MADV_DONTNEED): posix_madvise's DONTNEED is a no-op on glibc
#include "safetensors.h"
#include "error.h"
#include "file-io.h"
#include "json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

// The reference implementation's cap; a real header is tens of kilobytes.
#define IPG_ST_MAX_HEADER ((uint64_t) 100000000)

static const struct {
    const char * name;
    size_t size;
} ipg_st_dtypes[] = {
    [IPG_ST_F32] = { "F32", 4 },   [IPG_ST_F16] = { "F16", 2 }, [IPG_ST_BF16] = { "BF16", 2 },
    [IPG_ST_F64] = { "F64", 8 },   [IPG_ST_I64] = { "I64", 8 }, [IPG_ST_I32] = { "I32", 4 },
    [IPG_ST_I16] = { "I16", 2 },   [IPG_ST_I8] = { "I8", 1 },   [IPG_ST_U8] = { "U8", 1 },
    [IPG_ST_BOOL] = { "BOOL", 1 },
};

#define IPG_ST_N_DTYPES ((int) (sizeof(ipg_st_dtypes) / sizeof(ipg_st_dtypes[0])))

const char * ipg_st_dtype_name(ipg_st_dtype_t dtype) {
    if ((int) dtype < 0 || (int) dtype >= IPG_ST_N_DTYPES) {
        return "?";
    }
    return ipg_st_dtypes[dtype].name;
}

void ipg_st_release_pages(const ipg_st_file_t * f, const ipg_st_tensor_t * t) {
    if (f == NULL || t == NULL || !f->mapped) {
        return;
    }
    const long page = sysconf(_SC_PAGESIZE);
    if (page <= 0) {
        return;
    }
    // Whole pages around the tensor: a page it shares with a neighbour
    // that is still to be read is simply read again from the file.
    const uintptr_t begin = (uintptr_t) t->data / (uintptr_t) page * (uintptr_t) page;
    const uintptr_t end = (uintptr_t) t->data + (uintptr_t) t->nbytes;
    if (end > begin) {
        madvise((void *) begin, end - begin, MADV_DONTNEED);   // advice only: a failure costs memory, not data
    }
}

void ipg_st_free(ipg_st_file_t * f) {
    if (f == NULL) {
        return;
    }
    for (int32_t i = 0; i < f->n_tensors; i++) {
        free(f->tensors[i].name);
    }
    for (int32_t i = 0; i < f->n_meta; i++) {
        free(f->meta[i].key);
        free(f->meta[i].value);
    }
    free(f->tensors);
    free(f->meta);
    if (f->mapped) {
        munmap(f->file, f->file_size);
    } else {
        free(f->file);
    }
    memset(f, 0, sizeof(*f));
}

// "[2, 3, 3, 3]" for messages.
static void st_format_shape(char * buf, size_t size, const int64_t * shape, int32_t n_dims) {
    size_t o = 0;
    buf[0] = '\0';
    o += (size_t) snprintf(buf, size, "[");
    for (int32_t i = 0; i < n_dims && o < size; i++) {
        o += (size_t) snprintf(buf + o, size - o, "%s%" PRId64, i ? ", " : "", shape[i]);
    }
    if (o < size) {
        snprintf(buf + o, size - o, "]");
    }
}

// Copies a JSON string into a malloc'd C string; NULL if it holds a NUL byte
// (it could not round-trip through a C API) or on allocation failure.
static char * st_strdup(const char * s, size_t len, bool * has_nul) {
    *has_nul = memchr(s, '\0', len) != NULL;
    if (*has_nul) {
        return NULL;
    }
    char * d = malloc(len + 1);
    if (d != NULL) {
        memcpy(d, s, len + 1);
    }
    return d;
}

static bool st_has_control(const char * s, size_t len) {
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f) {
            return true;
        }
    }
    return false;
}

// Per-tensor parse state before sorting.
typedef struct {
    ipg_st_tensor_t t;
    uint64_t begin;
    uint64_t end;
} st_entry_t;

static int st_entry_cmp(const void * a, const void * b) {
    const st_entry_t * x = a;
    const st_entry_t * y = b;
    if (x->begin != y->begin) {
        return x->begin < y->begin ? -1 : 1;
    }
    if (x->end != y->end) {
        return x->end < y->end ? -1 : 1;
    }
    return strcmp(x->t.name, y->t.name);
}

static int st_parse_metadata(const ipg_json_value_t * v, ipg_st_file_t * f, char * err, size_t err_size) {
    if (v->type != IPG_JSON_OBJECT) {
        char vbuf[80];
        ipg_format_error(err, err_size, "__metadata__ must be an object of strings, got %s",
                         ipg_json_format(v, vbuf, sizeof(vbuf)));
        return 2;
    }
    size_t n = v->u.object.count;
    if (n == 0) {
        return 0;
    }
    f->meta = calloc(n, sizeof(*f->meta));
    if (f->meta == NULL) {
        ipg_format_error(err, err_size, "out of memory reading __metadata__");
        return 2;
    }
    for (size_t i = 0; i < n; i++) {
        const ipg_json_member_t * m = &v->u.object.members[i];
        bool has_nul = false;
        char * key = st_strdup(m->key, m->key_len, &has_nul);
        if (has_nul) {
            ipg_format_error(err, err_size, "metadata key at header byte %zu contains a NUL character", m->key_offset);
            return 2;
        }
        if (key == NULL) {
            ipg_format_error(err, err_size, "out of memory reading __metadata__");
            return 2;
        }
        f->meta[f->n_meta].key = key;
        f->n_meta++;
        if (m->value.type != IPG_JSON_STRING) {
            ipg_format_error(err, err_size, "metadata value for key '%s' is not a string (it is a %s)", key,
                             ipg_json_type_name(m->value.type));
            return 2;
        }
        char * val = st_strdup(m->value.u.string.ptr, m->value.u.string.len, &has_nul);
        if (has_nul) {
            ipg_format_error(err, err_size, "metadata value for key '%s' contains a NUL character", key);
            return 2;
        }
        if (val == NULL) {
            ipg_format_error(err, err_size, "out of memory reading __metadata__");
            return 2;
        }
        f->meta[f->n_meta - 1].value = val;
    }
    return 0;
}

// Reads a JSON number that must be an integer literal >= 0 (offsets, dims).
static bool st_get_u63(const ipg_json_value_t * v, uint64_t * out) {
    if (v == NULL || v->type != IPG_JSON_NUMBER || !v->u.number.is_int || v->u.number.i64 < 0) {
        return false;
    }
    *out = (uint64_t) v->u.number.i64;
    return true;
}

// Parses one tensor entry; the caller owns e->t.name already.
static int st_parse_tensor(const ipg_json_value_t * v, st_entry_t * e, char * err, size_t err_size) {
    const char * name = e->t.name;
    char vbuf[96];
    if (v->type != IPG_JSON_OBJECT) {
        ipg_format_error(err, err_size, "tensor '%s': entry must be an object, got %s", name,
                         ipg_json_format(v, vbuf, sizeof(vbuf)));
        return 2;
    }

    const ipg_json_value_t * dtype = ipg_json_get(v, "dtype");
    const ipg_json_value_t * shape = ipg_json_get(v, "shape");
    const ipg_json_value_t * offsets = ipg_json_get(v, "data_offsets");
    if (dtype == NULL || shape == NULL || offsets == NULL) {
        ipg_format_error(err, err_size, "tensor '%s': missing '%s'", name,
                         dtype == NULL   ? "dtype"
                         : shape == NULL ? "shape"
                                         : "data_offsets");
        return 2;
    }

    // dtype
    if (dtype->type != IPG_JSON_STRING) {
        ipg_format_error(err, err_size, "tensor '%s': dtype %s is not a string", name,
                         ipg_json_format(dtype, vbuf, sizeof(vbuf)));
        return 2;
    }
    int dt = -1;
    for (int i = 0; i < IPG_ST_N_DTYPES; i++) {
        if (strlen(ipg_st_dtypes[i].name) == dtype->u.string.len &&
            memcmp(ipg_st_dtypes[i].name, dtype->u.string.ptr, dtype->u.string.len) == 0) {
            dt = i;
            break;
        }
    }
    if (dt < 0) {
        ipg_format_error(err, err_size, "tensor '%s': unknown dtype %s", name,
                         ipg_json_format(dtype, vbuf, sizeof(vbuf)));
        return 2;
    }
    e->t.dtype = (ipg_st_dtype_t) dt;

    // shape
    if (shape->type != IPG_JSON_ARRAY) {
        ipg_format_error(err, err_size, "tensor '%s': shape %s is not an array", name,
                         ipg_json_format(shape, vbuf, sizeof(vbuf)));
        return 2;
    }
    if (shape->u.array.count > IPG_ST_MAX_DIMS) {
        ipg_format_error(err, err_size, "tensor '%s': shape has %zu dimensions, at most %d are supported", name,
                         shape->u.array.count, IPG_ST_MAX_DIMS);
        return 2;
    }
    e->t.n_dims = (int32_t) shape->u.array.count;
    int64_t numel = 1;
    bool overflow = false;
    for (int32_t i = 0; i < e->t.n_dims; i++) {
        const ipg_json_value_t * d = &shape->u.array.items[i];
        uint64_t dim;
        if (!st_get_u63(d, &dim)) {
            ipg_format_error(err, err_size, "tensor '%s': shape[%d] is %s, not a non-negative integer", name, (int) i,
                             ipg_json_format(d, vbuf, sizeof(vbuf)));
            return 2;
        }
        e->t.shape[i] = (int64_t) dim;
        // Keep multiplying after an overflow only to validate later dims.
        if (dim != 0 && numel > INT64_MAX / (int64_t) dim) {
            overflow = true;
        } else {
            numel *= (int64_t) dim;
        }
    }
    char sbuf[224];
    st_format_shape(sbuf, sizeof(sbuf), e->t.shape, e->t.n_dims);
    // A zero dimension makes the product 0 however big the others are.
    bool has_zero = false;
    for (int32_t i = 0; i < e->t.n_dims; i++) {
        has_zero = has_zero || e->t.shape[i] == 0;
    }
    if (has_zero) {
        numel = 0;
        overflow = false;
    }
    const size_t esize = ipg_st_dtypes[dt].size;
    if (overflow || numel > INT64_MAX / (int64_t) esize) {
        ipg_format_error(err, err_size, "tensor '%s': shape %s overflows (more than INT64_MAX bytes)", name, sbuf);
        return 2;
    }
    e->t.numel = numel;
    const uint64_t need = (uint64_t) numel * esize;

    // data_offsets
    uint64_t begin, end;
    if (offsets->type != IPG_JSON_ARRAY || offsets->u.array.count != 2 ||
        !st_get_u63(&offsets->u.array.items[0], &begin) || !st_get_u63(&offsets->u.array.items[1], &end)) {
        ipg_format_error(err, err_size, "tensor '%s': data_offsets %s must be [begin, end], two non-negative integers",
                         name, ipg_json_format(offsets, vbuf, sizeof(vbuf)));
        return 2;
    }
    if (begin > end) {
        ipg_format_error(err, err_size,
                         "tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] are reversed (begin > end)", name, begin,
                         end);
        return 2;
    }
    if (end - begin != need) {
        ipg_format_error(err, err_size,
                         "tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] are %" PRIu64
                         " bytes but %s shape %s needs %" PRIu64,
                         name, begin, end, end - begin, ipg_st_dtypes[dt].name, sbuf, need);
        return 2;
    }
    if (need > SIZE_MAX) {
        ipg_format_error(err, err_size, "tensor '%s': %" PRIu64 " bytes do not fit in memory", name, need);
        return 2;
    }
    e->begin = begin;
    e->end = end;
    e->t.nbytes = (size_t) need;
    return 0;
}

// Checks the 8-byte header length `n` of a file of `size` bytes (>= 8).
static int st_check_header_length(uint64_t n, uint64_t size, char * err, size_t err_size) {
    // File size first: for a truncated or foreign file it is the useful fact.
    if (n > size - 8) {
        ipg_format_error(err, err_size, "header length %" PRIu64 " exceeds the file size (%" PRIu64 " bytes)%s", n,
                         size, n > IPG_ST_MAX_HEADER ? " and the 100000000-byte limit" : "");
        return 2;
    }
    if (n > IPG_ST_MAX_HEADER) {
        ipg_format_error(err, err_size, "header length %" PRIu64 " exceeds the 100000000-byte limit", n);
        return 2;
    }
    if (n == 0) {
        ipg_format_error(err, err_size, "header length is 0 (not a safetensors file?)");
        return 2;
    }
    return 0;
}

static uint64_t st_read_u64le(const uint8_t * b) {
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) {
        n = (n << 8) | b[i];
    }
    return n;
}

// Validates the JSON header `hdr` (n bytes, length already checked) against a
// data buffer of `data_size` bytes and fills f's metadata and tensors. With
// `data` NULL (the buffer is mapped later) each tensor's data stays NULL and
// only its offset is set. On failure the caller frees f.
static int st_parse_header(ipg_st_file_t * f, const char * hdr, uint64_t n, const uint8_t * data, size_t data_size,
                           char * err, size_t err_size) {
    if (hdr[0] != '{') {
        ipg_format_error(err, err_size, "header does not start with '{' (not a safetensors file?)");
        return 2;
    }

    char jerr[256];
    ipg_json_doc_t * doc = NULL;
    if (ipg_json_parse(hdr, (size_t) n, &doc, jerr, sizeof(jerr)) != 0) {
        ipg_format_error(err, err_size, "header is not valid JSON: %s", jerr);
        return 2;
    }
    const ipg_json_value_t * root = ipg_json_root(doc);
    int rc = 0;
    st_entry_t * entries = NULL;
    size_t n_entries = 0;

    if (root->type != IPG_JSON_OBJECT) {
        // Unreachable after the '{' check, kept for a parser that changes.
        ipg_format_error(err, err_size, "header is not a JSON object");
        rc = 2;
        goto done;
    }
    if (root->u.object.count > (size_t) INT32_MAX) {
        ipg_format_error(err, err_size, "header has too many entries");
        rc = 2;
        goto done;
    }
    entries = calloc(root->u.object.count ? root->u.object.count : 1, sizeof(*entries));
    if (entries == NULL) {
        ipg_format_error(err, err_size, "out of memory reading the header");
        rc = 2;
        goto done;
    }

    for (size_t i = 0; i < root->u.object.count; i++) {
        const ipg_json_member_t * m = &root->u.object.members[i];
        if (m->key_len == strlen("__metadata__") && memcmp(m->key, "__metadata__", m->key_len) == 0) {
            rc = st_parse_metadata(&m->value, f, err, err_size);
            if (rc != 0) {
                goto done;
            }
            continue;
        }
        bool has_nul = false;
        if (m->key_len == 0) {
            ipg_format_error(err, err_size, "tensor at header byte %zu has an empty name", m->key_offset);
            rc = 2;
            goto done;
        }
        if (st_has_control(m->key, m->key_len)) {
            ipg_format_error(err, err_size, "tensor name at header byte %zu contains a control character",
                             m->key_offset);
            rc = 2;
            goto done;
        }
        char * name = st_strdup(m->key, m->key_len, &has_nul);
        if (name == NULL) {
            ipg_format_error(err, err_size, "out of memory reading the header");
            rc = 2;
            goto done;
        }
        st_entry_t * e = &entries[n_entries++];
        e->t.name = name;
        rc = st_parse_tensor(&m->value, e, err, err_size);
        if (rc != 0) {
            goto done;
        }
    }

    // Total claimed size first: a truncated file is the common failure and
    // deserves its own message rather than "outside the buffer".
    uint64_t total = 0;
    for (size_t i = 0; i < n_entries; i++) {
        uint64_t nb = entries[i].end - entries[i].begin;
        total = total > UINT64_MAX - nb ? UINT64_MAX : total + nb;
    }
    if (total > (uint64_t) data_size) {
        ipg_format_error(err, err_size,
                         "the data buffer is %zu bytes but the tensors need %" PRIu64 " (the file is truncated?)",
                         data_size, total);
        rc = 2;
        goto done;
    }

    qsort(entries, n_entries, sizeof(*entries), st_entry_cmp);
    uint64_t covered = 0;       // the tensors so far cover [0, covered)
    const char * last = NULL;   // the tensor that ends at `covered`
    for (size_t i = 0; i < n_entries; i++) {
        st_entry_t * e = &entries[i];
        if (e->end > (uint64_t) data_size) {
            ipg_format_error(err, err_size,
                             "tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64
                             "] lie outside the data buffer (%zu bytes)",
                             e->t.name, e->begin, e->end, data_size);
            rc = 2;
            goto done;
        }
        if (e->begin < covered) {
            ipg_format_error(err, err_size, "tensors '%s' and '%s' overlap at byte %" PRIu64 " of the data buffer",
                             last, e->t.name, e->begin);
            rc = 2;
            goto done;
        }
        if (e->begin > covered) {
            if (last != NULL) {
                ipg_format_error(err, err_size,
                                 "hole in the data buffer between byte %" PRIu64 " and %" PRIu64 " (after tensor '%s')",
                                 covered, e->begin, last);
            } else {
                ipg_format_error(err, err_size,
                                 "hole in the data buffer between byte 0 and %" PRIu64 " (before tensor '%s')",
                                 e->begin, e->t.name);
            }
            rc = 2;
            goto done;
        }
        covered = e->end;
        last = e->t.name;
        e->t.offset = (size_t) e->begin;
        e->t.data = data != NULL ? data + e->begin : NULL;
    }
    if (covered != (uint64_t) data_size) {
        ipg_format_error(err, err_size, "%" PRIu64 " unused bytes at the end of the data buffer (after %s%s%s)",
                         (uint64_t) data_size - covered, last ? "tensor '" : "the header", last ? last : "",
                         last ? "'" : "");
        rc = 2;
        goto done;
    }

    f->tensors = malloc((n_entries ? n_entries : 1) * sizeof(*f->tensors));
    if (f->tensors == NULL) {
        ipg_format_error(err, err_size, "out of memory reading the header");
        rc = 2;
        goto done;
    }
    for (size_t i = 0; i < n_entries; i++) {
        f->tensors[i] = entries[i].t;
        entries[i].t.name = NULL;   // moved
    }
    f->n_tensors = (int32_t) n_entries;

done:
    if (entries != NULL) {
        for (size_t i = 0; i < n_entries; i++) {
            free(entries[i].t.name);
        }
        free(entries);
    }
    ipg_json_free(doc);
    return rc;
}

int ipg_st_parse(const uint8_t * bytes, size_t size, ipg_st_file_t * out, char * err, size_t err_size) {
    if (err != NULL && err_size > 0) {
        err[0] = '\0';
    }
    if (out == NULL || (bytes == NULL && size > 0)) {
        ipg_format_error(err, err_size, "ipg_st_parse: invalid arguments");
        return 2;
    }
    memset(out, 0, sizeof(*out));
    out->file = malloc(size ? size : 1);
    if (out->file == NULL) {
        ipg_format_error(err, err_size, "out of memory copying %zu bytes", size);
        return 2;
    }
    if (size > 0) {
        memcpy(out->file, bytes, size);
    }
    out->file_size = size;
    int rc = 0;
    if (size < 8) {
        ipg_format_error(err, err_size, "file is %zu bytes, too short for the 8-byte header length", size);
        rc = 2;
    }
    uint64_t n = rc == 0 ? st_read_u64le(out->file) : 0;
    if (rc == 0) {
        rc = st_check_header_length(n, size, err, err_size);
    }
    if (rc == 0) {
        rc = st_parse_header(out, (const char *) out->file + 8, n, out->file + 8 + n, size - 8 - (size_t) n, err,
                             err_size);
    }
    if (rc != 0) {
        ipg_st_free(out);
    }
    return rc;
}

// Reads exactly `size` bytes at `offset`; false on an error or early end.
static bool st_pread_full(int fd, void * dst, size_t size, uint64_t offset) {
    uint8_t * p = dst;
    while (size > 0) {
        ssize_t got = pread(fd, p, size, (off_t) offset);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            return false;
        }
        p += got;
        size -= (size_t) got;
        offset += (uint64_t) got;
    }
    return true;
}

// The header is read and checked first; only a valid one gets the file
// mapped, so a huge file with a bad header costs two small reads.
static int st_load_fd(int fd, uint64_t size, ipg_st_file_t * out, char * err, size_t err_size) {
    uint8_t len8[8];
    if (size < 8) {
        ipg_format_error(err, err_size, "file is %" PRIu64 " bytes, too short for the 8-byte header length", size);
        return 2;
    }
    errno = 0;
    if (!st_pread_full(fd, len8, 8, 0)) {
        ipg_format_error(err, err_size, "cannot read the header length: %s", errno ? strerror(errno) : "early end");
        return 1;
    }
    const uint64_t n = st_read_u64le(len8);
    int rc = st_check_header_length(n, size, err, err_size);
    if (rc != 0) {
        return rc;
    }
    if (size > SIZE_MAX) {
        ipg_format_error(err, err_size, "%" PRIu64 " bytes do not fit in the address space", size);
        return 2;
    }
    char * hdr = malloc((size_t) n);
    if (hdr == NULL) {
        ipg_format_error(err, err_size, "out of memory reading the %" PRIu64 "-byte header", n);
        return 2;
    }
    errno = 0;
    if (!st_pread_full(fd, hdr, (size_t) n, 8)) {
        ipg_format_error(err, err_size, "cannot read the header: %s", errno ? strerror(errno) : "early end");
        free(hdr);
        return 1;
    }
    rc = st_parse_header(out, hdr, n, NULL, (size_t) (size - 8 - n), err, err_size);
    free(hdr);
    if (rc != 0) {
        return rc;
    }
    // Read-only and private: the weights are read once into the model's
    // host buffers, so only the pages being converted are resident.
    void * map = mmap(NULL, (size_t) size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        ipg_format_error(err, err_size, "cannot map %" PRIu64 " bytes: %s", size, strerror(errno));
        return 1;
    }
    out->file = map;
    out->file_size = (size_t) size;
    out->mapped = true;
    const uint8_t * data = out->file + 8 + n;
    for (int32_t i = 0; i < out->n_tensors; i++) {
        out->tensors[i].data = data + out->tensors[i].offset;
    }
    return 0;
}

int ipg_st_load(const char * path, ipg_st_file_t * out, char * err, size_t err_size) {
    if (err != NULL && err_size > 0) {
        err[0] = '\0';
    }
    if (out == NULL || path == NULL) {
        ipg_format_error(err, err_size, "ipg_st_load: invalid arguments");
        return 1;
    }
    memset(out, 0, sizeof(*out));
    uint64_t size;
    int fd = ipg_file_open(path, SIZE_MAX, &size, err, err_size);
    if (fd < 0) {
        return 1;
    }
    // Every message starts with the path ("path: what"), as content errors
    // alone do not say which file.
    char msg[1024];
    msg[0] = '\0';
    int rc = st_load_fd(fd, size, out, msg, sizeof(msg));
    close(fd);
    if (rc != 0) {
        ipg_format_error_prefixed(err, err_size, path, "%s", msg);
        ipg_st_free(out);
    }
    return rc;
}

const ipg_st_tensor_t * ipg_st_find(const ipg_st_file_t * f, const char * name) {
    if (f == NULL || name == NULL) {
        return NULL;
    }
    for (int32_t i = 0; i < f->n_tensors; i++) {
        if (strcmp(f->tensors[i].name, name) == 0) {
            return &f->tensors[i];
        }
    }
    return NULL;
}

const char * ipg_st_meta(const ipg_st_file_t * f, const char * key) {
    if (f == NULL || key == NULL) {
        return NULL;
    }
    for (int32_t i = 0; i < f->n_meta; i++) {
        if (strcmp(f->meta[i].key, key) == 0) {
            return f->meta[i].value;
        }
    }
    return NULL;
}

float ipg_half_to_float(uint16_t h) {
    const uint32_t sign = (uint32_t) (h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    uint32_t bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13);   // inf / NaN (payload kept)
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (man << 13);   // normal: rebias 15 -> 127
    } else if (man == 0) {
        bits = sign;   // +-0
    } else {
        // Subnormal half: normalise into a float exponent.
        exp = 113;
        while ((man & 0x400) == 0) {
            man <<= 1;
            exp--;
        }
        bits = sign | (exp << 23) | ((man & 0x3ff) << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof(f));
    return f;
}

// ---- writing ----------------------------------------------------------------

typedef struct {
    char * s;
    size_t len, cap;
    bool failed;
} st_buf_t;

static void st_buf_put(void * ud, const char * bytes, size_t n) {
    st_buf_t * b = ud;
    if (b->failed) {
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 1024;
        while (b->len + n + 1 > ncap) {
            ncap *= 2;
        }
        char * ns = realloc(b->s, ncap);
        if (ns == NULL) {
            b->failed = true;
            return;
        }
        b->s = ns;
        b->cap = ncap;
    }
    memcpy(b->s + b->len, bytes, n);
    b->len += n;
}

static void st_buf_str(st_buf_t * b, const char * s) { st_buf_put(b, s, strlen(s)); }

static void st_buf_json(st_buf_t * b, const char * s) { ipg_json_write_string(s, strlen(s), false, st_buf_put, b); }

uint8_t * ipg_st_write_header(const char * const * meta, int32_t n_meta, const ipg_st_entry_t * entries,
                              int32_t n_entries, size_t * size) {
    st_buf_t b = { NULL, 0, 0, false };
    st_buf_put(&b, "\0\0\0\0\0\0\0\0", 8);   // the length, filled in below
    st_buf_str(&b, "{");
    if (n_meta > 0) {
        st_buf_str(&b, "\"__metadata__\": {");
        for (int32_t i = 0; i < n_meta; i++) {
            st_buf_str(&b, i ? ", " : "");
            st_buf_json(&b, meta[2 * i]);
            st_buf_str(&b, ": ");
            st_buf_json(&b, meta[2 * i + 1]);
        }
        st_buf_str(&b, "}");
    }
    char num[96];
    for (int32_t t = 0; t < n_entries; t++) {
        const ipg_st_entry_t * e = &entries[t];
        st_buf_str(&b, t || n_meta > 0 ? ", " : "");
        st_buf_json(&b, e->name);
        st_buf_str(&b, ": {\"dtype\": ");
        st_buf_json(&b, e->dtype);
        st_buf_str(&b, ", \"shape\": [");
        for (int32_t d = 0; d < e->n_dims; d++) {
            snprintf(num, sizeof(num), "%s%" PRId64, d ? ", " : "", e->shape[d]);
            st_buf_str(&b, num);
        }
        snprintf(num, sizeof(num), "], \"data_offsets\": [%" PRIu64 ", %" PRIu64 "]}", e->begin, e->end);
        st_buf_str(&b, num);
    }
    st_buf_str(&b, "}");
    while (!b.failed && (b.len - 8) % 8 != 0) {
        st_buf_str(&b, " ");
    }
    if (b.failed) {
        free(b.s);
        return NULL;
    }
    const uint64_t header_len = b.len - 8;
    for (int i = 0; i < 8; i++) {
        b.s[i] = (char) (uint8_t) (header_len >> (8 * i));
    }
    *size = b.len;
    return (uint8_t *) b.s;
}
