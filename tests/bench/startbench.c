/* The timing loop of tests/bench/bench.sh: starts each of several commands in alternating
 * rounds, directly by fork and execv (no shell, no setpriv in between: run this program
 * itself under setpriv for the rootless numbers), and prints one line per measurement:
 *
 *   time NAME ROUND SECONDS MAXRSS_KIB     one start with nothing else in flight
 *   rate NAME ROUND K STARTS_PER_S         PER starts back to back, K at a time, for K = 1..INFLIGHT
 *
 * MAXRSS is wait4's ru_maxrss for the started process: the largest resident set of it and
 * every descendant it waited for (lunshare's supervisor, its pid 1 and the command).
 *
 *   startbench ROUNDS PER INFLIGHT NAME=COMMAND...   (COMMAND split on spaces)
 *
 * With INFLIGHT 0 it prints time lines only, else rate lines only. Built by bench.sh:
 *   cc -O2 -o startbench tests/bench/startbench.c */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct cmd {
	char *name;
	char *argv[64];
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static pid_t start(const struct cmd *c)
{
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		execv(c->argv[0], c->argv);
		_exit(127);
	}
	return pid;
}

static int reap(pid_t pid, long *rss)
{
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0)
		return -1;
	if (rss)
		*rss = ru.ru_maxrss;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int reap_any(void)
{
	int status;
	pid_t pid = wait(&status);
	if (pid < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: startbench ROUNDS PER INFLIGHT NAME=COMMAND...\n");
		return 2;
	}
	int rounds = atoi(argv[1]), per = atoi(argv[2]), inflight = atoi(argv[3]);
	int n = argc - 4;
	struct cmd *cmds = calloc(n, sizeof *cmds);
	for (int i = 0; i < n; i++) {
		char *eq = strchr(argv[4 + i], '=');
		if (!eq) {
			fprintf(stderr, "startbench: %s: expected NAME=COMMAND\n", argv[4 + i]);
			return 2;
		}
		*eq = '\0';
		cmds[i].name = argv[4 + i];
		int k = 0;
		for (char *t = strtok(eq + 1, " "); t && k < 63; t = strtok(NULL, " "))
			cmds[i].argv[k++] = t;
		/* each must work before it is timed */
		long rss;
		int st = reap(start(&cmds[i]), &rss);
		if (st != 0) {
			fprintf(stderr, "startbench: %s exits %d\n", cmds[i].name, st);
			return 1;
		}
	}
	for (int r = 1; r <= rounds; r++) {
		/* the order turns each round, so that no command always follows the same one */
		for (int j = 0; j < n && inflight <= 0; j++) {
			const struct cmd *c = &cmds[(j + r) % n];
			for (int k = 0; k < per; k++) {
				long rss = 0;
				double t0 = now();
				int st = reap(start(c), &rss);
				double t = now() - t0;
				if (st != 0) {
					fprintf(stderr, "startbench: %s exits %d\n", c->name, st);
					return 1;
				}
				printf("time %s %d %.6f %ld\n", c->name, r, t, rss);
			}
		}
		if (inflight <= 0)
			continue;
		for (int inf = 1; inf <= inflight; inf++)
		for (int j = 0; j < n; j++) {
			const struct cmd *c = &cmds[(j + r) % n];
			double t0 = now();
			int started = 0, running = 0, bad = 0;
			while (started < per || running > 0) {
				while (running < inf && started < per) {
					start(c);
					started++;
					running++;
				}
				if (reap_any() != 0)
					bad++;
				running--;
			}
			double t = now() - t0;
			if (bad) {
				fprintf(stderr, "startbench: %s failed %d of %d starts\n", c->name, bad, per);
				return 1;
			}
			printf("rate %s %d %d %.1f\n", c->name, r, inf, per / t);
		}
		fflush(stdout);
	}
	return 0;
}
