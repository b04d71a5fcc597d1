// SPDX-License-Identifier: LGPL-2.1-or-later
// assign.c: IoU and optimal assignment with a cost limit; see assign.h.

#include "assign.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

double ipg_track_iou(const ipg_track_box_t * a, const ipg_track_box_t * b) {
    double iw = fmin(a->x2, b->x2) - fmax(a->x1, b->x1);
    double ih = fmin(a->y2, b->y2) - fmax(a->y1, b->y1);
    double area_a = ((double) a->x2 - a->x1) * ((double) a->y2 - a->y1);
    double area_b = ((double) b->x2 - b->x1) * ((double) b->y2 - b->y1);
    if (iw <= 0.0 || ih <= 0.0 || area_a <= 0.0 || area_b <= 0.0) {
        return 0.0;
    }
    double inter = iw * ih;
    return inter / (area_a + area_b - inter);
}

// Entry (i, j), 0-based, of the extended square matrix described in assign.h.
// Forbidden pairs cost more than leaving both sides unmatched (limit).
static double extended_cost(const double * cost, int32_t rows, int32_t cols, double limit, double forbidden, int32_t i,
                            int32_t j) {
    if (i < rows && j < cols) {
        double c = cost[(size_t) i * cols + j];
        return (c <= limit) ? c : forbidden;   // NaN compares false: forbidden
    }
    if (i < rows || j < cols) {
        return limit / 2.0;
    }
    return 0.0;
}

int ipg_track_assign(const double * cost, int32_t rows, int32_t cols, double limit, int32_t * row_match,
                     int32_t * col_match) {
    for (int32_t i = 0; i < rows; i++) {
        row_match[i] = -1;
    }
    for (int32_t j = 0; j < cols; j++) {
        col_match[j] = -1;
    }
    if (rows == 0 || cols == 0) {
        return 0;
    }
    if (!(limit >= 0.0) || !isfinite(limit)) {
        return 0;   // nothing may be matched (see assign.h)
    }

    // The Hungarian method with row/column potentials (1-based arrays, the
    // extra column 0 is the virtual start), as in e-maxx's formulation.
    const int32_t n = rows + cols;
    const double forbidden = limit + 1.0;
    double * u = calloc((size_t) n + 1, sizeof *u);
    double * v = calloc((size_t) n + 1, sizeof *v);
    double * minv = calloc((size_t) n + 1, sizeof *minv);
    int32_t * p = calloc((size_t) n + 1, sizeof *p);   // p[j]: row matched to column j
    int32_t * way = calloc((size_t) n + 1, sizeof *way);
    bool * used = calloc((size_t) n + 1, sizeof *used);
    int ret = -1;
    if (!u || !v || !minv || !p || !way || !used) {
        goto done;
    }

    for (int32_t i = 1; i <= n; i++) {
        p[0] = i;
        int32_t j0 = 0;
        for (int32_t j = 0; j <= n; j++) {
            minv[j] = DBL_MAX;
            used[j] = false;
        }
        do {
            used[j0] = true;
            int32_t i0 = p[j0], j1 = 0;
            double delta = DBL_MAX;
            for (int32_t j = 1; j <= n; j++) {
                if (used[j]) {
                    continue;
                }
                double cur = extended_cost(cost, rows, cols, limit, forbidden, i0 - 1, j - 1) - u[i0] - v[j];
                if (cur < minv[j]) {
                    minv[j] = cur;
                    way[j] = j0;
                }
                if (minv[j] < delta) {
                    delta = minv[j];
                    j1 = j;
                }
            }
            for (int32_t j = 0; j <= n; j++) {
                if (used[j]) {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
        } while (p[j0] != 0);
        do {
            int32_t j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
        } while (j0 != 0);
    }

    for (int32_t j = 1; j <= cols; j++) {
        int32_t i = p[j] - 1;
        // Real pairs only, and never a forbidden one (a tie at the limit
        // may still be matched, as in ByteTrack's cost <= thresh filter).
        if (i >= 0 && i < rows && cost[(size_t) i * cols + (j - 1)] <= limit) {
            row_match[i] = j - 1;
            col_match[j - 1] = i;
        }
    }
    ret = 0;

done:
    free(u);
    free(v);
    free(minv);
    free(p);
    free(way);
    free(used);
    return ret;
}
