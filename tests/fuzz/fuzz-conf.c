/*
 * Fuzz target: the config engine (common/conf.c) through agent.conf's key
 * table (agent/config.c), the widest one: plain sections, [action NAME]
 * sections and the daemon's own value types. Whatever the bytes: a
 * refusal is -EINVAL or a read error with a message naming the file; a
 * file that loads but breaks a rule across keys is refused by the check
 * with a message; a valid file dumps (--dump-config, which checks first)
 * to a file that loads back to the same configuration, byte for byte.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/fuzz-conf-XXXXXX";
static char in_path[sizeof(dir) + 16];
static char dump_path[sizeof(dir) + 16];

static void
cleanup(void)
{
	(void)unlink(in_path);
	(void)unlink(dump_path);
	(void)rmdir(dir);
}

static void
write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "w");

	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static fm_agent_config c, again;
	char err[FM_INI_ERROR_BYTES];
	char *dump = NULL;
	size_t dump_len = 0;
	FILE *f;
	int r;

	if (!in_path[0]) {
		if (!mkdtemp(dir))
			abort();
		snprintf(in_path, sizeof(in_path), "%s/agent.conf", dir);
		snprintf(dump_path, sizeof(dump_path), "%s/dump.conf", dir);
		atexit(cleanup);
	}
	write_file(in_path, data, size);

	fm_agent_config_init(&c);
	err[0] = '\0';
	r = fm_agent_config_load(&c, in_path, err);
	if (r < 0) {
		/* bad content names the file; a file over the cap is
		 * refused before it is read */
		if (r != -EINVAL && r != -EFBIG)
			abort();
		if (!strstr(err, "agent.conf"))
			abort();
		return 0;
	}
	err[0] = '\0';
	r = fm_agent_config_check(&c, err);
	if (r < 0) {
		if (r != -EINVAL || !err[0])
			abort();
		return 0;
	}

	f = open_memstream(&dump, &dump_len);
	if (!f)
		abort();
	r = fm_agent_config_dump(&c, f, err);
	if (fclose(f) != 0)
		abort();
	if (r < 0) {
		/* only a value the syntax cannot carry */
		if (r != -EINVAL || !err[0])
			abort();
		free(dump);
		return 0;
	}
	write_file(dump_path, dump, dump_len);
	free(dump);

	fm_agent_config_init(&again);
	if (fm_agent_config_load(&again, dump_path, err) < 0)
		abort();
	if (memcmp(&c, &again, sizeof(c)) != 0)
		abort();
	return 0;
}
