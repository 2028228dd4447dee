/* Line editing for the REPL through libedit (BSD licensed, unlike GNU readline), as the
 * module lunshare.edit. Only the executable has it; the plain Lua module does not. */
#include <stdio.h>
#include <stdlib.h>
#include <editline/readline.h>

#include "lcore.h"

int luaopen_lunshare_edit(lua_State *L);

static int l_readline(lua_State *L)
{
	char *line = readline(luaL_optstring(L, 1, "> "));
	if (line == NULL)
		return 0;
	lua_pushstring(L, line);
	free(line);
	return 1;
}

static int l_add_history(lua_State *L)
{
	add_history(luaL_checkstring(L, 1));
	return 0;
}

static int l_read_history(lua_State *L)
{
	lua_pushboolean(L, read_history(luaL_checkstring(L, 1)) == 0);
	return 1;
}

static int l_write_history(lua_State *L)
{
	lua_pushboolean(L, write_history(luaL_checkstring(L, 1)) == 0);
	return 1;
}

int luaopen_lunshare_edit(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "readline", l_readline }, { "add_history", l_add_history },
		{ "read_history", l_read_history }, { "write_history", l_write_history },
		{ NULL, NULL },
	};
	luaL_newlib(L, fns);
	return 1;
}
