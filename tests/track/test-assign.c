// SPDX-License-Identifier: LGPL-2.1-or-later
// test-assign.c: IoU, and the optimal assignment with a cost limit on
// crafted matrices (greedy would be wrong on some) and against brute force
// on random ones.
#include "assign.h"
#include "check.h"

#include <stdint.h>
#include <stdlib.h>

static void test_iou(void) {
    ipg_track_box_t a = { 0, 0, 10, 10 }, b = { 5, 0, 15, 10 }, c = { 20, 20, 30, 30 }, e = { 3, 3, 3, 9 };
    check_near(ipg_track_iou(&a, &b), 50.0 / 150.0, 1e-12, "IoU of half-overlapping squares");
    check_near(ipg_track_iou(&a, &a), 1.0, 1e-12, "IoU of a box with itself");
    check_near(ipg_track_iou(&a, &c), 0.0, 0.0, "IoU of disjoint boxes");
    check_near(ipg_track_iou(&a, &e), 0.0, 0.0, "IoU with an empty box");
}

// Greedy (cheapest pair first) takes (0,0) = 0.1 and then (1,1) = 0.9 is
// over the limit: one match. The optimum matches both rows crosswise.
static void test_greedy_is_wrong(void) {
    const double cost[] = { 0.1, 0.2, 0.15, 0.9 };
    int32_t rm[2], cm[2];
    check_int(ipg_track_assign(cost, 2, 2, 0.8, rm, cm), 0, "assign succeeds");
    check_int(rm[0], 1, "row 0 takes column 1, not its cheapest");
    check_int(rm[1], 0, "row 1 takes column 0");
    check_int(cm[0], 1, "column 0 is row 1's");
    check_int(cm[1], 0, "column 1 is row 0's");

    // Without a limit in play greedy also loses on the total: 1 + 10 > 2 + 2.
    const double cost2[] = { 1, 2, 2, 10 };
    ipg_track_assign(cost2, 2, 2, 100.0, rm, cm);
    check(rm[0] == 1 && rm[1] == 0, "least total cost, not cheapest first");
}

static void test_limits(void) {
    int32_t rm[3], cm[3];
    const double over[] = { 0.9, 0.95, 0.99, 0.85 };
    ipg_track_assign(over, 2, 2, 0.8, rm, cm);
    check(rm[0] == -1 && rm[1] == -1 && cm[0] == -1 && cm[1] == -1, "nothing matched above the limit");

    // Two cheap pairs beat one cheaper pair plus an unmatched row and column.
    const double forbidden[] = { NAN, 0.3, 0.2, NAN };
    ipg_track_assign(forbidden, 2, 2, 0.8, rm, cm);
    check(rm[0] == 1 && rm[1] == 0, "NaN entries are never matched");

    const double wide[] = { 0.5, 0.1, 0.7 };   // 1 x 3
    ipg_track_assign(wide, 1, 3, 0.8, rm, cm);
    check(rm[0] == 1 && cm[0] == -1 && cm[1] == 0 && cm[2] == -1, "one row, three columns");

    const double tall[] = { 0.6, 0.2, 0.9 };   // 3 x 1
    ipg_track_assign(tall, 3, 1, 0.8, rm, cm);
    check(cm[0] == 1 && rm[0] == -1 && rm[1] == 0 && rm[2] == -1, "three rows, one column");

    check_int(ipg_track_assign(NULL, 0, 3, 0.8, rm, cm), 0, "no rows");
    check(cm[0] == -1 && cm[1] == -1 && cm[2] == -1, "no rows: every column unmatched");
}

// The objective assign.h promises: matched costs plus limit/2 for every
// unmatched row and column.
static double objective(const double * cost, int rows, int cols, double limit, const int32_t * rm) {
    double total = 0.0;
    int matched = 0;
    for (int r = 0; r < rows; r++) {
        if (rm[r] >= 0) {
            total += cost[r * cols + rm[r]];
            matched++;
        }
    }
    return total + (rows + cols - 2 * matched) * limit / 2.0;
}

static double best;

static void brute(const double * cost, int rows, int cols, double limit, int r, int32_t * rm, unsigned used) {
    if (r == rows) {
        double o = objective(cost, rows, cols, limit, rm);
        if (o < best) {
            best = o;
        }
        return;
    }
    rm[r] = -1;
    brute(cost, rows, cols, limit, r + 1, rm, used);
    for (int c = 0; c < cols; c++) {
        if (!(used & (1u << c)) && cost[r * cols + c] <= limit) {
            rm[r] = c;
            brute(cost, rows, cols, limit, r + 1, rm, used | (1u << c));
        }
    }
    rm[r] = -1;
}

static void test_against_brute_force(void) {
    uint32_t s = 12345;
    int bad = 0, cases = 0;
    for (int k = 0; k < 2000; k++) {
        s = s * 1664525u + 1013904223u;
        int rows = (int) (s >> 28) % 6, cols = (int) (s >> 24) % 6;
        double cost[36];
        for (int i = 0; i < rows * cols; i++) {
            s = s * 1664525u + 1013904223u;
            cost[i] = (double) (s >> 8) / (double) (1u << 24);
        }
        double limit = (k % 3 == 0) ? 0.8 : (k % 3 == 1) ? 0.3 : 1.5;
        int32_t rm[6], cm[6], tmp[6];
        ipg_track_assign(cost, rows, cols, limit, rm, cm);
        best = 1e300;
        brute(cost, rows, cols, limit, 0, tmp, 0);
        double got = objective(cost, rows, cols, limit, rm);
        bool consistent = true;
        for (int r = 0; r < rows; r++) {
            if (rm[r] >= 0 && (cm[rm[r]] != r || cost[r * cols + rm[r]] > limit)) {
                consistent = false;
            }
        }
        cases++;
        if (!consistent || fabs(got - best) > 1e-9) {
            bad++;
        }
    }
    check_int(bad, 0, "random matrices: optimal and consistent in every case");
    check_int(cases, 2000, "random matrices tried");
}

int main(void) {
    test_iou();
    test_greedy_is_wrong();
    test_limits();
    test_against_brute_force();
    return check_summary();
}
