/*
 * The state file: what a restart resumes from. Little-endian whatever the
 * host, checksummed, one byte encoding per state:
 *
 *   off  size  field
 *     0     8  magic "FMAGGST\n"
 *     8     4  format version (FMI_AGG_STATE_FORMAT)
 *    12     4  rule (enum fm_agg_rule_id) whose optimiser state follows
 *    16     8  last round opened
 *    24     8  global model version (0: none)
 *    32     8  rounds published
 *    40     4  layout id (0 when version is 0)
 *    44     4  n_params (0 when version is 0)
 *    48     4  n_opt, optimiser vectors (0 to 2; 0 when version is 0)
 *    52     4  reserved (0)
 *    56     8  n_marks, replay marks
 *    64     8  total length in bytes, checksum included
 *    72        params f32[n_params], then n_opt vectors f32[n_params]
 *              marks: n_marks x (u64 key id, u64 sequence), ids
 *              strictly increasing and never 0
 *   len-4   4  CRC-32C (learn/) of every byte before it
 *
 * Every count is checked against its cap before the length it implies is
 * computed, and the length before anything is allocated.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aggregator/aggregator-int.h"
#include "learn/learn.h"

static const uint8_t state_magic[8] = { 'F', 'M', 'A', 'G', 'G', 'S', 'T',
	'\n' };

static void
put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t
get_u32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static uint64_t
get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void
put_f32s(uint8_t *p, const float *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t u;

		memcpy(&u, &v[i], 4);
		put_u32(p + 4 * i, u);
	}
}

/* Reads n floats; -EBADMSG on a non-finite one. */
static int
get_f32s(const uint8_t *p, float *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t u = get_u32(p + 4 * i);

		memcpy(&v[i], &u, 4);
		if (!isfinite(v[i]))
			return -EBADMSG;
	}
	return 0;
}

/* Whether the fields agree with each other and the caps. */
static bool
state_is_valid(const fmi_agg_state *s)
{
	const fmi_agg_rule *rule = fmi_agg_rule_get(s->rule);

	if (!rule || s->version > s->last_opened ||
	    s->rounds_published > s->last_opened ||
	    s->n_params > FM_PROTO_MAX_PARAMS ||
	    s->n_opt > FMI_AGG_MAX_OPT_VECS || s->n_marks > FM_AGG_MAX_PEERS)
		return false;
	if (s->version == 0)
		return s->n_params == 0 && s->n_opt == 0 && s->layout_id == 0 &&
		    s->rounds_published == 0;
	return s->n_params > 0 && s->layout_id != 0 &&
	    (s->n_opt == 0 || s->n_opt == rule->n_opt) &&
	    s->rounds_published > 0;
}

static size_t
state_len(const fmi_agg_state *s)
{
	size_t vecs = s->version ? 1 + (size_t)s->n_opt : 0;

	return FMI_AGG_STATE_HEADER_BYTES + vecs * 4 * (size_t)s->n_params +
	    16 * (size_t)s->n_marks + 4;
}

int
fmi_agg_state_encode(const fmi_agg_state *s, uint8_t **ret_buf, size_t *ret_len)
{
	uint8_t *buf, *p;
	size_t len;

	if (!state_is_valid(s) || (s->version && !s->params))
		return -EINVAL;
	for (uint32_t k = 0; s->version && k < s->n_opt; k++)
		if (!s->opt[k])
			return -EINVAL;
	for (uint64_t i = 0; i < s->n_marks; i++)
		if (s->marks[i].id == 0 ||
		    (i > 0 && s->marks[i].id <= s->marks[i - 1].id))
			return -EINVAL;
	len = state_len(s);
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, state_magic, sizeof(state_magic));
	put_u32(buf + 8, FMI_AGG_STATE_FORMAT);
	put_u32(buf + 12, s->rule);
	put_u64(buf + 16, s->last_opened);
	put_u64(buf + 24, s->version);
	put_u64(buf + 32, s->rounds_published);
	put_u32(buf + 40, s->layout_id);
	put_u32(buf + 44, s->n_params);
	put_u32(buf + 48, s->n_opt);
	put_u32(buf + 52, 0);
	put_u64(buf + 56, s->n_marks);
	put_u64(buf + 64, len);
	p = buf + FMI_AGG_STATE_HEADER_BYTES;
	if (s->version) {
		put_f32s(p, s->params, s->n_params);
		p += 4 * (size_t)s->n_params;
		for (uint32_t k = 0; k < s->n_opt; k++) {
			put_f32s(p, s->opt[k], s->n_params);
			p += 4 * (size_t)s->n_params;
		}
	}
	for (uint64_t i = 0; i < s->n_marks; i++, p += 16) {
		put_u64(p, s->marks[i].id);
		put_u64(p + 8, s->marks[i].seq);
	}
	put_u32(p, fm_learn_crc32c_update(0, buf, len - 4));
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

void
fmi_agg_state_clear(fmi_agg_state *s)
{
	free(s->params);
	for (int k = 0; k < FMI_AGG_MAX_OPT_VECS; k++)
		free(s->opt[k]);
	free(s->marks);
	memset(s, 0, sizeof(*s));
}

/* Allocates and reads the vectors and marks the header announced. */
static int
decode_body(const uint8_t *p, fmi_agg_state *s)
{
	size_t n = s->n_params;
	int r;

	if (s->version) {
		s->params = malloc(n * sizeof(float));
		if (!s->params)
			return -ENOMEM;
		r = get_f32s(p, s->params, n);
		if (r < 0)
			return r;
		p += 4 * n;
		for (uint32_t k = 0; k < s->n_opt; k++) {
			s->opt[k] = malloc(n * sizeof(float));
			if (!s->opt[k])
				return -ENOMEM;
			r = get_f32s(p, s->opt[k], n);
			if (r < 0)
				return r;
			p += 4 * n;
		}
	}
	if (s->n_marks) {
		s->marks = malloc((size_t)s->n_marks * sizeof(*s->marks));
		if (!s->marks)
			return -ENOMEM;
	}
	for (uint64_t i = 0; i < s->n_marks; i++, p += 16) {
		s->marks[i].id = get_u64(p);
		s->marks[i].seq = get_u64(p + 8);
		if (s->marks[i].id == 0 ||
		    (i > 0 && s->marks[i].id <= s->marks[i - 1].id))
			return -EBADMSG;
	}
	return 0;
}

int
fmi_agg_state_decode(const uint8_t *buf, size_t len, fmi_agg_state *ret)
{
	fmi_agg_state s = { 0 };
	int r;

	memset(ret, 0, sizeof(*ret));
	if (len < FMI_AGG_STATE_HEADER_BYTES + 4 ||
	    memcmp(buf, state_magic, sizeof(state_magic)) != 0)
		return -EBADMSG;
	if (get_u32(buf + 8) != FMI_AGG_STATE_FORMAT)
		return -EPROTONOSUPPORT;
	if (get_u64(buf + 64) != len || len > FMI_AGG_STATE_MAX_BYTES ||
	    get_u32(buf + len - 4) != fm_learn_crc32c_update(0, buf, len - 4) ||
	    get_u32(buf + 52) != 0)
		return -EBADMSG;
	s.rule = get_u32(buf + 12);
	s.last_opened = get_u64(buf + 16);
	s.version = get_u64(buf + 24);
	s.rounds_published = get_u64(buf + 32);
	s.layout_id = get_u32(buf + 40);
	s.n_params = get_u32(buf + 44);
	s.n_opt = get_u32(buf + 48);
	s.n_marks = get_u64(buf + 56);
	/* The caps first, so that the length below cannot overflow. */
	if (!state_is_valid(&s) || state_len(&s) != len)
		return -EBADMSG;
	r = decode_body(buf + FMI_AGG_STATE_HEADER_BYTES, &s);
	if (r < 0) {
		fmi_agg_state_clear(&s);
		return r;
	}
	*ret = s;
	return 0;
}
