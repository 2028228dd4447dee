/* Make a device node (/dev/mem's numbers) and open it. */
#include "probe.h"
#include <sys/sysmacros.h>
int main(void)
{
	char path[64];
	snprintf(path, sizeof path, "/tmp/lsh-mknod-%d", (int)getpid());
	if (mknod(path, S_IFCHR | 0600, makedev(1, 1)) < 0) contained("mknod: %s", why());
	int fd = open(path, O_RDONLY);
	int e = errno;
	unlink(path);
	if (fd < 0) {
		errno = e;
		contained("made a node but cannot open it: %s", why());
	}
	escaped("made and opened a /dev/mem node");
}
