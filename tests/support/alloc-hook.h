/*
 * Allocation hooks for tests: linking test_alloc_dep wraps malloc, calloc
 * and realloc (-Wl,--wrap) in the whole test binary, so a test can count
 * the allocations a call makes and make one of them fail.
 */
#ifndef FM_TEST_ALLOC_HOOK_H
#define FM_TEST_ALLOC_HOOK_H

/* Allocations (malloc, calloc, realloc) made so far, by any thread. */
unsigned fm_test_alloc_count(void);

/* Makes the allocation after the next n succeed fail with NULL (n = 0:
 * the very next one); n = -1 lets every allocation succeed again. */
void fm_test_alloc_fail_after(int n);

#endif
