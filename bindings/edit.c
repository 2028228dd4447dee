/* Line editing for the REPL through libedit (BSD licensed, unlike GNU readline), as the
 * module lunshare.edit. libedit and the terminal libraries it pulls in are opened only when
 * the REPL starts: every sandbox start would otherwise pay for loading them. Only the
 * executable has this module; the plain Lua module does not. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "lcore.h"

int luaopen_lunshare_edit(lua_State *L);

struct editline_api {
	char *(*readline)(const char *);
	int (*add_history)(const char *);
	int (*read_history)(const char *);
	int (*write_history)(const char *);
};

static struct editline_api *api(lua_State *L)
{
	return lua_touserdata(L, lua_upvalueindex(1));
}

static int l_readline(lua_State *L)
{
	char *line = api(L)->readline(lsh_l_optstring(L, 1, "> "));
	if (line == NULL)
		return 0;
	lua_pushstring(L, line);
	free(line);
	return 1;
}

static int l_add_history(lua_State *L)
{
	api(L)->add_history(lsh_l_checkstring(L, 1));
	return 0;
}

static int l_read_history(lua_State *L)
{
	lua_pushboolean(L, api(L)->read_history(lsh_l_checkstring(L, 1)) == 0);
	return 1;
}

static int l_write_history(lua_State *L)
{
	lua_pushboolean(L, api(L)->write_history(lsh_l_checkstring(L, 1)) == 0);
	return 1;
}

int luaopen_lunshare_edit(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "readline", l_readline }, { "add_history", l_add_history },
		{ "read_history", l_read_history }, { "write_history", l_write_history },
		{ NULL, NULL },
	};
	void *h = dlopen("libedit.so.2", RTLD_NOW | RTLD_LOCAL);
	if (h == NULL)
		return luaL_error(L, "line editing is not available: %s", dlerror());
	luaL_newlibtable(L, fns);
	struct editline_api *a = lua_newuserdatauv(L, sizeof *a, 0);
	*(void **)&a->readline = dlsym(h, "readline");
	*(void **)&a->add_history = dlsym(h, "add_history");
	*(void **)&a->read_history = dlsym(h, "read_history");
	*(void **)&a->write_history = dlsym(h, "write_history");
	if (!a->readline || !a->add_history || !a->read_history || !a->write_history)
		return luaL_error(L, "line editing is not available: libedit.so.2 lacks readline()");
	luaL_setfuncs(L, fns, 1);
	return 1;
}
