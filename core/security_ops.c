/* The plan operations of the boundary: capabilities, no_new_privs, seccomp, rlimits, the
 * session keyring, and the run's cgroup. The child's ones run last before exec (phase
 * "privileges" in the planner), seccomp the very last, so nothing after them needs a
 * privilege they removed. */
#include "internal.h"
#include "syscalls.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#define AREA_SECURITY 2

/* caps */
enum { CAPS_KEEP };				/* lists */
enum { CAPS_LOCK_SECUREBITS };			/* ints */

static int op_caps(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	(void)ctx;
	const char *const *keep = (const char *const *)s->lists[CAPS_KEEP];
	return lsh_caps_restrict(keep, s->nlists[CAPS_KEEP], (int)s->ints[CAPS_LOCK_SECUREBITS], err);
}

static int op_no_new_privs(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	(void)s;
	(void)ctx;
	return lsh_caps_no_new_privs(err);
}

/* seccomp: the rules, and (a plan from the plan cache) the filter compiled from them
 * when the plan was stored, which is loaded instead of generating it again. */
enum { SECCOMP_RULES };				/* lists */
enum { SECCOMP_BPF };				/* strs */

static int check_seccomp(const struct lsh_plan_step *s, struct lsh_plan_facts *facts, struct lsh_err **err)
{
	(void)facts;
	return s->strs[SECCOMP_BPF] ? lsh_seccomp_bpf_check(s->strs[SECCOMP_BPF], err) : 0;
}

static int op_seccomp(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	(void)ctx;
	if (s->strs[SECCOMP_BPF])
		return lsh_seccomp_attach(s->strs[SECCOMP_BPF], err);
	return lsh_seccomp_load((const char *const *)s->lists[SECCOMP_RULES], s->nlists[SECCOMP_RULES], err);
}

/* rlimit */
enum { LIMIT_RESOURCE };			/* strs */
enum { LIMIT_SOFT, LIMIT_HARD };		/* ints */

static int op_rlimit(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	(void)ctx;
	return lsh_rlimit_set(s->strs[LIMIT_RESOURCE], s->ints[LIMIT_SOFT], s->ints[LIMIT_HARD], err);
}

/* set_ids */
enum { IDS_UID, IDS_GID };			/* ints */

static int op_set_ids(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	int r = lsh_caps_set_ids((uid_t)s->ints[IDS_UID], (gid_t)s->ints[IDS_GID], err);
	if (r < 0)
		return r;
	/* lsh_caps_set_ids made us dumpable again, which a new sandbox needs and no one else
	 * shares its user namespace yet; in a joined one its processes do (op_join). */
	if (ctx->joined && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return lsh_err_set(err, errno, "prctl(PR_SET_DUMPABLE)");
	/* A change of effective uid clears the parent-death signal (credentials(7)): arm it
	 * again, or a sandbox would outlive a supervisor killed with SIGKILL. If the
	 * supervisor died in between, its end of the sync socket is closed: stop here. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return lsh_err_set(err, errno, "prctl(PR_SET_PDEATHSIG)");
	struct pollfd p = { ctx->sync_fd, POLLIN, 0 };
	if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR)))
		return lsh_err_msg(err, ESRCH, "the supervisor exited before the sandbox started");
	return 0;
}

/* sysctl */
enum { SYSCTL_NAME, SYSCTL_VALUE };		/* strs */

static int op_sysctl(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	const char *name = s->strs[SYSCTL_NAME];
	/* Only net.* settings belong to a namespace the sandbox owns; the rest are the host's. */
	if (strncmp(name, "net.", 4) != 0)
		return lsh_err_msg(err, EPERM, "sysctl %s: only net.* settings, in the sandbox's own network namespace",
				   name);
	/* After netns_join the child is in someone else's namespace (the clone made none):
	 * a setting written there would outlive the run. */
	if (ctx->net_joined)
		return lsh_err_msg(err, EPERM, "sysctl %s: the sandbox joined a network namespace that is "
				   "not its own, and changes nothing of it", name);
	int r = lsh_spawn_need(ctx, CLONE_NEWNET, 0, "sysctl", err);
	if (r < 0)
		return r;
	return lsh_sysctl_write(name, s->strs[SYSCTL_VALUE], err);
}

static int op_keyring(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	(void)s;
	(void)ctx;
	return lsh_keyring_new_session(err);
}

struct cgroup_state {
	struct lsh_cgroup *cg;
	struct lsh_spawn_ctx *ctx;
};

/* Runs on every exit path of the supervisor, after the child is gone: the OOM count must
 * be read before the cgroup is removed. */
static void cgroup_undo(void *arg)
{
	struct cgroup_state *st = arg;
	if (lsh_cgroup_oom_killed(st->cg))
		st->ctx->oom_killed = 1;
	lsh_cgroup_destroy(st->cg);
	st->ctx->area[AREA_SECURITY] = NULL;
	free(st);
}

/* cgroup */
enum { CGROUP_MEMORY, CGROUP_PIDS, CGROUP_CPU_QUOTA, CGROUP_CPU_PERIOD }; /* ints */

static int op_cgroup(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	struct lsh_cgroup_limits lim = { s->ints[CGROUP_MEMORY], s->ints[CGROUP_PIDS], s->ints[CGROUP_CPU_QUOTA],
					 s->ints[CGROUP_CPU_PERIOD] };
	char name[64];
	struct lsh_cgroup *cg = NULL;
	int r;

	if (ctx->area[AREA_SECURITY])
		return lsh_err_msg(err, EINVAL, "cgroup: a second cgroup step");
	snprintf(name, sizeof name, "lunshare-%d", (int)getpid());
	if ((r = lsh_cgroup_create(name, &lim, &cg, err)) < 0)
		return r;
	/* A run killed with SIGKILL could not remove its cgroup: the next run does. */
	lsh_cgroup_sweep(cg, "lunshare-");
	struct cgroup_state *st = calloc(1, sizeof *st);
	if (st == NULL) {
		lsh_cgroup_destroy(cg);
		return lsh_err_set(err, ENOMEM, "cgroup");
	}
	st->cg = cg;
	st->ctx = ctx;
	if ((r = lsh_spawn_defer(ctx, cgroup_undo, st, err)) < 0)
		return r;
	ctx->area[AREA_SECURITY] = st;
	/* v2: the child is born in the cgroup (CLONE_INTO_CGROUP), never outside it. */
	int fd = lsh_cgroup_fd(cg, err);
	if (fd >= 0)
		ctx->cgroup_fd = fd;
	else if (fd != -ENOENT)
		return fd;
	return 0;
}

static int op_cgroup_enter(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	(void)s;
	struct cgroup_state *st = ctx->area[AREA_SECURITY];
	if (st == NULL)
		return lsh_err_msg(err, EINVAL, "cgroup_enter: no cgroup step before it");
	int r = lsh_spawn_need(ctx, 0, 1, "cgroup_enter", err);
	if (r < 0)
		return r;
	if (ctx->cgroup_fd >= 0)
		return 0; /* placed by clone already */
	/* v1: the child waits for "go", so it is in the cgroup before it runs anything. */
	return lsh_cgroup_attach(st->cg, ctx->pid, err);
}

#define NO_FIELDS { { NULL, 0, 0, 0 } }

const struct lsh_op lsh_ops_security[] = {
	{ "set_ids", LSH_PHASE_CHILD, { { "uid", LSH_ARG_INT, IDS_UID, 0 }, { "gid", LSH_ARG_INT, IDS_GID, 0 } },
	  NULL, op_set_ids },
	{ "sysctl", LSH_PHASE_CHILD,
	  { { "name", LSH_ARG_STR, SYSCTL_NAME, 1 }, { "value", LSH_ARG_STR, SYSCTL_VALUE, 1 } }, NULL, op_sysctl },
	{ "session_keyring", LSH_PHASE_CHILD, NO_FIELDS, NULL, op_keyring },
	{ "rlimit", LSH_PHASE_CHILD,
	  { { "resource", LSH_ARG_STR, LIMIT_RESOURCE, 1 }, { "soft", LSH_ARG_INT, LIMIT_SOFT, 0 },
	    { "hard", LSH_ARG_INT, LIMIT_HARD, 0 } },
	  NULL, op_rlimit },
	{ "caps", LSH_PHASE_CHILD,
	  { { "keep", LSH_ARG_LIST, CAPS_KEEP, 0 }, { "lock_securebits", LSH_ARG_BOOL, CAPS_LOCK_SECUREBITS, 0 } },
	  NULL, op_caps },
	{ "no_new_privs", LSH_PHASE_CHILD, NO_FIELDS, NULL, op_no_new_privs },
	{ "seccomp", LSH_PHASE_CHILD,
	  { { "rules", LSH_ARG_LIST, SECCOMP_RULES, 1 }, { "bpf", LSH_ARG_STR, SECCOMP_BPF, 0 } },
	  check_seccomp, op_seccomp },
	{ "cgroup", LSH_PHASE_PREPARE,
	  { { "memory", LSH_ARG_INT, CGROUP_MEMORY, 0 }, { "pids", LSH_ARG_INT, CGROUP_PIDS, 0 },
	    { "cpu_quota", LSH_ARG_INT, CGROUP_CPU_QUOTA, 0 }, { "cpu_period", LSH_ARG_INT, CGROUP_CPU_PERIOD, 0 } },
	  NULL, op_cgroup },
	{ "cgroup_enter", LSH_PHASE_HOST, NO_FIELDS, NULL, op_cgroup_enter },
	{ NULL, 0, NO_FIELDS, NULL, NULL },
};
