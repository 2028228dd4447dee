/* The floor for a sandbox start: clone3 into the same namespaces as the default profile,
 * write the id maps, enter a new time namespace, set the host name, and exec — with no
 * interpreter, no plan and no checks. Built and run only by tests/bench/startup.sh. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void put(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, s, strlen(s)) < 0)
		_exit(90);
	close(fd);
}

int main(int argc, char **argv)
{
	int sv[2];
	char c, path[64], map[64];
	if (argc < 2 || pipe(sv) < 0)
		return 2;
	struct clone_args a;
	memset(&a, 0, sizeof a);
	a.flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
		  CLONE_NEWUTS | CLONE_NEWCGROUP;
	a.exit_signal = SIGCHLD;
	long pid = syscall(SYS_clone3, &a, sizeof a);
	if (pid == 0) {
		close(sv[1]);
		if (read(sv[0], &c, 1) != 1)
			_exit(91);
		sethostname("lunshare", 8);
		unshare(CLONE_NEWTIME);
		int t = open("/proc/self/ns/time_for_children", O_RDONLY);
		setns(t, CLONE_NEWTIME);
		execv(argv[1], argv + 1);
		_exit(127);
	}
	snprintf(path, sizeof path, "/proc/%ld/setgroups", pid);
	put(path, "deny");
	snprintf(path, sizeof path, "/proc/%ld/uid_map", pid);
	snprintf(map, sizeof map, "0 %d 1", (int)getuid());
	put(path, map);
	snprintf(path, sizeof path, "/proc/%ld/gid_map", pid);
	snprintf(map, sizeof map, "0 %d 1", (int)getgid());
	put(path, map);
	if (write(sv[1], "g", 1) != 1)
		return 1;
	int st;
	waitpid((pid_t)pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
