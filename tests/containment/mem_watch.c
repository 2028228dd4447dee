/* The enter spec's watcher, run as a sandbox's command: for SECONDS, it tries to open
 * /proc/PID/mem read-write of every other process it sees, and counts those it could open
 * whose executable is not one of the commands the spec runs (true, sh, sleep, itself): a
 * joining lunshare before its exec, which a sandbox process could patch to skip the
 * seccomp filter. Prints "opened N". */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int expected(const char *exe)
{
	static const char *const ok[] = { "/usr/bin/true", "/usr/bin/dash", "/usr/bin/sleep", "/w/mem_watch" };
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		if (strcmp(exe, ok[i]) == 0)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	int self = getpid(), opened = 0;
	time_t end = time(NULL) + (argc > 1 ? atoi(argv[1]) : 10);
	printf("ready\n");
	fflush(stdout);
	while (time(NULL) < end) {
		DIR *d = opendir("/proc");
		struct dirent *e;
		while (d && (e = readdir(d)) != NULL) {
			int pid = atoi(e->d_name);
			if (pid <= 1 || pid == self)
				continue;
			char path[64], exe[4096];
			snprintf(path, sizeof path, "/proc/%d/mem", pid);
			int fd = open(path, O_RDWR);
			if (fd < 0)
				continue;
			snprintf(path, sizeof path, "/proc/%d/exe", pid);
			ssize_t n = readlink(path, exe, sizeof exe - 1);
			exe[n > 0 ? n : 0] = '\0';
			if (n > 0 && !expected(exe))
				opened++;
			close(fd);
		}
		if (d)
			closedir(d);
	}
	printf("opened %d\n", opened);
	return 0;
}
