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
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>

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

static __attribute__((noreturn)) void child_main(struct lsh_spawn_ctx *ctx, long clone_at, pid_t supervisor)
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

	/* The child's steps follow the supervisor's (the plan is in phase order): the last,
	 * exec, does not return when it succeeds. */
	size_t n = lsh_plan_len(ctx->plan);
	for (size_t i = (size_t)clone_at + 1; i < n; i++) {
		const struct lsh_plan_step *s = lsh_plan_step(ctx->plan, i);
		if (s->where == LSH_WHERE_CHILD && s->op->run(s, ctx, &err) < 0)
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
			continue; /* the clone step: lsh_spawn makes the clone itself */
		int r = s->op->run(s, ctx, err);
		if (r < 0) {
			res->failed_step = (long)i;
			return r;
		}
	}
	return 0;
}

/* Waits for the child, passing on the signals the supervisor receives. */
static int supervise(struct lsh_spawn_ctx *ctx, int sigfd, struct lsh_spawn_result *res,
		     struct lsh_err **err)
{
	struct pollfd pfd[2] = { { ctx->pidfd, POLLIN, 0 }, { sigfd, POLLIN, 0 } };
	pid_t pgrp = getpgrp();

	for (;;) {
		int r = lsh_proc_wait(ctx->pidfd, 1, &res->status, err);
		if (r < 0)
			return r;
		if (r == 1) {
			res->exit_code = lsh_proc_exit_status(res->status);
			return 0;
		}
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
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
	struct lsh_plan_facts facts;
	int sv[2] = { -1, -1 };
	sigset_t fwd;
	int r;

	memset(res, 0, sizeof *res);
	res->failed_step = -1;
	if ((r = lsh_plan_check(plan, &facts, &res->failed_step, err)) < 0)
		return r;
	long clone_at = facts.clone_at;
	memset(&ctx, 0, sizeof ctx);
	ctx.plan = plan;
	ctx.pidfd = -1;
	ctx.sync_fd = -1;
	ctx.cgroup_fd = -1;
	ctx.clone_flags = facts.clone_flags;

	sigemptyset(&fwd);
	for (size_t i = 0; i < LSH_ARRAY_SIZE(forwarded); i++)
		sigaddset(&fwd, forwarded[i]);
	sigprocmask(SIG_BLOCK, &fwd, &ctx.oldmask);
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
		child_main(&ctx, clone_at, supervisor);
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
	sigprocmask(SIG_SETMASK, &ctx.oldmask, NULL);
	return r;
}
