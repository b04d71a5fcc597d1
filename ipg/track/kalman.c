// SPDX-License-Identifier: LGPL-2.1-or-later
// kalman.c: constant-velocity Kalman filter on (cx, cy, w, h); see kalman.h.

#include "kalman.h"

// The size a quantity's noise scales with: w for cx and w, h for cy and h.
static double noise_scale(const double pos[4], int k) { return (k % 2 == 0) ? pos[2] : pos[3]; }

void ipg_track_kalman_init(ipg_track_kalman_t * kf, const double z[4]) {
    for (int k = 0; k < 4; k++) {
        double s = noise_scale(z, k);
        double sdp = 2.0 * IPG_TRACK_KALMAN_STD_POSITION * s;
        double sdv = 10.0 * IPG_TRACK_KALMAN_STD_VELOCITY * s;
        kf->pos[k] = z[k];
        kf->vel[k] = 0.0;
        kf->cov[k][0] = sdp * sdp;
        kf->cov[k][1] = 0.0;
        kf->cov[k][2] = sdv * sdv;
    }
}

void ipg_track_kalman_predict(ipg_track_kalman_t * kf) {
    // Q comes from the size before the step (as in ByteTrack).
    double scale[4];
    for (int k = 0; k < 4; k++) {
        scale[k] = noise_scale(kf->pos, k);
    }
    for (int k = 0; k < 4; k++) {
        double qp = IPG_TRACK_KALMAN_STD_POSITION * scale[k];
        double qv = IPG_TRACK_KALMAN_STD_VELOCITY * scale[k];
        double a = kf->cov[k][0], b = kf->cov[k][1], c = kf->cov[k][2];
        kf->pos[k] += kf->vel[k];
        // F = [[1, 1], [0, 1]]: F P F^T = [[a + 2b + c, b + c], [b + c, c]]
        kf->cov[k][0] = a + 2.0 * b + c + qp * qp;
        kf->cov[k][1] = b + c;
        kf->cov[k][2] = c + qv * qv;
    }
}

void ipg_track_kalman_update(ipg_track_kalman_t * kf, const double z[4]) {
    // R comes from the predicted size, before any quantity is corrected.
    double scale[4];
    for (int k = 0; k < 4; k++) {
        scale[k] = noise_scale(kf->pos, k);
    }
    for (int k = 0; k < 4; k++) {
        double r = IPG_TRACK_KALMAN_STD_POSITION * scale[k];
        double a = kf->cov[k][0], b = kf->cov[k][1], c = kf->cov[k][2];
        double s = a + r * r;            // innovation variance H P H^T + R
        double ka = a / s, kb = b / s;   // gain K = P H^T / s
        double innovation = z[k] - kf->pos[k];
        kf->pos[k] += ka * innovation;
        kf->vel[k] += kb * innovation;
        // P - K s K^T
        kf->cov[k][0] = a - ka * a;
        kf->cov[k][1] = b - ka * b;
        kf->cov[k][2] = c - kb * b;
    }
}
