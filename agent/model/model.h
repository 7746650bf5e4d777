/*
 * agent/model: the agent's models and what feeds them, its second room.
 *
 *   history.h     the minute ring: the one per-minute history (history.c)
 *   labels.h      the host labels its own failures (labels.c)
 *   learner.h     the detector and the failure predictors, fed every
 *                 sample: scoring (score.c), training (train.c), model
 *                 files (store.c)
 *   federation.h  the agent's side of federated learning (federation.c)
 *
 * This umbrella is the room's one public include (as learn.h over its
 * models); the sub-headers stay under a few hundred lines each. learn/
 * does the maths; this room does the threads, the files and the logging.
 * Every public name says fm_model_ (FM_MODEL_), but for the label
 * sources' index constants (FM_LABEL_*, FM_LABEL_COUNT, FM_LABEL_BIT()),
 * which keep their short names as the feature vector's FM_F_* do.
 */
#ifndef FM_AGENT_MODEL_H
#define FM_AGENT_MODEL_H

#include "agent/model/federation.h"
#include "agent/model/history.h"
#include "agent/model/labels.h"
#include "agent/model/learner.h"

#endif
