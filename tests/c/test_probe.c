/* Kernel feature probes. This kernel is 6.x: every probed call exists. */
#include <errno.h>

#include "tap.h"
#include "lunshare.h"

int main(void)
{
	const char *calls[] = { "clone3", "pidfd_open", "close_range", "open_tree", "move_mount",
				"fsopen", "mount_setattr", "openat2" };
	for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
		ok(lsh_probe_syscall(calls[i], NULL) == 1, "%s is there", calls[i]);
	struct lsh_err *err = NULL;
	ok(lsh_probe_syscall("frobnicate", &err) == -EINVAL && err, "unknown names are EINVAL");
	lsh_err_free(err);
	return done_testing();
}
