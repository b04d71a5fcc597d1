// SPDX-License-Identifier: LGPL-2.1-or-later
//
// tracker.h: multi-object tracking by detection, with stable ids (the
// ipg-track library). Plain C11: no GLib, no OpenCL, no GStreamer.
//
// The association is ByteTrack's (Zhang et al., ECCV 2022), on a
// constant-velocity Kalman filter per track (kalman.h) and IoU costs solved
// optimally (assign.h). For each frame with detections:
//
//   1. every track is predicted one frame ahead;
//   2. high detections (score >= track_thresh) are matched to the confirmed
//      tracks, tracked or lost, on 1 - IoU <= match_thresh;
//   3. low detections (low_thresh <= score < track_thresh) are matched to
//      the tracked ones still unmatched (1 - IoU <= 0.5): a weak, occluded
//      or blurred sighting keeps its track alive instead of starting a new
//      one; tracked ones left unmatched become lost;
//   4. the high detections left are matched to the tentative tracks
//      (1 - IoU <= 0.7); a tentative track is confirmed, and only then gets
//      its id, after min_hits consecutive matched frames, and is dropped the
//      first time it is not matched;
//   5. a high detection still unmatched with score >= new_track_thresh
//      starts a tentative track;
//   6. a confirmed track unmatched for more than max_age frames is removed,
//      and of a tracked and a lost track covering the same object
//      (1 - IoU < 0.15) the younger one is removed.
//
// With per_class, a detection only ever matches a track of its own label
// (as many trackers as labels, sharing one id counter); without it the
// track takes the label of the last detection it matched.
//
// Ids are positive, unique and increasing in the order tracks are
// confirmed, and never reused by one tracker, not even after
// ipg_track_reset(); a new tracker starts again at 1.
//
// A frame without detections at all (the detector did not run on it) is
// ipg_track_predict(): every track moves on by its velocity and ages one
// frame, nothing is matched, lost or confirmed. ipg_track_get_objects() then
// gives the predicted boxes, e.g. to fill frames a detector skipped. Ages
// count frames, predicted ones included: keep max_age above the number of
// frames between two frames with detections.
//
// Usage
// -----
//
//     ipg_track_params_t params = ipg_track_params_default();
//     ipg_tracker_t * tracker = NULL;
//     if (ipg_track_init(&params, &tracker) != IPG_TRACK_OK) { ... }
//     for (each frame) {
//         if (detector ran) {
//             ipg_track_det_t dets[n];    // box (any unit, the same on every frame), score, label
//             int32_t ids[n];
//             if (ipg_track_update(tracker, dets, n, ids) != IPG_TRACK_OK) { ... }
//             // ids[i] > 0: detection i is the object with that id; 0: not (yet) tracked
//         } else {
//             ipg_track_predict(tracker);
//             ipg_track_object_t objs[64];
//             int32_t total = ipg_track_get_objects(tracker, objs, 64);
//             // objs[0 .. min(total, 64)): id, predicted box, label, last score
//         }
//     }
//     ipg_track_free(tracker);
//
// Threading: a tracker is used by one thread at a time; trackers are
// independent of each other.

#ifndef IPG_TRACK_TRACKER_H
#define IPG_TRACK_TRACKER_H

#include <stdbool.h>
#include <stdint.h>

#include "assign.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    IPG_TRACK_OK = 0,
    IPG_TRACK_ERR_INVALID_ARG,   // a NULL pointer, a negative count, a parameter out of range
    IPG_TRACK_ERR_NO_MEMORY,     // an allocation failed; the tracker stays usable, the frame is lost
} ipg_track_status_t;

const char * ipg_track_status_name(ipg_track_status_t status);

typedef struct {
    float track_thresh;       // [0, 1]: a detection at least this confident is "high"
    float low_thresh;         // [0, track_thresh]: below it a detection is ignored
    float new_track_thresh;   // [0, 1]: least score of a detection that starts a track
    float match_thresh;       // [0, 1]: first association: match when 1 - IoU <= this
    int32_t min_hits;         // >= 1: consecutive matched frames to confirm a track
    int32_t max_age;          // >= 0: frames a confirmed track survives unmatched
    bool per_class;           // match detections to tracks of their own label only
} ipg_track_params_t;

typedef struct ipg_tracker ipg_tracker_t;

// One detection of the current frame.
typedef struct {
    ipg_track_box_t box;
    float score;
    int32_t label;
} ipg_track_det_t;

// One confirmed, currently tracked (not lost) object.
typedef struct {
    int32_t id;
    ipg_track_box_t box;   // the filter's estimate for the current frame
    float score;           // of the last detection matched
    int32_t label;
    int32_t det_index;             // its detection in the last update, -1 if predicted since
    int32_t frames_since_update;   // 0 on a frame where it was matched
} ipg_track_object_t;

// ByteTrack's defaults: 0.5, 0.1, 0.6, 0.8; min_hits 2 (ByteTrack confirms
// on the second consecutive match), max_age 30, per_class true.
ipg_track_params_t ipg_track_params_default(void);

ipg_track_status_t ipg_track_init(const ipg_track_params_t * params, ipg_tracker_t ** out);
void ipg_track_free(ipg_tracker_t * tracker);

// Forgets every track (after a seek or a flush); ids keep increasing.
void ipg_track_reset(ipg_tracker_t * tracker);

// One frame on which the detector ran. ids (n entries) receives, for each
// detection, the id of the confirmed track it belongs to, or 0. Detections
// with an empty or non-finite box are ignored (id 0).
ipg_track_status_t ipg_track_update(ipg_tracker_t * tracker, const ipg_track_det_t * dets, int32_t n, int32_t * ids);

// One frame on which the detector did not run.
void ipg_track_predict(ipg_tracker_t * tracker);

// The confirmed, tracked objects of the current frame in increasing id
// order: writes min(total, cap) of them and returns total.
int32_t ipg_track_get_objects(const ipg_tracker_t * tracker, ipg_track_object_t * objs, int32_t cap);

// Frames seen (updates + predictions) since init or reset.
int64_t ipg_track_frame_count(const ipg_tracker_t * tracker);

#ifdef __cplusplus
}
#endif

#endif
