/*
 * holdfile.c - test helper for tests/win (the hostile cases): open a file
 * for writing with a deny-write share (FILE_SHARE_READ only), as a program
 * writing its log would, print "holding", and keep it open for N seconds.
 * usage: holdfile.exe PATH SECONDS
 */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>

int
main(int argc, char **argv)
{
	HANDLE h;

	if (argc != 3)
		return 2;
	h = CreateFileA(argv[1], GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ, NULL, OPEN_EXISTING,
	    FILE_ATTRIBUTE_NORMAL, NULL);
	if (h == INVALID_HANDLE_VALUE)
		return 1;
	printf("holding\n");
	fflush(stdout);
	Sleep((DWORD)atoi(argv[2]) * 1000);
	CloseHandle(h);
	return 0;
}
