/* Serving a REP socket: receive one request, answer it, tick. */
#include <errno.h>
#include <stdlib.h>

#include "aggregator/aggregator-int.h"

static int64_t
now_ms(void)
{
	return fm_time_real_ns() / FM_NSEC_PER_MSEC;
}

int
fm_agg_serve(fm_agg *a, fm_net_sock *s, uint32_t wait_ms)
{
	uint8_t *req = NULL, *reply = NULL;
	size_t len, reply_len;
	uint32_t due;
	int r;

	pthread_mutex_lock(&a->lock);
	fmi_agg_tick(a, now_ms());
	due = fmi_agg_next_tick(a, now_ms());
	pthread_mutex_unlock(&a->lock);
	if (due < wait_ms)
		wait_ms = due;
	/* 0 would mean the socket's own timeout. */
	r = fm_net_recv(s, wait_ms ? wait_ms : 1, &req, &len);
	if (r == -ETIMEDOUT) {
		fm_agg_tick(a, now_ms());
		return 0;
	}
	if (r == -EMSGSIZE) {
		pthread_mutex_lock(&a->lock);
		a->requests++;
		a->rejections[FM_PROTO_REASON_TOO_LARGE]++;
		fmi_agg_emit(a,
		    &(fm_agg_event) { .type = FM_AGG_EVENT_REFUSED,
		        .round = a->last_opened,
		        .label = "",
		        .reason = FM_PROTO_REASON_TOO_LARGE });
		pthread_mutex_unlock(&a->lock);
		return r;
	}
	if (r < 0)
		return r;
	r = fm_agg_handle(a, req, len, now_ms(), &reply, &reply_len);
	free(req);
	if (r < 0)
		return r;
	r = fm_net_send(s, reply, reply_len);
	free(reply);
	fm_agg_tick(a, now_ms());
	return r < 0 ? r : 1;
}
