/*
 * The peer table: per sender key id, its replay mark, the round it last
 * contributed to and its cached session. Open addressing with linear
 * probing over a power-of-two array, at most half full; key ids are
 * hashes already, so the low bits are the slot (mixed once more, since an
 * id's bits come from the sender's public key).
 */
#include <errno.h>
#include <stdlib.h>

#include "aggregator/aggregator-int.h"

static size_t
slot_of(uint64_t id, size_t cap)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdULL;
	id ^= id >> 33;
	return (size_t)id & (cap - 1);
}

fmi_agg_peer *
fmi_agg_peers_find(fmi_agg_peers *t, uint64_t id)
{
	if (t->cap == 0 || id == 0)
		return NULL;
	for (size_t i = slot_of(id, t->cap);; i = (i + 1) & (t->cap - 1)) {
		if (t->slots[i].id == id)
			return &t->slots[i];
		if (t->slots[i].id == 0)
			return NULL;
	}
}

static int
grow(fmi_agg_peers *t)
{
	size_t cap = t->cap ? t->cap * 2 : 64;
	fmi_agg_peer *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t k = 0; k < t->cap; k++) {
		size_t i;

		if (t->slots[k].id == 0)
			continue;
		for (i = slot_of(t->slots[k].id, cap); slots[i].id;
		     i = (i + 1) & (cap - 1))
			;
		slots[i] = t->slots[k];
	}
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
	return 0;
}

int
fmi_agg_peers_get(fmi_agg_peers *t, uint64_t id, fmi_agg_peer **ret)
{
	fmi_agg_peer *p = fmi_agg_peers_find(t, id);
	size_t i;
	int r;

	if (p) {
		*ret = p;
		return 0;
	}
	if (t->n >= FM_AGG_MAX_PEERS)
		return -ENOSPC;
	if ((t->n + 1) * 2 > t->cap) {
		r = grow(t);
		if (r < 0)
			return r;
	}
	for (i = slot_of(id, t->cap); t->slots[i].id;
	     i = (i + 1) & (t->cap - 1))
		;
	t->slots[i] = (fmi_agg_peer) { .id = id };
	t->n++;
	*ret = &t->slots[i];
	return 0;
}

void
fmi_agg_peers_drop_sessions(fmi_agg_peers *t)
{
	for (size_t i = 0; i < t->cap; i++)
		t->slots[i].session =
		    fm_crypto_session_free(t->slots[i].session);
	t->n_sessions = 0;
}

void
fmi_agg_peers_clear(fmi_agg_peers *t)
{
	fmi_agg_peers_drop_sessions(t);
	free(t->slots);
	*t = (fmi_agg_peers) { 0 };
}
