/* Read a key of the caller's session keyring by its serial number. */
#include "probe.h"
#include <linux/keyctl.h>
int main(int argc, char **argv)
{
	if (argc != 2) usage("host_keyring_key SERIAL");
	char buf[64] = "";
	long n = syscall(SYS_keyctl, KEYCTL_READ, atol(argv[1]), buf, sizeof buf - 1, 0);
	if (n < 0) contained("keyctl(KEYCTL_READ, %s): %s", argv[1], why());
	escaped("read key %s: \"%s\"", argv[1], buf);
}
