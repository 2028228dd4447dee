/* An embedding of lunshare in a C program: it loads a profile, sets one of its
 * parameters, runs a command in the sandbox the profile describes and reads the
 * command's exit status. The policy (loading, checking, planning) is the Lua library,
 * run in an interpreter of the program's own; the executor and the primitives are
 * liblunshare. Built against the installed library and Lua with pkg-config:
 *
 *   cc -o run_profile run_profile.c $(pkg-config --cflags --libs lunshare lua5.4)
 *   ./run_profile PROFILE NAME=VALUE [CMD [ARGS...]]   (no CMD: the profile's own)
 *
 * It prints the net namespace it runs in (through liblunshare), then "status N"; it
 * exits 0 when the sandbox ran, 2 when the profile was refused, 1 otherwise.
 * tests/integration/install_spec.lua builds and runs it. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <lunshare.h>
#include <stdio.h>
#include <string.h>

/* In Lua, protected: lunshare.load(profile, { set = { name = value } }) then
 * lunshare.run(p, argv). Returns the status, or raises a message. */
static int run(lua_State *L)
{
	char **argv = lua_touserdata(L, 1);
	int argc = (int)lua_tointeger(L, 2);
	const char *eq = strchr(argv[2], '=');
	if (!eq)
		return luaL_error(L, "expected NAME=VALUE, got '%s'", argv[2]);

	lua_getglobal(L, "require");
	lua_pushstring(L, "lunshare");
	lua_call(L, 1, 1); /* lunshare */
	int lunshare = lua_gettop(L);

	lua_getfield(L, lunshare, "load");
	lua_pushstring(L, argv[1]);
	lua_createtable(L, 0, 1); /* { set = { [name] = value } } */
	lua_createtable(L, 0, 1);
	lua_pushlstring(L, argv[2], (size_t)(eq - argv[2]));
	lua_pushstring(L, eq + 1);
	lua_settable(L, -3);
	lua_setfield(L, -2, "set");
	lua_call(L, 2, 2); /* profile | nil, { errors } */
	if (lua_isnil(L, -2)) {
		lua_rawgeti(L, -1, 1);
		lua_pushinteger(L, 2);
		lua_pushvalue(L, -2);
		return 2; /* a profile error: 2 and its first line */
	}
	lua_pop(L, 1);
	int profile = lua_gettop(L);

	lua_getfield(L, lunshare, "run");
	lua_pushvalue(L, profile);
	lua_createtable(L, argc > 3 ? argc - 3 : 0, 0);
	for (int i = 3; i < argc; i++) {
		lua_pushstring(L, argv[i]);
		lua_rawseti(L, -2, i - 2);
	}
	lua_call(L, 2, 2); /* status | nil, message */
	if (lua_isnil(L, -2))
		return lua_error(L);
	lua_pop(L, 1);
	lua_pushnil(L);
	return 2; /* the status */
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s PROFILE NAME=VALUE [CMD [ARGS...]]\n", argv[0]);
		return 2;
	}
	struct lsh_err *err = NULL;
	uint64_t dev, ino;
	if (lsh_ns_id(0, lsh_ns_kind_by_name("net"), &dev, &ino, &err) < 0) {
		fprintf(stderr, "%s\n", err->msg);
		lsh_err_free(err);
		return 1;
	}
	printf("outside: net namespace %llu\n", (unsigned long long)ino);
	fflush(stdout);

	lua_State *L = luaL_newstate();
	if (!L)
		return 1;
	luaL_openlibs(L);
	lua_pushcfunction(L, run);
	lua_pushlightuserdata(L, argv);
	lua_pushinteger(L, argc);
	int rc = 1;
	if (lua_pcall(L, 2, 2, 0) != LUA_OK) {
		fprintf(stderr, "run_profile: %s\n", lua_tostring(L, -1));
	} else if (lua_isnil(L, -1)) {
		printf("status %d\n", (int)lua_tointeger(L, -2));
		rc = 0;
	} else {
		fprintf(stderr, "run_profile: %s\n", lua_tostring(L, -1));
		rc = (int)lua_tointeger(L, -2);
	}
	lua_close(L);
	return rc;
}
