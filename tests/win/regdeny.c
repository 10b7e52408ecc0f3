/*
 * regdeny.c - test helper for tests/win (the hostile cases): create
 * HKLM\<subkey>\Inner with a value, then give Inner a protected DACL that
 * denies every access to Everyone, so that a reader cannot open it.
 * usage: regdeny.exe SUBKEY   (below HKLM, e.g. SOFTWARE\ApdiagTest\Locked)
 */
#include <windows.h>
#include <sddl.h>
#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
	HKEY k, in;
	PSECURITY_DESCRIPTOR sd = NULL;
	char path[1024];
	DWORD v = 1;

	if (argc != 2)
		return 2;
	if (RegCreateKeyExA(HKEY_LOCAL_MACHINE, argv[1], 0, NULL, 0, KEY_ALL_ACCESS, NULL, &k,
	    NULL) != ERROR_SUCCESS)
		return 1;
	RegSetValueExA(k, "Visible", 0, REG_DWORD, (const BYTE *)&v, sizeof(v));
	snprintf(path, sizeof(path), "Inner");
	if (RegCreateKeyExA(k, path, 0, NULL, 0, KEY_ALL_ACCESS, NULL, &in, NULL) != ERROR_SUCCESS)
		return 1;
	RegSetValueExA(in, "Secret", 0, REG_DWORD, (const BYTE *)&v, sizeof(v));
	if (!ConvertStringSecurityDescriptorToSecurityDescriptorA("D:P(D;;KA;;;WD)",
	    SDDL_REVISION_1, &sd, NULL))
		return 1;
	if (RegSetKeySecurity(in, DACL_SECURITY_INFORMATION, sd) != ERROR_SUCCESS)
		return 1;
	RegCloseKey(in);
	RegCloseKey(k);
	printf("denied\n");
	return 0;
}
