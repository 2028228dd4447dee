/* Mount a new proc and look for a host process in it. */
#include "probe.h"
#include <sys/mount.h>
int main(int argc, char **argv)
{
	if (argc != 2) usage("mount_proc HOST_PID");
	char dir[] = "/tmp/lsh-proc-XXXXXX", path[128];
	if (mkdtemp(dir) == NULL) contained("mkdtemp: %s", why());
	if (mount("proc", dir, "proc", 0, NULL) < 0) {
		int e = errno;
		rmdir(dir);
		errno = e;
		contained("mount proc: %s", why());
	}
	snprintf(path, sizeof path, "%s/%s/cmdline", dir, argv[1]);
	char buf[256] = "";
	int fd = open(path, O_RDONLY);
	int seen = fd >= 0 && read(fd, buf, sizeof buf - 1) > 0 && strstr(buf, "sleep");
	if (fd >= 0) close(fd);
	umount2(dir, MNT_DETACH);
	rmdir(dir);
	if (seen) escaped("a new proc shows host pid %s", argv[1]);
	contained("a new proc was mounted but shows only the sandbox");
}
