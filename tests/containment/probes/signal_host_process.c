/* Signal a host process (signal 0: the permission check without the signal). */
#include "probe.h"
#include <signal.h>
int main(int argc, char **argv)
{
	if (argc != 2) usage("signal_host_process PID");
	pid_t pid = (pid_t)atoi(argv[1]);
	if (kill(pid, 0) < 0) contained("kill(%d, 0): %s", (int)pid, why());
	/* A pid with that number inside the sandbox is not the host's process. */
	char path[64], buf[256] = "";
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	int fd = open(path, O_RDONLY);
	if (fd >= 0 && read(fd, buf, sizeof buf - 1) > 0 && !strstr(buf, "sleep"))
		contained("pid %d here is \"%s\", not the host's process", (int)pid, buf);
	escaped("kill(%d, 0) succeeded", (int)pid);
}
