/* Plans: the op tables, building, validation of their shape and order, and whole runs
 * through the executor. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "lunshare.h"

/* A step of op where the op runs. */
static struct lsh_plan_step *add(struct lsh_plan *p, const char *name)
{
	const struct lsh_op *op = lsh_plan_op_by_name(name);
	return lsh_plan_add(p, op, op ? lsh_phase_where(op->phase) : LSH_WHERE_CHILD, "test.lua:1");
}

static const char *const env1[] = { "PATH=/usr/bin:/bin" };

static void exec_step(struct lsh_plan *p, const char *const *argv, size_t argc, int reaper)
{
	struct lsh_plan_step *s = add(p, "exec");
	lsh_plan_step_set_list(s, "argv", argv, argc);
	lsh_plan_step_set_list(s, "env", env1, 1);
	lsh_plan_step_set_int(s, "reaper", reaper);
}

static void clone_step(struct lsh_plan *p, const char *const *ns, size_t n)
{
	lsh_plan_step_set_list(add(p, "clone"), "namespaces", ns, n);
}

static void maps(struct lsh_plan *p)
{
	char map[64];
	lsh_plan_step_set_int(add(p, "setgroups"), "allow", 0);
	snprintf(map, sizeof map, "0 %d 1\n", (int)getuid());
	lsh_plan_step_set_str(add(p, "uid_map"), "map", map);
	snprintf(map, sizeof map, "0 %d 1\n", (int)getgid());
	lsh_plan_step_set_str(add(p, "gid_map"), "map", map);
}

static struct lsh_plan *basic(const char *const *argv, size_t argc)
{
	static const char *const ns[] = { "user", "pid", "uts" };
	struct lsh_plan *p = lsh_plan_new();
	clone_step(p, ns, 3);
	maps(p);
	lsh_plan_step_set_str(add(p, "hostname"), "name", "plantest");
	exec_step(p, argv, argc, 1);
	return p;
}

/* Validates p and checks that it fails at step `at` (0-based) with text in the message. */
static int refused(struct lsh_plan *p, long at, const char *text)
{
	struct lsh_err *err = NULL;
	long failed;
	int r = lsh_plan_validate(p, &failed, &err);
	int ok = r == -EINVAL && failed == at && err && strstr(err->msg, text);
	if (!ok)
		printf("# validate: %d, step %ld: %s\n", r, failed, err ? err->msg : "(no error)");
	lsh_err_free(err);
	lsh_plan_free(p);
	return ok;
}

/* Each op's fields in the op table: named once, in slots of their type's range, two fields
 * never in the same slot; and exactly one op is the clone, one the exec. */
static int tables_are_sound(void)
{
	const struct lsh_op *op;
	int clones = 0, execs = 0, bad = 0;
	for (size_t i = 0; (op = lsh_plan_op_at(i)) != NULL; i++) {
		int used[3][8] = { { 0 } };
		if ((unsigned)op->phase >= LSH_PHASE_COUNT) {
			printf("# %s: phase %d\n", op->name, (int)op->phase);
			bad++;
		}
		clones += op->phase == LSH_PHASE_CLONE;
		/* exit ends a plan that runs no program (a hot-plug): the other end of a plan. */
		execs += op->phase == LSH_PHASE_EXEC && strcmp(op->name, "exit") != 0;
		if (op->run == NULL && op->phase != LSH_PHASE_CLONE) {
			printf("# %s does nothing\n", op->name);
			bad++;
		}
		for (const struct lsh_op_field *f = op->fields; f->name; f++) {
			int kind = f->type == LSH_ARG_STR ? 0 : f->type == LSH_ARG_LIST ? 2 : 1;
			int max = kind == 0 ? LSH_STEP_STRS : kind == 2 ? LSH_STEP_LISTS : LSH_STEP_INTS;
			if (f->type == LSH_ARG_NONE || f->slot < 0 || f->slot >= max || used[kind][f->slot]++) {
				printf("# %s.%s: slot %d\n", op->name, f->name, f->slot);
				bad++;
			}
			if (lsh_op_field(op, f->name) != f) {
				printf("# %s.%s is named twice\n", op->name, f->name);
				bad++;
			}
		}
	}
	return bad == 0 && clones == 1 && execs == 1;
}

int main(void)
{
	struct lsh_err *err = NULL;
	long failed;

	ok(lsh_plan_op_by_name("exec") && lsh_plan_op_by_name("clone"), "exec and clone are ops");
	ok(lsh_plan_op_by_name("nope") == NULL && lsh_plan_op_by_name("reaper") == NULL,
	   "unknown op; the reaper is no op of its own");
	size_t n = 0;
	while (lsh_plan_op_at(n))
		n++;
	ok(n >= 10, "the executor knows %zu ops", n);
	ok(tables_are_sound(), "each op table names its fields once, in slots of their own, one clone, one exec");
	ok(lsh_plan_op_by_name("exit") && lsh_plan_op_by_name("exit")->phase == LSH_PHASE_EXEC,
	   "exit, the end of a plan that runs no program, is in the exec phase");

	struct lsh_plan *p = lsh_plan_new();
	struct lsh_plan_step *s = add(p, "hostname");
	ok(lsh_plan_step_set_str(s, "nam", "x") == -EINVAL && lsh_plan_step_set_int(s, "name", 1) == -EINVAL &&
	   lsh_plan_step_set_str(s, "name", "x") == 0 &&
	   strcmp(s->strs[lsh_op_field(s->op, "name")->slot], "x") == 0,
	   "setters refuse an unknown field and a field of another type");
	lsh_plan_free(p);

	p = lsh_plan_new();
	ok(lsh_plan_validate(p, &failed, &err) == -EINVAL && strstr(err->msg, "no clone"), "an empty plan is invalid");
	lsh_err_free(err);
	err = NULL;
	lsh_plan_free(p);

	p = lsh_plan_new();
	lsh_plan_step_set_str(add(p, "hostname"), "name", "x");
	ok(refused(p, 0, "it must come after the clone step"), "child step before clone fails at step 1");

	p = lsh_plan_new();
	lsh_plan_add(p, lsh_plan_op_by_name("hostname"), LSH_WHERE_SUPERVISOR, NULL);
	ok(refused(p, 0, "step 1 (hostname): cannot run in the supervisor"), "hostname cannot run in the supervisor");

	/* The order of the phases: prepare, clone, host, child, exec. */
	static const char *const ns_user[] = { "user", "uts" };
	static const char *const tru[] = { "/bin/true" };
	p = lsh_plan_new();
	clone_step(p, ns_user, 2);
	lsh_plan_step_set_str(add(p, "hostname"), "name", "x");
	lsh_plan_step_set_str(add(p, "uid_map"), "map", "0 0 1\n");
	exec_step(p, tru, 1, 0);
	ok(refused(p, 2, "step 3 (uid_map): out of order: a host step after step 2 (hostname), a child step"),
	   "a supervisor step after a child step is out of order, and named");

	p = lsh_plan_new();
	clone_step(p, ns_user, 2);
	add(p, "cgroup");
	exec_step(p, tru, 1, 0);
	ok(refused(p, 1, "step 2 (cgroup): out of order: a prepare step after step 1 (clone), a clone step"),
	   "a step that prepares the clone after it is out of order");

	p = lsh_plan_new();
	clone_step(p, ns_user, 2);
	clone_step(p, ns_user, 2);
	exec_step(p, tru, 1, 0);
	ok(refused(p, 1, "step 2: a second clone step"), "a second clone is refused");

	p = lsh_plan_new();
	clone_step(p, ns_user, 2);
	exec_step(p, tru, 1, 0);
	lsh_plan_step_set_str(add(p, "hostname"), "name", "x");
	ok(refused(p, 1, "step 2: exec must be the last step"), "exec before another step is refused");

	p = lsh_plan_new();
	clone_step(p, ns_user, 2);
	lsh_plan_step_set_str(add(p, "hostname"), "name", "x");
	ok(refused(p, 1, "step 2: the last step must be exec"), "a plan without exec is refused at its last step");

	static const char *const ns_bad[] = { "user", "nett" };
	p = lsh_plan_new();
	clone_step(p, ns_bad, 2);
	exec_step(p, tru, 1, 0);
	ok(refused(p, 0, "step 1 (clone): unknown namespace \"nett\""), "the clone's namespaces are checked before any act");

	/* A required int is required as a string is: the mode of a tmpfs is the planner's,
	 * core has no default; set to 0, it is set. */
	p = lsh_plan_new();
	clone_step(p, ns_user, 2);
	maps(p);
	lsh_plan_step_set_str(add(p, "tmpfs"), "dst", "/x");
	exec_step(p, tru, 1, 0);
	ok(refused(p, 4, "step 5 (tmpfs): missing field mode"), "a required int field left unset is refused");
	p = lsh_plan_new();
	clone_step(p, ns_user, 2);
	maps(p);
	struct lsh_plan_step *t = add(p, "tmpfs");
	lsh_plan_step_set_str(t, "dst", "/x");
	lsh_plan_step_set_int(t, "mode", 0);
	exec_step(p, tru, 1, 0);
	ok(lsh_plan_validate(p, &failed, &err) == 0, "and one set to 0 is set");
	lsh_plan_free(p);

	/* The reaper is exec's: pid 1 of a pid namespace forks the command. */
	p = lsh_plan_new();
	clone_step(p, ns_user, 2);
	maps(p);
	exec_step(p, tru, 1, 1);
	ok(refused(p, 4, "step 5 (exec): a pid-1 reaper needs a pid namespace"),
	   "a reaper without a pid namespace is refused, at the exec step");

	const char *const sh[] = { "/bin/sh", "-c", "test \"$(hostname)\" = plantest && test $$ = 2 && exit 5" };
	p = basic(sh, 3);
	ok(lsh_plan_validate(p, &failed, &err) == 0, "a basic plan is valid");
	struct lsh_spawn_result res;
	int r = lsh_spawn(p, &res, &err);
	ok(r == 0 && res.exit_code == 5, "spawn runs it, the reaper forks the command (pid 2), and returns the status (%d %s)",
	   res.exit_code, err ? err->msg : "");
	lsh_plan_free(p);

	const char *const alone[] = { "/bin/sh", "-c", "test $$ = 1 && exit 6" };
	static const char *const ns_pid[] = { "user", "pid" };
	p = lsh_plan_new();
	clone_step(p, ns_pid, 2);
	maps(p);
	exec_step(p, alone, 3, 0);
	lsh_err_free(err);
	err = NULL;
	r = lsh_spawn(p, &res, &err);
	ok(r == 0 && res.exit_code == 6, "without the reaper the command is pid 1 (%d %s)", res.exit_code,
	   err ? err->msg : "");
	lsh_plan_free(p);

	const char *const missing[] = { "/nonexistent/cmd" };
	p = basic(missing, 1);
	lsh_err_free(err);
	err = NULL;
	r = lsh_spawn(p, &res, &err);
	ok(r == -ENOENT && res.failed_step == 5 && err && strstr(err->msg, "/nonexistent/cmd"),
	   "an exec failure comes back over the sync socket with its step (%ld)", res.failed_step);
	lsh_err_free(err);
	lsh_plan_free(p);

	err = NULL;
	p = basic(sh, 3);
	lsh_plan_step_set_str((struct lsh_plan_step *)lsh_plan_step(p, 2), "map", "0 0 1\n0 1 1\n");
	r = lsh_spawn(p, &res, &err);
	ok(r < 0 && res.failed_step == 2, "a supervisor failure names its step (%ld: %s)", res.failed_step,
	   err ? err->msg : "");
	lsh_err_free(err);
	lsh_plan_free(p);
	/* The executor itself refuses steps that would act on the host's namespaces, whoever
	 * built the plan: a hostname without a uts namespace, a map before the clone. */
	char before[256] = "", after[256] = "";
	gethostname(before, sizeof before);
	p = lsh_plan_new();
	clone_step(p, ns_pid, 2);
	lsh_plan_step_set_str(add(p, "hostname"), "name", "not-the-host");
	exec_step(p, tru, 1, 0);
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
	lsh_plan_step_set_str(add(p, "uid_map"), "map", map);
	clone_step(p, ns_pid, 2);
	exec_step(p, tru, 1, 0);
	err = NULL;
	r = lsh_spawn(p, &res, &err);
	ok(r == -EINVAL && res.failed_step == 0 && err && strstr(err->msg, "after the clone step"),
	   "an id map before the clone is refused (%s)", err ? err->msg : "");
	lsh_err_free(err);
	lsh_plan_free(p);
	return done_testing();
}
