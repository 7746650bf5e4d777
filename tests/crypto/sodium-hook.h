/*
 * Guarded-memory hooks for the crypto tests: linking sodium_hook_dep wraps
 * sodium_malloc() and sodium_free() (-Wl,--wrap) as crypto/ calls them,
 * so a test can make one fail and check that every block was freed (ASan
 * does not see libsodium's mmap()ed blocks).
 */
#ifndef FM_TEST_SODIUM_HOOK_H
#define FM_TEST_SODIUM_HOOK_H

/* Blocks allocated and not yet freed. */
int fm_test_sodium_live(void);

/* Makes the sodium_malloc() after the next n succeed fail with NULL (n = 0:
 * the very next one); n = -1 lets every one succeed again. */
void fm_test_sodium_fail_after(int n);

#endif
