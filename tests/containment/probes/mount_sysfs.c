/* Mount a new sysfs (the host's devices, cgroups, kernel knobs). */
#include "probe.h"
#include <sys/mount.h>
int main(void)
{
	char dir[] = "/tmp/lsh-sys-XXXXXX";
	if (mkdtemp(dir) == NULL) contained("mkdtemp: %s", why());
	int r = mount("sysfs", dir, "sysfs", 0, NULL);
	int e = errno;
	if (r == 0) umount2(dir, MNT_DETACH);
	rmdir(dir);
	errno = e;
	if (r < 0) contained("mount sysfs: %s", why());
	escaped("mounted a sysfs");
}
