/*
 * fedmonctl: the operator's command for a host's agent. This issue brings
 * its key-generation command; the status and labelling commands talk to
 * the running agent (see README.md).
 *
 *   fedmonctl keygen [--force] FILE
 *
 * Exit status: 0 success, 1 failure, 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "crypto/crypto.h"
#include "fm-config.h"

#define EXIT_USAGE 2

static void
usage(FILE *f)
{
	fprintf(f,
	    "Usage: fedmonctl COMMAND [ARGS]\n"
	    "\n"
	    "Commands:\n"
	    "  keygen [--force] FILE   generate a key pair: the secret key "
	    "in FILE (mode\n"
	    "                          0600), the public key in FILE.pub; "
	    "prints the public\n"
	    "                          key. Refuses to replace FILE without "
	    "--force.\n"
	    "\n"
	    "  -h, --help              this help\n"
	    "      --version           print the version\n"
	    "\n"
	    "Exit status: 0 success, 1 failure, 2 usage error.\n");
}

static int
cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char text[FM_CRYPTO_KEY_TEXT_BYTES], id[FM_CRYPTO_KEY_ID_TEXT_BYTES];
	fm_crypto_identity *key = NULL;
	bool force = false;
	int c, r;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			force = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			fprintf(stderr, "fedmonctl keygen: unknown flag '%s'\n",
			    argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "fedmonctl keygen: wants one FILE\n");
		return EXIT_USAGE;
	}
	r = fm_crypto_init();
	if (r == 0)
		r = fm_crypto_identity_generate(&key);
	if (r == 0)
		r = fm_crypto_identity_save(key, argv[optind], force);
	if (r == -EEXIST) {
		fprintf(stderr,
		    "fedmonctl keygen: '%s' exists; not replacing a key "
		    "(use --force to replace it, which breaks its enrolment)\n",
		    argv[optind]);
		goto out;
	}
	if (r < 0) {
		fprintf(stderr, "fedmonctl keygen: cannot write '%s': %s\n",
		    argv[optind], strerror(-r));
		goto out;
	}
	fm_crypto_key_format(fm_crypto_identity_public(key), text);
	fm_crypto_key_id_format(fm_crypto_identity_key_id(key), id);
	printf("%s\n", text);
	fprintf(stderr,
	    "Wrote secret key '%s' (mode 0600) and public key '%s.pub'; key "
	    "id %s.\n",
	    argv[optind], argv[optind], id);
out:
	fm_crypto_identity_free(key);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return EXIT_SUCCESS;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("fedmonctl %s\n", FM_VERSION);
		return EXIT_SUCCESS;
	}
	if (strcmp(argv[1], "keygen") == 0)
		return cmd_keygen(argc - 1, argv + 1);
	fprintf(stderr, "fedmonctl: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
