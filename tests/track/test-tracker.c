// SPDX-License-Identifier: LGPL-2.1-or-later
// test-tracker.c: ByteTrack association (high then low scores), birth and
// confirmation, death after max_age, per-class matching, ids through a
// crossing of two objects, predict-only frames, reset.
#include "check.h"
#include "tracker.h"

#include <stdint.h>
#include <string.h>

static ipg_track_det_t det(float x, float y, float w, float h, float score, int32_t label) {
    ipg_track_det_t d = { { x, y, x + w, y + h }, score, label };
    return d;
}

static ipg_tracker_t * make(int32_t min_hits, int32_t max_age) {
    ipg_track_params_t p = ipg_track_params_default();
    p.min_hits = min_hits;
    p.max_age = max_age;
    ipg_tracker_t * t = NULL;
    if (ipg_track_init(&p, &t) != IPG_TRACK_OK) {
        return NULL;
    }
    return t;
}

// One detection per frame; returns its id.
static int32_t step1(ipg_tracker_t * t, ipg_track_det_t d) {
    int32_t id = -1;
    ipg_track_update(t, &d, 1, &id);
    return id;
}

static void test_params(void) {
    ipg_track_params_t p = ipg_track_params_default();
    ipg_tracker_t * t = NULL;
    p.low_thresh = 0.7f;   // above track_thresh
    check_int(ipg_track_init(&p, &t), IPG_TRACK_ERR_INVALID_ARG, "low_thresh above track_thresh is refused");
    p = ipg_track_params_default();
    p.min_hits = 0;
    check_int(ipg_track_init(&p, &t), IPG_TRACK_ERR_INVALID_ARG, "min_hits 0 is refused");
    check(t == NULL, "no tracker after a refusal");
}

// A tentative track gets its id on the min_hits-th consecutive match; one
// miss before that kills it.
static void test_birth_confirmation(void) {
    ipg_tracker_t * t = make(3, 30);
    check_int(step1(t, det(10, 10, 20, 20, 0.9f, 0)), 0, "frame 1: tentative, no id");
    check_int(step1(t, det(12, 10, 20, 20, 0.9f, 0)), 0, "frame 2: tentative, no id");
    check_int(step1(t, det(14, 10, 20, 20, 0.9f, 0)), 1, "frame 3: confirmed as id 1");
    check_int(ipg_track_get_objects(t, NULL, 0), 1, "one live object");
    check_int(step1(t, det(200, 200, 20, 20, 0.9f, 0)), 0, "a new object starts tentative");
    ipg_track_free(t);

    t = make(2, 30);
    check_int(step1(t, det(10, 10, 20, 20, 0.9f, 0)), 0, "tentative");
    ipg_track_update(t, NULL, 0, NULL);   // missed once: dropped
    check_int(step1(t, det(10, 10, 20, 20, 0.9f, 0)), 0, "a missed tentative track is gone: starts over");
    check_int(step1(t, det(10, 10, 20, 20, 0.9f, 0)), 1, "then confirmed");

    // Below new_track_thresh (0.6) nothing is born, even at track_thresh.
    check_int(step1(t, det(300, 300, 20, 20, 0.55f, 0)), 0, "0.55 starts nothing");
    check_int(step1(t, det(300, 300, 20, 20, 0.55f, 0)), 0, "0.55 twice still starts nothing");
    ipg_track_free(t);
}

static int32_t confirmed_track(ipg_tracker_t * t, float x, float y) {
    int32_t id = 0;
    for (int i = 0; i < 3; i++) {
        id = step1(t, det(x, y, 20, 20, 0.9f, 0));
    }
    return id;
}

// Lost for exactly max_age frames: recovered with its id; one more: gone.
static void test_death(void) {
    for (int extra = 0; extra <= 1; extra++) {
        ipg_tracker_t * t = make(2, 5);
        int32_t id = confirmed_track(t, 50, 50);
        for (int i = 0; i < 5 + extra; i++) {
            ipg_track_update(t, NULL, 0, NULL);
        }
        int32_t again = step1(t, det(50, 50, 20, 20, 0.9f, 0));
        if (extra == 0) {
            check_int(again, id, "after max_age missed frames the track is still there");
        } else {
            check_int(again, 0, "after max_age + 1 missed frames the track is gone");
            check_int(step1(t, det(50, 50, 20, 20, 0.9f, 0)), id + 1, "and the object gets a new id");
        }
        ipg_track_free(t);
    }
}

// High detections are associated first: the track takes the high one even
// though a low one overlaps it more; a low one alone keeps the track alive
// but never starts one.
static void test_high_then_low(void) {
    ipg_tracker_t * t = make(2, 30);
    int32_t id = confirmed_track(t, 100, 100);
    ipg_track_det_t two[2] = {
        det(101, 100, 20, 20, 0.3f, 0),   // low, IoU ~0.9 with the track
        det(106, 100, 20, 20, 0.8f, 0),   // high, IoU ~0.54
    };
    int32_t ids[2];
    ipg_track_update(t, two, 2, ids);
    check_int(ids[1], id, "the high detection gets the track");
    check_int(ids[0], 0, "the low one, though closer, does not");

    int32_t low = step1(t, det(108, 100, 20, 20, 0.3f, 0));
    check_int(low, id, "a low detection alone keeps the track");
    ipg_track_object_t o;
    check_int(ipg_track_get_objects(t, &o, 1), 1, "still tracked, not lost");
    check_int(step1(t, det(400, 400, 20, 20, 0.3f, 0)), 0, "a low detection does not start a track");
    check_int(step1(t, det(400, 400, 20, 20, 0.3f, 0)), 0, "not even twice");

    // Below low_thresh (0.1) a detection is ignored: the track is lost.
    ipg_tracker_t * u = make(2, 30);
    confirmed_track(u, 100, 100);
    check_int(step1(u, det(100, 100, 20, 20, 0.05f, 0)), 0, "a detection under low_thresh is ignored");
    check_int(ipg_track_get_objects(u, NULL, 0), 0, "so the track is lost (not listed)");
    ipg_track_free(u);
    ipg_track_free(t);
}

static void test_per_class(void) {
    for (int per_class = 0; per_class <= 1; per_class++) {
        ipg_track_params_t p = ipg_track_params_default();
        p.per_class = per_class;
        ipg_tracker_t * t = NULL;
        ipg_track_init(&p, &t);
        int32_t id = confirmed_track(t, 100, 100);
        int32_t other = step1(t, det(100, 100, 20, 20, 0.9f, 7));
        if (per_class) {
            check(other != id, "per class: another label never takes the track");
        } else {
            check_int(other, id, "across classes: the track follows the box");
            ipg_track_object_t o;
            ipg_track_get_objects(t, &o, 1);
            check_int(o.label, 7, "and takes the new label");
        }
        ipg_track_free(t);
    }
}

// Two boxes cross, 2 px apart vertically, at 4 px per frame in opposite
// directions. At the crossing the last positions point to the wrong box
// (IoU 0.82 against 0.67); only the velocities keep the ids. The detections
// come in alternating order so that an index cannot stand in for an id.
static void test_crossing(void) {
    ipg_tracker_t * t = make(2, 30);
    int32_t id_a = 0, id_b = 0, switches = 0, frames = 0;
    for (int f = 0; f < 40; f++) {
        ipg_track_det_t a = det(20 + 4 * f, 50, 20, 20, 0.9f, 0);
        ipg_track_det_t b = det(176 - 4 * f, 52, 20, 20, 0.9f, 0);
        ipg_track_det_t d[2];
        int32_t ids[2];
        int swap = f % 2;
        d[swap] = a;
        d[1 - swap] = b;
        ipg_track_update(t, d, 2, ids);
        int32_t ia = ids[swap], ib = ids[1 - swap];
        if (f == 1) {
            id_a = ia;
            id_b = ib;
        } else if (f > 1) {
            frames++;
            if (ia != id_a || ib != id_b) {
                switches++;
            }
        }
    }
    check(id_a > 0 && id_b > 0 && id_a != id_b, "two objects, two ids");
    check_int(switches, 0, "frames where an id changed through the crossing");
    check_int(frames, 38, "frames compared");
    ipg_track_free(t);
}

// Frames without detections move the tracks on their velocity; the next
// detection where the object really is keeps the id.
static void test_predict_only(void) {
    ipg_tracker_t * t = make(2, 30);
    int32_t id = 0;
    for (int f = 0; f < 20; f++) {
        id = step1(t, det(10 + 3 * f, 40, 20, 20, 0.9f, 0));
    }
    // The last box is at x = 67.
    ipg_track_object_t o[2];
    for (int k = 1; k <= 4; k++) {
        ipg_track_predict(t);
        check_int(ipg_track_get_objects(t, o, 2), 1, "predicted: one object");
        check_near(o[0].box.x1, 67 + 3 * k, 0.5, "predicted x follows the velocity");
    }
    check_int(o[0].id, id, "predicted box has the track's id");
    check_int(o[0].det_index, -1, "predicted box has no detection");
    check_int(o[0].frames_since_update, 4, "four frames since the last detection");
    check_int(ipg_track_frame_count(t), 24, "every frame counted");
    check_int(step1(t, det(67 + 15, 40, 20, 20, 0.9f, 0)), id, "the object re-found where predicted");
    ipg_track_free(t);

    // Predictions age tracks too: max_age counts frames.
    t = make(2, 3);
    confirmed_track(t, 10, 10);
    for (int k = 0; k < 4; k++) {
        ipg_track_predict(t);
    }
    check_int(ipg_track_get_objects(t, NULL, 0), 0, "a track past max_age predicted frames is gone");
    ipg_track_free(t);
}

static void test_reset(void) {
    ipg_tracker_t * t = make(2, 30);
    int32_t id = confirmed_track(t, 10, 10);
    ipg_track_reset(t);
    check_int(ipg_track_get_objects(t, NULL, 0), 0, "no object after reset");
    check_int(step1(t, det(10, 10, 20, 20, 0.9f, 0)), 0, "the same box is a new tentative track");
    check_int(step1(t, det(10, 10, 20, 20, 0.9f, 0)), id + 1, "with a new id: ids are never reused");
    ipg_track_free(t);
}

int main(void) {
    test_params();
    test_birth_confirmation();
    test_death();
    test_high_then_low();
    test_per_class();
    test_crossing();
    test_predict_only();
    test_reset();
    return check_summary();
}
