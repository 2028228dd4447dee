/* Namespaces: the table of kinds, unshare, setns, and namespace identity. */
#include "internal.h"
#include "syscalls.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Entering several at once (setns with a pidfd) and the CLI's listing both want the user
 * namespace first: it grants the capabilities needed to enter the others. */
static const struct lsh_ns_kind kinds[LSH_NS_COUNT + 1] = {
	{ "user", "user", CLONE_NEWUSER },
	{ "mount", "mnt", CLONE_NEWNS },
	{ "pid", "pid", CLONE_NEWPID },
	{ "net", "net", CLONE_NEWNET },
	{ "ipc", "ipc", CLONE_NEWIPC },
	{ "uts", "uts", CLONE_NEWUTS },
	{ "cgroup", "cgroup", CLONE_NEWCGROUP },
	{ "time", "time", CLONE_NEWTIME },
	{ NULL, NULL, 0 },
};

const struct lsh_ns_kind *lsh_ns_kinds(void)
{
	return kinds;
}

const struct lsh_ns_kind *lsh_ns_kind_by_name(const char *name)
{
	for (const struct lsh_ns_kind *k = kinds; name && k->name; k++)
		if (strcmp(k->name, name) == 0 || strcmp(k->proc, name) == 0)
			return k;
	return NULL;
}

const struct lsh_ns_kind *lsh_ns_kind_by_flag(unsigned long flag)
{
	for (const struct lsh_ns_kind *k = kinds; k->name; k++)
		if (k->flag == flag)
			return k;
	return NULL;
}

int lsh_ns_unshare(unsigned long flags, struct lsh_err **err)
{
	if (unshare((int)flags) < 0)
		return lsh_err_set(err, errno, "unshare(0x%lx)", flags);
	return 0;
}

static void ns_path(char *buf, size_t size, pid_t pid, const struct lsh_ns_kind *kind)
{
	if (pid > 0)
		snprintf(buf, size, "/proc/%d/ns/%s", (int)pid, kind->proc);
	else
		snprintf(buf, size, "/proc/self/ns/%s", kind->proc);
}

int lsh_ns_open(pid_t pid, const struct lsh_ns_kind *kind, struct lsh_err **err)
{
	char path[64];

	if (kind == NULL)
		return lsh_err_msg(err, EINVAL, "unknown namespace kind");
	ns_path(path, sizeof path, pid, kind);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return lsh_err_set(err, errno, "open %s", path);
	return fd;
}

int lsh_ns_enter(int fd, unsigned long flags, struct lsh_err **err)
{
	if (setns(fd, (int)flags) < 0)
		return lsh_err_set(err, errno, "setns(fd %d, 0x%lx)", fd, flags);
	return 0;
}

int lsh_ns_id(pid_t pid, const struct lsh_ns_kind *kind, uint64_t *dev, uint64_t *ino,
	      struct lsh_err **err)
{
	char path[64];
	struct stat st;

	if (kind == NULL)
		return lsh_err_msg(err, EINVAL, "unknown namespace kind");
	ns_path(path, sizeof path, pid, kind);
	if (stat(path, &st) < 0)
		return lsh_err_set(err, errno, "stat %s", path);
	*dev = (uint64_t)st.st_dev;
	*ino = (uint64_t)st.st_ino;
	return 0;
}

int lsh_ns_join_net(pid_t pid)
{
	uint64_t dev[2], ino[2];
	struct lsh_err *e = NULL;
	const struct lsh_ns_kind *user = lsh_ns_kind_by_flag(CLONE_NEWUSER);
	const struct lsh_ns_kind *net = lsh_ns_kind_by_flag(CLONE_NEWNET);
	int r = lsh_ns_id(pid, user, &dev[0], &ino[0], &e);
	if (r == 0)
		r = lsh_ns_id(0, user, &dev[1], &ino[1], &e);
	/* setns into the user namespace one is already in is EINVAL: enter only another */
	for (int i = (r == 0 && (dev[0] != dev[1] || ino[0] != ino[1])) ? 0 : 1; r == 0 && i < 2; i++) {
		const struct lsh_ns_kind *k = i == 0 ? user : net;
		int fd = lsh_ns_open(pid, k, &e);
		r = fd < 0 ? fd : lsh_ns_enter(fd, k->flag, &e);
		if (fd >= 0)
			close(fd);
	}
	lsh_err_free(e);
	return r;
}
