/* The lunshare executable: an embedded Lua interpreter with lunshare.core preloaded and
 * the scripts compiled in, handing its arguments to lunshare.cli. As in lua.c, main only
 * runs a protected pmain; a Lua error that escapes the CLI is a bug and says so. */
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "embedded.h"
#include "lcore.h"

int luaopen_lunshare_edit(lua_State *L);

/* package.searchers entry: finds modules among the embedded scripts. */
static int search_embedded(lua_State *L)
{
	const char *name = lsh_l_checkstring(L, 1);
	for (const struct lsh_embedded *e = lsh_embedded; e->name; e++) {
		if (strcmp(e->name, name) != 0)
			continue;
		lua_pushfstring(L, "@%s", e->path);
		if (luaL_loadbuffer(L, e->data, e->len, lua_tostring(L, -1)) != LUA_OK)
			return lua_error(L);
		lua_pushstring(L, e->path);
		return 2;
	}
	lua_pushfstring(L, "no embedded script '%s'", name);
	return 1;
}

/* doc(name) -> the man page's source | nil; doc() -> the names. The REPL's help reads the
 * very text the man pages are, and only when asked: the pages are not copied for a run. */
static int embedded_doc(lua_State *L)
{
	const char *name = luaL_optstring(L, 1, NULL);
	if (name == NULL)
		lua_newtable(L);
	for (const struct lsh_embedded *e = lsh_embedded; e->name; e++) {
		if (strncmp(e->name, "doc:", 4) != 0)
			continue;
		if (name == NULL) {
			lua_pushstring(L, e->name + 4);
			lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
		} else if (strcmp(e->name + 4, name) == 0) {
			lua_pushlstring(L, e->data, e->len);
			return 1;
		}
	}
	return name == NULL;
}

/* lunshare.embedded: the shipped profiles' sources, where installed ones live, and the man
 * pages (doc). */
static int open_embedded(lua_State *L)
{
	lua_newtable(L);
	lua_pushcfunction(L, embedded_doc);
	lua_setfield(L, -2, "doc");
	lua_newtable(L);
	for (const struct lsh_embedded *e = lsh_embedded; e->name; e++) {
		if (strncmp(e->name, "profile:", 8) != 0)
			continue;
		lua_createtable(L, 0, 2);
		lua_pushlstring(L, e->data, e->len);
		lua_setfield(L, -2, "source");
		lua_pushstring(L, e->path);
		lua_setfield(L, -2, "path");
		lua_setfield(L, -2, e->name + 8);
	}
	lua_setfield(L, -2, "profiles");
	/* The installed share directory belongs to the installed executable: a binary run
	 * from a build tree keeps to the profiles compiled into it, so that an older
	 * installation never stands in for the profiles being worked on. */
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		if (strcmp(self, LSH_INSTALLED_EXE) == 0) {
			lua_pushstring(L, LSH_PROFILE_DIR);
			lua_setfield(L, -2, "profile_dir");
			lua_pushstring(L, LSH_INSTALLED_PROBE);
			lua_setfield(L, -2, "probe");
		}
	}
	return 1;
}

static void preload(lua_State *L, const char *name, lua_CFunction f)
{
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
	lua_pushcfunction(L, f);
	lua_setfield(L, -2, name);
	lua_pop(L, 1);
}

/* An error no Lua handler caught: one line for a person to report (what the CLI did not
 * catch is an internal error); the traceback only with LUNSHARE_DEBUG set. */
static int traceback(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);
	const char *dbg = getenv("LUNSHARE_DEBUG");
	if (dbg && *dbg) {
		luaL_traceback(L, L, msg ? msg : "(error object is not a string)", 1);
		return 1;
	}
	luaL_gsub(L, msg ? msg : "(error object is not a string)", "\n", " ");
	return 1;
}

static int pmain(lua_State *L)
{
	int argc = (int)lua_tointeger(L, 1);
	char **argv = lua_touserdata(L, 2);

	luaL_openlibs(L);
	preload(L, "lunshare.core", luaopen_lunshare_core);
	preload(L, "lunshare.edit", luaopen_lunshare_edit);
	preload(L, "lunshare.embedded", open_embedded);

	/* Searchers: preload, then (for development) the source tree named by
	 * LUNSHARE_SCRIPTS, then the embedded scripts, then the standard path. */
	lua_getglobal(L, "package");
	const char *dev = getenv("LUNSHARE_SCRIPTS");
	if (dev && *dev) {
		lua_pushfstring(L, "%s/?.lua;%s/?/init.lua", dev, dev);
		lua_setfield(L, -2, "path");
	}
	lua_getfield(L, -1, "searchers");
	lua_Integer n = luaL_len(L, -1);
	int at = dev && *dev ? 3 : 2;
	for (lua_Integer i = n; i >= at; i--) {
		lua_geti(L, -1, i);
		lua_seti(L, -2, i + 1);
	}
	lua_pushcfunction(L, search_embedded);
	lua_seti(L, -2, at);
	lua_pop(L, 2);

	lua_createtable(L, argc, 1);
	for (int i = 0; i < argc; i++) {
		lua_pushstring(L, argv[i]);
		lua_rawseti(L, -2, i);
	}
	lua_setglobal(L, "arg");

	lua_getglobal(L, "require");
	lua_pushliteral(L, "lunshare.cli");
	lua_call(L, 1, 1);
	lua_getfield(L, -1, "main");
	lua_getglobal(L, "arg");
	lua_call(L, 1, 1);
	return 1;
}

/* The state of a `run`, kept to the end rather than closed: closing frees every object of
 * the Lua heap one by one (a third of a millisecond of a start, issue #14) for a process
 * that is about to exit anyway, after the supervisor has removed all it made. Held here so
 * that what the state holds is still reachable when the process exits (valgrind counts it
 * as neither definitely nor indirectly lost), and nothing else. */
static lua_State *volatile kept_state;

/* gcc says __SANITIZE_ADDRESS__; clang (14 here) only __has_feature(address_sanitizer). */
#if defined(__SANITIZE_ADDRESS__)
#define LSH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LSH_ASAN 1
#endif
#endif
#ifndef LSH_ASAN
#define LSH_ASAN 0
#endif

int main(int argc, char **argv)
{
	lua_State *L = luaL_newstate();
	if (L == NULL) {
		fprintf(stderr, "lunshare: cannot create a Lua state: out of memory\n");
		return 1;
	}
	/* A `run` served from the plan cache allocates a few hundred KB and exits: collecting
	 * that garbage costs more time than it saves memory (issue #14), so the collector
	 * starts stopped for `run`, and a cache miss restarts it before it loads a profile
	 * (lunshare.run_plan: the evaluator's memory bound counts live objects). */
	int status = 1;
	int run = argc > 1 && strcmp(argv[1], "run") == 0;
	if (run)
		lua_gc(L, LUA_GCSTOP);
	/* A plan cache hit of `run … -- CMD` needs no script (l_fastrun.c). */
	int fast = run && lsh_fast_run(L, argc, argv, &status) == LSH_FAST_DONE;
	if (!fast) {
		lua_pushcfunction(L, traceback);
		lua_pushcfunction(L, pmain);
		lua_pushinteger(L, argc);
		lua_pushlightuserdata(L, argv);
		if (lua_pcall(L, 2, 1, 1) != LUA_OK) {
			fprintf(stderr, "lunshare: internal error (please report): %s\n", lua_tostring(L, -1));
		} else {
			status = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : 0;
		}
	}
	/* `explain --json > plan.json` on a full disk must not look like success: a write
	 * that failed on the way (ferror) or in the last flush is a runtime failure. */
	int werr = ferror(stdout) ? (errno ? errno : EIO) : 0;
	if (fflush(stdout) != 0)
		werr = errno;
	if (werr) {
		fprintf(stderr, "lunshare: write error: %s\n", strerror(werr));
		if (status == 0)
			status = 1;
	}
	if (!run) {
		lua_close(L);
		return status;
	}
	kept_state = L;
#if !LSH_ASAN /* a sanitized build keeps its leak check at exit */
	if (fast) {
		/* Nothing but stdout was written through stdio, and it is flushed: the exit
		 * handlers (the libraries' destructors, stdio's walk over its streams) would
		 * touch pages of this image for nothing, and each page fault costs (issue #14).
		 * The scripts' path exits normally: a script may leave a file of io's open. */
		fflush(stderr);
		_exit(status);
	}
#endif
	return status;
}
