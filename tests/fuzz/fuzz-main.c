/*
 * Replays a fuzz target's corpus as an ordinary test, so that a plain gcc
 * build (and the sanitizer build) exercises every fuzz target.
 *
 * Usage: fuzz-NAME-replay DIR|FILE...  Each file's bytes are copied into a
 * buffer of exactly their size (so ASan sees any over-read) and passed to
 * LLVMFuzzerTestOneInput. Prints TAP, one line per file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT_BYTES (1u << 20)
#define MAX_FILES       4096

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
run_file(const char *path)
{
	struct stat st;
	uint8_t *buf;
	size_t off = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size > MAX_INPUT_BYTES) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	if (!buf) {
		close(fd);
		return -1;
	}
	while (off < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + off, (size_t)st.st_size - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	(void)LLVMFuzzerTestOneInput(buf, off);
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	char *files[MAX_FILES];
	size_t n = 0;
	int failed = 0;

	for (int a = 1; a < argc; a++) {
		DIR *d = opendir(argv[a]);
		struct dirent *de;

		if (!d) {
			if (n < MAX_FILES)
				files[n++] = strdup(argv[a]);
			continue;
		}
		while ((de = readdir(d)) && n < MAX_FILES) {
			char *p;

			if (de->d_name[0] == '.')
				continue;
			if (asprintf(&p, "%s/%s", argv[a], de->d_name) < 0)
				return 99;
			files[n++] = p;
		}
		closedir(d);
	}
	qsort(files, n, sizeof(files[0]), cmp_str);
	if (n == 0) {
		/* An empty corpus means the test tests nothing: fail. */
		printf("1..1\nnot ok 1 - no corpus files found\n");
		return 1;
	}
	printf("1..%zu\n", n);
	for (size_t i = 0; i < n; i++) {
		int r = files[i] ? run_file(files[i]) : -1;

		printf("%s %zu - %s\n", r == 0 ? "ok" : "not ok", i + 1,
		    files[i] ? files[i] : "(out of memory)");
		failed |= r != 0;
		free(files[i]);
	}
	return failed;
}
