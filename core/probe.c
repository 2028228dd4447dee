/* What this kernel supports, asked of the kernel itself rather than inferred from its
 * version: a system call that exists answers EINVAL, EBADF or EFAULT to bad arguments,
 * a missing one ENOSYS. */
#include "internal.h"
#include "syscalls.h"

#include <string.h>

static const struct {
	const char *name;
	long nr;
} probes[] = {
	{ "clone3", __NR_clone3 },	   { "pidfd_open", __NR_pidfd_open },
	{ "close_range", __NR_close_range }, { "open_tree", __NR_open_tree },
	{ "move_mount", __NR_move_mount }, { "fsopen", __NR_fsopen },
	{ "mount_setattr", __NR_mount_setattr }, { "openat2", __NR_openat2 },
};

int lsh_probe_syscall(const char *name, struct lsh_err **err)
{
	for (size_t i = 0; i < LSH_ARRAY_SIZE(probes); i++) {
		if (strcmp(probes[i].name, name) != 0)
			continue;
		long r;
		/* Arguments every one of these rejects before doing anything: a NULL pointer
		 * with a nonzero size, or fd -1. clone3 with a NULL args pointer and size 0 is
		 * EINVAL, so it cannot create a process here. */
		if (probes[i].nr == __NR_clone3)
			r = syscall(probes[i].nr, NULL, 0);
		else if (probes[i].nr == __NR_close_range)
			r = syscall(probes[i].nr, 2, 1, 0); /* first > last: EINVAL */
		else
			r = syscall(probes[i].nr, -1, NULL, 0, NULL, 0);
		return r < 0 && errno == ENOSYS ? 0 : 1;
	}
	return lsh_err_msg(err, EINVAL, "probe: unknown system call \"%s\"", name);
}
