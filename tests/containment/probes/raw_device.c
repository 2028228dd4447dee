/* Open a raw block or memory device of the host: the disk (argv[1], e.g. /dev/vda), a
 * loop device (which could attach any file as a disk), /dev/mem, /dev/port. */
#include "probe.h"
int main(int argc, char **argv)
{
	if (argc != 2) usage("raw_device DEVICE");
	const char *devs[] = { argv[1], "/dev/loop-control", "/dev/loop0", "/dev/mem", "/dev/kmem", "/dev/port" };
	for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++) {
		int fd = open(devs[i], O_RDONLY);
		if (fd >= 0) escaped("opened %s", devs[i]);
	}
	contained("no raw device could be opened (%s: %s)", argv[1], access(argv[1], F_OK) ? "absent" : "refused");
}
