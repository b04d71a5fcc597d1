// SPDX-License-Identifier: LGPL-2.1-or-later
// fuzz-image.c: libFuzzer target for the CLI's image decoders (JPEG through
// TurboJPEG, PNG through libpng, PPM/PGM): cli_image_decode. The pixel limit
// is lowered to 1024 x 1024 so that a declared size costs little time.
#include "image-io.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    static int init;
    if (!init) {
        if (cli_image_set_max_pixels("1048576", NULL, 0) != 0) {
            abort();
        }
        init = 1;
    }
    char err[1024];
    cli_image_t img;
    if (cli_image_decode(data, size, "fuzz", &img, err, sizeof(err)) == 0) {
        if (img.width <= 0 || img.height <= 0 || img.stride != 3 * img.width || img.data == NULL) {
            abort();
        }
        cli_image_free(&img);
    } else if (err[0] == '\0') {
        abort();
    }
    return 0;
}
