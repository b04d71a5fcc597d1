// SPDX-License-Identifier: LGPL-2.1-or-later
// fuzz-loader.c: libFuzzer target for the whole model loader from memory
// (container, metadata, config, labels, every arch binder, BatchNorm
// folding): ipg_model_load_memory. No OpenCL is touched.
#include "ipg.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size);

static void quiet(ipg_log_level_t level, const char * msg, void * user_data) {
    (void) level;
    (void) msg;
    (void) user_data;
}

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    static int init;
    if (!init) {
        ipg_log_set(quiet, NULL);
        init = 1;
    }
    char err[1024];
    ipg_model_t * m = NULL;
    if (ipg_model_load_memory(data, size, "fuzz", &m, err, sizeof(err)) == IPG_OK) {
        int32_t w = 0, h = 0;
        ipg_model_input_size(m, &w, &h);
        for (int32_t i = 0; i < ipg_model_num_labels(m); i++) {
            if (ipg_model_label(m, i) == NULL) {
                abort();
            }
        }
        ipg_model_free(m);
    } else if (err[0] == '\0' || m != NULL) {
        abort();
    }
    return 0;
}
