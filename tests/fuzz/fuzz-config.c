// SPDX-License-Identifier: LGPL-2.1-or-later
// fuzz-config.c: libFuzzer target for the config and labels parsers
// (ipg/config.c); every input goes through both.
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    char err[512];
    ipg_config_t cfg;
    if (ipg_config_parse((const char *) data, size, &cfg, err, sizeof(err)) != 0 && err[0] == '\0') {
        abort();
    }
    char ** labels = NULL;
    int32_t n = ipg_labels_parse((const char *) data, size, &labels, err, sizeof(err));
    if (n < 0 && err[0] == '\0') {
        abort();
    }
    if (n >= 0) {
        free(labels);   // one block
    }
    return 0;
}
