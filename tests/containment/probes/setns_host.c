/* Enter a host process's network namespace with setns. */
#include "probe.h"
#include <sched.h>
int main(int argc, char **argv)
{
	if (argc != 2) usage("setns_host PID");
	char path[64];
	snprintf(path, sizeof path, "/proc/%s/ns/net", argv[1]);
	int fd = open(path, O_RDONLY);
	if (fd < 0) contained("open %s: %s", path, why());
	if (setns(fd, CLONE_NEWNET) < 0) contained("setns %s: %s", path, why());
	escaped("entered %s", path);
}
