// SPDX-License-Identifier: LGPL-2.1-or-later
//
// test-stage-dump: feeds tools/cli/stage-dump.c a fixed set of fake stages
// (as ipg_ctx_set_stage_callback would) and writes them to OUT; the values
// are checked by tests/cli/test_stage_dump.py. Usage: test-stage-dump OUT

#include "stage-dump.h"

#include <stdio.h>
#include <stdlib.h>

// Stage k, element i has the value k * 1000 + i (+ 0.25 to exercise the
// fraction); see test_stage_dump.py.
static void feed(stage_dump_t * d, const char * name, int k, int c, int h, int w) {
    size_t n = (size_t) c * h * w;
    float * v = malloc((n ? n : 1) * sizeof *v);
    if (!v) exit(1);
    for (size_t i = 0; i < n; i++) v[i] = (float) (k * 1000 + (int) i) + 0.25f;
    stage_dump_callback(name, v, c, h, w, d);
    free(v);   // the dump must have copied it
}

int main(int argc, char ** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUT\n", argv[0]);
        return 2;
    }
    stage_dump_t * d = stage_dump_new();
    if (!d) return 1;
    feed(d, "input", 0, 3, 4, 5);
    feed(d, "pyramid.i4", 1, 3, 2, 2);
    feed(d, "backbone.c3", 2, 7, 3, 1);
    feed(d, "odd \"name\" \\ \n\t\x01 é", 3, 1, 1, 2);
    feed(d, "pyramid.i4", 4, 3, 2, 2);   // again: keeps position, new data
    feed(d, "head.cls.p3", 5, 9, 1, 1);
    if (stage_dump_count(d) != 5) {
        fprintf(stderr, "test-stage-dump: count %zu, expected 5\n", stage_dump_count(d));
        return 1;
    }
    char err[512];
    if (stage_dump_write(d, argv[1], err, sizeof err) != 0) {
        fprintf(stderr, "test-stage-dump: %s\n", err);
        stage_dump_free(d);
        return 1;
    }
    // Writing into a missing directory fails with a message.
    if (stage_dump_write(d, "/nonexistent-dir/x.safetensors", err, sizeof err) == 0 || !err[0]) {
        fprintf(stderr, "test-stage-dump: write into a missing directory did not fail\n");
        stage_dump_free(d);
        return 1;
    }
    printf("expected failure: %s\n", err);
    stage_dump_free(d);
    return 0;
}
