/* Plans from Lua: the table the planner builds becomes a struct lsh_plan field by field,
 * by the descriptions the core gives of its ops, then runs in the C executor. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lcore.h"

static const char *const where_names[] = { "supervisor", "child", NULL };

/* The plan under construction lives in a userdata so that a raise frees it. */
struct plan_box {
	struct lsh_plan *plan;
};

static int box_gc(lua_State *L)
{
	struct plan_box *b = lua_touserdata(L, 1);
	lsh_plan_free(b->plan);
	b->plan = NULL;
	return 0;
}

/* Keys every step may carry besides its op's fields: for people and for the CLI. */
static int is_common_key(const char *k)
{
	return strcmp(k, "op") == 0 || strcmp(k, "where") == 0 || strcmp(k, "origin") == 0 ||
	       strcmp(k, "explain") == 0;
}

static void set_field(lua_State *L, struct lsh_plan_step *s, const struct lsh_op_field *f,
		      lua_Integer idx)
{
	int t = lua_type(L, -1);
	switch (f->type) {
	case LSH_ARG_STR:
		if (t != LUA_TSTRING)
			luaL_error(L, "plan step %d (%s): field '%s' must be a string", (int)idx,
				   s->op->name, f->name);
		if (lsh_plan_step_set_str(s, f->name, lsh_l_tocstring(L, -1, f->name)) < 0)
			luaL_error(L, "out of memory");
		break;
	case LSH_ARG_INT:
		if (!lua_isinteger(L, -1))
			luaL_error(L, "plan step %d (%s): field '%s' must be an integer", (int)idx,
				   s->op->name, f->name);
		lsh_plan_step_set_int(s, f->name, (int64_t)lua_tointeger(L, -1));
		break;
	case LSH_ARG_BOOL:
		if (t != LUA_TBOOLEAN)
			luaL_error(L, "plan step %d (%s): field '%s' must be a boolean", (int)idx,
				   s->op->name, f->name);
		lsh_plan_step_set_int(s, f->name, lua_toboolean(L, -1));
		break;
	case LSH_ARG_LIST: {
		if (t != LUA_TTABLE)
			luaL_error(L, "plan step %d (%s): field '%s' must be a list of strings",
				   (int)idx, s->op->name, f->name);
		lua_Integer n = luaL_len(L, -1);
		const char **v = lua_newuserdatauv(L, (size_t)(n + 1) * sizeof *v, 0);
		for (lua_Integer i = 1; i <= n; i++) {
			if (lua_geti(L, -2, i) != LUA_TSTRING)
				luaL_error(L, "plan step %d (%s): field '%s' must be a list of strings",
					   (int)idx, s->op->name, f->name);
			v[i - 1] = lsh_l_tocstring(L, -1, f->name);
			lua_pop(L, 1);
		}
		if (lsh_plan_step_set_list(s, f->name, v, (size_t)n) < 0)
			luaL_error(L, "out of memory");
		lua_pop(L, 1);
		break;
	}
	case LSH_ARG_NONE:
	default:
		break;
	}
}

/* Converts the plan table at idx; leaves the box on the stack and returns the plan. */
static struct lsh_plan *check_plan(lua_State *L, int idx)
{
	idx = lua_absindex(L, idx);
	luaL_checktype(L, idx, LUA_TTABLE);
	struct plan_box *b = lua_newuserdatauv(L, sizeof *b, 0);
	b->plan = NULL;
	if (luaL_newmetatable(L, "lunshare.PlanBox")) {
		lua_pushcfunction(L, box_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_setmetatable(L, -2);
	if ((b->plan = lsh_plan_new()) == NULL)
		luaL_error(L, "out of memory");

	if (lua_getfield(L, idx, "steps") != LUA_TTABLE)
		luaL_argerror(L, 1, "expected a plan with a 'steps' list");
	lua_Integer n = luaL_len(L, -1);
	for (lua_Integer i = 1; i <= n; i++) {
		if (lua_geti(L, -1, i) != LUA_TTABLE)
			luaL_error(L, "plan step %d: not a table", (int)i);
		lua_getfield(L, -1, "op");
		const char *opname = lsh_l_tocstring(L, -1, "op");
		const struct lsh_op *op = lsh_plan_op_by_name(opname);
		if (op == NULL)
			luaL_error(L, "plan step %d: unknown op '%s'", (int)i, opname ? opname : "?");
		/* Every op runs in one place: a step that does not say takes it. */
		lua_getfield(L, -2, "where");
		int where = lua_isnil(L, -1) ? (int)lsh_phase_where(op->phase)
					     : luaL_checkoption(L, -1, NULL, where_names);
		lua_getfield(L, -3, "origin");
		const char *origin = lsh_l_tocstring(L, -1, "origin");
		struct lsh_plan_step *s = lsh_plan_add(b->plan, op, (enum lsh_where)where, origin);
		if (s == NULL)
			luaL_error(L, "out of memory");
		lua_pop(L, 3);
		lua_pushnil(L);
		while (lua_next(L, -2)) {
			const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
			if (k == NULL)
				luaL_error(L, "plan step %d (%s): keys must be names", (int)i, op->name);
			if (!is_common_key(k)) {
				const struct lsh_op_field *f = lsh_op_field(op, k);
				if (f == NULL)
					luaL_error(L, "plan step %d (%s): unknown field '%s'", (int)i,
						   op->name, k);
				set_field(L, s, f, i);
			}
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return b->plan;
}

/* plan_check(plan) -> true | nil, message, errno, step: every check spawn makes before it
 * acts, the conversion (which raises for a malformed step, as spawn does) and
 * lsh_plan_validate, without executing anything. */
static int l_plan_check(lua_State *L)
{
	struct lsh_err *err = NULL;
	long failed;
	lsh_l_check_nargs(L, 1);
	struct lsh_plan *plan = check_plan(L, 1);
	if (lsh_plan_validate(plan, &failed, &err) < 0) {
		lsh_l_fail(L, err);
		lua_pushinteger(L, failed + 1);
		return 4;
	}
	lua_pushboolean(L, 1);
	return 1;
}

/* plan_encode(plan) -> text: the plan converted as spawn converts it (a malformed step
 * raises), as bytes (lsh_plan_encode), for the plan cache. */
static int l_plan_encode(lua_State *L)
{
	struct lsh_err *err = NULL;
	char *text;
	size_t len;
	lsh_l_check_nargs(L, 1);
	struct lsh_plan *plan = check_plan(L, 1);
	if (lsh_plan_encode(plan, &text, &len, &err) < 0)
		return lsh_l_fail(L, err);
	lua_pushlstring(L, text, len);
	free(text);
	return 1;
}

/* Pushes step s as the planner's table: op, where, origin and the fields that are set. */
static void push_step(lua_State *L, const struct lsh_plan_step *s)
{
	lua_createtable(L, 0, 6);
	lua_pushstring(L, s->op->name);
	lua_setfield(L, -2, "op");
	lua_pushstring(L, lsh_where_name(s->where));
	lua_setfield(L, -2, "where");
	if (s->origin) {
		lua_pushstring(L, s->origin);
		lua_setfield(L, -2, "origin");
	}
	for (const struct lsh_op_field *f = s->op->fields; f->name; f++) {
		switch (f->type) {
		case LSH_ARG_STR:
			if (s->strs[f->slot] == NULL)
				continue;
			lua_pushstring(L, s->strs[f->slot]);
			break;
		case LSH_ARG_INT:
			if (!(s->ints_set & (1u << f->slot)))
				continue;
			lua_pushinteger(L, (lua_Integer)s->ints[f->slot]);
			break;
		case LSH_ARG_BOOL:
			if (s->ints[f->slot] == 0)
				continue;
			lua_pushboolean(L, 1);
			break;
		case LSH_ARG_LIST:
			if (s->lists[f->slot] == NULL)
				continue;
			lua_createtable(L, (int)s->nlists[f->slot], 0);
			for (size_t k = 0; k < s->nlists[f->slot]; k++) {
				lua_pushstring(L, s->lists[f->slot][k]);
				lua_rawseti(L, -2, (lua_Integer)k + 1);
			}
			break;
		case LSH_ARG_NONE:
		default:
			continue;
		}
		lua_setfield(L, -2, f->name);
	}
}

/* plan_decode(text) -> { steps = { … } } | nil, message, errno: a plan read back from bytes
 * (lsh_plan_decode: strict, each field of its op's type) and validated as spawn validates
 * every plan (lsh_plan_validate), as the table the planner makes; spawn converts and
 * validates it again like any other. */
static int l_plan_decode(lua_State *L)
{
	struct lsh_err *err = NULL;
	struct lsh_plan *plan;
	size_t len;
	long failed;
	lsh_l_check_nargs(L, 1);
	const char *text = luaL_checklstring(L, 1, &len);
	if (lsh_plan_decode(text, len, &plan, &err) < 0)
		return lsh_l_fail(L, err);
	if (lsh_plan_validate(plan, &failed, &err) < 0) {
		lsh_plan_free(plan);
		return lsh_l_fail(L, err);
	}
	lua_createtable(L, 0, 1);
	lua_createtable(L, (int)lsh_plan_len(plan), 0);
	for (size_t i = 0; i < lsh_plan_len(plan); i++) {
		push_step(L, lsh_plan_step(plan, i));
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, "steps");
	lsh_plan_free(plan);
	return 1;
}

/* The fds of opts.stdin/stdout/stderr (Lua file handles), or -1 for those not given. */
static void stdio_of(lua_State *L, int idx, int fds[3])
{
	static const char *const names[] = { "stdin", "stdout", "stderr" };
	for (int i = 0; i < 3; i++) {
		fds[i] = -1;
		if (lua_isnoneornil(L, idx))
			continue;
		luaL_checktype(L, idx, LUA_TTABLE);
		if (lua_getfield(L, idx, names[i]) != LUA_TNIL) {
			luaL_Stream *f = luaL_testudata(L, -1, LUA_FILEHANDLE);
			if (f == NULL || f->closef == NULL || f->f == NULL)
				luaL_error(L, "spawn: opts.%s must be an open file", names[i]);
			fds[i] = fileno(f->f);
		}
		lua_pop(L, 1);
	}
}

/* spawn(plan [, opts]) -> exit code, pid, oom_killed, timed_out, cpu seconds | nil,
 * message, errno, failed step (1-based). cpu: what the sandbox's reaped processes used.
 * opts.stdin, .stdout, .stderr: open Lua files the sandbox gets as fds 0, 1 and 2 instead
 * of this process's own (which are put back afterwards). opts.early: return when pid 1
 * reports the command's end, for a process about to exit (LSH_SPAWN_EARLY). */
static int l_spawn(lua_State *L)
{
	struct lsh_err *err = NULL;
	struct lsh_spawn_result res;
	int fds[3], saved[3] = { -1, -1, -1 };
	lsh_l_check_nargs(L, 2);
	stdio_of(L, 2, fds);
	struct lsh_plan *plan = check_plan(L, 1);
	fflush(stdout);
	fflush(stderr);
	int r = 0;
	/* The child inherits fds 0-2 at the clone: this process holds the files there for the
	 * time of the spawn, its own kept aside close-on-exec (the plan's close_fds step closes
	 * them in the child too). */
	for (int i = 0; i < 3 && r == 0; i++) {
		if (fds[i] < 0)
			continue;
		if ((saved[i] = fcntl(i, F_DUPFD_CLOEXEC, 3)) < 0 || dup2(fds[i], i) < 0)
			r = lsh_err_set(&err, errno, "spawn: redirect fd %d", i);
	}
	unsigned flags = 0;
	if (lua_istable(L, 2) && lua_getfield(L, 2, "early") != LUA_TNIL) {
		if (lua_toboolean(L, -1))
			flags |= LSH_SPAWN_EARLY;
		lua_pop(L, 1);
	} else if (lua_istable(L, 2)) {
		lua_pop(L, 1);
	}
	if (r == 0)
		r = lsh_spawn_with(plan, flags, &res, &err);
	else
		res.failed_step = -1;
	for (int i = 0; i < 3; i++)
		if (saved[i] >= 0) {
			dup2(saved[i], i);
			close(saved[i]);
		}
	if (r < 0) {
		lsh_l_fail(L, err);
		if (res.failed_step >= 0)
			lua_pushinteger(L, res.failed_step + 1);
		else
			lua_pushnil(L);
		return 4;
	}
	lua_pushinteger(L, res.exit_code);
	lua_pushinteger(L, res.pid);
	lua_pushboolean(L, res.oom_killed);
	lua_pushboolean(L, res.timed_out);
	lua_pushnumber(L, (lua_Number)res.cpu_us / 1e6);
	return 5;
}

/* ops() -> { name = { where = "supervisor" | "child", phase = "prepare" | "clone" | "host" |
 * "child" | "exec", fields = { name = type, … }, required = { name = true, … } } }: the op
 * tables of the core, the one description of every step. */
static int l_ops(lua_State *L)
{
	static const char *const types[] = { "none", "string", "integer", "boolean", "list" };
	const struct lsh_op *op;
	lsh_l_check_nargs(L, 0);
	lua_newtable(L);
	for (size_t i = 0; (op = lsh_plan_op_at(i)) != NULL; i++) {
		lua_createtable(L, 0, 4);
		lua_pushstring(L, lsh_where_name(lsh_phase_where(op->phase)));
		lua_setfield(L, -2, "where");
		lua_pushstring(L, lsh_phase_name(op->phase));
		lua_setfield(L, -2, "phase");
		lua_newtable(L);
		lua_newtable(L);
		for (const struct lsh_op_field *f = op->fields; f->name; f++) {
			lua_pushstring(L, types[f->type]);
			lua_setfield(L, -3, f->name);
			if (f->required) {
				lua_pushboolean(L, 1);
				lua_setfield(L, -2, f->name);
			}
		}
		lua_setfield(L, -3, "required");
		lua_setfield(L, -2, "fields");
		lua_setfield(L, -2, op->name);
	}
	return 1;
}

void lsh_l_open_plan(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "spawn", l_spawn }, { "plan_check", l_plan_check }, { "ops", l_ops },
		{ "plan_encode", l_plan_encode }, { "plan_decode", l_plan_decode }, { NULL, NULL },
	};
	luaL_setfuncs(L, fns, 0);
}
