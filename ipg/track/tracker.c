// SPDX-License-Identifier: LGPL-2.1-or-later
// tracker.c: ByteTrack association over Kalman tracks; see tracker.h.

#include "tracker.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kalman.h"

// ByteTrack's fixed limits (1 - IoU) of its second and third associations,
// and of the tracked/lost duplicate check.
#define LOW_MATCH_THRESH       0.5
#define TENTATIVE_MATCH_THRESH 0.7
#define DUPLICATE_THRESH       0.15

typedef enum {
    TRACK_TENTATIVE,   // not confirmed yet, no id
    TRACK_TRACKED,     // confirmed, matched on the last frame with detections
    TRACK_LOST,        // confirmed, missed since
} track_state_t;

typedef struct {
    ipg_track_kalman_t kf;
    track_state_t state;
    int32_t id;   // 0 while tentative
    int32_t label;
    float score;
    int32_t hits;           // consecutive matched frames with detections
    int32_t since_update;   // frames since the last match
    int64_t confirmed_frame;
    int32_t det_index;   // in the last update; -1 after a prediction
} track_t;

struct ipg_tracker {
    ipg_track_params_t params;
    track_t * tracks;
    int32_t n_tracks;
    int32_t next_id;
    int64_t frame;

    // scratch, grown on demand and kept
    double * cost;
    size_t cap_cost;
    int32_t * rows;   // track indices taking part in one association
    int32_t * row_match;
    uint8_t * drop;     // per track: to be removed at the end of an update
    int32_t cap_rows;   // of tracks, rows, row_match, drop
    int32_t * cols;     // detection indices taking part in one association
    int32_t * col_match;
    uint8_t * det_used;   // per detection: matched already, or ignored
    int32_t cap_cols;     // of cols, col_match, det_used
};

const char * ipg_track_status_name(ipg_track_status_t status) {
    switch (status) {
        case IPG_TRACK_OK: return "IPG_TRACK_OK";
        case IPG_TRACK_ERR_INVALID_ARG: return "IPG_TRACK_ERR_INVALID_ARG";
        case IPG_TRACK_ERR_NO_MEMORY: return "IPG_TRACK_ERR_NO_MEMORY";
    }
    return "unknown ipg_track_status_t";
}

ipg_track_params_t ipg_track_params_default(void) {
    ipg_track_params_t p = {
        .track_thresh = 0.5f,
        .low_thresh = 0.1f,
        .new_track_thresh = 0.6f,
        .match_thresh = 0.8f,
        .min_hits = 2,
        .max_age = 30,
        .per_class = true,
    };
    return p;
}

static bool in_unit(float v) { return v >= 0.0f && v <= 1.0f; }

ipg_track_status_t ipg_track_init(const ipg_track_params_t * params, ipg_tracker_t ** out) {
    if (out == NULL) {
        return IPG_TRACK_ERR_INVALID_ARG;
    }
    *out = NULL;
    if (params == NULL || !in_unit(params->track_thresh) || !in_unit(params->low_thresh) ||
        params->low_thresh > params->track_thresh || !in_unit(params->new_track_thresh) ||
        !in_unit(params->match_thresh) || params->min_hits < 1 || params->max_age < 0) {
        return IPG_TRACK_ERR_INVALID_ARG;
    }
    ipg_tracker_t * t = calloc(1, sizeof *t);
    if (t == NULL) {
        return IPG_TRACK_ERR_NO_MEMORY;
    }
    t->params = *params;
    t->next_id = 1;
    *out = t;
    return IPG_TRACK_OK;
}

void ipg_track_free(ipg_tracker_t * t) {
    if (t == NULL) {
        return;
    }
    free(t->tracks);
    free(t->cost);
    free(t->rows);
    free(t->row_match);
    free(t->drop);
    free(t->cols);
    free(t->col_match);
    free(t->det_used);
    free(t);
}

void ipg_track_reset(ipg_tracker_t * t) {
    t->n_tracks = 0;
    t->frame = 0;
}

int64_t ipg_track_frame_count(const ipg_tracker_t * t) { return t->frame; }

static bool grow(void ** p, size_t n, size_t elem) {
    void * q = realloc(*p, n * elem);
    if (q == NULL) {
        return false;
    }
    *p = q;
    return true;
}

static int32_t grown_capacity(int32_t cap, int32_t n) {
    int32_t want = cap > 16 ? cap : 16;
    while (want < n) {
        want = want > INT32_MAX / 2 ? n : want * 2;
    }
    return want;
}

// Makes room for everything one update may need, before it changes
// anything: a failed allocation leaves the tracker as it was.
static bool reserve_scratch(ipg_tracker_t * t, int32_t n_dets) {
    int32_t rows = t->n_tracks + n_dets;   // births add at most n_dets tracks
    if (rows > t->cap_rows) {
        int32_t want = grown_capacity(t->cap_rows, rows);
        if (!grow((void **) &t->tracks, (size_t) want, sizeof(track_t)) ||
            !grow((void **) &t->rows, (size_t) want, sizeof(int32_t)) ||
            !grow((void **) &t->row_match, (size_t) want, sizeof(int32_t)) ||
            !grow((void **) &t->drop, (size_t) want, sizeof(uint8_t))) {
            return false;
        }
        t->cap_rows = want;
    }
    if (n_dets > t->cap_cols) {
        int32_t want = grown_capacity(t->cap_cols, n_dets);
        if (!grow((void **) &t->cols, (size_t) want, sizeof(int32_t)) ||
            !grow((void **) &t->col_match, (size_t) want, sizeof(int32_t)) ||
            !grow((void **) &t->det_used, (size_t) want, sizeof(uint8_t))) {
            return false;
        }
        t->cap_cols = want;
    }
    size_t cells = (size_t) t->n_tracks * (size_t) n_dets;
    if (cells > t->cap_cost) {
        if (!grow((void **) &t->cost, cells, sizeof(double))) {
            return false;
        }
        t->cap_cost = cells;
    }
    return true;
}

static ipg_track_box_t track_box(const track_t * tr) {
    const double * p = tr->kf.pos;
    double w = fmax(p[2], 0.0), h = fmax(p[3], 0.0);
    ipg_track_box_t b = {
        (float) (p[0] - w / 2.0),
        (float) (p[1] - h / 2.0),
        (float) (p[0] + w / 2.0),
        (float) (p[1] + h / 2.0),
    };
    return b;
}

static void box_to_z(const ipg_track_box_t * b, double z[4]) {
    z[0] = ((double) b->x1 + b->x2) / 2.0;
    z[1] = ((double) b->y1 + b->y2) / 2.0;
    z[2] = (double) b->x2 - b->x1;
    z[3] = (double) b->y2 - b->y1;
}

static bool det_valid(const ipg_track_det_t * d) {
    const ipg_track_box_t * b = &d->box;
    return isfinite(b->x1) && isfinite(b->y1) && isfinite(b->x2) && isfinite(b->y2) && isfinite(d->score) &&
           b->x2 > b->x1 && b->y2 > b->y1;
}

static void confirm(ipg_tracker_t * t, track_t * tr) {
    tr->state = TRACK_TRACKED;
    tr->id = t->next_id++;
    tr->confirmed_frame = t->frame;
}

static void match_track(ipg_tracker_t * t, track_t * tr, const ipg_track_det_t * d, int32_t det_index) {
    double z[4];
    box_to_z(&d->box, z);
    ipg_track_kalman_update(&tr->kf, z);
    tr->score = d->score;
    tr->since_update = 0;
    tr->hits++;
    tr->det_index = det_index;
    if (!t->params.per_class) {
        tr->label = d->label;
    }
    if (tr->state == TRACK_LOST) {
        tr->state = TRACK_TRACKED;
    } else if (tr->state == TRACK_TENTATIVE && tr->hits >= t->params.min_hits) {
        confirm(t, tr);
    }
}

// One association: the tracks listed in t->rows[0..n_rows) against the
// detections in t->cols[0..n_cols), 1 - IoU <= limit. Leaves the result in
// t->row_match / t->col_match (indices into rows / cols, or -1), applies
// the matches and marks the detections used.
static ipg_track_status_t associate(ipg_tracker_t * t, const ipg_track_det_t * dets, int32_t n_rows, int32_t n_cols,
                                    double limit) {
    for (int32_t r = 0; r < n_rows; r++) {
        const track_t * tr = &t->tracks[t->rows[r]];
        ipg_track_box_t tb = track_box(tr);
        for (int32_t c = 0; c < n_cols; c++) {
            const ipg_track_det_t * d = &dets[t->cols[c]];
            double cost = 1.0 - ipg_track_iou(&tb, &d->box);
            if (t->params.per_class && d->label != tr->label) {
                cost = NAN;   // forbidden
            }
            t->cost[(size_t) r * n_cols + c] = cost;
        }
    }
    if (ipg_track_assign(t->cost, n_rows, n_cols, limit, t->row_match, t->col_match) != 0) {
        return IPG_TRACK_ERR_NO_MEMORY;
    }
    for (int32_t r = 0; r < n_rows; r++) {
        if (t->row_match[r] >= 0) {
            int32_t di = t->cols[t->row_match[r]];
            match_track(t, &t->tracks[t->rows[r]], &dets[di], di);
            t->det_used[di] = 1;
        }
    }
    return IPG_TRACK_OK;
}

static void predict_all(ipg_tracker_t * t) {
    t->frame++;
    for (int32_t i = 0; i < t->n_tracks; i++) {
        track_t * tr = &t->tracks[i];
        ipg_track_kalman_predict(&tr->kf);
        tr->since_update++;
        tr->det_index = -1;
    }
}

// Drops the tracks for which drop[i] is set, keeping the order of the rest.
static void compact(ipg_tracker_t * t, const uint8_t * drop) {
    int32_t k = 0;
    for (int32_t i = 0; i < t->n_tracks; i++) {
        if (!drop[i]) {
            t->tracks[k++] = t->tracks[i];
        }
    }
    t->n_tracks = k;
}

static void remove_expired(ipg_tracker_t * t) {
    int32_t k = 0;
    for (int32_t i = 0; i < t->n_tracks; i++) {
        if (t->tracks[i].since_update <= t->params.max_age) {
            t->tracks[k++] = t->tracks[i];
        }
    }
    t->n_tracks = k;
}

void ipg_track_predict(ipg_tracker_t * t) {
    predict_all(t);
    remove_expired(t);
}

ipg_track_status_t ipg_track_update(ipg_tracker_t * t, const ipg_track_det_t * dets, int32_t n, int32_t * ids) {
    if (t == NULL || n < 0 || (n > 0 && (dets == NULL || ids == NULL))) {
        return IPG_TRACK_ERR_INVALID_ARG;
    }
    if (n > INT32_MAX / 2 - t->n_tracks || !reserve_scratch(t, n)) {
        return IPG_TRACK_ERR_NO_MEMORY;
    }
    const ipg_track_params_t * p = &t->params;
    ipg_track_status_t st;

    predict_all(t);
    for (int32_t i = 0; i < n; i++) {
        t->det_used[i] = det_valid(&dets[i]) && dets[i].score >= p->low_thresh ? 0 : 1;
    }

    // 2. high detections against the confirmed tracks
    int32_t n_rows = 0, n_cols = 0;
    for (int32_t i = 0; i < t->n_tracks; i++) {
        if (t->tracks[i].state != TRACK_TENTATIVE) {
            t->rows[n_rows++] = i;
        }
    }
    for (int32_t i = 0; i < n; i++) {
        if (!t->det_used[i] && dets[i].score >= p->track_thresh) {
            t->cols[n_cols++] = i;
        }
    }
    if ((st = associate(t, dets, n_rows, n_cols, p->match_thresh)) != IPG_TRACK_OK) {
        return st;
    }

    // 3. low detections against the tracked ones left; the rest is lost
    int32_t n_left = 0;
    for (int32_t r = 0; r < n_rows; r++) {
        if (t->row_match[r] < 0 && t->tracks[t->rows[r]].state == TRACK_TRACKED) {
            t->rows[n_left++] = t->rows[r];
        }
    }
    n_rows = n_left;
    n_cols = 0;
    for (int32_t i = 0; i < n; i++) {
        if (!t->det_used[i] && dets[i].score < p->track_thresh) {
            t->cols[n_cols++] = i;
        }
    }
    if ((st = associate(t, dets, n_rows, n_cols, LOW_MATCH_THRESH)) != IPG_TRACK_OK) {
        return st;
    }
    for (int32_t r = 0; r < n_rows; r++) {
        if (t->row_match[r] < 0) {
            track_t * tr = &t->tracks[t->rows[r]];
            tr->state = TRACK_LOST;
            tr->hits = 0;
        }
    }

    // 4. high detections left against the tentative tracks; the rest dies
    n_rows = 0;
    n_cols = 0;
    for (int32_t i = 0; i < t->n_tracks; i++) {
        if (t->tracks[i].state == TRACK_TENTATIVE) {
            t->rows[n_rows++] = i;
        }
    }
    for (int32_t i = 0; i < n; i++) {
        if (!t->det_used[i] && dets[i].score >= p->track_thresh) {
            t->cols[n_cols++] = i;
        }
    }
    if ((st = associate(t, dets, n_rows, n_cols, TENTATIVE_MATCH_THRESH)) != IPG_TRACK_OK) {
        return st;
    }
    uint8_t * drop = t->drop;
    memset(drop, 0, (size_t) t->n_tracks);
    for (int32_t r = 0; r < n_rows; r++) {
        if (t->row_match[r] < 0) {
            drop[t->rows[r]] = 1;
        }
    }

    // 6. (before births, which cannot be duplicates of anything yet)
    for (int32_t i = 0; i < t->n_tracks; i++) {
        if (t->tracks[i].since_update > p->max_age) {
            drop[i] = 1;
        }
    }
    for (int32_t i = 0; i < t->n_tracks; i++) {
        const track_t * a = &t->tracks[i];
        if (drop[i] || a->state != TRACK_TRACKED) {
            continue;
        }
        ipg_track_box_t ab = track_box(a);
        for (int32_t j = 0; j < t->n_tracks; j++) {
            const track_t * b = &t->tracks[j];
            if (drop[j] || b->state != TRACK_LOST || (p->per_class && a->label != b->label)) {
                continue;
            }
            ipg_track_box_t bb = track_box(b);
            if (1.0 - ipg_track_iou(&ab, &bb) < DUPLICATE_THRESH) {
                // Keep the one confirmed earlier: it has been followed longer.
                if (a->confirmed_frame <= b->confirmed_frame) {
                    drop[j] = 1;
                } else {
                    drop[i] = 1;
                    break;
                }
            }
        }
    }
    compact(t, drop);

    // 5. births
    for (int32_t i = 0; i < n; i++) {
        if (t->det_used[i] || dets[i].score < p->track_thresh || dets[i].score < p->new_track_thresh) {
            continue;
        }
        track_t * tr = &t->tracks[t->n_tracks++];
        double z[4];
        box_to_z(&dets[i].box, z);
        memset(tr, 0, sizeof *tr);
        ipg_track_kalman_init(&tr->kf, z);
        tr->state = TRACK_TENTATIVE;
        tr->label = dets[i].label;
        tr->score = dets[i].score;
        tr->hits = 1;
        tr->det_index = i;
        if (p->min_hits <= 1) {
            confirm(t, tr);
        }
    }

    for (int32_t i = 0; i < n; i++) {
        ids[i] = 0;
    }
    for (int32_t i = 0; i < t->n_tracks; i++) {
        const track_t * tr = &t->tracks[i];
        if (tr->id > 0 && tr->det_index >= 0) {
            ids[tr->det_index] = tr->id;
        }
    }
    return IPG_TRACK_OK;
}

static int cmp_object_id(const void * a, const void * b) {
    int32_t ia = ((const ipg_track_object_t *) a)->id, ib = ((const ipg_track_object_t *) b)->id;
    return (ia > ib) - (ia < ib);
}

int32_t ipg_track_get_objects(const ipg_tracker_t * t, ipg_track_object_t * objs, int32_t cap) {
    int32_t total = 0;
    for (int32_t i = 0; i < t->n_tracks; i++) {
        const track_t * tr = &t->tracks[i];
        if (tr->state != TRACK_TRACKED) {
            continue;
        }
        if (total < cap) {
            ipg_track_object_t * o = &objs[total];
            o->id = tr->id;
            o->box = track_box(tr);
            o->score = tr->score;
            o->label = tr->label;
            o->det_index = tr->det_index;
            o->frames_since_update = tr->since_update;
        }
        total++;
    }
    int32_t written = total < cap ? total : cap;
    if (written > 1) {
        qsort(objs, (size_t) written, sizeof *objs, cmp_object_id);
    }
    return total;
}
