/* The plan operations of the foundation: the clone itself, id maps, names, time, session,
 * fds, the pid-1 reaper and exec. Other areas (mounts, network, …) add tables of their own. */
#include "internal.h"
#include "syscalls.h"

#include <string.h>

#define W(x) (1u << LSH_WHERE_##x)

static int map_run(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx,
		   enum lsh_idmap_kind kind, struct lsh_err **err)
{
	struct lsh_idmap_range r[340];
	int rc = lsh_spawn_need(ctx, CLONE_NEWUSER, 1, s->op->name, err);
	if (rc < 0)
		return rc;
	int n = lsh_idmap_parse(s->strs[0], r, LSH_ARRAY_SIZE(r));
	if (n <= 0)
		return lsh_err_msg(err, EINVAL, "%s: bad map \"%s\"", s->op->name, s->strs[0]);
	if (s->strs[1])
		return lsh_idmap_helper(s->strs[1], ctx->pid, kind, r, (size_t)n, err);
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

static int op_setgroups(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	int r = lsh_spawn_need(ctx, CLONE_NEWUSER, 1, "setgroups", err);
	return r < 0 ? r : lsh_idmap_setgroups(ctx->pid, (int)s->ints[0], err);
}

static int op_hostname(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	int r = lsh_spawn_need(ctx, CLONE_NEWUTS, 0, "hostname", err);
	return r < 0 ? r : lsh_uts_set_hostname(s->strs[0], err);
}

static int op_domainname(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	int r = lsh_spawn_need(ctx, CLONE_NEWUTS, 0, "domainname", err);
	return r < 0 ? r : lsh_uts_set_domainname(s->strs[0], err);
}

static int op_timens(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	(void)ctx;
	return lsh_timens_enter_new(s->ints[0], s->ints[1], err);
}

static int op_chdir(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	(void)ctx;
	if (chdir(s->strs[0]) < 0)
		return lsh_err_set(err, errno, "chdir %s", s->strs[0]);
	return 0;
}

static int op_setsid(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	(void)s;
	(void)ctx;
	return lsh_proc_setsid(err);
}

static int op_close_fds(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	int keep[64];
	size_t n = 0;
	/* The sync socket is close-on-exec: it must live until exec to report failures. */
	keep[n++] = ctx->sync_fd;
	for (size_t i = 0; i < s->nlists[0]; i++) {
		char *end;
		long fd = strtol(s->lists[0][i], &end, 10);
		if (*end || fd < 0 || n == LSH_ARRAY_SIZE(keep))
			return lsh_err_msg(err, EINVAL, "close_fds: bad fd \"%s\"", s->lists[0][i]);
		keep[n++] = (int)fd;
	}
	return lsh_proc_close_fds(keep, n, err);
}

static int op_reaper(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	(void)s;
	(void)err;
	ctx->reaper = 1;
	return 0;
}

/* A wall-clock limit: recorded before the clone and kept by the supervisor's wait, which
 * ends the whole sandbox (SIGTERM, then SIGKILL after the grace) when it passes. */
static int op_timeout(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	if (s->ints[0] <= 0 || s->ints[1] < 0)
		return lsh_err_msg(err, EINVAL, "timeout: ms must be > 0 and grace_ms >= 0");
	ctx->timeout_ms = s->ints[0];
	ctx->grace_ms = s->ints[1];
	return 0;
}

static int op_exec(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	(void)ctx;
	return lsh_proc_exec(s->lists[0], s->lists[1], err);
}

const struct lsh_op lsh_ops_proc[] = {
	{ "clone", W(SUPERVISOR), { { "namespaces", LSH_ARG_LIST, 0, 1 } }, NULL },
	{ "setgroups", W(SUPERVISOR), { { "allow", LSH_ARG_BOOL, 0, 0 } }, op_setgroups },
	{ "uid_map", W(SUPERVISOR),
	  { { "map", LSH_ARG_STR, 0, 1 }, { "helper", LSH_ARG_STR, 1, 0 } }, op_uid_map },
	{ "gid_map", W(SUPERVISOR),
	  { { "map", LSH_ARG_STR, 0, 1 }, { "helper", LSH_ARG_STR, 1, 0 } }, op_gid_map },
	{ "hostname", W(CHILD), { { "name", LSH_ARG_STR, 0, 1 } }, op_hostname },
	{ "domainname", W(CHILD), { { "name", LSH_ARG_STR, 0, 1 } }, op_domainname },
	{ "timens", W(CHILD),
	  { { "monotonic", LSH_ARG_INT, 0, 0 }, { "boottime", LSH_ARG_INT, 1, 0 } }, op_timens },
	{ "setsid", W(CHILD), { { NULL, 0, 0, 0 } }, op_setsid },
	{ "chdir", W(CHILD), { { "path", LSH_ARG_STR, 0, 1 } }, op_chdir },
	{ "close_fds", W(CHILD), { { "keep", LSH_ARG_LIST, 0, 0 } }, op_close_fds },
	{ "timeout", W(SUPERVISOR),
	  { { "ms", LSH_ARG_INT, 0, 1 }, { "grace_ms", LSH_ARG_INT, 1, 0 } }, op_timeout },
	{ "reaper", W(PID1), { { NULL, 0, 0, 0 } }, op_reaper },
	{ "exec", W(CHILD),
	  { { "argv", LSH_ARG_LIST, 0, 1 }, { "env", LSH_ARG_LIST, 1, 1 } }, op_exec },
	{ NULL, 0, { { NULL, 0, 0, 0 } }, NULL },
};
