/* The time namespace: clock offsets for CLOCK_MONOTONIC and CLOCK_BOOTTIME.
 *
 * Offsets can only be written between unshare(CLONE_NEWTIME) and the moment the first
 * process enters the namespace, so a clone3(CLONE_NEWTIME) child would be too late: the
 * child unshares, writes, and then enters its own time_for_children (Linux 5.8+). */
#include "internal.h"
#include "syscalls.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int lsh_timens_set_offset(pid_t pid, enum lsh_clock clock, int64_t sec, int64_t nsec,
			  struct lsh_err **err)
{
	char path[64], line[96];

	if (clock != LSH_CLOCK_MONOTONIC && clock != LSH_CLOCK_BOOTTIME)
		return lsh_err_msg(err, EINVAL, "time offset: unknown clock %d", (int)clock);
	if (pid > 0)
		snprintf(path, sizeof path, "/proc/%d/timens_offsets", (int)pid);
	else
		snprintf(path, sizeof path, "/proc/self/timens_offsets");
	int len = snprintf(line, sizeof line, "%d %" PRId64 " %" PRId64 "\n", (int)clock, sec, nsec);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return lsh_err_set(err, errno, "open %s", path);
	if (write(fd, line, (size_t)len) != len)
		return lsh_err_set(err, errno, "write %s (%s offset %" PRId64 "s)", path,
				   clock == LSH_CLOCK_MONOTONIC ? "monotonic" : "boottime", sec);
	return 0;
}

int lsh_timens_enter_new(int64_t mono_sec, int64_t boot_sec, struct lsh_err **err)
{
	if (unshare(CLONE_NEWTIME) < 0)
		return lsh_err_set(err, errno, "unshare(CLONE_NEWTIME)");
	int r;
	if (mono_sec && (r = lsh_timens_set_offset(0, LSH_CLOCK_MONOTONIC, mono_sec, 0, err)) < 0)
		return r;
	if (boot_sec && (r = lsh_timens_set_offset(0, LSH_CLOCK_BOOTTIME, boot_sec, 0, err)) < 0)
		return r;
	_cleanup_close_ int fd = open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return lsh_err_set(err, errno, "open /proc/self/ns/time_for_children");
	if (setns(fd, CLONE_NEWTIME) < 0)
		return lsh_err_set(err, errno, "setns(time_for_children)");
	return 0;
}
