/* Read a host file the profile does not bind. */
#include "probe.h"
int main(int argc, char **argv)
{
	if (argc != 2) usage("read_unbound_file PATH");
	char buf[64] = "";
	int fd = open(argv[1], O_RDONLY);
	if (fd < 0) contained("open %s: %s", argv[1], why());
	if (read(fd, buf, sizeof buf - 1) > 0 && strstr(buf, "lunshare-secret"))
		escaped("read the host's %s", argv[1]);
	contained("%s is not the host's file", argv[1]);
}
