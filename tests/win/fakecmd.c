/*
 * fakecmd.c - test helper for tests/win: a stand-in for a System32 tool.
 *   fakecmd.exe -cab PATH     writes a small cab-like file at PATH (as
 *                             MdmDiagnosticsTool -cab does), prints a line, exits 0
 *   fakecmd.exe -sleep N      prints a line, then sleeps N seconds (a hung tool)
 *   fakecmd.exe -exit N       prints a line and exits with N
 * The tests copy it into the prefix's System32 under other names.
 */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main(int argc, char **argv)
{
	int i;

	for (i = 1; i + 1 < argc; i++) {
		if (strcmp(argv[i], "-cab") == 0) {
			FILE *f = fopen(argv[i + 1], "wb");
			if (f == NULL)
				return 3;
			fputs("MSCF-fake nested cab\n", f);
			fclose(f);
			printf("wrote %s\n", argv[i + 1]);
			return 0;
		}
		if (strcmp(argv[i], "-sleep") == 0) {
			printf("sleeping\n");
			fflush(stdout);
			Sleep((DWORD)atoi(argv[i + 1]) * 1000);
			return 0;
		}
		if (strcmp(argv[i], "-exit") == 0) {
			printf("exiting with %s\n", argv[i + 1]);
			return atoi(argv[i + 1]);
		}
	}
	return 2;
}
