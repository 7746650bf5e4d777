/*
 * fedmon-confdoc: writes the manual page fedmon.conf(5) from its template
 * (docs/man/fedmon.conf.5.in), the keys generated from the daemons' own
 * tables (fm_agent_config_schema, fm_agg_config_schema), so that the page
 * lists every key, with its type and range, default and reload, exactly
 * as the daemons take it. Built, not installed: docs/man/meson.build runs
 * it.
 *
 *   fedmon-confdoc TEMPLATE > fedmon.conf.5
 *
 * A template line "@KEYS agent@" or "@KEYS aggregator@" becomes that
 * file's keys, section by section in the table's order ".SS [section]",
 * then per key:
 *
 *   .TP
 *   .B key
 *   Description.
 *   .br
 *   Value: what fm_conf_key_expect() says.
 *   .br
 *   Default: \fBdefault\fR.   (or "Default: none." / "Default: empty.")
 *   .br
 *   A reload applies it.      (or "A restart applies it.")
 *
 * Every other line is copied. Exit status: 0; 1 when the template cannot
 * be read or the page written; 2 on a usage error or an unknown @KEYS@.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent/agent.h"
#include "aggregator/aggregator.h"

#define LINE_BYTES 1024

/* Writes s as roff text: backslashes and hyphens escaped, and a leading
 * '.' or '\'' kept from reading as a request when at_line_start. */
static void
put_text(FILE *f, const char *s, int at_line_start)
{
	if (at_line_start && (s[0] == '.' || s[0] == '\''))
		fputs("\\&", f);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else
			fputc(*s, f);
	}
}

/* One key's entry (see the top of the file). */
static void
put_key(FILE *f, const fm_conf_key *k)
{
	char expect[FM_CONF_WHY_BYTES];
	char first[2] = { 0 };

	fputs(".TP\n.B ", f);
	put_text(f, k->name, 0);
	fputc('\n', f);
	/* the description as a sentence */
	first[0] = (char)toupper((unsigned char)k->description[0]);
	put_text(f, first, 1);
	put_text(f, k->description + 1, 0);
	fputs(".\n.br\nValue: ", f);
	fm_conf_key_expect(k, expect, sizeof(expect));
	put_text(f, expect, 0);
	fputs(".\n.br\nDefault: ", f);
	if (!k->def)
		fputs("none", f);
	else if (!k->def[0])
		fputs("empty", f);
	else {
		fputs("\\fB", f);
		put_text(f, k->def, 0);
		fputs("\\fR", f);
	}
	fputs(".\n.br\n", f);
	fputs(k->flags & FM_CONF_RELOAD ? "A reload applies it.\n"
	                                : "A restart applies it.\n",
	    f);
}

/* Every section of s and its keys. */
static void
put_keys(FILE *f, const fm_conf_schema *s)
{
	for (size_t i = 0; i < s->n_sections; i++) {
		const fm_conf_section *sec = &s->sections[i];

		/* a named section is one [NAME INSTANCE] per instance */
		fprintf(
		    f, ".SS \"[%s%s]\"\n", sec->name, sec->open ? " NAME" : "");
		for (size_t j = 0; j < s->n_keys; j++)
			if (strcmp(s->keys[j].section, sec->name) == 0)
				put_key(f, &s->keys[j]);
	}
}

int
main(int argc, char **argv)
{
	char line[LINE_BYTES];
	unsigned lineno = 0;
	FILE *in;

	if (argc != 2) {
		fprintf(stderr, "Usage: fedmon-confdoc TEMPLATE\n");
		return 2;
	}
	in = fopen(argv[1], "re");
	if (!in) {
		fprintf(stderr, "fedmon-confdoc: cannot read '%s': %s\n",
		    argv[1], strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof(line), in)) {
		lineno++;
		if (strncmp(line, "@KEYS", 5) != 0) {
			fputs(line, stdout);
			continue;
		}
		if (strcmp(line, "@KEYS agent@\n") == 0)
			put_keys(stdout, &fm_agent_config_schema);
		else if (strcmp(line, "@KEYS aggregator@\n") == 0)
			put_keys(stdout, &fm_agg_config_schema);
		else {
			fprintf(stderr, "%s:%u: unknown %.*s", argv[1], lineno,
			    (int)strcspn(line, "\n"), line);
			fputc('\n', stderr);
			fclose(in);
			return 2;
		}
	}
	if (ferror(in)) {
		fprintf(stderr, "fedmon-confdoc: cannot read '%s'\n", argv[1]);
		fclose(in);
		return 1;
	}
	fclose(in);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "fedmon-confdoc: cannot write the page\n");
		return 1;
	}
	return 0;
}
