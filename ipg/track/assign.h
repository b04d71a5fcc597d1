// SPDX-License-Identifier: LGPL-2.1-or-later
//
// assign.h: optimal one-to-one assignment with a cost limit, and the IoU
// cost between boxes.
//
// ipg_track_assign() solves what ByteTrack's linear_assignment() asks of
// lap.lapjv(cost, extend_cost=True, cost_limit=limit): the set of pairs
// (row, column) with the least total cost, where any row or column may also
// stay unmatched at a price of limit / 2. A pair costing more than limit is
// therefore never worth making, and the matching maximises the number of
// cheap pairs first. It is solved exactly (Hungarian method with potentials,
// O(n^3) in n = rows + cols) on the (rows + cols)-square extended matrix:
//
//     [ cost           | limit/2 ... ]
//     [ limit/2 ...    | 0 ...       ]
//
// A greedy matching (cheapest pair first) is not equivalent: with costs
// [[0.1, 0.2], [0.15, 0.9]] and limit 0.8 it takes 0.1 and leaves row 1
// unmatched, where the optimum matches both rows (0.2 + 0.15).

#ifndef IPG_TRACK_ASSIGN_H
#define IPG_TRACK_ASSIGN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// An axis-aligned box, right/bottom exclusive, in any unit.
typedef struct {
    float x1, y1, x2, y2;
} ipg_track_box_t;

// Intersection over union of two boxes; 0 when either is empty.
double ipg_track_iou(const ipg_track_box_t * a, const ipg_track_box_t * b);

// cost: rows x cols, row-major; entries above limit (or NaN) are
// forbidden pairs. limit must be finite and >= 0, otherwise nothing is
// matched. Fills row_match[rows] with the matched column or -1 and
// col_match[cols] with the matched row or -1. Returns 0, or -1 when memory
// for the (rows + cols + 1)-sized work arrays could not be allocated (the
// outputs are then all -1).
int ipg_track_assign(const double * cost, int32_t rows, int32_t cols, double limit, int32_t * row_match,
                     int32_t * col_match);

#ifdef __cplusplus
}
#endif

#endif
