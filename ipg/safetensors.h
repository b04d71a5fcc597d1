// SPDX-License-Identifier: LGPL-2.1-or-later
// safetensors.h: a distrustful reader of the safetensors container, and the
// header writer that the tools and tests share.
//
// Layout: u64 little-endian N, then N bytes of JSON header, then the data
// buffer. The header is an object: "__metadata__" (string -> string) plus one
// entry per tensor: {"dtype": "F32"|"F16"|..., "shape": [..], "data_offsets": [begin, end]}
// with offsets relative to the data buffer. The reader checks: N <= file size
// - 8 and N <= 100 MB; the header is valid JSON starting with '{'; every
// tensor's dtype is known, every dimension >= 0 and the element count does not
// overflow; end - begin == numel * dtype size; offsets lie inside the buffer;
// tensors neither overlap nor leave holes and cover the buffer exactly; names
// are unique; metadata values are strings.
#ifndef IPG_SAFETENSORS_H
#define IPG_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IPG_ST_MAX_DIMS 8

typedef enum {
    IPG_ST_F32 = 0,
    IPG_ST_F16,
    IPG_ST_BF16,
    IPG_ST_F64,
    IPG_ST_I64,
    IPG_ST_I32,
    IPG_ST_I16,
    IPG_ST_I8,
    IPG_ST_U8,
    IPG_ST_BOOL,
} ipg_st_dtype_t;

typedef struct {
    char * name;
    ipg_st_dtype_t dtype;
    int32_t n_dims;
    int64_t shape[IPG_ST_MAX_DIMS];
    int64_t numel;
    const uint8_t * data;   // points into the file's data buffer
    size_t offset;          // data's offset in that buffer (data_offsets[0])
    size_t nbytes;
} ipg_st_tensor_t;

typedef struct {
    char * key;
    char * value;
} ipg_st_meta_t;

typedef struct {
    uint8_t * file;   // whole file: a copy (ipg_st_parse) or a read-only map (ipg_st_load); owned
    size_t file_size;
    bool mapped;   // file is mmap'd (munmap'd by ipg_st_free)
    int32_t n_tensors;
    ipg_st_tensor_t * tensors;   // sorted by data offset
    int32_t n_meta;
    ipg_st_meta_t * meta;
} ipg_st_file_t;

// Reads and validates a file. Returns 0 on success; otherwise non-zero, and
// `err` holds a sentence naming the problem (tensor name, field, offset).
// Returns 1 for I/O errors (missing, unreadable or special file), 2 for
// malformed content. Only the length and the JSON header are read; once they
// pass, the file is mapped read-only (mmap) and the tensors point into the
// map, so a huge file with a bad header is refused after two small reads and
// a good one costs only the pages read. As with any mapping, the file must not
// be truncated while loaded (the reader would get SIGBUS).
int ipg_st_load(const char * path, ipg_st_file_t * out, char * err, size_t err_size);
// Same on a memory block (copied). For tests and fuzzing.
int ipg_st_parse(const uint8_t * bytes, size_t size, ipg_st_file_t * out, char * err, size_t err_size);
void ipg_st_free(ipg_st_file_t * f);

const ipg_st_tensor_t * ipg_st_find(const ipg_st_file_t * f, const char * name);
// For a mapped file: hands back the pages of tensor t once it has been read,
// so that a loader converting tensor by tensor keeps one tensor's pages
// resident, not the whole file's. The tensor stays readable (the pages are
// read again from the file). Nothing happens for a file held in memory.
void ipg_st_release_pages(const ipg_st_file_t * f, const ipg_st_tensor_t * t);
const char * ipg_st_meta(const ipg_st_file_t * f, const char * key);   // NULL if absent
const char * ipg_st_dtype_name(ipg_st_dtype_t dtype);

// ---- writing ----------------------------------------------------------------

// One tensor entry of a header being written.
typedef struct {
    const char * name;
    const char * dtype;   // "F32", "F16", ... (written as given)
    int32_t n_dims;
    const int64_t * shape;   // n_dims dimensions
    uint64_t begin, end;     // data_offsets, relative to the data buffer
} ipg_st_entry_t;

// The one safetensors writer: returns a malloc'd buffer holding the u64
// little-endian header length and the JSON header
//     {"__metadata__": {"K": "V", ...}, "NAME": {"dtype": "F32", "shape": [2, 3],
//      "data_offsets": [0, 24]}, ...}
// in the order given, padded with spaces to a multiple of 8 bytes (what
// tools/ipgnet/modelfile.py writes, there with compact separators). `meta`
// holds n_meta key, value pairs
// (no "__metadata__" when n_meta is 0). The caller appends the data buffer.
// *size receives 8 + the header length. NULL when out of memory.
uint8_t * ipg_st_write_header(const char * const * meta, int32_t n_meta, const ipg_st_entry_t * entries,
                              int32_t n_entries, size_t * size);

// IEEE half -> float.
float ipg_half_to_float(uint16_t h);

#endif   // IPG_SAFETENSORS_H
