/* Resource limits by name. */
#include "internal.h"

#include <string.h>
#include <strings.h>
#include <sys/resource.h>

static const struct {
	const char *name;
	int resource;
} limits[] = {
	{ "as", RLIMIT_AS }, { "core", RLIMIT_CORE }, { "cpu", RLIMIT_CPU },
	{ "data", RLIMIT_DATA }, { "fsize", RLIMIT_FSIZE }, { "locks", RLIMIT_LOCKS },
	{ "memlock", RLIMIT_MEMLOCK }, { "msgqueue", RLIMIT_MSGQUEUE }, { "nice", RLIMIT_NICE },
	{ "nofile", RLIMIT_NOFILE }, { "nproc", RLIMIT_NPROC }, { "rss", RLIMIT_RSS },
	{ "rtprio", RLIMIT_RTPRIO }, { "rttime", RLIMIT_RTTIME },
	{ "sigpending", RLIMIT_SIGPENDING }, { "stack", RLIMIT_STACK },
};

int lsh_rlimit_from_name(const char *name)
{
	if (name == NULL)
		return -EINVAL;
	if (strncasecmp(name, "RLIMIT_", 7) == 0)
		name += 7;
	for (size_t i = 0; i < LSH_ARRAY_SIZE(limits); i++)
		if (strcasecmp(limits[i].name, name) == 0)
			return limits[i].resource;
	return -EINVAL;
}

int lsh_rlimit_set(const char *name, int64_t soft, int64_t hard, struct lsh_err **err)
{
	int res = lsh_rlimit_from_name(name);
	if (res < 0)
		return lsh_err_msg(err, EINVAL, "rlimit: unknown resource \"%s\"", name ? name : "");
	struct rlimit rl = {
		.rlim_cur = soft < 0 ? RLIM_INFINITY : (rlim_t)soft,
		.rlim_max = hard < 0 ? RLIM_INFINITY : (rlim_t)hard,
	};
	/* Raising a hard limit needs CAP_SYS_RESOURCE in the initial user namespace: the
	 * kernel refuses it with EPERM, which we report as is. */
	if (setrlimit((__rlimit_resource_t)res, &rl) < 0)
		return lsh_err_set(err, errno, "setrlimit(%s, %lld, %lld)", name, (long long)soft,
				   (long long)hard);
	return 0;
}
