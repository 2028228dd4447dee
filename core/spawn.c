/* The plan executor: supervisor side and child side of a run.
 *
 * The supervisor performs its steps, clones the child into its new namespaces, performs
 * the steps that need the child's pid (id maps, …), and says "go". The child performs its
 * steps and execs. A failure in the child travels back over the sync socket as
 * (step, errno, message); exec closes the socket (close-on-exec), which tells the
 * supervisor that the command runs. No Lua runs after clone. */
#include "internal.h"
#include "syscalls.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

struct sync_msg {
	int32_t step;
	int32_t code;
	char msg[1024];
};

/* Signals the supervisor passes on to the sandbox rather than dying of them. */
static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

int lsh_spawn_need(const struct lsh_spawn_ctx *ctx, unsigned long ns, int child, const char *op,
		   struct lsh_err **err)
{
	unsigned long missing = ns & ~ctx->clone_flags;
	if (missing) {
		const struct lsh_ns_kind *k = lsh_ns_kind_by_flag(missing & -missing);
		return lsh_err_msg(err, EPERM, "%s: needs the %s namespace, which the clone step does not make",
				   op, k ? k->name : "right");
	}
	if (child && ctx->pid <= 0)
		return lsh_err_msg(err, EINVAL, "%s: needs the sandbox's process: it must come after the clone step", op);
	return 0;
}

int lsh_spawn_defer(struct lsh_spawn_ctx *ctx, lsh_undo_fn fn, void *arg, struct lsh_err **err)
{
	if (ctx->nundo == ctx->capundo) {
		size_t cap = ctx->capundo ? ctx->capundo * 2 : 8;
		struct lsh_undo *u = realloc(ctx->undo, cap * sizeof *u);
		if (u == NULL) {
			fn(arg);
			return lsh_err_set(err, ENOMEM, "record cleanup");
		}
		ctx->undo = u;
		ctx->capundo = cap;
	}
	ctx->undo[ctx->nundo].fn = fn;
	ctx->undo[ctx->nundo].arg = arg;
	ctx->nundo++;
	return 0;
}

static void undo_all(struct lsh_spawn_ctx *ctx)
{
	while (ctx->nundo > 0) {
		ctx->nundo--;
		ctx->undo[ctx->nundo].fn(ctx->undo[ctx->nundo].arg);
	}
	free(ctx->undo);
	ctx->undo = NULL;
	ctx->capundo = 0;
}

static unsigned long clone_flags(const struct lsh_plan_step *s, struct lsh_err **err)
{
	unsigned long flags = 0;
	for (size_t i = 0; i < s->nlists[0]; i++) {
		const struct lsh_ns_kind *k = lsh_ns_kind_by_name(s->lists[0][i]);
		if (k == NULL) {
			lsh_err_msg(err, EINVAL, "clone: unknown namespace \"%s\"", s->lists[0][i]);
			return (unsigned long)-1;
		}
		flags |= k->flag;
	}
	return flags;
}

/* ---- child side ------------------------------------------------------------------- */

static void child_fail(struct lsh_spawn_ctx *ctx, long step, struct lsh_err *err)
{
	struct sync_msg m;
	memset(&m, 0, sizeof m);
	m.step = (int32_t)step;
	m.code = err ? err->code : EIO;
	snprintf(m.msg, sizeof m.msg, "%s", err && err->msg ? err->msg : "unknown failure");
	if (send(ctx->sync_fd, &m, sizeof m, MSG_NOSIGNAL) < 0) {
		/* Nobody to tell: the supervisor is gone. */
	}
	_exit(127);
}

static __attribute__((noreturn)) void child_main(struct lsh_spawn_ctx *ctx, long clone_at,
						 const sigset_t *oldmask, pid_t supervisor)
{
	struct lsh_err *err = NULL;
	char go;

	/* Die with the supervisor, so that nothing outlives a killed run. */
	if (lsh_proc_pdeathsig(SIGKILL, supervisor, &err) < 0)
		child_fail(ctx, clone_at, err);
	ssize_t r;
	while ((r = recv(ctx->sync_fd, &go, 1, 0)) < 0 && errno == EINTR)
		;
	if (r != 1)
		_exit(127); /* the supervisor failed and will report why */

	size_t n = lsh_plan_len(ctx->plan);
	for (size_t i = (size_t)clone_at + 1; i < n; i++) {
		const struct lsh_plan_step *s = lsh_plan_step(ctx->plan, i);
		if (s->where == LSH_WHERE_SUPERVISOR)
			continue;
		if (strcmp(s->op->name, "exec") == 0) {
			/* The command must not inherit the supervisor's blocked signals. */
			sigprocmask(SIG_SETMASK, oldmask, NULL);
			if (ctx->reaper) {
				sigset_t all;
				sigfillset(&all);
				sigprocmask(SIG_BLOCK, &all, NULL);
				/* pid 1 stays the lunshare binary of the host. Non-dumpable, its
				 * /proc/1/exe, mem and fds need CAP_SYS_PTRACE over the host's user
				 * namespace to open (ptrace access checks use the mm's user
				 * namespace), so the sandbox cannot reopen the host binary for
				 * writing (CVE-2019-5736, runc). Set before the fork, so the command
				 * never sees a dumpable pid 1 (its own exec makes it dumpable again),
				 * and only now: the supervisor had to write this process's /proc id
				 * maps first. */
				prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
				pid_t cmd = fork();
				if (cmd < 0) {
					lsh_err_set(&err, errno, "pid 1: fork");
					child_fail(ctx, (long)i, err);
				}
				if (cmd > 0) {
					close(ctx->sync_fd);
					int status = lsh_proc_reap(cmd, &err);
					_exit(status < 0 ? 127 : status);
				}
				sigprocmask(SIG_SETMASK, oldmask, NULL);
			}
		}
		if (s->op->run(s, ctx, &err) < 0)
			child_fail(ctx, (long)i, err);
	}
	lsh_err_msg(&err, EINVAL, "the plan ended without exec");
	child_fail(ctx, (long)n - 1, err);
	_exit(127);
}

/* ---- supervisor side -------------------------------------------------------------- */

static int run_supervisor_steps(struct lsh_spawn_ctx *ctx, size_t from, size_t to,
				struct lsh_spawn_result *res, struct lsh_err **err)
{
	for (size_t i = from; i < to; i++) {
		const struct lsh_plan_step *s = lsh_plan_step(ctx->plan, i);
		if (s->where != LSH_WHERE_SUPERVISOR || s->op->run == NULL)
			continue;
		int r = s->op->run(s, ctx, err);
		if (r < 0) {
			res->failed_step = (long)i;
			return r;
		}
	}
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for the child, passing on the signals the supervisor receives. */
static int supervise(struct lsh_spawn_ctx *ctx, int sigfd, struct lsh_spawn_result *res,
		     struct lsh_err **err)
{
	struct pollfd pfd[2] = { { ctx->pidfd, POLLIN, 0 }, { sigfd, POLLIN, 0 } };
	pid_t pgrp = getpgrp();
	/* With a timeout: TERM at the deadline, KILL after the grace. The sandbox's first
	 * process takes its pid namespace (or, without one, at least itself) with it. */
	int64_t deadline = ctx->timeout_ms > 0 ? now_ms() + ctx->timeout_ms : -1;
	int stage = 0;

	for (;;) {
		int r = lsh_proc_wait(ctx->pidfd, 1, &res->status, err);
		if (r < 0)
			return r;
		if (r == 1) {
			res->exit_code = lsh_proc_exit_status(res->status);
			return 0;
		}
		int wait_ms = -1;
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();
			if (left <= 0) {
				res->timed_out = 1;
				sys_pidfd_send_signal(ctx->pidfd, stage == 0 ? SIGTERM : SIGKILL, NULL, 0);
				sys_pidfd_send_signal(ctx->pidfd, SIGCONT, NULL, 0);
				deadline = stage == 0 ? now_ms() + ctx->grace_ms : -1;
				stage++;
				continue;
			}
			wait_ms = left > 1000000 ? 1000000 : (int)left;
		}
		if (poll(pfd, 2, wait_ms) < 0 && errno != EINTR)
			return lsh_err_set(err, errno, "poll");
		if (pfd[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sigfd, &si, sizeof si) == sizeof si) {
				/* The terminal already delivered its signals to a child that
				 * shares our process group. */
				int same_group = getpgid(ctx->pid) == pgrp;
				int sig = (int)si.ssi_signo;
				if (!(si.ssi_code == SI_KERNEL && same_group)) {
					sys_pidfd_send_signal(ctx->pidfd, sig, NULL, 0);
					/* A stopped sandbox would keep a terminating signal pending
					 * for good: wake it so that the signal acts. */
					if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT)
						sys_pidfd_send_signal(ctx->pidfd, SIGCONT, NULL, 0);
				}
			}
		}
	}
}

int lsh_spawn(const struct lsh_plan *plan, struct lsh_spawn_result *res, struct lsh_err **err)
{
	struct lsh_spawn_ctx ctx;
	int sv[2] = { -1, -1 };
	long clone_at = -1;
	sigset_t fwd, oldmask;
	int r;

	memset(res, 0, sizeof *res);
	res->failed_step = -1;
	if ((r = lsh_plan_validate(plan, &res->failed_step, err)) < 0)
		return r;
	memset(&ctx, 0, sizeof ctx);
	ctx.plan = plan;
	ctx.pidfd = -1;
	ctx.sync_fd = -1;
	ctx.cgroup_fd = -1;
	for (size_t i = 0; i < lsh_plan_len(plan); i++) {
		const struct lsh_plan_step *s = lsh_plan_step(plan, i);
		if (strcmp(s->op->name, "clone") == 0)
			clone_at = (long)i;
		else if (strcmp(s->op->name, "reaper") == 0)
			ctx.reaper = 1;
	}
	const struct lsh_plan_step *cs = lsh_plan_step(plan, (size_t)clone_at);
	ctx.clone_flags = clone_flags(cs, err);
	if (ctx.clone_flags == (unsigned long)-1) {
		res->failed_step = clone_at;
		return -EINVAL;
	}
	if (ctx.reaper && !(ctx.clone_flags & CLONE_NEWPID)) {
		res->failed_step = clone_at;
		return lsh_err_msg(err, EINVAL, "a pid-1 reaper needs a pid namespace");
	}

	sigemptyset(&fwd);
	for (size_t i = 0; i < LSH_ARRAY_SIZE(forwarded); i++)
		sigaddset(&fwd, forwarded[i]);
	sigprocmask(SIG_BLOCK, &fwd, &oldmask);
	_cleanup_close_ int sigfd = signalfd(-1, &fwd, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sigfd < 0) {
		r = lsh_err_set(err, errno, "signalfd");
		goto out;
	}

	if ((r = run_supervisor_steps(&ctx, 0, (size_t)clone_at, res, err)) < 0)
		goto out;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		r = lsh_err_set(err, errno, "socketpair");
		goto out;
	}
	pid_t supervisor = getpid();
	pid_t pid = lsh_proc_clone(ctx.clone_flags, ctx.cgroup_fd, &ctx.pidfd, err);
	if (pid < 0) {
		res->failed_step = clone_at;
		r = pid;
		goto out;
	}
	if (pid == 0) {
		close(sv[0]);
		ctx.sync_fd = sv[1];
		child_main(&ctx, clone_at, &oldmask, supervisor);
	}
	ctx.pid = res->pid = pid;
	close(sv[1]);
	sv[1] = -1;
	ctx.sync_fd = sv[0];

	r = run_supervisor_steps(&ctx, (size_t)clone_at + 1, lsh_plan_len(plan), res, err);
	if (r == 0 && send(sv[0], "g", 1, MSG_NOSIGNAL) != 1)
		r = lsh_err_set(err, errno, "start the sandbox");
	if (r == 0) {
		struct sync_msg m;
		ssize_t n;
		while ((n = recv(sv[0], &m, sizeof m, 0)) < 0 && errno == EINTR)
			;
		if (n == (ssize_t)sizeof m) {
			m.msg[sizeof m.msg - 1] = '\0';
			res->failed_step = m.step;
			r = lsh_err_msg(err, m.code > 0 ? m.code : EIO, "%s", m.msg);
		} else if (n < 0) {
			r = lsh_err_set(err, errno, "read from the sandbox");
		}
	}
	if (r < 0) {
		/* Setup failed: the child must not go on to run anything. */
		sys_pidfd_send_signal(ctx.pidfd, SIGKILL, NULL, 0);
		int status;
		lsh_proc_wait(ctx.pidfd, 0, &status, NULL);
		goto out;
	}
	r = supervise(&ctx, sigfd, res, err);
	if (r < 0) {
		/* Waiting failed: end the sandbox before what it uses is taken down. */
		sys_pidfd_send_signal(ctx.pidfd, SIGKILL, NULL, 0);
		int status;
		lsh_proc_wait(ctx.pidfd, 0, &status, NULL);
	}
out:
	undo_all(&ctx);
	res->oom_killed = ctx.oom_killed;
	res->timed_out = res->timed_out && r == 0;
	if (ctx.pidfd >= 0)
		close(ctx.pidfd);
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	if (ctx.cgroup_fd >= 0)
		close(ctx.cgroup_fd);
	/* Drop what arrived while we forwarded, then restore the caller's mask. */
	struct timespec zero = { 0, 0 };
	while (sigtimedwait(&fwd, NULL, &zero) > 0)
		;
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	return r;
}
