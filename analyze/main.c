#include "apd.h"
#include <stdio.h>
int main(void) { printf("apdiag %s\n", apd_version()); return 0; }
