/* User and group id maps from Lua. A map is given in the kernel's own text format,
 * "inside outside count" per line, so that what Lua prints is what the kernel reads. */
#include <string.h>

#include "lcore.h"

static enum lsh_idmap_kind check_idkind(lua_State *L, int idx)
{
	static const char *const names[] = { "uid", "gid", NULL };
	return (enum lsh_idmap_kind)luaL_checkoption(L, idx, NULL, names);
}

static int parse_map(lua_State *L, int idx, struct lsh_idmap_range *r, size_t max)
{
	int n = lsh_idmap_parse(lsh_l_checkstring(L, idx), r, max);
	if (n <= 0)
		luaL_argerror(L, idx, "expected lines of 'inside outside count'");
	return n;
}

/* write_idmap(pid, "uid"|"gid", map [, helper]) */
static int l_write_idmap(lua_State *L)
{
	struct lsh_idmap_range r[340];
	struct lsh_err *err = NULL;
	pid_t pid = (pid_t)luaL_checkinteger(L, 1);
	enum lsh_idmap_kind kind = check_idkind(L, 2);
	int n = parse_map(L, 3, r, 340);
	const char *helper = lsh_l_optstring(L, 4, NULL);
	lsh_l_check_nargs(L, 4);
	int rc = helper ? lsh_idmap_helper(strcmp(helper, "") ? helper : NULL, pid, kind, r, (size_t)n, &err)
			: lsh_idmap_write(pid, kind, r, (size_t)n, &err);
	return lsh_l_result(L, rc, err);
}

static int l_setgroups(lua_State *L)
{
	struct lsh_err *err = NULL;
	pid_t pid = (pid_t)luaL_checkinteger(L, 1);
	luaL_checktype(L, 2, LUA_TBOOLEAN);
	int r = lsh_idmap_setgroups(pid, lua_toboolean(L, 2), &err);
	return lsh_l_result(L, r, err);
}

/* subid(user, uid [, path]) -> start, count | false */
static int l_subid(lua_State *L)
{
	struct lsh_err *err = NULL;
	uint32_t start, count;
	const char *user = lsh_l_optstring(L, 1, NULL);
	uint32_t uid = (uint32_t)luaL_checkinteger(L, 2);
	const char *path = lsh_l_optstring(L, 3, NULL);
	int r = lsh_idmap_subid(path, user, uid, &start, &count, &err);
	if (r < 0)
		return lsh_l_fail(L, err);
	if (r == 0) {
		lua_pushboolean(L, 0);
		return 1;
	}
	lua_pushinteger(L, start);
	lua_pushinteger(L, count);
	return 2;
}

void lsh_l_open_idmap(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "write_idmap", l_write_idmap }, { "setgroups", l_setgroups }, { "subid", l_subid },
		{ NULL, NULL },
	};
	luaL_setfuncs(L, fns, 0);
}
