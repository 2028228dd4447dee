/* Resource limits by name. */
#include <errno.h>
#include <sys/resource.h>

#include "tap.h"
#include "child.h"
#include "lunshare.h"

static int set_nofile(void)
{
	struct lsh_err *err = NULL;
	struct rlimit rl;
	CHECK(lsh_rlimit_set("nofile", 64, 128, &err) == 0);
	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur == 64 && rl.rlim_max == 128);
	CHECK(lsh_rlimit_set("RLIMIT_CORE", 0, 0, &err) == 0);
	CHECK(getrlimit(RLIMIT_CORE, &rl) == 0 && rl.rlim_cur == 0 && rl.rlim_max == 0);
	return 0;
}

static int raise_hard(void)
{
	struct lsh_err *err = NULL;
	CHECK(lsh_rlimit_set("nofile", 16, 32, &err) == 0);
	if (getuid() == 0)
		CHECK(setresuid(65534, 65534, 65534) == 0);
	CHECK(lsh_rlimit_set("nofile", 16, 1 << 20, &err) == -EPERM);
	CHECK(strstr(err->msg, "setrlimit(nofile") != NULL);
	return 0;
}

static int unlimited(void)
{
	struct lsh_err *err = NULL;
	struct rlimit rl;
	CHECK(getrlimit(RLIMIT_FSIZE, &rl) == 0);
	if (rl.rlim_max != RLIM_INFINITY)
		return 0;
	CHECK(lsh_rlimit_set("fsize", 4096, -1, &err) == 0);
	CHECK(getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur == 4096 && rl.rlim_max == RLIM_INFINITY);
	return 0;
}

int main(void)
{
	struct lsh_err *err = NULL;
	ok(lsh_rlimit_from_name("nofile") == RLIMIT_NOFILE, "nofile");
	ok(lsh_rlimit_from_name("RLIMIT_AS") == RLIMIT_AS, "RLIMIT_AS");
	ok(lsh_rlimit_from_name("rttime") == RLIMIT_RTTIME, "rttime");
	ok(lsh_rlimit_from_name("nofiles") == -EINVAL, "an unknown name is EINVAL");
	ok(lsh_rlimit_set("bogus", 1, 1, &err) == -EINVAL && strstr(err->msg, "bogus"), "and names it");
	lsh_err_free(err);
	ok(in_child(set_nofile) == 0, "sets soft and hard limits by name");
	ok(in_child(raise_hard) == 0, "raising the hard limit unprivileged is EPERM, named");
	ok(in_child(unlimited) == 0, "-1 is unlimited");
	return done_testing();
}
