// SPDX-License-Identifier: LGPL-2.1-or-later
//
// stage-dump.h: collects the stage tensors that ipg_ctx_set_stage_callback()
// delivers and writes them to a safetensors file, for debugging and parity
// checks against the Python reference (ipgnet-detect --dump-stages FILE).
//
//     stage_dump_t * dump = stage_dump_new();
//     ipg_ctx_set_stage_callback(ctx, stage_dump_callback, dump);
//     ... ipg_ctx_run(...) ...
//     stage_dump_write(dump, "stages.safetensors", err, sizeof err);
//     stage_dump_free(dump);
//
// File layout: u64 little-endian header length, a JSON header padded with
// spaces to a multiple of 8 bytes, then the tensors' float32 data back to
// back in arrival order. Each tensor is {"dtype":"F32","shape":[C,H,W],
// "data_offsets":[begin,end]}; "__metadata__" holds {"order": "<JSON array of
// the stage names in the order they first arrived, as a string>"}. A stage
// delivered twice keeps its first position and its latest data.

#ifndef IPGNET_STAGE_DUMP_H
#define IPGNET_STAGE_DUMP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct stage_dump stage_dump_t;

stage_dump_t * stage_dump_new(void);
void stage_dump_free(stage_dump_t * dump);

// Has the signature of ipg_stage_fn; `user_data` is the stage_dump_t. Copies
// the tensor. An allocation failure or a bad shape is remembered and reported
// by stage_dump_write().
void stage_dump_callback(const char * name, const float * data, int32_t channels, int32_t height, int32_t width,
                         void * user_data);

// Number of distinct stages collected so far.
size_t stage_dump_count(const stage_dump_t * dump);

// Writes the file. Returns 0 on success; otherwise non-zero with a message in
// `err` (naming the file or the problem).
int stage_dump_write(const stage_dump_t * dump, const char * path, char * err, size_t err_size);

#ifdef __cplusplus
}
#endif

#endif   // IPGNET_STAGE_DUMP_H
