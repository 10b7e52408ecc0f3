/*
 * embed.c - build tool: write a file's bytes as a NUL-terminated C array.
 * usage: embed SYMBOL INPUT OUTPUT.c
 */
#include <stdio.h>

int
main(int argc, char **argv)
{
	FILE *in, *out;
	int c;
	unsigned long n = 0;

	if (argc != 4)
		return 2;
	in = fopen(argv[2], "rb");
	out = fopen(argv[3], "w");
	if (in == NULL || out == NULL)
		return 1;
	fprintf(out, "/* generated from %s by embed; do not edit */\n", argv[2]);
	fprintf(out, "extern const char %s[];\nconst char %s[] = {", argv[1], argv[1]);
	while ((c = getc(in)) != EOF)
		fprintf(out, c > 127 ? "%s(char)%d," : "%s%d,", n++ % 16 ? "" : "\n", c);
	fprintf(out, "\n0 };\n");
	fclose(in);
	return fclose(out) == 0 ? 0 : 1;
}
