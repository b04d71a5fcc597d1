// SPDX-License-Identifier: LGPL-2.1-or-later
//
// kalman.h: the constant-velocity Kalman filter of one track, on the box
// centre and size (cx, cy, w, h), as in ByteTrack / BoT-SORT's xywh filter.
//
// State: (cx, cy, w, h, vcx, vcy, vw, vh), one frame per step. The noise is
// proportional to the box size (std of a position 1/20 of the side, of a
// velocity 1/160): the x-like quantities (cx, w) scale with w, the y-like
// ones (cy, h) with h, so a small box is not allowed to jump as far as a
// large one.
//
// F (position += velocity), H (observe the positions), the initial
// covariance and the noises Q, R are all diagonal per quantity, so the 8x8
// covariance stays block-diagonal for ever: four independent 2x2 blocks,
// one per quantity (position, its velocity). Storing just those blocks is
// exactly the full filter, not an approximation.

#ifndef IPG_TRACK_KALMAN_H
#define IPG_TRACK_KALMAN_H

#ifdef __cplusplus
extern "C" {
#endif

#define IPG_TRACK_KALMAN_STD_POSITION (1.0 / 20.0)
#define IPG_TRACK_KALMAN_STD_VELOCITY (1.0 / 160.0)

typedef struct {
    double pos[4];      // cx, cy, w, h
    double vel[4];      // their change per frame
    double cov[4][3];   // per quantity: var(pos), cov(pos, vel), var(vel)
} ipg_track_kalman_t;

// Starts at the measured box (centre and size), velocity zero, with an
// uncertainty of 2 std of a position and 10 std of a velocity.
void ipg_track_kalman_init(ipg_track_kalman_t * kf, const double z[4]);

// Advances one frame: pos += vel; covariance F P F^T + Q.
void ipg_track_kalman_predict(ipg_track_kalman_t * kf);

// Corrects with a measured box z = (cx, cy, w, h).
void ipg_track_kalman_update(ipg_track_kalman_t * kf, const double z[4]);

#ifdef __cplusplus
}
#endif

#endif
