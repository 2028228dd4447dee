/* The Lua module lunshare.core: one function per primitive of the C core. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "lcore.h"

const char *lsh_l_tocstring(lua_State *L, int idx, const char *what)
{
	size_t len;
	const char *s = lua_tolstring(L, idx, &len);
	if (s != NULL && strlen(s) != len)
		luaL_error(L, "%s holds a NUL byte (a C string would end there)", what);
	return s;
}

const char *lsh_l_checkstring(lua_State *L, int idx)
{
	size_t len;
	const char *s = luaL_checklstring(L, idx, &len);
	if (strlen(s) != len)
		luaL_argerror(L, idx, "holds a NUL byte (a C string would end there)");
	return s;
}

const char *lsh_l_optstring(lua_State *L, int idx, const char *def)
{
	return lua_isnoneornil(L, idx) ? def : lsh_l_checkstring(L, idx);
}

int lsh_l_fail(lua_State *L, struct lsh_err *err)
{
	lua_pushnil(L);
	lua_pushstring(L, err ? err->msg : "unknown error");
	lua_pushinteger(L, err ? err->code : EIO);
	lsh_err_free(err);
	return 3;
}

int lsh_l_result(lua_State *L, int r, struct lsh_err *err)
{
	if (r < 0)
		return lsh_l_fail(L, err);
	lua_pushboolean(L, 1);
	return 1;
}

int lsh_l_handle(lua_State *L, struct lsh_l_fd *h, int fd, struct lsh_err *err)
{
	if (fd < 0)
		return lsh_l_fail(L, err);
	h->fd = fd;
	return 1;
}

void lsh_l_check_keys(lua_State *L, int idx, const char *const *allowed)
{
	idx = lua_absindex(L, idx);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		int ok = 0;
		if (lua_type(L, -1) == LUA_TSTRING) {
			const char *k = lua_tostring(L, -1);
			for (size_t i = 0; allowed[i] && !ok; i++)
				ok = strcmp(allowed[i], k) == 0;
		}
		if (!ok) {
			const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
								       : luaL_typename(L, -1);
			luaL_error(L, "unknown field '%s'", k);
		}
	}
}

void lsh_l_check_nargs(lua_State *L, int n)
{
	if (lua_gettop(L) > n)
		luaL_argerror(L, n + 1, "no more arguments expected");
}

static int fd_close(lua_State *L)
{
	struct lsh_l_fd *h = luaL_checkudata(L, 1, "lunshare.Fd");
	if (h->fd >= 0) {
		close(h->fd);
		h->fd = -1;
	}
	return 0;
}

static int fd_tostring(lua_State *L)
{
	struct lsh_l_fd *h = luaL_checkudata(L, 1, "lunshare.Fd");
	if (h->fd >= 0)
		lua_pushfstring(L, "%s (fd %d)", h->kind, h->fd);
	else
		lua_pushfstring(L, "%s (closed)", h->kind);
	return 1;
}

static int fd_fileno(lua_State *L)
{
	struct lsh_l_fd *h = luaL_checkudata(L, 1, "lunshare.Fd");
	if (h->fd < 0)
		return luaL_error(L, "attempt to use a closed %s", h->kind);
	lua_pushinteger(L, h->fd);
	return 1;
}

struct lsh_l_fd *lsh_l_newfd(lua_State *L, const char *kind)
{
	struct lsh_l_fd *h = lua_newuserdatauv(L, sizeof *h, 0);
	h->fd = -1;
	h->kind = kind;
	luaL_setmetatable(L, "lunshare.Fd");
	return h;
}

struct lsh_l_fd *lsh_l_checkfd(lua_State *L, int idx)
{
	struct lsh_l_fd *h = luaL_checkudata(L, idx, "lunshare.Fd");
	if (h->fd < 0)
		luaL_argerror(L, idx, "handle is closed");
	return h;
}

int lsh_l_tofd(lua_State *L, int idx)
{
	if (lua_isinteger(L, idx))
		return (int)lua_tointeger(L, idx);
	return lsh_l_checkfd(L, idx)->fd;
}

int luaopen_lunshare_core(lua_State *L)
{
	static const luaL_Reg fd_methods[] = {
		{ "close", fd_close }, { "fileno", fd_fileno }, { NULL, NULL },
	};
	if (luaL_newmetatable(L, "lunshare.Fd")) {
		lua_pushcfunction(L, fd_close);
		lua_setfield(L, -2, "__gc");
		lua_pushcfunction(L, fd_close);
		lua_setfield(L, -2, "__close");
		lua_pushcfunction(L, fd_tostring);
		lua_setfield(L, -2, "__tostring");
		luaL_newlib(L, fd_methods);
		lua_setfield(L, -2, "__index");
	}
	lua_pop(L, 1);

	/* Sized for its ~130 functions and values: grown one by one it rehashes at every
	 * power of two, and every run opens it (issue #14). */
	lua_createtable(L, 0, 160);
	lua_pushstring(L, LSH_VERSION);
	lua_setfield(L, -2, "version");
	lsh_l_open_util(L);
	lsh_l_open_serial(L);
	lsh_l_open_plancache(L);
	lsh_l_open_fastrun(L);
	lsh_l_open_ns(L);
	lsh_l_open_idmap(L);
	lsh_l_open_proc(L);
	lsh_l_open_plan(L);
	lsh_l_open_net(L);
	lsh_l_open_mount(L);
	lsh_l_open_bounds(L);
	lsh_l_open_security(L);
	lsh_l_open_state(L);
	lsh_l_open_files(L);
	return 1;
}
