/*
 * learn/params.h: a model's parameters as one flat vector, the unit
 * federation exchanges (learn/params.c).
 * Part of the learn module's public header: other folders include
 * "learn/learn.h", never this file.
 */
#ifndef FM_LEARN_PARAMS_H
#define FM_LEARN_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

/*
 * A model's parameters in memory, as blocks in flat-vector order (the
 * order the model writes its PARAM sections in). The model owns v.
 */
typedef struct fm_learn_param_block {
	float *v;
	size_t n;
} fm_learn_param_block;

/* The flat vector length of blocks[n_blocks]. Pure. */
size_t fm_learn_params_count(
    const fm_learn_param_block *blocks, size_t n_blocks);

/*
 * Gathers blocks[n_blocks] into one flat vector dst[cap]. Returns 0 and
 * *ret_n, or -ENOBUFS when cap is too small (dst untouched). Thread-safe
 * against other readers of the blocks.
 */
int fm_learn_params_export(const fm_learn_param_block *blocks, size_t n_blocks,
    float *dst, size_t cap, size_t *ret_n) FM_WUR;

/*
 * Scatters the flat vector src[n], which claims layout src_layout_id, into
 * blocks[n_blocks] of a model whose layout is layout_id. All or nothing:
 * returns 0; -ESTALE when the layout ids differ; -EINVAL when n is not the
 * blocks' total length; -EDOM when src holds a NaN or infinity. Nothing is
 * written on failure. The caller serialises it against users of the model.
 */
int fm_learn_params_import(const fm_learn_param_block *blocks, size_t n_blocks,
    uint32_t layout_id, uint32_t src_layout_id, const float *src,
    size_t n) FM_WUR;

#endif
