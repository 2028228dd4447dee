/* What every containment probe shares. A probe tries one escape and exits:
 *   0  contained: the attempt failed (it prints why)
 *   1  escaped: the attempt worked
 *   2  misuse (bad arguments), 77 skipped (it prints why)
 * Probes are linked statically, so that they run inside any sandbox root. */
#ifndef LSH_PROBE_H
#define LSH_PROBE_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

static inline __attribute__((noreturn, format(printf, 1, 2))) void contained(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("contained: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	exit(0);
}

static inline __attribute__((noreturn, format(printf, 1, 2))) void escaped(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("ESCAPED: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	exit(1);
}

static inline __attribute__((noreturn)) void usage(const char *u)
{
	fprintf(stderr, "usage: %s\n", u);
	exit(2);
}

static inline const char *why(void) { return strerror(errno); }
#endif
