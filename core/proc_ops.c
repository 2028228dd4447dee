/* The plan operations of the foundation: the clone itself, id maps, names, time, session,
 * fds and exec (with the pid-1 reaper). Other areas (mounts, network, …) add tables of
 * their own. Beside each op, the names of its fields' slots: the table and the op read
 * the same names. */
#include "internal.h"
#include "syscalls.h"

#include <sched.h>
#include <string.h>
#include <sys/prctl.h>
#include <termios.h>

/* clone */
enum { CLONE_NAMESPACES };			/* lists */

/* The clone step makes the namespaces it lists; validation turns them into flags once. */
static int check_clone(const struct lsh_plan_step *s, struct lsh_plan_facts *facts, struct lsh_err **err)
{
	unsigned long flags = 0;
	for (size_t i = 0; i < s->nlists[CLONE_NAMESPACES]; i++) {
		const char *name = s->lists[CLONE_NAMESPACES][i];
		const struct lsh_ns_kind *k = lsh_ns_kind_by_name(name);
		if (k == NULL)
			return lsh_err_msg(err, EINVAL, "unknown namespace \"%s\"", name);
		flags |= k->flag;
	}
	/* A joined netns is where the child is born: a netns of its own would hide it. */
	if (facts->net_join && (flags & CLONE_NEWNET))
		return lsh_err_msg(err, EINVAL, "a netns_join step and the net namespace do not go together: "
				   "the sandbox is cloned into the joined netns");
	/* Inside a rootless topology's holder the supervisor holds every capability over the
	 * host's netns: a child with no user namespace of its own would hold them too. */
	if (facts->net_join == 2 && !(flags & CLONE_NEWUSER))
		return lsh_err_msg(err, EINVAL, "joining a host of a rootless topology needs the user namespace: "
				   "without one the sandbox would hold the holder's capabilities over the host");
	facts->clone_flags = flags;
	return 0;
}

/* uid_map, gid_map */
enum { MAP_TEXT, MAP_HELPER };			/* strs */

static int map_run(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx,
		   enum lsh_idmap_kind kind, struct lsh_err **err)
{
	struct lsh_idmap_range r[340];
	int rc = lsh_spawn_need(ctx, CLONE_NEWUSER, 1, s->op->name, err);
	if (rc < 0)
		return rc;
	const char *text = s->strs[MAP_TEXT], *helper = s->strs[MAP_HELPER];
	int n = lsh_idmap_parse(text, r, LSH_ARRAY_SIZE(r));
	if (n <= 0)
		return lsh_err_msg(err, EINVAL, "%s: bad map \"%s\"", s->op->name, text);
	if (helper)
		return lsh_idmap_helper(helper, ctx->pid, kind, r, (size_t)n, err);
	return lsh_idmap_write(ctx->pid, kind, r, (size_t)n, err);
}

static int op_uid_map(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	return map_run(s, ctx, LSH_IDMAP_UID, err);
}

static int op_gid_map(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	return map_run(s, ctx, LSH_IDMAP_GID, err);
}

/* setgroups */
enum { SETGROUPS_ALLOW };			/* ints */

static int op_setgroups(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	int r = lsh_spawn_need(ctx, CLONE_NEWUSER, 1, "setgroups", err);
	return r < 0 ? r : lsh_idmap_setgroups(ctx->pid, (int)s->ints[SETGROUPS_ALLOW], err);
}

/* hostname, domainname */
enum { UTS_NAME };				/* strs */

static int op_hostname(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	int r = lsh_spawn_need(ctx, CLONE_NEWUTS, 0, "hostname", err);
	return r < 0 ? r : lsh_uts_set_hostname(s->strs[UTS_NAME], err);
}

static int op_domainname(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	int r = lsh_spawn_need(ctx, CLONE_NEWUTS, 0, "domainname", err);
	return r < 0 ? r : lsh_uts_set_domainname(s->strs[UTS_NAME], err);
}

/* timens */
enum { TIMENS_MONOTONIC, TIMENS_BOOTTIME };	/* ints */

static int op_timens(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	(void)ctx;
	return lsh_timens_enter_new(s->ints[TIMENS_MONOTONIC], s->ints[TIMENS_BOOTTIME], err);
}

/* chdir */
enum { CHDIR_PATH };				/* strs */

static int op_chdir(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	(void)ctx;
	const char *path = s->strs[CHDIR_PATH];
	if (chdir(path) < 0)
		return lsh_err_set(err, errno, "chdir %s", path);
	return 0;
}

/* setsid */
static int op_setsid(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	(void)s;
	(void)ctx;
	return lsh_proc_setsid(err);
}

/* close_fds */
enum { CLOSE_KEEP };				/* lists */

static int op_close_fds(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	int keep[64];
	size_t n = 0;
	/* The sync socket is close-on-exec: it must live until exec to report failures. */
	keep[n++] = ctx->sync_fd;
	if (ctx->ctl_fd >= 0)
		keep[n++] = ctx->ctl_fd; /* pid 1's line to the supervisor (job control) */
	for (size_t i = 0; i < s->nlists[CLOSE_KEEP]; i++) {
		const char *v = s->lists[CLOSE_KEEP][i];
		char *end;
		long fd = strtol(v, &end, 10);
		if (*end || fd < 0 || n == LSH_ARRAY_SIZE(keep))
			return lsh_err_msg(err, EINVAL, "close_fds: bad fd \"%s\"", v);
		keep[n++] = (int)fd;
	}
	return lsh_proc_close_fds(keep, n, err);
}

/* timeout */
enum { TIMEOUT_MS, TIMEOUT_GRACE_MS };		/* ints */

/* A wall-clock limit: recorded before the clone and kept by the supervisor's wait, which
 * ends the whole sandbox (SIGTERM, then SIGKILL after the grace) when it passes. */
static int op_timeout(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	if (s->ints[TIMEOUT_MS] <= 0 || s->ints[TIMEOUT_GRACE_MS] < 0)
		return lsh_err_msg(err, EINVAL, "timeout: ms must be > 0 and grace_ms >= 0");
	ctx->timeout_ms = s->ints[TIMEOUT_MS];
	ctx->grace_ms = s->ints[TIMEOUT_GRACE_MS];
	return 0;
}

/* pty: the sandbox's own terminal, made inside it after its mounts (so from its devpts)
 * and after setsid. The master goes to the supervisor, which proxies the caller's
 * terminal to it; the peer becomes the controlling terminal and fds 0-2. */
static int check_pty(const struct lsh_plan_step *s, struct lsh_plan_facts *facts, struct lsh_err **err)
{
	(void)s;
	(void)err;
	facts->pty = 1;
	return 0;
}

static int op_pty(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	(void)s;
	int master, slave;
	if (lsh_pty_open(&master, &slave, err) < 0)
		return lsh_err_wrap(err, "pty");
	int r = lsh_spawn_send_fd(ctx, master, err);
	close(master);
	if (r < 0) {
		close(slave);
		return r;
	}
	/* Until now fd 0 is the caller's terminal: its modes and size are the pty's. */
	if (lsh_pty_take(slave, isatty(0) ? 0 : -1, err) < 0) {
		close(slave);
		return lsh_err_wrap(err, "pty");
	}
	ctx->has_tty = 1;
	return 0;
}

/* exec */
enum { EXEC_ARGV, EXEC_ENV };			/* lists */
enum { EXEC_REAPER };				/* ints */

/* A reaper is pid 1 of a pid namespace: without one, the command's orphans would go to
 * the host's init and the "reaper" would reap nothing. */
static int check_exec(const struct lsh_plan_step *s, struct lsh_plan_facts *facts, struct lsh_err **err)
{
	if (s->ints[EXEC_REAPER] && !(facts->clone_flags & CLONE_NEWPID))
		return lsh_err_msg(err, EINVAL, "a pid-1 reaper needs a pid namespace");
	return 0;
}

/* The command's side of pid 1's start: it shares pid 1's memory (CLONE_VM|CLONE_VFORK)
 * until it execs or exits, so it writes nothing pid 1 reads after, and it never returns:
 * a failed exec is reported to the supervisor from here. */
struct cmd_start {
	const struct lsh_plan_step *s;
	struct lsh_spawn_ctx *ctx;
	int own_session;
};

static int start_command(void *arg)
{
	struct cmd_start *c = arg;
	struct lsh_err *err = NULL;
	if (c->ctx->ctl_fd >= 0)
		close(c->ctx->ctl_fd);
	if (c->own_session)
		setpgid(0, 0);
	/* Signals are all blocked here, SIGTTOU among them: a group not yet in the
	 * foreground may take the terminal. */
	if (c->ctx->has_tty)
		tcsetpgrp(0, getpid());
	sigprocmask(SIG_SETMASK, &c->ctx->oldmask, NULL);
	lsh_proc_exec(c->s->lists[EXEC_ARGV], c->s->lists[EXEC_ENV], &err);
	lsh_spawn_child_fail(c->ctx, c->ctx->step, err);
}

/* Execs the command. With reaper, this process (pid 1 of the sandbox) starts the command
 * with vfork's semantics (no copy of the image: the new process borrows pid 1's memory
 * until its exec), and stays to reap orphans and forward signals until the command ends,
 * then exits with its status; it never returns. */
/* exit: the end of a plan whose child only acts (a hot-plug into a running sandbox) and
 * must start no program, least of all one of the sandbox's files it may see by then: the
 * child ends with status 0. */
static int op_exit(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	(void)s, (void)ctx, (void)err;
	_exit(0);
}

static int op_exec(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	/* The command must not inherit the supervisor's blocked signals. */
	sigprocmask(SIG_SETMASK, &ctx->oldmask, NULL);
	if (s->ints[EXEC_REAPER]) {
		sigset_t all;
		sigfillset(&all);
		sigprocmask(SIG_BLOCK, &all, NULL);
		/* pid 1 stays the lunshare binary of the host. Non-dumpable, its /proc/1/exe,
		 * mem and fds need CAP_SYS_PTRACE over the host's user namespace to open (ptrace
		 * access checks use the mm's user namespace), so the sandbox cannot reopen the
		 * host binary for writing (CVE-2019-5736, runc). Set before the command starts,
		 * so that it never sees a dumpable pid 1 (its own exec makes it dumpable again),
		 * and only now: the supervisor had to write this process's /proc id maps first. */
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		/* A sandbox of its own session gives the command a process group of its own;
		 * one sharing the caller's (terminal = true) leaves the caller's job alone. */
		int own_session = getsid(0) == getpid();
		/* The command's stack while it shares this memory: its exec path (the PATH
		 * search, a missing interpreter's message) needs a few pages. */
		static char stack[64 * 1024] __attribute__((aligned(16)));
		struct cmd_start start = { s, ctx, own_session };
#if defined(__SANITIZE_ADDRESS__)
		/* ASan cannot follow a process onto a stack it did not make (its noreturn hooks
		 * print a warning on a failed exec): a sanitizer build forks instead. */
		(void)stack;
		pid_t cmd = fork();
		if (cmd == 0)
			start_command(&start);
#else
		pid_t cmd = clone(start_command, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &start);
#endif
		if (cmd < 0)
			return lsh_err_set(err, errno, "pid 1: start the command");
		/* The command has exec'd (or failed) by now, a leader of its own process
		 * group, the terminal's foreground one: its members have a parent (this
		 * one) in the session but outside the group, so the group is not orphaned
		 * and the terminal's Ctrl-Z stops it (POSIX discards stop signals to
		 * orphans). */
		close(ctx->sync_fd);
		int status = lsh_proc_reap_job(cmd, ctx->ctl_fd, err);
		_exit(status < 0 ? 127 : status);
	}
	return lsh_proc_exec(s->lists[EXEC_ARGV], s->lists[EXEC_ENV], err);
}

#define NO_FIELDS { { NULL, 0, 0, 0 } }

const struct lsh_op lsh_ops_proc[] = {
	{ "clone", LSH_PHASE_CLONE, { { "namespaces", LSH_ARG_LIST, CLONE_NAMESPACES, 1 } }, check_clone, NULL },
	{ "setgroups", LSH_PHASE_HOST, { { "allow", LSH_ARG_BOOL, SETGROUPS_ALLOW, 0 } }, NULL, op_setgroups },
	{ "uid_map", LSH_PHASE_HOST,
	  { { "map", LSH_ARG_STR, MAP_TEXT, 1 }, { "helper", LSH_ARG_STR, MAP_HELPER, 0 } }, NULL, op_uid_map },
	{ "gid_map", LSH_PHASE_HOST,
	  { { "map", LSH_ARG_STR, MAP_TEXT, 1 }, { "helper", LSH_ARG_STR, MAP_HELPER, 0 } }, NULL, op_gid_map },
	{ "hostname", LSH_PHASE_CHILD, { { "name", LSH_ARG_STR, UTS_NAME, 1 } }, NULL, op_hostname },
	{ "domainname", LSH_PHASE_CHILD, { { "name", LSH_ARG_STR, UTS_NAME, 1 } }, NULL, op_domainname },
	{ "timens", LSH_PHASE_CHILD,
	  { { "monotonic", LSH_ARG_INT, TIMENS_MONOTONIC, 0 }, { "boottime", LSH_ARG_INT, TIMENS_BOOTTIME, 0 } },
	  NULL, op_timens },
	{ "setsid", LSH_PHASE_CHILD, NO_FIELDS, NULL, op_setsid },
	{ "chdir", LSH_PHASE_CHILD, { { "path", LSH_ARG_STR, CHDIR_PATH, 1 } }, NULL, op_chdir },
	{ "close_fds", LSH_PHASE_CHILD, { { "keep", LSH_ARG_LIST, CLOSE_KEEP, 0 } }, NULL, op_close_fds },
	{ "timeout", LSH_PHASE_PREPARE,
	  { { "ms", LSH_ARG_INT, TIMEOUT_MS, 1 }, { "grace_ms", LSH_ARG_INT, TIMEOUT_GRACE_MS, 0 } }, NULL, op_timeout },
	{ "pty", LSH_PHASE_CHILD, NO_FIELDS, check_pty, op_pty },
	{ "exec", LSH_PHASE_EXEC,
	  { { "argv", LSH_ARG_LIST, EXEC_ARGV, 1 }, { "env", LSH_ARG_LIST, EXEC_ENV, 1 },
	    { "reaper", LSH_ARG_BOOL, EXEC_REAPER, 0 } },
	  check_exec, op_exec },
	{ "exit", LSH_PHASE_EXEC, NO_FIELDS, NULL, op_exit },
	{ NULL, 0, NO_FIELDS, NULL, NULL },
};
