// SPDX-License-Identifier: LGPL-2.1-or-later
// fuzz-json.c: libFuzzer target for the JSON parser (ipg/json.c). Any input
// must parse or be refused with a message; nothing may crash or leak.
#include "json.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    char err[256];
    ipg_json_doc_t * doc = NULL;
    if (ipg_json_parse((const char *) data, size, &doc, err, sizeof(err)) == 0) {
        char buf[96];
        ipg_json_format(ipg_json_root(doc), buf, sizeof(buf));
        ipg_json_free(doc);
    } else if (err[0] == '\0') {
        abort();   // a refusal always says why
    }
    return 0;
}
