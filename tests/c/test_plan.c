/* Plans: building, validation of their shape, and a whole run through the executor. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "lunshare.h"

static struct lsh_plan_step *add(struct lsh_plan *p, const char *op, enum lsh_where w)
{
	return lsh_plan_add(p, lsh_plan_op_by_name(op), w, "test.lua:1");
}

static struct lsh_plan *basic(const char *const *argv, size_t argc)
{
	static const char *const ns[] = { "user", "pid", "uts" };
	static const char *const env[] = { "PATH=/usr/bin:/bin" };
	struct lsh_plan *p = lsh_plan_new();
	lsh_plan_step_set_list(add(p, "clone", LSH_WHERE_SUPERVISOR), 0, ns, 3);
	struct lsh_plan_step *s = add(p, "setgroups", LSH_WHERE_SUPERVISOR);
	s->ints[0] = 0;
	char map[64];
	snprintf(map, sizeof map, "0 %d 1\n", (int)getuid());
	lsh_plan_step_set_str(add(p, "uid_map", LSH_WHERE_SUPERVISOR), 0, map);
	snprintf(map, sizeof map, "0 %d 1\n", (int)getgid());
	lsh_plan_step_set_str(add(p, "gid_map", LSH_WHERE_SUPERVISOR), 0, map);
	lsh_plan_step_set_str(add(p, "hostname", LSH_WHERE_CHILD), 0, "plantest");
	add(p, "reaper", LSH_WHERE_PID1);
	s = add(p, "exec", LSH_WHERE_CHILD);
	lsh_plan_step_set_list(s, 0, argv, argc);
	lsh_plan_step_set_list(s, 1, env, 1);
	return p;
}

int main(void)
{
	struct lsh_err *err = NULL;
	long failed;

	ok(lsh_plan_op_by_name("exec") && lsh_plan_op_by_name("clone"), "exec and clone are ops");
	ok(lsh_plan_op_by_name("nope") == NULL, "unknown op");
	size_t n = 0;
	while (lsh_plan_op_at(n))
		n++;
	ok(n >= 10, "the executor knows %zu ops", n);

	struct lsh_plan *p = lsh_plan_new();
	ok(lsh_plan_validate(p, &failed, &err) == -EINVAL && strstr(err->msg, "no clone"), "an empty plan is invalid");
	lsh_err_free(err);
	err = NULL;
	lsh_plan_step_set_str(add(p, "hostname", LSH_WHERE_CHILD), 0, "x");
	ok(lsh_plan_validate(p, &failed, &err) < 0 && failed == 0, "child step before clone fails at step 1");
	lsh_err_free(err);
	err = NULL;
	lsh_plan_free(p);

	p = lsh_plan_new();
	add(p, "hostname", LSH_WHERE_SUPERVISOR);
	ok(lsh_plan_validate(p, &failed, &err) < 0 && strstr(err->msg, "cannot run in the supervisor"),
	   "hostname cannot run in the supervisor");
	lsh_err_free(err);
	err = NULL;
	lsh_plan_free(p);

	const char *const sh[] = { "/bin/sh", "-c", "test \"$(hostname)\" = plantest && exit 5" };
	p = basic(sh, 3);
	ok(lsh_plan_validate(p, &failed, &err) == 0, "a basic plan is valid");
	struct lsh_spawn_result res;
	int r = lsh_spawn(p, &res, &err);
	ok(r == 0 && res.exit_code == 5, "spawn runs it and returns the status (%d %s)", res.exit_code,
	   err ? err->msg : "");
	lsh_plan_free(p);

	const char *const missing[] = { "/nonexistent/cmd" };
	p = basic(missing, 1);
	lsh_err_free(err);
	err = NULL;
	r = lsh_spawn(p, &res, &err);
	ok(r == -ENOENT && res.failed_step == 6 && err && strstr(err->msg, "/nonexistent/cmd"),
	   "an exec failure comes back over the sync socket with its step (%ld)", res.failed_step);
	lsh_err_free(err);
	lsh_plan_free(p);

	err = NULL;
	p = basic(sh, 3);
	lsh_plan_step_set_str((struct lsh_plan_step *)lsh_plan_step(p, 2), 0, "0 0 1\n0 1 1\n");
	r = lsh_spawn(p, &res, &err);
	ok(r < 0 && res.failed_step == 2, "a supervisor failure names its step (%ld: %s)", res.failed_step,
	   err ? err->msg : "");
	lsh_err_free(err);
	lsh_plan_free(p);
	/* The executor itself refuses steps that would act on the host's namespaces, whoever
	 * built the plan: a hostname without a uts namespace, a map before the clone. */
	char before[256] = "", after[256] = "";
	gethostname(before, sizeof before);
	static const char *const ns_pid[] = { "user", "pid" };
	static const char *const tru[] = { "/bin/true" };
	static const char *const env1[] = { "PATH=/bin" };
	p = lsh_plan_new();
	lsh_plan_step_set_list(add(p, "clone", LSH_WHERE_SUPERVISOR), 0, ns_pid, 2);
	lsh_plan_step_set_str(add(p, "hostname", LSH_WHERE_CHILD), 0, "not-the-host");
	struct lsh_plan_step *ex = add(p, "exec", LSH_WHERE_CHILD);
	lsh_plan_step_set_list(ex, 0, tru, 1);
	lsh_plan_step_set_list(ex, 1, env1, 1);
	err = NULL;
	r = lsh_spawn(p, &res, &err);
	gethostname(after, sizeof after);
	ok(r == -EPERM && res.failed_step == 1 && err && strstr(err->msg, "needs the uts namespace"),
	   "hostname without a uts namespace is refused (%s)", err ? err->msg : "");
	ok(strcmp(before, after) == 0, "and the host name is unchanged");
	lsh_err_free(err);
	lsh_plan_free(p);

	p = lsh_plan_new();
	char map[64];
	snprintf(map, sizeof map, "0 %d 1\n", (int)getuid());
	lsh_plan_step_set_str(add(p, "uid_map", LSH_WHERE_SUPERVISOR), 0, map);
	lsh_plan_step_set_list(add(p, "clone", LSH_WHERE_SUPERVISOR), 0, ns_pid, 2);
	ex = add(p, "exec", LSH_WHERE_CHILD);
	lsh_plan_step_set_list(ex, 0, tru, 1);
	lsh_plan_step_set_list(ex, 1, env1, 1);
	err = NULL;
	r = lsh_spawn(p, &res, &err);
	ok(r == -EINVAL && res.failed_step == 0 && err && strstr(err->msg, "after the clone step"),
	   "an id map before the clone is refused (%s)", err ? err->msg : "");
	lsh_err_free(err);
	lsh_plan_free(p);
	return done_testing();
}
