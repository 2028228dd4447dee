/* Runs a test body in a forked child, so that what it changes (capabilities, filters,
 * limits) stays there. The body returns 0, or the line of the first check that failed. */
#ifndef LSH_TEST_CHILD_H
#define LSH_TEST_CHILD_H
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(cond)                                                                     \
	do {                                                                            \
		if (!(cond))                                                            \
			return __LINE__;                                                \
	} while (0)

/* The waitpid() status of the child that ran body. */
static inline int in_child(int (*body)(void))
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int line = body();
		if (line)
			printf("#   check at line %d failed in the child\n", line);
		fflush(stdout);
		_exit(line ? 1 : 0);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	return status;
}
#endif
