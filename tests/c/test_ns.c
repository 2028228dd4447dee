/* Namespace kinds, identity, and unshare/setns in children. */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "lunshare.h"

/* Runs f in a forked child and returns its exit status. */
static int in_child(int (*f)(void))
{
	pid_t p = fork();
	if (p == 0)
		_exit(f());
	int st;
	waitpid(p, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100;
}

static int unshare_uts_changes_id(void)
{
	uint64_t d1, i1, d2, i2;
	const struct lsh_ns_kind *uts = lsh_ns_kind_by_name("uts");
	if (lsh_ns_id(0, uts, &d1, &i1, NULL) < 0)
		return 1;
	if (lsh_ns_unshare(CLONE_NEWUSER | CLONE_NEWUTS, NULL) < 0 &&
	    lsh_ns_unshare(CLONE_NEWUTS, NULL) < 0)
		return 2;
	if (lsh_ns_id(0, uts, &d2, &i2, NULL) < 0)
		return 3;
	return i1 != i2 ? 0 : 4;
}

static int setns_back_to_parent(void)
{
	const struct lsh_ns_kind *uts = lsh_ns_kind_by_name("uts");
	struct lsh_err *err = NULL;
	uint64_t d1, i1, d2, i2;
	int fd = lsh_ns_open(0, uts, &err);
	if (fd < 0 || lsh_ns_id(0, uts, &d1, &i1, NULL) < 0)
		return 1;
	if (lsh_ns_unshare(CLONE_NEWUTS, NULL) < 0)
		return 2;
	if (lsh_ns_enter(fd, CLONE_NEWUTS, &err) < 0)
		return 3;
	lsh_ns_id(0, uts, &d2, &i2, NULL);
	return i1 == i2 ? 0 : 4;
}

/* setns through a pidfd enters several of the target's namespaces at once (Linux 5.8). */
static int setns_by_pidfd(void)
{
	struct lsh_err *err = NULL;
	int pidfd = -1;
	pid_t target = lsh_proc_clone(CLONE_NEWUTS | CLONE_NEWIPC, -1, &pidfd, &err);
	if (target == 0) {
		pause();
		_exit(0);
	}
	if (target < 0)
		return 1;
	uint64_t d, uts_t, ipc_t, uts_me, ipc_me;
	lsh_ns_id(target, lsh_ns_kind_by_name("uts"), &d, &uts_t, NULL);
	lsh_ns_id(target, lsh_ns_kind_by_name("ipc"), &d, &ipc_t, NULL);
	int r = lsh_ns_enter(pidfd, CLONE_NEWUTS | CLONE_NEWIPC, &err);
	lsh_ns_id(0, lsh_ns_kind_by_name("uts"), &d, &uts_me, NULL);
	lsh_ns_id(0, lsh_ns_kind_by_name("ipc"), &d, &ipc_me, NULL);
	lsh_proc_signal(pidfd, SIGKILL, NULL);
	int st;
	lsh_proc_wait(pidfd, 0, &st, NULL);
	return r == 0 && uts_me == uts_t && ipc_me == ipc_t ? 0 : 2;
}

int main(void)
{
	const struct lsh_ns_kind *k = lsh_ns_kinds();
	int n = 0;
	while (k[n].name)
		n++;
	ok(n == 8, "eight namespace kinds (%d)", n);
	ok(strcmp(k[0].name, "user") == 0, "user comes first");
	ok(lsh_ns_kind_by_name("mount") && lsh_ns_kind_by_name("mount")->flag == CLONE_NEWNS, "mount is CLONE_NEWNS");
	ok(lsh_ns_kind_by_name("mnt") == lsh_ns_kind_by_name("mount"), "the /proc name works too");
	ok(lsh_ns_kind_by_name("time") && lsh_ns_kind_by_name("time")->flag == 0x80, "time is CLONE_NEWTIME");
	ok(lsh_ns_kind_by_name("nope") == NULL, "unknown kind is NULL");
	ok(lsh_ns_kind_by_flag(CLONE_NEWNET) == lsh_ns_kind_by_name("net"), "lookup by flag");

	struct lsh_err *err = NULL;
	uint64_t dev, ino, dev2, ino2;
	ok(lsh_ns_id(0, lsh_ns_kind_by_name("net"), &dev, &ino, &err) == 0 && ino > 0, "identity of own net ns");
	ok(lsh_ns_id(getpid(), lsh_ns_kind_by_name("net"), &dev2, &ino2, &err) == 0 && ino2 == ino,
	   "self and own pid name the same namespace");
	ok(lsh_ns_id(0, NULL, &dev, &ino, &err) == -EINVAL && err, "NULL kind is EINVAL");
	lsh_err_free(err);
	err = NULL;
	ok(lsh_ns_open(999999999, lsh_ns_kind_by_name("net"), &err) == -ENOENT && err &&
	   strstr(err->msg, "/proc/999999999/ns/net"), "open names the path: %s", err ? err->msg : "");
	lsh_err_free(err);

	ok(in_child(unshare_uts_changes_id) == 0, "unshare gives a new uts namespace");
	if (getuid() == 0)
		ok(in_child(setns_back_to_parent) == 0, "setns by fd returns to the old one");
	else
		skip("setns back to the host's uts namespace needs root");
	if (getuid() == 0)
		ok(in_child(setns_by_pidfd) == 0, "setns by pidfd enters uts and ipc at once");
	else
		skip("entering a sibling's namespaces needs root");
	return done_testing();
}
