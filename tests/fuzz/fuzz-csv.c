/*
 * Fuzz target: fedmon-replay's CSV parser (tools/replay/csv.c). Accepted
 * input yields a matrix of finite floats; refused input says where.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "tools/replay/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fm_replay_csv_error err = { 0 };
	fm_replay_csv *m = NULL;
	size_t newlines = 0;
	int r;

	r = fm_replay_csv_parse((const char *)data, size, &err, &m);
	if (r < 0) {
		for (size_t i = 0; i < size; i++)
			newlines += data[i] == '\n';
		if (m || err.line > newlines + 1 || err.why[0] == '\0' ||
		    (r == -EINVAL && (err.line == 0 || err.column == 0)))
			abort();
		return 0;
	}
	if (!m || m->rows == 0 || m->cols == 0 ||
	    m->cols > FM_REPLAY_CSV_MAX_COLS)
		abort();
	for (size_t i = 0; i < m->rows * m->cols; i++) {
		if (!isfinite(m->v[i]))
			abort();
	}
	fm_replay_csv_free(m);
	return 0;
}
