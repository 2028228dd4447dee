/* See a host process: its /proc entry, with what it runs. argv[1]: a host pid. */
#include "probe.h"
int main(int argc, char **argv)
{
	if (argc != 2) usage("see_host_process PID");
	char path[64], buf[256] = "";
	snprintf(path, sizeof path, "/proc/%s/cmdline", argv[1]);
	int fd = open(path, O_RDONLY);
	if (fd < 0) contained("open %s: %s", path, why());
	ssize_t n = read(fd, buf, sizeof buf - 1);
	if (n > 0 && strstr(buf, "sleep")) escaped("%s shows the host's \"%s\"", path, buf);
	contained("%s is another process here", path);
}
