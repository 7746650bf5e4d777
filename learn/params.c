/*
 * Flat parameter vectors: a model's shared parameters gathered into one
 * float vector (what federation averages) and scattered back, guarded by
 * the model's layout id.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "learn/learn.h"

size_t
fm_learn_params_count(const fm_learn_param_block *blocks, size_t n_blocks)
{
	size_t n = 0;

	for (size_t b = 0; b < n_blocks; b++)
		n += blocks[b].n;
	return n;
}

int
fm_learn_params_export(const fm_learn_param_block *blocks, size_t n_blocks,
    float *dst, size_t cap, size_t *ret_n)
{
	size_t n = fm_learn_params_count(blocks, n_blocks), k = 0;

	if (n > cap)
		return -ENOBUFS;
	for (size_t b = 0; b < n_blocks; b++) {
		if (blocks[b].n > 0)
			memcpy(
			    dst + k, blocks[b].v, blocks[b].n * sizeof(float));
		k += blocks[b].n;
	}
	*ret_n = n;
	return 0;
}

int
fm_learn_params_import(const fm_learn_param_block *blocks, size_t n_blocks,
    uint32_t layout_id, uint32_t src_layout_id, const float *src, size_t n)
{
	size_t k = 0;

	if (layout_id != src_layout_id)
		return -ESTALE;
	if (n != fm_learn_params_count(blocks, n_blocks))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(src[i]))
			return -EDOM;
	}
	for (size_t b = 0; b < n_blocks; b++) {
		if (blocks[b].n > 0)
			memcpy(
			    blocks[b].v, src + k, blocks[b].n * sizeof(float));
		k += blocks[b].n;
	}
	return 0;
}
