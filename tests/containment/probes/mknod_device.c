/* Make a device node and open it (/dev/null's numbers: harmless, but whoever can make
 * one device node can make any). */
#include "probe.h"
#include <sys/sysmacros.h>
int main(void)
{
	char path[64];
	snprintf(path, sizeof path, "/tmp/lsh-mknod-%d", (int)getpid());
	if (mknod(path, S_IFCHR | 0600, makedev(1, 3)) < 0) contained("mknod: %s", why());
	int fd = open(path, O_RDONLY);
	int e = errno;
	unlink(path);
	if (fd < 0) {
		errno = e;
		contained("made a node but cannot open it: %s", why());
	}
	escaped("made and opened a device node");
}
