/* What the core's files share and the public header does not export. */
#ifndef LSH_INTERNAL_H
#define LSH_INTERNAL_H

#define LSH_BUILDING 1
#include "lunshare.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

/* Scoped cleanup, as systemd and crun use it; ownership moves out with steal_pointer()
 * and take_fd(). */
static inline void freep(void *p) { free(*(void **)p); }
static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
#define _cleanup_free_ __attribute__((cleanup(freep)))
#define _cleanup_close_ __attribute__((cleanup(closep)))

static inline void *steal_pointer_(void **p)
{
	void *v = *p;
	*p = NULL;
	return v;
}
#define steal_pointer(p) steal_pointer_((void **)(p))

static inline int take_fd(int *fd)
{
	int v = *fd;
	*fd = -1;
	return v;
}

#define LSH_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Opens the directory name beneath dirfd as lsh_statedir_open opens each component: never
 * through a symlink, made 0700 when missing and LSH_STATEDIR_CREATE is set (with
 * LSH_STATEDIR_EXCL it must be new: -EEXIST otherwise), then verified with fstat (a
 * directory, owned by the effective uid, writable by no one else). what and shown name it
 * in messages ("cgroup", its path). With LSH_PRIVDIR_READABLE a new one is 0755 instead:
 * still writable by its owner alone. Returns a new O_DIRECTORY fd. */
enum { LSH_PRIVDIR_READABLE = 1 << 8 };
int lsh_private_dir_at(int dirfd, const char *name, unsigned flags, const char *what, const char *shown,
		       struct lsh_err **err);

/* openat2(2), retried up to LSH_OPENAT2_TRIES times while it fails with EAGAIN (what
 * RESOLVE_BENEATH and RESOLVE_IN_ROOT answer when a mount or a rename anywhere raced the
 * lookup). Every openat2 call of the core goes through it. Returns the fd, or -1 and
 * errno, as openat2 does; O_CLOEXEC is always added. */
#define LSH_OPENAT2_TRIES 1024
int lsh_openat2(int dirfd, const char *path, int flags, uint64_t resolve);

/* mkdirat(2) of name beneath dirfd, then the new directory opened (RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS, O_NOFOLLOW), checked to be an empty directory of ours, and given
 * exactly mode with fchmod on that fd: never a call by name after the node exists, so a
 * symlink swapped in by whoever can write dirfd is refused, not followed. Returns a new
 * O_RDONLY|O_DIRECTORY fd; -EEXIST when name exists. */
int lsh_mount_mkdirat(int dirfd, const char *name, mode_t mode, struct lsh_err **err);

/* What the mount steps (mount_ops.c) and the hot-plug steps (plug_ops.c) share. */

/* Attaches the detached mount mfd on dst, a path under root: the target is opened, and
 * made when missing (node with mode, its parents 0755), by lsh_mount_target, so no
 * component may be a symlink or "..". Borrows mfd and root. */
int lsh_mount_attach_at(int root, int mfd, const char *dst, enum lsh_mount_node node, mode_t mode,
			struct lsh_err **err);

/* Splits "/a/b/c" into its parent "/a/b" (copied into buf, of size bytes) and returns "c"
 * (a pointer into path); a path without a slash is returned whole, buf then unchanged. */
const char *lsh_path_split(const char *path, char *buf, size_t size);

/* Undo actions the supervisor records as it creates host-side objects; run in reverse. */
typedef void (*lsh_undo_fn)(void *arg);

/* The executor's state while it performs a plan; the ops of every area receive it. */
struct lsh_spawn_ctx {
	const struct lsh_plan *plan;
	pid_t pid;		/* the child, in the supervisor's pid namespace */
	int pidfd;		/* supervisor side */
	int sync_fd;		/* the end of the sync socket this process holds */
	unsigned long clone_flags;
	int cgroup_fd;		/* >= 0: clone into this cgroup (v2) */
	sigset_t oldmask;	/* the caller's signal mask, which the command gets back */
	struct lsh_undo {
		lsh_undo_fn fn;
		void *arg;
	} *undo;
	size_t nundo, capundo;
	int oom_killed;		/* set by the cgroup area when it removes its cgroups */
	int net_joined;		/* the child was cloned into a joined netns (not its own) */
	int join_netns_fd;	/* netns_join: the namespace to clone the child into, or -1 */
	int join_userns_fd;	/* netns_join of a rootless topology's host: its holder's, or -1 */
	long join_step;		/* the netns_join step, for its failure */
	uid_t euid;		/* the caller's, as the caller's user namespace has it: a rootless
				   join leaves the supervisor in the topology holder's */
	int64_t timeout_ms;	/* > 0: the wall-clock limit of the run (a "timeout" step) */
	int64_t grace_ms;	/* between SIGTERM and SIGKILL once it passed */
	int ctl_fd;		/* child: pid 1's line to the supervisor (job stops, the command's
				 * end), or -1 */
	unsigned flags;		/* LSH_SPAWN_* */
	int has_tty;		/* child: the pty step made fds 0-2 its terminal */
	int joined;		/* child: a join step entered a running sandbox, whose processes
				   share our ids from then on: we stay non-dumpable until exec */
	long step;		/* the index of the step this process is running */
	void *area[8];		/* per-area scratch state (mount, net, …), owned by the area */
};

/* What checking a plan learns that executing it needs. */
struct lsh_plan_facts {
	long clone_at;		   /* the index of the clone step */
	unsigned long clone_flags; /* the CLONE_NEW* flags it makes */
	int pty;		   /* a pty step: the supervisor proxies a terminal */
	int net_join;		   /* a netns_join step: 1 a named netns, 2 a rootless topology's host */
};

/* lsh_plan_validate, keeping what it learnt. */
int lsh_plan_check(const struct lsh_plan *plan, struct lsh_plan_facts *facts, long *failed_step,
		   struct lsh_err **err);

/* The executor validates a plan's shape; each op that would act on a shared kernel object
 * checks here that the plan really gave the sandbox its own (CLONE_NEW* in `ns`), and,
 * with `child`, that the sandbox's process exists (a supervisor step after clone). This is
 * the guard between a plan handed to lsh_spawn and the host, whoever built the plan. */
int lsh_spawn_need(const struct lsh_spawn_ctx *ctx, unsigned long ns, int child, const char *op,
		   struct lsh_err **err);

/* Supervisor, just before the clone: enters what a netns_join step opened (the holder's
 * user namespace first, for good, for a rootless topology's host). *back is then an fd of
 * our own network namespace to go back to after the clone (root), or -1. */
int lsh_spawn_join_enter(struct lsh_spawn_ctx *ctx, int *back, struct lsh_err **err);

/* Child side: hands fd (borrowed) to the supervisor over the sync socket (the pty's
 * master, which the supervisor proxies). */
int lsh_spawn_send_fd(struct lsh_spawn_ctx *ctx, int fd, struct lsh_err **err);

/* In the child: tells the supervisor that step `step` failed with `err`, and exits 127. */
__attribute__((noreturn)) void lsh_spawn_child_fail(struct lsh_spawn_ctx *ctx, long step, struct lsh_err *err);

/* Records an undo action; on ENOMEM runs it at once and returns -ENOMEM. */
int lsh_spawn_defer(struct lsh_spawn_ctx *ctx, lsh_undo_fn fn, void *arg, struct lsh_err **err);

/* Ends a process lunshare started beside a sandbox (a helper, the egress relay): SIGTERM,
 * up to grace_ms to go, then SIGKILL; reaps it and closes pidfd (core/proc.c). A negative
 * pidfd is nothing to end. */
void lsh_proc_end(int pidfd, int grace_ms);

/* A pidfd of the sandbox's process pid (core/enter_ops.c), checked once held: it started
 * at starttime (a reused pid is refused, ESRCH) and, when user_ns is not 0, is in the
 * user namespace of that inode (EPERM). For the steps that join a running sandbox. */
int lsh_join_pidfd(pid_t pid, uint64_t starttime, uint64_t user_ns, struct lsh_err **err);

/* The n-th tree (from 1) an idmap_tree step made in the supervisor before the clone, taken
 * out of the executor's state: the caller owns the fd. -1 (no lsh_err) when that step's
 * optional source was missing; -EINVAL when there is no such step (mount_ops.c). */
int lsh_mount_idmapped(struct lsh_spawn_ctx *ctx, long n, struct lsh_err **err);

/* What the last helper the executor started left for the steps after it (the relay):
 * ctx->area[LSH_AREA_HELPER] points at it while the helper runs. */
#define LSH_AREA_HELPER 4
struct lsh_helper_info {
	int port;	/* the free loopback port it was given ({port}) */
	int dirfd;	/* its private state directory ({dir}), or -1 */
	pid_t pid;	/* the helper itself */
	int netns;	/* it has a network namespace of its own (/proc/PID/ns/net) */
	int uid;	/* the id of its own it runs as (a root caller's), or 0 */
};

/* In a forked, single-threaded child: enters the network namespace of pid, and first its
 * user namespace when that is not the caller's (a caller who is not root made it, so owns
 * it and has every capability in it). Returns 0 or -errno; sets no lsh_err (a child reports
 * by its exit or a byte on a pipe). */
int lsh_ns_join_net(pid_t pid);

/* Internet addresses (addr.c). Whether sa (AF_INET or AF_INET6; any other family counts as
 * private) is loopback, link-local, private or unspecified: 0.0.0.0/8, 127.0.0.0/8, 10/8,
 * 172.16/12, 192.168/16, 169.254/16, ::, ::1, fc00::/7, fe80::/10, and IPv4 ones mapped
 * into IPv6. */
struct sockaddr;
int lsh_addr_private(const struct sockaddr *sa);
/* Whether sa is in net, "ADDRESS" or "ADDRESS/BITS" of sa's family: 1, 0, or -1 when net is
 * not one of that family. */
int lsh_addr_in_net(const char *net, const struct sockaddr *sa);

/* The ops each area contributes to the executor, each terminated by a NULL name. */
extern const struct lsh_op lsh_ops_proc[];
extern const struct lsh_op lsh_ops_net[];
extern const struct lsh_op lsh_ops_mount[];
extern const struct lsh_op lsh_ops_plug[];
extern const struct lsh_op lsh_ops_security[];
extern const struct lsh_op lsh_ops_helper[];
extern const struct lsh_op lsh_ops_relay[];
extern const struct lsh_op lsh_ops_record[];
extern const struct lsh_op lsh_ops_enter[];

#endif
