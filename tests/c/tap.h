/* A tiny TAP producer for the C tests: ok/not ok lines, a plan at the end, skips, and a
 * time limit for the whole test program. */
#ifndef LSH_TAP_H
#define LSH_TAP_H
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int tap_n, tap_failed;
static unsigned tap_limit;

/* A test that hangs (a child never reaped, a signal lost) fails with one line instead of
 * holding up the suite; the processes it started go with it. */
static void tap_timed_out(int sig)
{
	(void)sig;
	char line[128];
	int n = snprintf(line, sizeof line, "not ok %d - timed out after %u s (LSH_TAP_TIMEOUT)\n", tap_n + 1,
			 tap_limit);
	if (n > 0 && write(STDOUT_FILENO, line, (size_t)n) < 0) {
	}
	if (getpgrp() == getpid())
		kill(0, SIGKILL);
	_exit(1);
}

/* Armed before main: LSH_TAP_TIMEOUT seconds (default 60; 0 turns it off). Without a
 * terminal (ctest, tests/run) the test leads its own process group, so that a timeout
 * also ends what it forked; by hand in a terminal it stays in the shell's, for ^C. ctest's
 * TIMEOUT (CMakeLists.txt) is the limit behind this one. */
__attribute__((constructor)) static void tap_arm(void)
{
	const char *s = getenv("LSH_TAP_TIMEOUT");
	tap_limit = s && *s ? (unsigned)strtoul(s, NULL, 10) : 60;
	if (tap_limit == 0)
		return;
	if (!isatty(STDIN_FILENO) && !isatty(STDOUT_FILENO))
		setpgid(0, 0);
	signal(SIGALRM, tap_timed_out);
	alarm(tap_limit);
}

#define ok(cond, ...)                                                                   \
	do {                                                                            \
		int ok_c_ = !!(cond);                                                   \
		printf("%sok %d - ", ok_c_ ? "" : "not ", ++tap_n);                     \
		printf(__VA_ARGS__);                                                    \
		printf("\n");                                                           \
		if (!ok_c_) {                                                           \
			tap_failed++;                                                   \
			printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond);     \
		}                                                                       \
		fflush(stdout);                                                         \
	} while (0)

#define skip(...)                                                                       \
	do {                                                                            \
		printf("ok %d - # SKIP ", ++tap_n);                                     \
		printf(__VA_ARGS__);                                                    \
		printf("\n");                                                           \
	} while (0)

static inline int done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
#endif
