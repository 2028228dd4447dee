/* The plan executor: supervisor side and child side of a run.
 *
 * The supervisor performs its steps, clones the child into its new namespaces, performs
 * the steps that need the child's pid (id maps, …), and says "go". The child performs its
 * steps and execs. A failure in the child travels back over the sync socket as
 * (step, errno, message); exec closes the socket (close-on-exec), which tells the
 * supervisor that the command runs. No Lua runs after clone. */
#include "internal.h"
#include "syscalls.h"

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>

struct sync_msg {
	int32_t step;
	int32_t code;
	char msg[1024];
};

/* Signals the supervisor passes on to the sandbox rather than dying of them, and those
 * its loop handles itself (a stopped child, the caller's window size). */
static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD, SIGWINCH };

/* After SIGINT, SIGTERM, SIGHUP or SIGQUIT reached the sandbox, what is left of it is
 * killed this much later: a process that ignores them does not keep the run alive. */
#define END_GRACE_MS 3000

/* After the command's end, how long output still on its way to the pty's master is
 * waited for, when something outside the process group (a setsid'd leftover) still holds
 * the pty open and so the master never reports its end. */
#define DRAIN_MS 100

/* How often a run in the background (after bg) looks whether it is the terminal's
 * foreground again: fg of a job that runs sends it no signal. */
#define AWAY_POLL_MS 200

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

void lsh_spawn_child_fail(struct lsh_spawn_ctx *ctx, long step, struct lsh_err *err)
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

int lsh_spawn_send_fd(struct lsh_spawn_ctx *ctx, int fd, struct lsh_err **err)
{
	struct sync_msg m;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} c;
	memset(&m, 0, sizeof m);
	memset(&c, 0, sizeof c);
	m.step = -1; /* code 0 and an fd: not a failure */
	struct iovec iov = { &m, sizeof m };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf, .msg_controllen = sizeof c.buf };
	struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &fd, sizeof fd);
	if (sendmsg(ctx->sync_fd, &mh, MSG_NOSIGNAL) < 0)
		return lsh_err_set(err, errno, "send the pty to the supervisor");
	return 0;
}

static __attribute__((noreturn)) void child_main(struct lsh_spawn_ctx *ctx, long clone_at, pid_t supervisor)
{
	struct lsh_err *err = NULL;
	char go;

	/* Die with the supervisor, so that nothing outlives a killed run. */
	if (lsh_proc_pdeathsig(SIGKILL, supervisor, &err) < 0)
		lsh_spawn_child_fail(ctx, clone_at, err);
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
		ctx->step = (long)i;
		if (s->where == LSH_WHERE_CHILD && s->op->run(s, ctx, &err) < 0)
			lsh_spawn_child_fail(ctx, (long)i, err);
	}
	lsh_err_msg(&err, EINVAL, "the plan ended without exec");
	lsh_spawn_child_fail(ctx, (long)n - 1, err);
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
		ctx->step = (long)i;
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

/* The caller's side of the sandbox's pty: its terminal (raw while the run goes on) and
 * what was read from stdin and not yet written to the master. */
struct term {
	int master;		/* the sandbox's pty, -1 without one or once it closed */
	int ctl;		/* pid 1's notices that the job stopped, or -1 */
	int in_open;		/* stdin is still read */
	int raw;		/* the caller's terminal is raw; saved holds its modes */
	struct termios saved;
	char in[4096];
	size_t nin;
};

static void term_raw(struct term *t)
{
	if (t->master >= 0 && !t->raw && isatty(0) && lsh_tty_raw(0, &t->saved, NULL) == 0)
		t->raw = 1;
}

static void term_restore(struct term *t)
{
	if (t->raw)
		lsh_tty_restore(0, &t->saved);
	t->raw = 0;
}

/* Whether the caller's terminal is ours to use: its foreground is our process group (or
 * stdin is no controlling terminal of ours, which never stops us). From the background,
 * tcsetattr raises SIGTTOU and a read SIGTTIN: the supervisor would stop again before it
 * acts on what continued it (bash's `kill %1` is SIGTERM, then SIGCONT). */
static int term_ours(void)
{
	pid_t fg = tcgetpgrp(0);
	return fg < 0 || fg == getpgrp();
}

/* Continued, or back in the foreground: the terminal raw again and its size passed on,
 * when it is ours; else it is left alone until the loop finds it ours (`fg`). */
static void term_resume(struct term *t)
{
	if (t->master < 0 || !term_ours())
		return;
	term_raw(t);
	if (isatty(0))
		lsh_pty_copy_winsize(0, t->master);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pfd = { fd, POLLOUT, 0 };
			poll(&pfd, 1, 1000);
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* What the sandbox wrote to its terminal goes to our stdout; at its end, or an error
 * (EIO once the last of its side closed), the master is closed. */
static void pump_out(struct term *t)
{
	char buf[16384];
	ssize_t n;
	while ((n = read(t->master, buf, sizeof buf)) < 0 && errno == EINTR)
		;
	if (n > 0) {
		write_all(1, buf, (size_t)n);
	} else if (n == 0 || errno != EAGAIN) {
		close(t->master);
		t->master = -1;
	}
}

/* After the command's end: what the pty holds, and what arrives within DRAIN_MS, goes to
 * our stdout; then the master is closed. Its end (EIO) is not waited for: a process that
 * left the sandbox's process group may hold the pty for as long as it likes, and the run
 * would spin on EAGAIN with the caller's terminal raw and nothing torn down. */
static void drain_out(struct term *t)
{
	int64_t until = now_ms() + DRAIN_MS;
	while (t->master >= 0) {
		int64_t left = until - now_ms();
		struct pollfd pfd = { t->master, POLLIN, 0 };
		int n = left > 0 ? poll(&pfd, 1, (int)left) : 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		pump_out(t);
	}
	if (t->master >= 0) {
		close(t->master);
		t->master = -1;
	}
}

/* Signal the whole sandbox: its pid 1 (which passes it to every process of its pid
 * namespace), or, without a pid namespace, the process group the child leads. */
static void signal_sandbox(struct lsh_spawn_ctx *ctx, int group, int sig)
{
	if (group)
		kill(-ctx->pid, sig);
	else
		sys_pidfd_send_signal(ctx->pidfd, sig, NULL, 0);
}

/* Stops (hold) or continues every process of the sandbox, not only its job: with a cgroup
 * of the run, its v2 freezer; else, with a pid namespace, pid 1 (SIGTSTP from us makes it
 * SIGSTOP its whole namespace, SIGCONT continue it); else the process group the child
 * leads, or the child. */
static void hold_sandbox(struct lsh_spawn_ctx *ctx, int group, int hold)
{
	if (ctx->cgroup_fd >= 0) {
		int fd = openat(ctx->cgroup_fd, "cgroup.freeze", O_WRONLY | O_CLOEXEC);
		ssize_t w = fd >= 0 ? write(fd, hold ? "1" : "0", 1) : -1;
		if (fd >= 0)
			close(fd);
		if (w == 1) {
			if (!hold)
				signal_sandbox(ctx, group, SIGCONT);
			return;
		}
	}
	if (ctx->clone_flags & CLONE_NEWPID)
		sys_pidfd_send_signal(ctx->pidfd, hold ? SIGTSTP : SIGCONT, NULL, 0);
	else
		signal_sandbox(ctx, group, hold ? SIGSTOP : SIGCONT);
}

/* The sandbox's job stopped (Ctrl-Z in its terminal, or a command that stopped itself):
 * the whole sandbox stops and the run too, the caller's terminal back in its own modes,
 * and the caller's shell gives its prompt back; `fg` continues us, and we continue the
 * sandbox. A supervisor that leads its session has no shell above it to resume it: the
 * job is continued at once. */
static void suspend(struct lsh_spawn_ctx *ctx, struct term *t, int group)
{
	if (getsid(0) != getpid()) {
		hold_sandbox(ctx, group, 1);
		term_restore(t);
		kill(getpid(), SIGSTOP);
		/* Continued: by fg, or in the background by bg or kill %1, whose SIGTERM
		 * waits in the signalfd for the loop. */
		term_resume(t);
	}
	hold_sandbox(ctx, group, 0);
}

static int64_t cpu_us(const struct rusage *ru)
{
	return ((int64_t)ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1000000 + ru->ru_utime.tv_usec +
	       ru->ru_stime.tv_usec;
}

/* Whether the run may end when pid 1 reports the command's exit, before pid 1 itself has
 * exited: the caller asked (LSH_SPAWN_EARLY), nothing is to be taken down after the
 * sandbox (an undo entry of any step), no pty to drain, no signal of ours in flight. */
static int ended_early(const struct lsh_spawn_ctx *ctx, const struct term *t, int64_t kill_at)
{
	return (ctx->flags & LSH_SPAWN_EARLY) && ctx->nundo == 0 && t->master < 0 && kill_at < 0 &&
	       (ctx->clone_flags & CLONE_NEWPID);
}

/* Waits for the child, passing on the signals the supervisor receives, proxying the
 * sandbox's terminal, and keeping the wall-clock limit. */
static int supervise(struct lsh_spawn_ctx *ctx, int sigfd, struct term *t, struct lsh_spawn_result *res,
		     struct lsh_err **err)
{
	pid_t pgrp = getpgrp();
	/* Without a pid namespace, the sandbox is the process group its session leader
	 * made: signals and the final kill go to the group. */
	int group = !(ctx->clone_flags & CLONE_NEWPID) && getpgid(ctx->pid) == ctx->pid;
	/* With a timeout: TERM at the deadline, KILL after the grace. */
	int64_t deadline = ctx->timeout_ms > 0 ? now_ms() + ctx->timeout_ms : -1;
	int64_t kill_at = -1;
	/* The CPU time of children this process reaped before the sandbox's. */
	struct rusage before;
	if (getrusage(RUSAGE_CHILDREN, &before) < 0)
		memset(&before, 0, sizeof before);

	if (t->master >= 0) {
		fcntl(t->master, F_SETFL, fcntl(t->master, F_GETFL) | O_NONBLOCK);
		t->in_open = 1;
		term_resume(t);
	}
	for (;;) {
		siginfo_t info;
		memset(&info, 0, sizeof info);
		if (waitid((idtype_t)LSH_P_PIDFD, (id_t)ctx->pidfd, &info, WEXITED | WNOHANG | WNOWAIT) < 0 &&
		    errno != EINTR)
			return lsh_err_set(err, errno, "waitid(pidfd %d)", ctx->pidfd);
		if (info.si_pid != 0) {
			/* Still a zombie, so its pid is no one else's group yet. */
			if (group)
				kill(-ctx->pid, SIGKILL);
			int r = lsh_proc_wait(ctx->pidfd, 0, &res->status, err);
			if (r < 0)
				return r;
			res->exit_code = lsh_proc_exit_status(res->status);
			/* What the sandbox's processes used, the command and what pid 1
			 * reaped: whether limits.cpu ended it (RLIMIT_CPU kills with
			 * SIGKILL, which anything else may send too). */
			struct rusage after;
			if (getrusage(RUSAGE_CHILDREN, &after) == 0)
				res->cpu_us = cpu_us(&after) - cpu_us(&before);
			/* What the sandbox wrote last. */
			drain_out(t);
			return 0;
		}
		int64_t now = now_ms(), next = -1;
		if (deadline >= 0 && now >= deadline) {
			res->timed_out = 1;
			signal_sandbox(ctx, group, SIGTERM);
			signal_sandbox(ctx, group, SIGCONT);
			deadline = -1;
			kill_at = now + ctx->grace_ms;
		}
		if (kill_at >= 0 && now >= kill_at) {
			signal_sandbox(ctx, group, SIGKILL);
			/* Without a pid namespace, at least the child itself. */
			sys_pidfd_send_signal(ctx->pidfd, SIGKILL, NULL, 0);
			kill_at = -1;
		}
		if (deadline >= 0)
			next = deadline;
		if (kill_at >= 0 && (next < 0 || kill_at < next))
			next = kill_at;
		int wait_ms = next < 0 ? -1 : (next - now > 1000000 ? 1000000 : (int)(next - now));
		/* In the background (bg), the caller's terminal is neither read nor made raw
		 * (either would stop us); back in the foreground, it is raw again. */
		int away = 0;
		if (t->master >= 0 && isatty(0)) {
			away = !term_ours();
			if (!away && !t->raw)
				term_resume(t);
			if (away && (wait_ms < 0 || wait_ms > AWAY_POLL_MS))
				wait_ms = AWAY_POLL_MS;
		}

		struct pollfd pfd[5];
		nfds_t np = 0;
		pfd[np++] = (struct pollfd){ ctx->pidfd, POLLIN, 0 };
		pfd[np++] = (struct pollfd){ sigfd, POLLIN, 0 };
		int i_master = -1, i_in = -1, i_ctl = -1;
		if (t->master >= 0) {
			i_master = (int)np;
			pfd[np++] = (struct pollfd){ t->master, (short)(POLLIN | (t->nin ? POLLOUT : 0)), 0 };
			if (t->in_open && t->nin < sizeof t->in && !away) {
				i_in = (int)np;
				pfd[np++] = (struct pollfd){ 0, POLLIN, 0 };
			}
		}
		if (t->ctl >= 0) {
			i_ctl = (int)np;
			pfd[np++] = (struct pollfd){ t->ctl, POLLIN, 0 };
		}
		if (poll(pfd, np, wait_ms) < 0) {
			if (errno == EINTR)
				continue;
			return lsh_err_set(err, errno, "poll");
		}
		if (pfd[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sigfd, &si, sizeof si) == sizeof si) {
				int sig = (int)si.ssi_signo;
				if (sig == SIGWINCH) {
					if (t->master >= 0 && isatty(0))
						lsh_pty_copy_winsize(0, t->master);
					continue;
				}
				if (sig == SIGCHLD) {
					/* Our child stopped (a command that is no pid 1's job). */
					siginfo_t st;
					memset(&st, 0, sizeof st);
					if (t->master >= 0 &&
					    waitid((idtype_t)LSH_P_PIDFD, (id_t)ctx->pidfd, &st, WSTOPPED | WNOHANG) == 0 &&
					    st.si_pid != 0 && st.si_code == CLD_STOPPED)
						suspend(ctx, t, group);
					continue;
				}
				/* The terminal already delivered its signals to a child that
				 * shares our process group. */
				int same_group = getpgid(ctx->pid) == pgrp;
				if (si.ssi_code == SI_KERNEL && same_group)
					continue;
				signal_sandbox(ctx, group, sig);
				if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT) {
					/* A stopped sandbox would keep a terminating signal pending
					 * for good: wake it so that the signal acts. */
					signal_sandbox(ctx, group, SIGCONT);
					if (kill_at < 0)
						kill_at = now_ms() + END_GRACE_MS;
				}
			}
		}
		if (i_ctl >= 0 && (pfd[i_ctl].revents & (POLLIN | POLLHUP))) {
			char c[1 + sizeof(int)];
			ssize_t n = recv(t->ctl, c, sizeof c, MSG_DONTWAIT);
			if (n == 1 && c[0] == 'T' && t->master >= 0)
				suspend(ctx, t, group);
			else if (n == (ssize_t)sizeof c && c[0] == 'X' && ended_early(ctx, t, kill_at)) {
				/* pid 1 reported the command's exit and that no process is left:
				 * nothing of the run needs its exit (LSH_SPAWN_EARLY). */
				memcpy(&res->exit_code, c + 1, sizeof(int));
				res->status = res->exit_code << 8;
				return 0;
			} else if (n == 0) {
				close(t->ctl);
				t->ctl = -1;
			}
		}
		if (i_in >= 0 && (pfd[i_in].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = read(0, t->in + t->nin, sizeof t->in - t->nin);
			if (n > 0) {
				t->nin += (size_t)n;
			} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
				/* The end of a stdin that is no terminal: the end of the
				 * sandbox's input too (its EOF character). */
				struct termios st;
				t->in_open = 0;
				if (t->master >= 0 && tcgetattr(t->master, &st) == 0 && t->nin < sizeof t->in)
					t->in[t->nin++] = (char)st.c_cc[VEOF];
			}
		}
		if (i_master >= 0 && t->master >= 0 && (pfd[i_master].revents & POLLOUT) && t->nin > 0) {
			ssize_t w = write(t->master, t->in, t->nin);
			if (w > 0) {
				memmove(t->in, t->in + w, t->nin - (size_t)w);
				t->nin -= (size_t)w;
			}
		}
		if (i_master >= 0 && t->master >= 0 && (pfd[i_master].revents & (POLLIN | POLLHUP | POLLERR)))
			pump_out(t);
	}
}

int lsh_spawn(const struct lsh_plan *plan, struct lsh_spawn_result *res, struct lsh_err **err)
{
	return lsh_spawn_with(plan, 0, res, err);
}

int lsh_spawn_with(const struct lsh_plan *plan, unsigned flags, struct lsh_spawn_result *res, struct lsh_err **err)
{
	struct lsh_spawn_ctx ctx;
	struct lsh_plan_facts facts;
	int sv[2] = { -1, -1 }, ctl[2] = { -1, -1 };
	struct term term;
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
	ctx.ctl_fd = -1;
	ctx.join_netns_fd = ctx.join_userns_fd = -1;
	ctx.euid = geteuid();
	ctx.clone_flags = facts.clone_flags;
	ctx.flags = flags;
	memset(&term, 0, sizeof term);
	term.master = term.ctl = -1;

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
	/* Over this line pid 1 tells when the job stopped (with a pty), and how the command
	 * ended (LSH_SPAWN_EARLY). */
	if ((facts.pty || (flags & LSH_SPAWN_EARLY)) && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) < 0) {
		r = lsh_err_set(err, errno, "socketpair");
		goto out;
	}
	pid_t supervisor = getpid();
	/* A joined netns: the child is cloned in it (net_ops.c's netns_join). */
	int back = -1;
	if ((r = lsh_spawn_join_enter(&ctx, &back, err)) < 0) {
		res->failed_step = ctx.join_step;
		goto out;
	}
	pid_t pid = lsh_proc_clone(ctx.clone_flags, ctx.cgroup_fd, &ctx.pidfd, err);
	if (pid != 0 && back >= 0) {
		/* Root goes back at once: the steps after the clone act in its own. */
		int e = setns(back, CLONE_NEWNET) < 0 ? errno : 0;
		close(back);
		if (e && pid > 0) {
			sys_pidfd_send_signal(ctx.pidfd, SIGKILL, NULL, 0);
			int status;
			lsh_proc_wait(ctx.pidfd, 0, &status, NULL);
			res->failed_step = clone_at;
			r = lsh_err_set(err, e, "join: back to our own network namespace");
			goto out;
		}
	}
	if (pid < 0) {
		res->failed_step = clone_at;
		r = pid;
		goto out;
	}
	if (pid == 0) {
		/* The namespaces to join are entered: the sandbox keeps no handle of them. */
		if (ctx.join_netns_fd >= 0)
			close(ctx.join_netns_fd);
		if (ctx.join_userns_fd >= 0)
			close(ctx.join_userns_fd);
		ctx.join_netns_fd = ctx.join_userns_fd = -1;
	ctx.euid = geteuid();
		if (back >= 0)
			close(back);
		close(sv[0]);
		ctx.sync_fd = sv[1];
		if (ctl[0] >= 0)
			close(ctl[0]);
		ctx.ctl_fd = ctl[1];
		child_main(&ctx, clone_at, supervisor);
	}
	ctx.pid = res->pid = pid;
	close(sv[1]);
	sv[1] = -1;
	ctx.sync_fd = sv[0];
	if (ctl[1] >= 0)
		close(ctl[1]);
	term.ctl = ctl[0];
	ctl[0] = ctl[1] = -1;

	r = run_supervisor_steps(&ctx, (size_t)clone_at + 1, lsh_plan_len(plan), res, err);
	if (r == 0 && send(sv[0], "g", 1, MSG_NOSIGNAL) != 1)
		r = lsh_err_set(err, errno, "start the sandbox");
	while (r == 0) {
		/* Until exec closes the socket: a failure (step, errno, message), or an fd
		 * (the pty's master, code 0). */
		struct sync_msg m;
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int))];
		} c;
		struct iovec iov = { &m, sizeof m };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf,
				     .msg_controllen = sizeof c.buf };
		ssize_t n;
		while ((n = recvmsg(sv[0], &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
			;
		struct cmsghdr *h = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
		if (h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) {
			int fd;
			memcpy(&fd, CMSG_DATA(h), sizeof fd);
			if (term.master >= 0 || n != (ssize_t)sizeof m || m.code != 0) {
				close(fd);
				r = lsh_err_msg(err, EPROTO, "the sandbox sent an unexpected fd");
				break;
			}
			term.master = fd;
			continue;
		}
		if (n == (ssize_t)sizeof m) {
			m.msg[sizeof m.msg - 1] = '\0';
			res->failed_step = m.step;
			r = lsh_err_msg(err, m.code > 0 ? m.code : EIO, "%s", m.msg);
		} else if (n < 0) {
			r = lsh_err_set(err, errno, "read from the sandbox");
		}
		break;
	}
	if (r < 0) {
		/* Setup failed: the child must not go on to run anything. */
		sys_pidfd_send_signal(ctx.pidfd, SIGKILL, NULL, 0);
		int status;
		lsh_proc_wait(ctx.pidfd, 0, &status, NULL);
		goto out;
	}
	r = supervise(&ctx, sigfd, &term, res, err);
	if (r < 0) {
		/* Waiting failed: end the sandbox before what it uses is taken down. */
		sys_pidfd_send_signal(ctx.pidfd, SIGKILL, NULL, 0);
		int status;
		lsh_proc_wait(ctx.pidfd, 0, &status, NULL);
	}
out:
	/* The caller's terminal gets its modes back on every path. */
	term_restore(&term);
	if (term.master >= 0)
		close(term.master);
	if (term.ctl >= 0)
		close(term.ctl);
	for (int k = 0; k < 2; k++)
		if (ctl[k] >= 0)
			close(ctl[k]);
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
	if (ctx.join_netns_fd >= 0)
		close(ctx.join_netns_fd);
	if (ctx.join_userns_fd >= 0)
		close(ctx.join_userns_fd);
	/* Drop what arrived while we forwarded, then restore the caller's mask. */
	struct timespec zero = { 0, 0 };
	while (sigtimedwait(&fwd, NULL, &zero) > 0)
		;
	sigprocmask(SIG_SETMASK, &ctx.oldmask, NULL);
	return r;
}
