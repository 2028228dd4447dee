/* Namespaces from Lua: kinds, unshare, open, enter, identity. */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <string.h>

#include "lcore.h"

static const struct lsh_ns_kind *check_kind(lua_State *L, int idx)
{
	const char *name = lsh_l_checkstring(L, idx);
	const struct lsh_ns_kind *k = lsh_ns_kind_by_name(name);
	if (k == NULL)
		luaL_argerror(L, idx, lua_pushfstring(L, "unknown namespace kind '%s'", name));
	return k;
}

/* A list of kind names (a table, or the arguments from idx on) as CLONE_NEW* flags. */
static unsigned long check_kinds(lua_State *L, int idx)
{
	unsigned long flags = 0;
	if (lua_istable(L, idx)) {
		lua_Integer n = luaL_len(L, idx);
		for (lua_Integer i = 1; i <= n; i++) {
			lua_geti(L, idx, i);
			flags |= check_kind(L, -1)->flag;
			lua_pop(L, 1);
		}
		return flags;
	}
	for (int i = idx; i <= lua_gettop(L); i++)
		flags |= check_kind(L, i)->flag;
	return flags;
}

static int l_ns_kinds(lua_State *L)
{
	const struct lsh_ns_kind *k = lsh_ns_kinds();
	lua_newtable(L);
	for (int i = 0; k[i].name; i++) {
		lua_createtable(L, 0, 3);
		lua_pushstring(L, k[i].name);
		lua_setfield(L, -2, "name");
		lua_pushstring(L, k[i].proc);
		lua_setfield(L, -2, "proc");
		lua_pushinteger(L, (lua_Integer)k[i].flag);
		lua_setfield(L, -2, "flag");
		lua_rawseti(L, -2, i + 1);
	}
	return 1;
}

static int l_unshare(lua_State *L)
{
	struct lsh_err *err = NULL;
	int r = lsh_ns_unshare(check_kinds(L, 1), &err);
	return lsh_l_result(L, r, err);
}

static int l_ns_open(lua_State *L)
{
	struct lsh_err *err = NULL;
	pid_t pid = (pid_t)luaL_optinteger(L, 1, 0);
	const struct lsh_ns_kind *k = check_kind(L, 2);
	lsh_l_check_nargs(L, 2);
	struct lsh_l_fd *h = lsh_l_newfd(L, "namespace");
	int fd = lsh_ns_open(pid, k, &err);
	return lsh_l_handle(L, h, fd, err);
}

/* setns(fd [, kinds…]): a namespace fd alone, or a pidfd with the kinds to enter. */
static int l_setns(lua_State *L)
{
	struct lsh_err *err = NULL;
	int fd = lsh_l_tofd(L, 1);
	unsigned long flags = lua_gettop(L) >= 2 ? check_kinds(L, 2) : 0;
	int r = lsh_ns_enter(fd, flags, &err);
	return lsh_l_result(L, r, err);
}

/* ns_id(pid, kind) -> "dev:inode" string (comparable with ==), dev, inode */
static int l_ns_id(lua_State *L)
{
	struct lsh_err *err = NULL;
	uint64_t dev, ino;
	pid_t pid = (pid_t)luaL_optinteger(L, 1, 0);
	const struct lsh_ns_kind *k = check_kind(L, 2);
	lsh_l_check_nargs(L, 2);
	if (lsh_ns_id(pid, k, &dev, &ino, &err) < 0)
		return lsh_l_fail(L, err);
	lua_pushfstring(L, "%I:%I", (lua_Integer)dev, (lua_Integer)ino);
	lua_pushinteger(L, (lua_Integer)dev);
	lua_pushinteger(L, (lua_Integer)ino);
	return 3;
}

/* CLONE_NEWUSER, CLONE_NEWNS, …: the flags of the namespace kinds, for the policy that
 * names them (a seccomp rule on clone's flags). */
static void push_clone_flags(lua_State *L)
{
	static const struct { const char *name; unsigned long flag; } flags[] = {
		{ "CLONE_NEWUSER", CLONE_NEWUSER }, { "CLONE_NEWNS", CLONE_NEWNS },
		{ "CLONE_NEWPID", CLONE_NEWPID },   { "CLONE_NEWNET", CLONE_NEWNET },
		{ "CLONE_NEWIPC", CLONE_NEWIPC },   { "CLONE_NEWUTS", CLONE_NEWUTS },
		{ "CLONE_NEWCGROUP", CLONE_NEWCGROUP }, { "CLONE_NEWTIME", CLONE_NEWTIME },
	};
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
		lua_pushinteger(L, (lua_Integer)flags[i].flag);
		lua_setfield(L, -2, flags[i].name);
	}
}

void lsh_l_open_ns(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "ns_kinds", l_ns_kinds }, { "unshare", l_unshare }, { "ns_open", l_ns_open },
		{ "setns", l_setns }, { "ns_id", l_ns_id }, { NULL, NULL },
	};
	luaL_setfuncs(L, fns, 0);
	push_clone_flags(L);
}
