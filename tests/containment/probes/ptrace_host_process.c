/* Attach to a host process with ptrace. */
#include "probe.h"
#include <sys/ptrace.h>
#include <sys/wait.h>
int main(int argc, char **argv)
{
	if (argc != 2) usage("ptrace_host_process PID");
	pid_t pid = (pid_t)atoi(argv[1]);
	if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) < 0) contained("ptrace(PTRACE_SEIZE, %d): %s", (int)pid, why());
	ptrace(PTRACE_DETACH, pid, NULL, NULL);
	escaped("attached to pid %d", (int)pid);
}
