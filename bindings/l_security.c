/* Bindings of the boundary primitives: capabilities, no_new_privs, seccomp, rlimits. */
#include "lcore.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

/* A Lua list of strings as a NULL-terminated array; the strings stay owned by Lua, the
 * array is a userdata so that a raise leaks nothing. */
static const char **check_strings(lua_State *L, int idx, size_t *n)
{
	luaL_checktype(L, idx, LUA_TTABLE);
	*n = (size_t)luaL_len(L, idx);
	const char **v = lua_newuserdatauv(L, (*n + 1) * sizeof *v, 0);
	for (size_t i = 0; i < *n; i++) {
		lua_geti(L, idx, (lua_Integer)i + 1);
		if (lua_type(L, -1) != LUA_TSTRING)
			luaL_error(L, "bad argument #%d (item %d is not a string)", idx, (int)i + 1);
		v[i] = lsh_l_tocstring(L, -1, "a string of the list");
		lua_pop(L, 1); /* the string stays referenced by the table */
	}
	v[*n] = NULL;
	return v;
}

static int push_number_or_nil(lua_State *L, int v)
{
	if (v < 0)
		lua_pushnil(L);
	else
		lua_pushinteger(L, v);
	return 1;
}

/* cap_number(name) -> number | nil */
static int l_cap_number(lua_State *L)
{
	return push_number_or_nil(L, lsh_caps_from_name(lsh_l_checkstring(L, 1)));
}

/* seccomp_syscall(name) -> native number | nil */
static int l_seccomp_syscall(lua_State *L)
{
	return push_number_or_nil(L, lsh_seccomp_syscall(lsh_l_checkstring(L, 1)));
}

/* rlimit_number(name) -> RLIMIT_* | nil */
static int l_rlimit_number(lua_State *L)
{
	return push_number_or_nil(L, lsh_rlimit_from_name(lsh_l_checkstring(L, 1)));
}

/* seccomp_check(rules) -> true | nil, msg, errno */
static int l_seccomp_check(lua_State *L)
{
	struct lsh_err *err = NULL;
	size_t n;
	const char **v = check_strings(L, 1, &n);
	int r = lsh_seccomp_check(v, n, &err);
	return lsh_l_result(L, r, err);
}

/* seccomp_compile(rules) -> the compiled filter as hex | nil, msg, errno */
static int l_seccomp_compile(lua_State *L)
{
	struct lsh_err *err = NULL;
	size_t n;
	const char **v = check_strings(L, 1, &n);
	char *hex = NULL;
	int r = lsh_seccomp_compile(v, n, &hex, &err);
	if (r < 0)
		return lsh_l_result(L, r, err);
	lua_pushstring(L, hex);
	free(hex);
	return 1;
}

/* seccomp_load(rules) -> true | nil, msg, errno (for this process: the REPL, scripts) */
static int l_seccomp_load(lua_State *L)
{
	struct lsh_err *err = NULL;
	size_t n;
	const char **v = check_strings(L, 1, &n);
	int r = lsh_seccomp_load(v, n, &err);
	return lsh_l_result(L, r, err);
}

/* caps_restrict(keep, lock_securebits) -> true | nil, msg, errno */
static int l_caps_restrict(lua_State *L)
{
	struct lsh_err *err = NULL;
	size_t n;
	const char **v = check_strings(L, 1, &n);
	int lock = lua_toboolean(L, 2);
	int r = lsh_caps_restrict(v, n, lock, &err);
	return lsh_l_result(L, r, err);
}

static int l_no_new_privs(lua_State *L)
{
	struct lsh_err *err = NULL;
	lsh_l_check_nargs(L, 0);
	int r = lsh_caps_no_new_privs(&err);
	return lsh_l_result(L, r, err);
}

/* rlimit_set(name, soft, hard) with -1 for unlimited */
static int l_rlimit_set(lua_State *L)
{
	struct lsh_err *err = NULL;
	const char *name = lsh_l_checkstring(L, 1);
	lua_Integer soft = luaL_checkinteger(L, 2);
	lua_Integer hard = luaL_optinteger(L, 3, soft);
	int r = lsh_rlimit_set(name, soft, hard, &err);
	return lsh_l_result(L, r, err);
}

/* seccomp_syscalls() -> { name, … } of the native architecture, for suggestions */
static int l_seccomp_syscalls(lua_State *L)
{
	lsh_l_check_nargs(L, 0);
	lua_newtable(L);
	lua_Integer n = 0;
	for (int nr = 0; nr < 1024; nr++) {
		char buf[128];
		char *name = lsh_seccomp_syscall_name(nr);
		if (name == NULL)
			continue;
		/* Copied before any Lua call, which may raise and would leak name. */
		snprintf(buf, sizeof buf, "%s", name);
		free(name);
		lua_pushstring(L, buf);
		lua_rawseti(L, -2, ++n);
	}
	return 1;
}

/* set_ids(uid, gid): drop supplementary groups and take these ids in the namespace */
static int l_set_ids(lua_State *L)
{
	struct lsh_err *err = NULL;
	lua_Integer uid = luaL_checkinteger(L, 1);
	lua_Integer gid = luaL_checkinteger(L, 2);
	lsh_l_check_nargs(L, 2);
	int r = lsh_caps_set_ids((uid_t)uid, (gid_t)gid, &err);
	return lsh_l_result(L, r, err);
}

static int l_keyring_new_session(lua_State *L)
{
	struct lsh_err *err = NULL;
	lsh_l_check_nargs(L, 0);
	int r = lsh_keyring_new_session(&err);
	return lsh_l_result(L, r, err);
}

/* ---- cgroups: a "lunshare.Cgroup" handle removes its cgroup on close, __close, __gc ---- */

struct cgroup_box {
	struct lsh_cgroup *cg;
};

static struct cgroup_box *check_cgroup(lua_State *L)
{
	struct cgroup_box *b = luaL_checkudata(L, 1, "lunshare.Cgroup");
	if (b->cg == NULL)
		luaL_argerror(L, 1, "cgroup is removed");
	return b;
}

static int cg_close(lua_State *L)
{
	struct cgroup_box *b = luaL_checkudata(L, 1, "lunshare.Cgroup");
	lsh_cgroup_destroy(b->cg);
	b->cg = NULL;
	return 0;
}

static int cg_attach(lua_State *L)
{
	struct lsh_err *err = NULL;
	struct cgroup_box *b = check_cgroup(L);
	pid_t pid = (pid_t)luaL_checkinteger(L, 2);
	int r = lsh_cgroup_attach(b->cg, pid, &err);
	return lsh_l_result(L, r, err);
}

static int cg_oom_killed(lua_State *L)
{
	lua_pushboolean(L, lsh_cgroup_oom_killed(check_cgroup(L)->cg));
	return 1;
}

static int cg_path(lua_State *L)
{
	lua_pushstring(L, lsh_cgroup_path(check_cgroup(L)->cg));
	return 1;
}

static int cg_tostring(lua_State *L)
{
	struct cgroup_box *b = luaL_checkudata(L, 1, "lunshare.Cgroup");
	lua_pushfstring(L, "cgroup (%s)", b->cg ? lsh_cgroup_path(b->cg) : "removed");
	return 1;
}

static lua_Integer opt_field(lua_State *L, int idx, const char *k)
{
	lua_getfield(L, idx, k);
	lua_Integer v = luaL_optinteger(L, -1, 0);
	lua_pop(L, 1);
	return v;
}

/* cgroup_create(name, { memory =, pids =, cpu_quota =, cpu_period = }) -> handle */
static int l_cgroup_create(lua_State *L)
{
	static const char *const keys[] = { "memory", "pids", "cpu_quota", "cpu_period", NULL };
	struct lsh_err *err = NULL;
	const char *name = lsh_l_checkstring(L, 1);
	luaL_checktype(L, 2, LUA_TTABLE);
	lsh_l_check_keys(L, 2, keys);
	struct lsh_cgroup_limits lim = { opt_field(L, 2, "memory"), opt_field(L, 2, "pids"),
					 opt_field(L, 2, "cpu_quota"), opt_field(L, 2, "cpu_period") };
	/* The handle exists, empty, before the cgroup: a raise cannot leak it. */
	struct cgroup_box *b = lua_newuserdatauv(L, sizeof *b, 0);
	b->cg = NULL;
	if (luaL_newmetatable(L, "lunshare.Cgroup")) {
		static const luaL_Reg methods[] = {
			{ "attach", cg_attach }, { "oom_killed", cg_oom_killed }, { "path", cg_path },
			{ "close", cg_close },	 { NULL, NULL },
		};
		lua_pushcfunction(L, cg_close);
		lua_setfield(L, -2, "__gc");
		lua_pushcfunction(L, cg_close);
		lua_setfield(L, -2, "__close");
		lua_pushcfunction(L, cg_tostring);
		lua_setfield(L, -2, "__tostring");
		luaL_newlib(L, methods);
		lua_setfield(L, -2, "__index");
	}
	lua_setmetatable(L, -2);
	if (lsh_cgroup_create(name, &lim, &b->cg, &err) < 0)
		return lsh_l_fail(L, err);
	return 1;
}

/* The kernel's numbers the boundary's policy names, so that none is written in Lua:
 *   caps              { "chown", "dac_override", … }: every capability libcap knows, in
 *                     the kernel's order (capability.h)
 *   SECBITS_LOCKED    the securebits the caps step locks
 *   TIOCSTI, TIOCLINUX the ioctl requests the default seccomp filter refuses
 *   UINT_MAX          the mask of an unsigned int argument (an ioctl request): seccomp
 *                     compares all 64 bits, the kernel reads the low 32
 *   S_ISUID, S_ISGID  the mode bits the @setid-files rules refuse to set
 *   O_CREAT, O_TMPFILE the open flags under which open's mode argument is read */
static void push_constants(lua_State *L)
{
	char name[64];
	lua_newtable(L);
	for (int c = 0; lsh_caps_name(c, name, sizeof name) == 0; c++) {
		lua_pushstring(L, name);
		lua_rawseti(L, -2, c + 1);
	}
	lua_setfield(L, -2, "caps");
	lua_pushinteger(L, lsh_caps_locked_securebits());
	lua_setfield(L, -2, "SECBITS_LOCKED");
	lua_pushinteger(L, TIOCSTI);
	lua_setfield(L, -2, "TIOCSTI");
	lua_pushinteger(L, TIOCLINUX);
	lua_setfield(L, -2, "TIOCLINUX");
	lua_pushinteger(L, UINT_MAX);
	lua_setfield(L, -2, "UINT_MAX");
	lua_pushinteger(L, S_ISUID);
	lua_setfield(L, -2, "S_ISUID");
	lua_pushinteger(L, S_ISGID);
	lua_setfield(L, -2, "S_ISGID");
	lua_pushinteger(L, S_IXUSR | S_IXGRP | S_IXOTH);
	lua_setfield(L, -2, "S_IXUGO");
	lua_pushinteger(L, O_CREAT);
	lua_setfield(L, -2, "O_CREAT");
	lua_pushinteger(L, O_TMPFILE);
	lua_setfield(L, -2, "O_TMPFILE");
}

void lsh_l_open_security(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "cap_number", l_cap_number },	      { "seccomp_syscall", l_seccomp_syscall },
		{ "rlimit_number", l_rlimit_number }, { "seccomp_check", l_seccomp_check },
		{ "seccomp_compile", l_seccomp_compile },
		{ "seccomp_load", l_seccomp_load },   { "caps_restrict", l_caps_restrict },
		{ "no_new_privs", l_no_new_privs },   { "rlimit_set", l_rlimit_set },
		{ "seccomp_syscalls", l_seccomp_syscalls },
		{ "set_ids", l_set_ids },	      { "keyring_new_session", l_keyring_new_session },
		{ "cgroup_create", l_cgroup_create },
		{ NULL, NULL },
	};
	luaL_setfuncs(L, fns, 0);
	push_constants(L);
}
