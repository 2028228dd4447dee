/* `lunshare run … -- CMD` served from the plan cache before any script is loaded: a
 * bare Lua state holding lunshare.core alone computes the key, checks the entry and
 * spawns its plan (issue #14: loading the CLI's scripts was most of a hit's time).
 *
 * It takes only what it can decide without the scripts, and leaves everything else to
 * them, untouched, so that what a run means is still decided in one place:
 *   - the command follows the first "--" of the arguments (the key's words are those up
 *     to it, with it), and the entry says that its run's "--" was that separator
 *     (meta.dashdash; the options before it were parsed by lunshare.options on the miss
 *     that wrote it, and the same words parse the same way);
 *   - no LUNSHARE_DUMP_PLAN, and no record step (a named sandbox's record is checked
 *     against those that run, by lunshare.sandboxes);
 * else nothing was done and the scripts run as on any start. When the command ran but
 * its end needs words (it could not start, a limit or a signal ended it), the spawn's
 * results are handed to lunshare.cmd.run (core.handed_run), which reports them exactly
 * as after a spawn of its own. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lcore.h"

#define HANDED_KEY "lunshare.handed_run"
#define CORE_KEY "lunshare.fast_core"

/* handed_run() -> { plan, limits, results = { spawn's results } } | nil: what the
 * executable's fast path spawned before the scripts loaded, once. */
static int l_handed_run(lua_State *L)
{
	lua_getfield(L, LUA_REGISTRYINDEX, HANDED_KEY);
	lua_pushnil(L);
	lua_setfield(L, LUA_REGISTRYINDEX, HANDED_KEY);
	return 1;
}

void lsh_l_open_fastrun(lua_State *L)
{
	lua_pushcfunction(L, l_handed_run);
	lua_setfield(L, -2, "handed_run");
}

static int env_set(const char *name)
{
	const char *v = getenv(name);
	return v && *v;
}

/* Calls core[name] with the nargs values on top; leaves nret results. Raises. */
static void call_core(lua_State *L, int core, const char *name, int nargs, int nret)
{
	lua_getfield(L, core, name);
	lua_insert(L, -nargs - 1);
	lua_call(L, nargs, nret);
}

/* In protected mode: argv and the index of the first "--" as light userdata and integers.
 * Leaves the plan and meta.limits on the stack and returns 2 when the entry serves this
 * run, else returns 0. */
static int prepare(lua_State *L)
{
	int argc = (int)lua_tointeger(L, 1);
	char **argv = lua_touserdata(L, 2);
	int dd = (int)lua_tointeger(L, 3);
	lua_settop(L, 0);
	luaL_requiref(L, "lunshare.core", luaopen_lunshare_core, 0);
	int core = lua_gettop(L);
	lua_pushvalue(L, core);
	lua_setfield(L, LUA_REGISTRYINDEX, CORE_KEY);

	/* The words of run before the command, the "--" last; whether a command follows. */
	lua_createtable(L, dd - 1, 0);
	for (int i = 2; i <= dd; i++) {
		lua_pushstring(L, argv[i]);
		lua_rawseti(L, -2, i - 1);
	}
	lua_pushboolean(L, dd < argc - 1);
	call_core(L, core, "plancache_key", 2, 1);
	if (lua_isnil(L, -1))
		return 0;
	call_core(L, core, "plancache_load", 1, 1);
	if (!lua_istable(L, -1))
		return 0;
	int entry = lua_gettop(L);
	lua_getfield(L, entry, "meta");
	int meta = lua_gettop(L);
	lua_getfield(L, meta, "dashdash");
	if (lua_toboolean(L, -1) != 1 || lua_type(L, -1) != LUA_TBOOLEAN)
		return 0;
	lua_getfield(L, entry, "plan");
	int plan = lua_gettop(L);
	lua_getfield(L, plan, "steps");
	int steps = lua_gettop(L);
	lua_Integer n = luaL_len(L, steps);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, steps, i);
		lua_getfield(L, -1, "op");
		const char *op = lua_tostring(L, -1);
		if (op && strcmp(op, "record") == 0)
			return 0;
		lua_pop(L, 2);
	}
	/* As lunshare.cmd.run fills a hit in: the profile's name, and the command's words
	 * when they came from the command line. */
	lua_getfield(L, meta, "profile");
	lua_setfield(L, plan, "profile");
	lua_getfield(L, meta, "argv_from_command_line");
	if (lua_toboolean(L, -1)) {
		lua_rawgeti(L, steps, n);
		lua_createtable(L, argc - dd - 1, 0);
		for (int i = dd + 1; i < argc; i++) {
			lua_pushstring(L, argv[i]);
			lua_rawseti(L, -2, i - dd);
		}
		lua_setfield(L, -2, "argv");
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	lua_pushvalue(L, plan);
	lua_getfield(L, meta, "limits");
	return 2;
}

/* In protected mode: the plan at 1; core.spawn's five results. */
static int spawn(lua_State *L)
{
	lua_getfield(L, LUA_REGISTRYINDEX, CORE_KEY);
	lua_getfield(L, -1, "spawn");
	lua_pushvalue(L, 1);
	/* This process exits when the command has: it need not wait for pid 1's own exit. */
	lua_createtable(L, 0, 1);
	lua_pushboolean(L, 1);
	lua_setfield(L, -2, "early");
	lua_call(L, 2, 5);
	return 5;
}

/* Whether the end of a run needs lunshare.cmd.run's words: the command could not start
 * (results: nil, msg, errno, step), or a limit, the wall clock or a signal ended it. */
static int needs_words(lua_State *L, int results)
{
	if (!lua_isinteger(L, results))
		return 1;
	return lua_toboolean(L, results + 2) || lua_toboolean(L, results + 3) || lua_tointeger(L, results) > 128;
}

int lsh_fast_run(lua_State *L, int argc, char **argv, int *status)
{
	if (argc < 3 || strcmp(argv[1], "run") != 0 || env_set("LUNSHARE_DUMP_PLAN"))
		return LSH_FAST_NONE;
	/* --no-cache before the separator: no entry was ever stored for these words (and
	 * were it an option's value, the scripts would serve the hit: nothing is lost). */
	int dd = 0;
	for (int i = 2; i < argc && !dd; i++) {
		if (strcmp(argv[i], "--") == 0)
			dd = i;
		else if (strcmp(argv[i], "--no-cache") == 0)
			return LSH_FAST_NONE;
	}
	if (!dd)
		return LSH_FAST_NONE;
	int top = lua_gettop(L);
	lua_pushcfunction(L, prepare);
	lua_pushinteger(L, argc);
	lua_pushlightuserdata(L, argv);
	lua_pushinteger(L, dd);
	if (lua_pcall(L, 3, LUA_MULTRET, 0) != LUA_OK || lua_gettop(L) - top != 2) {
		/* Not this path's to serve (or it could not tell): the scripts decide. */
		lua_settop(L, top);
		return LSH_FAST_NONE;
	}
	int plan = top + 1, limits = top + 2;
	if (getenv("LUNSHARE_CACHE_DEBUG") && strcmp(getenv("LUNSHARE_CACHE_DEBUG"), "1") == 0)
		fputs("lunshare: plan cache: hit (served before the scripts load)\n", stderr);
	lua_pushcfunction(L, spawn);
	lua_pushvalue(L, plan);
	if (lua_pcall(L, 1, 5, 0) != LUA_OK) {
		/* The plan was checked as it decoded: a raise here is lunshare's bug, and the
		 * command may have run, so it is not run again. */
		fprintf(stderr, "lunshare: internal error (please report): %s\n", lua_tostring(L, -1));
		lua_settop(L, top);
		*status = 1;
		return LSH_FAST_DONE;
	}
	int results = top + 3;
	if (!needs_words(L, results)) {
		*status = (int)lua_tointeger(L, results);
		lua_settop(L, top);
		return LSH_FAST_DONE;
	}
	/* The command has ended; what is left is to word it, which loads the scripts (some
	 * milliseconds): a second Ctrl-C meanwhile must not end lunshare by signal without
	 * the report. The signals stay pending and go with the process. */
	sigset_t ending;
	sigemptyset(&ending);
	sigaddset(&ending, SIGINT);
	sigaddset(&ending, SIGTERM);
	sigaddset(&ending, SIGHUP);
	sigaddset(&ending, SIGQUIT);
	sigprocmask(SIG_BLOCK, &ending, NULL);
	lua_createtable(L, 0, 3);
	lua_pushvalue(L, plan);
	lua_setfield(L, -2, "plan");
	lua_pushvalue(L, limits);
	lua_setfield(L, -2, "limits");
	lua_createtable(L, 5, 0);
	for (int i = 0; i < 5; i++) {
		lua_pushvalue(L, results + i);
		lua_rawseti(L, -2, i + 1);
	}
	lua_setfield(L, -2, "results");
	lua_setfield(L, LUA_REGISTRYINDEX, HANDED_KEY);
	lua_settop(L, top);
	return LSH_FAST_HANDED;
}
