// SPDX-License-Identifier: LGPL-2.1-or-later
//
// test-image-io: decodes IMAGE with tools/cli/image-io.c and writes it as a
// binary PPM (P6) to OUT, so that tests/cli/test_image_io.py can compare the
// pixels with Pillow's. On failure prints the decoder's message on stderr and
// exits 1. Usage: test-image-io IMAGE OUT.ppm

#include "image-io.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char ** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s IMAGE OUT.ppm\n", argv[0]);
        return 2;
    }
    char err[1024];
    cli_image_t img;
    if (cli_image_load(argv[1], &img, err, sizeof err) != 0) {
        fprintf(stderr, "test-image-io: %s\n", err);
        return 1;
    }
    if (img.stride != 3 * img.width || !img.data) {
        fprintf(stderr, "test-image-io: %s: bad stride %d for width %d\n", argv[1], (int) img.stride, (int) img.width);
        cli_image_free(&img);
        return 1;
    }
    FILE * f = fopen(argv[2], "wb");
    if (!f) {
        perror(argv[2]);
        cli_image_free(&img);
        return 1;
    }
    fprintf(f, "P6\n%d %d\n255\n", (int) img.width, (int) img.height);
    size_t n = (size_t) img.stride * (size_t) img.height;
    int ok = fwrite(img.data, 1, n, f) == n;
    ok = (fclose(f) == 0) && ok;
    cli_image_free(&img);
    cli_image_free(&img);   // a second free must be harmless
    if (!ok) {
        fprintf(stderr, "test-image-io: %s: write failed\n", argv[2]);
        return 1;
    }
    return 0;
}
