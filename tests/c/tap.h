/* A tiny TAP producer for the C tests: ok/not ok lines, a plan at the end, skips. */
#ifndef LSH_TAP_H
#define LSH_TAP_H
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

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
