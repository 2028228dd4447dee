/* Move itself into a host cgroup (argv[1]: its cgroup.procs). */
#include "probe.h"
int main(int argc, char **argv)
{
	if (argc != 2) usage("move_cgroup CGROUP_PROCS");
	int fd = open(argv[1], O_WRONLY);
	if (fd < 0) contained("open %s: %s", argv[1], why());
	if (write(fd, "0", 1) < 0) contained("write %s: %s", argv[1], why());
	escaped("moved into %s", argv[1]);
}
