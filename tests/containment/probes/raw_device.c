/* Read a raw disk of the host (argv[1], e.g. /dev/vda) or /dev/mem. */
#include "probe.h"
int main(int argc, char **argv)
{
	if (argc != 2) usage("raw_device DEVICE");
	const char *devs[] = { argv[1], "/dev/mem", "/dev/kmem", "/dev/port" };
	for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++) {
		char b;
		int fd = open(devs[i], O_RDONLY);
		if (fd >= 0 && read(fd, &b, 1) == 1) escaped("read %s", devs[i]);
		if (fd >= 0) close(fd);
	}
	contained("no raw device could be read (%s: %s)", argv[1], access(argv[1], F_OK) ? "absent" : "refused");
}
