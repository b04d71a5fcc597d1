// SPDX-License-Identifier: LGPL-2.1-or-later
// test-kalman.c: the Kalman filter's init, predict and update against values
// worked out by hand, and a constant-velocity track it must lock onto.
#include "check.h"
#include "kalman.h"

// init, predict, update, predict on (cx, cy, w, h) = (100, 50, 20, 40),
// computed by hand in exact fractions (comments).
static void test_hand_computed(void) {
    ipg_track_kalman_t kf;
    const double z0[4] = { 100.0, 50.0, 20.0, 40.0 };
    ipg_track_kalman_init(&kf, z0);
    // cx scales with w = 20: std 2 * 20/20 = 2 and 10 * 20/160 = 1.25
    check_near(kf.cov[0][0], 4.0, 1e-12, "init var(cx)");
    check_near(kf.cov[0][2], 1.5625, 1e-12, "init var(vcx)");
    // cy scales with h = 40: std 4 and 2.5
    check_near(kf.cov[1][0], 16.0, 1e-12, "init var(cy)");
    check_near(kf.cov[1][2], 6.25, 1e-12, "init var(vcy)");
    check_near(kf.cov[3][0], 16.0, 1e-12, "init var(h)");
    check_near(kf.vel[0], 0.0, 0.0, "init velocity is zero");

    ipg_track_kalman_predict(&kf);
    // a = 4 + 2*0 + 1.5625 + 1^2, b = 0 + 1.5625, c = 1.5625 + 0.125^2
    check_near(kf.cov[0][0], 6.5625, 1e-12, "predict var(cx)");
    check_near(kf.cov[0][1], 1.5625, 1e-12, "predict cov(cx, vcx)");
    check_near(kf.cov[0][2], 1.578125, 1e-12, "predict var(vcx)");
    // a = 16 + 6.25 + 2^2, b = 6.25, c = 6.25 + 0.25^2
    check_near(kf.cov[1][0], 26.25, 1e-12, "predict var(cy)");
    check_near(kf.cov[1][2], 6.3125, 1e-12, "predict var(vcy)");
    check_near(kf.pos[0], 100.0, 1e-12, "predict keeps a still box");

    const double z1[4] = { 104.0, 50.0, 20.0, 40.0 };
    ipg_track_kalman_update(&kf, z1);
    // s = 6.5625 + 1 = 121/16, gains 105/121 and 25/121, innovation 4
    check_near(kf.pos[0], 100.0 + 420.0 / 121.0, 1e-12, "update cx");
    check_near(kf.vel[0], 100.0 / 121.0, 1e-12, "update vcx");
    check_near(kf.cov[0][0], 105.0 / 121.0, 1e-12, "update var(cx)");
    check_near(kf.cov[0][1], 25.0 / 121.0, 1e-12, "update cov(cx, vcx)");
    check_near(kf.cov[0][2], 1.578125 - 625.0 / 1936.0, 1e-12, "update var(vcx)");
    check_near(kf.pos[1], 50.0, 1e-12, "update cy (no innovation)");
    check_near(kf.vel[1], 0.0, 1e-12, "update vcy (no innovation)");

    ipg_track_kalman_predict(&kf);
    check_near(kf.pos[0], 100.0 + 520.0 / 121.0, 1e-12, "second predict moves by the velocity");
    // a + 2b + c + 1 with the updated (a, b, c); b is no longer zero here.
    check_near(kf.cov[0][0], 105.0 / 121.0 + 50.0 / 121.0 + 1.578125 - 625.0 / 1936.0 + 1.0, 1e-12,
               "second predict var(cx)");
    check_near(kf.cov[0][1], 25.0 / 121.0 + 1.578125 - 625.0 / 1936.0, 1e-12, "second predict cov(cx, vcx)");
}

// A box moving 3 px right and 1 px down per frame: the velocity converges
// and a prediction lands on the next position.
static void test_constant_velocity(void) {
    ipg_track_kalman_t kf;
    double z[4] = { 50.0, 60.0, 30.0, 30.0 };
    ipg_track_kalman_init(&kf, z);
    for (int i = 1; i <= 30; i++) {
        z[0] += 3.0;
        z[1] += 1.0;
        ipg_track_kalman_predict(&kf);
        ipg_track_kalman_update(&kf, z);
    }
    check_near(kf.vel[0], 3.0, 0.05, "velocity x converges");
    check_near(kf.vel[1], 1.0, 0.05, "velocity y converges");
    check_near(kf.vel[2], 0.0, 1e-9, "size velocity stays zero");
    ipg_track_kalman_predict(&kf);
    check_near(kf.pos[0], z[0] + 3.0, 0.1, "prediction lands on the next cx");
    check_near(kf.pos[1], z[1] + 1.0, 0.1, "prediction lands on the next cy");
}

int main(void) {
    test_hand_computed();
    test_constant_velocity();
    return check_summary();
}
