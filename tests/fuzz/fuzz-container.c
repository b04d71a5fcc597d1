// SPDX-License-Identifier: LGPL-2.1-or-later
// fuzz-container.c: libFuzzer target for the safetensors container
// (ipg_st_parse). An accepted file must keep the documented invariants:
// every tensor inside the data buffer, sorted, contiguous.
#include "safetensors.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    char err[512];
    ipg_st_file_t f;
    if (ipg_st_parse(data, size, &f, err, sizeof(err)) != 0) {
        if (err[0] == '\0') {
            abort();
        }
        return 0;
    }
    const uint8_t * end = f.file + f.file_size;
    for (int32_t i = 0; i < f.n_tensors; i++) {
        const ipg_st_tensor_t * t = &f.tensors[i];
        if (t->data < f.file || t->nbytes > (size_t) (end - t->data) ||
            (i > 0 && f.tensors[i - 1].data + f.tensors[i - 1].nbytes != t->data) || ipg_st_find(&f, t->name) == NULL) {
            abort();
        }
    }
    for (int32_t i = 0; i < f.n_meta; i++) {
        if (ipg_st_meta(&f, f.meta[i].key) == NULL) {
            abort();
        }
    }
    ipg_st_free(&f);
    return 0;
}
