/* The Lua scripts, shipped profiles and man pages compiled into the executable. */
#ifndef LSH_EMBEDDED_H
#define LSH_EMBEDDED_H
#include <stddef.h>

struct lsh_embedded {
	const char *name; /* "lunshare.cli", "profile:default" or "doc:lunshare-lua.3" */
	const char *path; /* its path in the source tree, for chunk names */
	const char *data;
	size_t len;
};

extern const struct lsh_embedded lsh_embedded[];
#endif
