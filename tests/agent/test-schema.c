/* Tests for agent/collect/schema.c: every feature named, unique, documented. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agent/collect/collect.h"

static void
test_schema_complete_and_unique(void **state)
{
	assert_true(FM_FEATURE_COUNT >= 40);
	for (unsigned i = 0; i < FM_FEATURE_COUNT; i++) {
		const fm_collect_feature_info *f = fm_collect_feature_get(i);

		assert_non_null(f);
		assert_non_null(f->name);
		assert_non_null(f->unit);
		assert_non_null(f->description);
		assert_true(strlen(f->description) > 10);
		/* names are lowercase dotted identifiers, no tabs */
		for (const char *p = f->name; *p; p++)
			assert_true((*p >= 'a' && *p <= 'z') ||
			    (*p >= '0' && *p <= '9') || *p == '.' || *p == '_');
		assert_null(strchr(f->unit, '\t'));
		assert_null(strchr(f->description, '\t'));
		assert_int_equal(fm_collect_feature_lookup(f->name), (int)i);
	}
	assert_null(fm_collect_feature_get(FM_FEATURE_COUNT));
}

static void
test_schema_stable_names(void **state)
{
	/* Renaming these breaks every model in the fleet: bump the schema. */
	assert_int_equal(FM_COLLECT_SCHEMA_VERSION, 1);
	assert_string_equal(
	    fm_collect_feature_get(FM_F_CPU_USER)->name, "cpu.user");
	assert_string_equal(
	    fm_collect_feature_get(FM_F_MEM_USED)->name, "mem.used");
	assert_string_equal(
	    fm_collect_feature_get(FM_F_FS_FULLEST)->name, "fs.fullest");
	assert_int_equal(fm_collect_feature_lookup("no.such"), -ENOENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schema_complete_and_unique),
		cmocka_unit_test(test_schema_stable_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
