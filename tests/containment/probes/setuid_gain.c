/* Gain privilege from a setuid-root program: argv[1] is a setuid-root copy of this probe,
 * which reports what it got when run with --report. */
#include "probe.h"
#include <sys/wait.h>
int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--report") == 0)
		return geteuid() != getuid() ? 1 : 0; /* 1: euid changed on exec */
	if (argc != 2) usage("setuid_gain SETUID_COPY");
	struct stat st;
	if (stat(argv[1], &st) < 0) contained("%s: %s (not visible here)", argv[1], why());
	pid_t pid = fork();
	if (pid == 0) {
		execl(argv[1], argv[1], "--report", (char *)NULL);
		_exit(3);
	}
	int status;
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 1) escaped("exec of %s changed the euid", argv[1]);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 3) contained("cannot exec %s", argv[1]);
	contained("exec of %s gave no privilege", argv[1]);
}
