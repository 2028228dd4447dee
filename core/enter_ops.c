/* The plan operation of `lunshare enter`: the child of an enter plan joins a running
 * sandbox, and the steps after it (replayed from the sandbox's record) give it exactly the
 * confinement of the sandbox's command before it execs.
 *
 * Joining goes through a pidfd of the sandbox's command, checked against the start time
 * the caller read (a pid reused since names another process, refused) and the user
 * namespace the record names; then one setns(pidfd, flags) enters every namespace of the
 * command that differs from ours, user first (the kernel orders them and applies all or
 * none, Linux 5.8). Entering a mount namespace makes its root (the sandbox's pivoted root)
 * our root and cwd, so no chroot is needed. A pid namespace counts only for children: the
 * process forks, the child goes on in the sandbox's pid namespace, and the parent stays
 * outside as a plain waiter (never a pid 1: it signals no one but its child). */
#include "internal.h"
#include "syscalls.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/nsfs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* join */
enum { JOIN_PID, JOIN_STARTTIME, JOIN_USER_NS, JOIN_CGROUP };	/* ints */
enum { JOIN_NAMESPACES };					/* lists */

static int check_join(const struct lsh_plan_step *s, struct lsh_plan_facts *facts, struct lsh_err **err)
{
	(void)facts;
	if (s->ints[JOIN_PID] <= 0)
		return lsh_err_msg(err, EINVAL, "join: pid must be > 0");
	for (size_t i = 0; i < s->nlists[JOIN_NAMESPACES]; i++)
		if (lsh_ns_kind_by_name(s->lists[JOIN_NAMESPACES][i]) == NULL)
			return lsh_err_msg(err, EINVAL, "join: unknown namespace \"%s\"", s->lists[JOIN_NAMESPACES][i]);
	return 0;
}

/* The path of hierarchy id in a /proc/PID/cgroup text ("ID:CONTROLLERS:PATH" lines), its
 * controllers in *ctrl; NULL when the text has no such line. Both point into text, whose
 * lines this cuts. */
static char *hierarchy_path(char *text, const char *id, char **ctrl)
{
	size_t n = strlen(id);
	for (char *line = text; line && *line;) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *c = strchr(line, ':'), *p = c ? strchr(c + 1, ':') : NULL;
		if (c && p && (size_t)(c - line) == n && strncmp(line, id, n) == 0) {
			*p = '\0';
			*ctrl = c + 1;
			return p + 1;
		}
		line = next;
	}
	return NULL;
}

/* Moves this process into every cgroup of pid that differs from ours, read from
 * /proc/PID/cgroup in our cgroup namespace (the host's: before the join): the v2 one
 * (/sys/fs/cgroup, or /sys/fs/cgroup/unified beside v1) and each v1 hierarchy's, mounted
 * at /sys/fs/cgroup/CONTROLLERS as systemd mounts them. */
static int join_cgroup(pid_t pid, struct lsh_err **err)
{
	char path[64];
	_cleanup_free_ char *theirs = NULL, *ours = NULL;
	size_t len;
	snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
	if (lsh_file_read(AT_FDCWD, path, LSH_FILE_KERNEL, 1 << 16, &theirs, &len, err) < 0 ||
	    lsh_file_read(AT_FDCWD, "/proc/self/cgroup", LSH_FILE_KERNEL, 1 << 16, &ours, &len, err) < 0)
		return lsh_err_wrap(err, "join: the sandbox's cgroup");
	/* Each of their lines, by hierarchy id, against ours (cut from a copy per line). */
	for (char *line = theirs; line && *line;) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *c = strchr(line, ':'), *p = c ? strchr(c + 1, ':') : NULL;
		if (!c || !p) {
			line = next;
			continue;
		}
		*c = *p = '\0';
		const char *id = line, *ctrl = c + 1, *want = p + 1;
		_cleanup_free_ char *mine = strdup(ours);
		char *my_ctrl = NULL, *have = mine ? hierarchy_path(mine, id, &my_ctrl) : NULL;
		line = next;
		if (have && strcmp(have, want) == 0)
			continue;
		if (strstr(want, "/..") || strlen(want) > 3000)
			return lsh_err_msg(err, EINVAL, "join: the sandbox's cgroup path is not one to follow");
		if (strncmp(ctrl, "name=", 5) == 0)
			ctrl += 5;
		char procs[4096];
		_cleanup_close_ int fd = -1;
		if (strcmp(id, "0") == 0) {
			snprintf(procs, sizeof procs, "/sys/fs/cgroup/unified%s/cgroup.procs", want);
			fd = open(procs, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0)
				snprintf(procs, sizeof procs, "/sys/fs/cgroup%s/cgroup.procs", want);
		} else {
			snprintf(procs, sizeof procs, "/sys/fs/cgroup/%s%s/cgroup.procs", ctrl, want);
		}
		if (fd < 0)
			fd = open(procs, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
		/* "0": the writer itself, on v1 and v2. */
		if (fd < 0 || write(fd, "0", 1) != 1)
			return lsh_err_set(err, errno, "join: move into %s", procs);
	}
	return 0;
}

/* The parent left outside the pid namespace: passes on what the supervisor sends and ends
 * with the child's status. It holds the sandbox's user namespace's capabilities and no
 * seccomp filter, so it is made non-dumpable (nothing in the sandbox can ptrace or open it)
 * and does nothing but wait. */
static __attribute__((noreturn)) void wait_for(pid_t child, struct lsh_spawn_ctx *ctx)
{
	sigset_t all;
	siginfo_t info;
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	close(ctx->sync_fd);
	if (ctx->ctl_fd >= 0)
		close(ctx->ctl_fd);
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		int status;
		pid_t p = waitpid(child, &status, WNOHANG);
		if (p == child && !WIFSTOPPED(status))
			_exit(lsh_proc_exit_status(status));
		if (p < 0 && errno == ECHILD)
			_exit(127);
		int sig = sigwaitinfo(&all, &info);
		if (sig < 0 || sig == SIGCHLD)
			continue;
		/* What the terminal sent our group reached the child's own session already. */
		if (info.si_code != SI_KERNEL)
			kill(child, sig);
	}
}

/* Whether pid's user namespace is a child of the one whose inode is want: a profile that
 * keeps CAP_SYS_ADMIN has its command in a user namespace of its own beneath the sandbox's
 * (its mounts locked), which only what holds CAP_SYS_ADMIN in the sandbox's could make. */
static int user_ns_child_of(pid_t pid, uint64_t want)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	_cleanup_close_ int parent = ioctl(fd, NS_GET_PARENT);
	struct stat st;
	return parent >= 0 && fstat(parent, &st) == 0 && (uint64_t)st.st_ino == want;
}

int lsh_join_pidfd(pid_t pid, uint64_t starttime, uint64_t user_ns, struct lsh_err **err)
{
	_cleanup_close_ int pidfd = lsh_proc_pidfd(pid, err);
	if (pidfd < 0)
		return lsh_err_wrap(err, "join");
	/* Checked once the pidfd is held: from here on it names this very process. */
	struct lsh_proc_info info;
	if (lsh_proc_stat(pid, &info, NULL) < 0 || info.starttime != starttime)
		return lsh_err_msg(err, ESRCH, "join: process %d is no longer the sandbox's command", (int)pid);
	const struct lsh_ns_kind *user = lsh_ns_kind_by_name("user");
	uint64_t dev, ino;
	if (user_ns && (lsh_ns_id(pid, user, &dev, &ino, err) < 0 || (ino != user_ns && !user_ns_child_of(pid, user_ns))))
		return lsh_err_msg(err, EPERM, "join: process %d is not in the recorded sandbox's user namespace", (int)pid);
	/* The pid was read by number twice more: still the process the pidfd holds. */
	if (lsh_proc_stat(pid, &info, NULL) < 0 || info.starttime != starttime)
		return lsh_err_msg(err, ESRCH, "join: process %d is no longer the sandbox's command", (int)pid);
	return take_fd(&pidfd);
}

static int op_join(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	pid_t pid = (pid_t)s->ints[JOIN_PID];
	_cleanup_close_ int pidfd = lsh_join_pidfd(pid, (uint64_t)s->ints[JOIN_STARTTIME],
						   (uint64_t)s->ints[JOIN_USER_NS], err);
	if (pidfd < 0)
		return pidfd;
	uint64_t dev, ino, mydev, myino;
	if (s->ints[JOIN_CGROUP] && join_cgroup(pid, err) < 0)
		return -EPERM;
	unsigned long flags = 0;
	for (size_t i = 0; i < s->nlists[JOIN_NAMESPACES]; i++) {
		const struct lsh_ns_kind *k = lsh_ns_kind_by_name(s->lists[JOIN_NAMESPACES][i]);
		int r = lsh_ns_id(pid, k, &dev, &ino, err);
		if (r < 0)
			return lsh_err_wrap(err, "join");
		if ((r = lsh_ns_id(0, k, &mydev, &myino, err)) < 0)
			return lsh_err_wrap(err, "join");
		if (dev != mydev || ino != myino)
			flags |= k->flag;
	}
	/* Non-dumpable before we are in: from the join on, the sandbox's processes have our
	 * ids in their own user namespace, and a dumpable process of theirs could be opened
	 * through /proc/PID/mem (which the filter's ptrace rule does not cover) and made to
	 * skip its filter before exec. exec makes the confined command dumpable again. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return lsh_err_set(err, errno, "join: not dumpable");
	ctx->joined = 1;
	/* Root drops its groups while it may: a sandbox's nested user namespace (a profile
	 * keeping sys_admin) denies setgroups to the set_ids step replayed there. Where it may
	 * not (root of a namespace that denies it), that step says so if it matters. */
	if (geteuid() == 0)
		(void)setgroups(0, NULL);
	if (flags && lsh_ns_enter(pidfd, flags, err) < 0)
		return lsh_err_wrap(err, "join: setns(pidfd of %d)", (int)pid);
	if (!(flags & CLONE_NEWPID))
		return 0;
	pid_t child = fork();
	if (child < 0)
		return lsh_err_set(err, errno, "join: fork into the pid namespace");
	if (child > 0)
		wait_for(child, ctx);
	pid_t waiter = getppid();
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != waiter)
		return lsh_err_set(err, errno ? errno : ESRCH, "join: the waiter ended");
	return 0;
}

const struct lsh_op lsh_ops_enter[] = {
	{ "join", LSH_PHASE_CHILD,
	  { { "pid", LSH_ARG_INT, JOIN_PID, 1 }, { "starttime", LSH_ARG_INT, JOIN_STARTTIME, 1 },
	    { "user_ns", LSH_ARG_INT, JOIN_USER_NS, 0 }, { "cgroup", LSH_ARG_BOOL, JOIN_CGROUP, 0 },
	    { "namespaces", LSH_ARG_LIST, JOIN_NAMESPACES, 1 } },
	  check_join, op_join },
	{ NULL, 0, { { NULL, 0, 0, 0 } }, NULL, NULL },
};
