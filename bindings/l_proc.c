/* Processes from Lua: clone into namespaces, pidfds, wait, signals, exec, names, time. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lcore.h"

static unsigned long kinds_flags(lua_State *L, int idx)
{
	unsigned long flags = 0;
	if (lua_isnoneornil(L, idx))
		return 0;
	luaL_checktype(L, idx, LUA_TTABLE);
	lua_Integer n = luaL_len(L, idx);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_geti(L, idx, i);
		const char *name = lsh_l_checkstring(L, -1);
		const struct lsh_ns_kind *k = lsh_ns_kind_by_name(name);
		if (k == NULL)
			luaL_argerror(L, idx, lua_pushfstring(L, "unknown namespace kind '%s'", name));
		flags |= k->flag;
		lua_pop(L, 1);
	}
	return flags;
}

/* clone({kinds…}) -> pid, pidfd in the parent; 0 in the child (which goes on in Lua, as
 * after fork: it should exec or _exit). */
static int l_clone(lua_State *L)
{
	struct lsh_err *err = NULL;
	int pidfd = -1;
	unsigned long flags = kinds_flags(L, 1);
	lsh_l_check_nargs(L, 1);
	struct lsh_l_fd *h = lsh_l_newfd(L, "pidfd");
	pid_t pid = lsh_proc_clone(flags, -1, &pidfd, &err);
	if (pid < 0)
		return lsh_l_fail(L, err);
	lua_pushinteger(L, pid);
	if (pid == 0)
		return 1;
	h->fd = pidfd;
	lua_insert(L, -2);
	return 2;
}

static int l_pidfd_open(lua_State *L)
{
	struct lsh_err *err = NULL;
	pid_t pid = (pid_t)luaL_checkinteger(L, 1);
	lsh_l_check_nargs(L, 1);
	struct lsh_l_fd *h = lsh_l_newfd(L, "pidfd");
	int fd = lsh_proc_pidfd(pid, &err);
	return lsh_l_handle(L, h, fd, err);
}

static int l_kill(lua_State *L)
{
	struct lsh_err *err = NULL;
	int fd = lsh_l_tofd(L, 1);
	int sig = (int)luaL_optinteger(L, 2, SIGTERM);
	int r = lsh_proc_signal(fd, sig, &err);
	return lsh_l_result(L, r, err);
}

/* wait(pidfd [, nohang]) -> exit code (128+N for a signal), raw status; false if running */
static int l_wait(lua_State *L)
{
	struct lsh_err *err = NULL;
	int status = 0;
	int fd = lsh_l_tofd(L, 1);
	int r = lsh_proc_wait(fd, lua_toboolean(L, 2), &status, &err);
	if (r < 0)
		return lsh_l_fail(L, err);
	if (r == 0) {
		lua_pushboolean(L, 0);
		return 1;
	}
	lua_pushinteger(L, lsh_proc_exit_status(status));
	lua_pushinteger(L, status);
	return 2;
}

static char **check_strings(lua_State *L, int idx, int allow_nil)
{
	if (allow_nil && lua_isnoneornil(L, idx))
		return NULL;
	luaL_checktype(L, idx, LUA_TTABLE);
	lua_Integer n = luaL_len(L, idx);
	/* A userdata holds the array, so a raise below leaks nothing. */
	char **v = lua_newuserdatauv(L, (size_t)(n + 1) * sizeof *v, 0);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_geti(L, idx, i);
		if (lua_type(L, -1) != LUA_TSTRING)
			luaL_argerror(L, idx, "expected a list of strings");
		v[i - 1] = (char *)lsh_l_tocstring(L, -1, "a string of the list");
		lua_pop(L, 1); /* the string stays alive in its table */
	}
	v[n] = NULL;
	return v;
}

/* exec(argv [, env]): replaces the process; returns nil, msg, errno on failure. */
static int l_exec(lua_State *L)
{
	extern char **environ;
	struct lsh_err *err = NULL;
	/* Strings stay alive: they belong to the argument tables, which stay on the stack.
	 * The arrays are pushed after them, so a missing env must hold its slot first. */
	lsh_l_check_nargs(L, 2);
	lua_settop(L, 2);
	char **argv = check_strings(L, 1, 0);
	char **envp = check_strings(L, 2, 1);
	lsh_proc_exec(argv, envp ? envp : environ, &err);
	return lsh_l_fail(L, err);
}

static int l_exit(lua_State *L)
{
	_exit((int)luaL_optinteger(L, 1, 0));
}

static int l_setsid(lua_State *L)
{
	struct lsh_err *err = NULL;
	int r = lsh_proc_setsid(&err);
	return lsh_l_result(L, r, err);
}

static int l_sethostname(lua_State *L)
{
	struct lsh_err *err = NULL;
	int r = lsh_uts_set_hostname(lsh_l_checkstring(L, 1), &err);
	return lsh_l_result(L, r, err);
}

static int l_setdomainname(lua_State *L)
{
	struct lsh_err *err = NULL;
	int r = lsh_uts_set_domainname(lsh_l_checkstring(L, 1), &err);
	return lsh_l_result(L, r, err);
}

/* timens(monotonic_seconds, boottime_seconds): a new time namespace for this process. */
static int l_timens(lua_State *L)
{
	struct lsh_err *err = NULL;
	int r = lsh_timens_enter_new(luaL_optinteger(L, 1, 0), luaL_optinteger(L, 2, 0), &err);
	return lsh_l_result(L, r, err);
}

/* close_fds({keep…}): closes every fd >= 3 but those listed. */
static int l_close_fds(lua_State *L)
{
	struct lsh_err *err = NULL;
	int keep[64];
	size_t n = 0;
	if (!lua_isnoneornil(L, 1)) {
		luaL_checktype(L, 1, LUA_TTABLE);
		lua_Integer len = luaL_len(L, 1);
		luaL_argcheck(L, len <= 64, 1, "at most 64 fds can be kept");
		for (lua_Integer i = 1; i <= len; i++) {
			lua_geti(L, 1, i);
			keep[n++] = lsh_l_tofd(L, -1);
			lua_pop(L, 1);
		}
	}
	int r = lsh_proc_close_fds(keep, n, &err);
	return lsh_l_result(L, r, err);
}

/* pdeathsig(sig): the signal this process gets when its parent dies. */
static int l_pdeathsig(lua_State *L)
{
	struct lsh_err *err = NULL;
	int r = lsh_proc_pdeathsig((int)luaL_checkinteger(L, 1), getppid(), &err);
	return lsh_l_result(L, r, err);
}

/* proc_stat(pid) -> { ppid =, starttime =, uid =, state = } | nil, msg, errno: what /proc
 * tells anyone of a process (lsh_proc_stat). */
static int l_proc_stat(lua_State *L)
{
	struct lsh_err *err = NULL;
	struct lsh_proc_info info;
	pid_t pid = (pid_t)luaL_checkinteger(L, 1);
	lsh_l_check_nargs(L, 1);
	if (lsh_proc_stat(pid, &info, &err) < 0)
		return lsh_l_fail(L, err);
	char state[2] = { info.state, '\0' };
	lua_createtable(L, 0, 4);
	lua_pushinteger(L, info.ppid);
	lua_setfield(L, -2, "ppid");
	lua_pushinteger(L, (lua_Integer)info.starttime);
	lua_setfield(L, -2, "starttime");
	lua_pushinteger(L, info.uid);
	lua_setfield(L, -2, "uid");
	lua_pushstring(L, state);
	lua_setfield(L, -2, "state");
	return 1;
}

/* pidfd_poll(pidfd [, seconds]) -> true (it ended) | false (the time passed) | nil, msg,
 * errno. Without seconds, waits for ever. */
static int l_pidfd_poll(lua_State *L)
{
	struct lsh_err *err = NULL;
	int fd = lsh_l_tofd(L, 1);
	lua_Number secs = luaL_optnumber(L, 2, -1);
	lsh_l_check_nargs(L, 2);
	int ms = secs < 0 ? -1 : (secs > 86400 ? 86400000 : (int)(secs * 1000));
	int r = lsh_proc_poll_exit(fd, ms, &err);
	if (r < 0)
		return lsh_l_fail(L, err);
	lua_pushboolean(L, r);
	return 1;
}

/* proc_children(pid) -> { pid, … } (oldest first, at most 64) | nil, msg, errno */
static int l_proc_children(lua_State *L)
{
	struct lsh_err *err = NULL;
	pid_t out[64];
	pid_t pid = (pid_t)luaL_checkinteger(L, 1);
	lsh_l_check_nargs(L, 1);
	int n = lsh_proc_children(pid, out, 64, &err);
	if (n < 0)
		return lsh_l_fail(L, err);
	lua_createtable(L, n < 64 ? n : 64, 0);
	for (int i = 0; i < n && i < 64; i++) {
		lua_pushinteger(L, out[i]);
		lua_rawseti(L, -2, i + 1);
	}
	return 1;
}

void lsh_l_open_proc(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "clone", l_clone }, { "pidfd_open", l_pidfd_open }, { "kill", l_kill },
		{ "wait", l_wait }, { "exec", l_exec }, { "_exit", l_exit },
		{ "setsid", l_setsid }, { "sethostname", l_sethostname },
		{ "setdomainname", l_setdomainname }, { "timens", l_timens },
		{ "close_fds", l_close_fds }, { "pdeathsig", l_pdeathsig },
		{ "proc_stat", l_proc_stat }, { "pidfd_poll", l_pidfd_poll }, { "proc_children", l_proc_children }, { NULL, NULL },
	};
	luaL_setfuncs(L, fns, 0);
}
