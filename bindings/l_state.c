/* Files from Lua: the bounded reader (every file a profile names goes through it) and the
 * private state directories, whose handles are "statedir" fds that files are opened
 * relative to. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lcore.h"

static size_t opt_max(lua_State *L, int idx)
{
	lua_Integer max = luaL_optinteger(L, idx, (lua_Integer)LSH_FILE_MAX);
	luaL_argcheck(L, max >= 0 && max <= (lua_Integer)1 << 30, idx, "expected a size from 0 to 1 GiB");
	return (size_t)max;
}

/* Pushing can raise (out of memory), and a raise would leak what C allocated: the copy
 * into Lua runs protected, and the C buffer is freed whatever happens. */
static int push_lstring(lua_State *L)
{
	lua_pushlstring(L, lua_touserdata(L, 1), (size_t)lua_tointeger(L, 2));
	return 1;
}

static int push_names(lua_State *L)
{
	char **names = lua_touserdata(L, 1);
	int n = (int)lua_tointeger(L, 2);
	lua_createtable(L, n, 0);
	for (int i = 0; i < n; i++) {
		lua_pushstring(L, names[i]);
		lua_rawseti(L, -2, i + 1);
	}
	return 1;
}

static int push_owned(lua_State *L, lua_CFunction f, void *p, size_t n, void (*release)(void *))
{
	lua_pushcfunction(L, f);
	lua_pushlightuserdata(L, p);
	lua_pushinteger(L, (lua_Integer)n);
	int r = lua_pcall(L, 2, 1, 0);
	release(p);
	if (r != LUA_OK)
		return lua_error(L);
	return 1;
}

static void release_names(void *p)
{
	lsh_statedir_list_free(p);
}

static int push_text(lua_State *L, int r, char *text, size_t len, struct lsh_err *err)
{
	if (r < 0)
		return lsh_l_fail(L, err);
	return push_owned(L, push_lstring, text, len, free);
}

static void release_text(void *p)
{
	free(p);
}

/* read_file(path [, max [, "kernel"]]) -> text, real | nil, msg, errno: a regular file of at
 * most max bytes (1 MiB by default), opened with O_PATH and checked (a regular file, not on
 * a kernel filesystem) before it is opened for reading, without blocking; nothing else is
 * opened for reading. "kernel" is for a file of proc or sysfs that lunshare itself names
 * (LSH_FILE_KERNEL), never for a name from a profile. real is the path of what was opened,
 * symlinks resolved (false when /proc cannot say). */
static int l_read_file(lua_State *L)
{
	static const char *const HOW[] = { "named", "kernel", NULL };
	const char *path = lsh_l_checkstring(L, 1);
	size_t max = opt_max(L, 2), len = 0;
	unsigned flags = luaL_checkoption(L, 3, "named", HOW) == 1 ? LSH_FILE_KERNEL : 0;
	lsh_l_check_nargs(L, 3);
	struct lsh_err *err = NULL;
	char *text = NULL, *real = NULL;
	int r = lsh_file_read_real(AT_FDCWD, path, flags, max, &text, &len, &real, &err);
	if (r < 0)
		return lsh_l_fail(L, err);
	/* Two C buffers to move into Lua: the first push can raise and must not leak the other. */
	lua_pushcfunction(L, push_lstring);
	lua_pushlightuserdata(L, text);
	lua_pushinteger(L, (lua_Integer)len);
	int pr = lua_pcall(L, 2, 1, 0);
	free(text);
	if (pr != LUA_OK) {
		free(real);
		return lua_error(L);
	}
	if (real == NULL) {
		lua_pushboolean(L, 0);
		return 2;
	}
	push_owned(L, push_lstring, real, strlen(real), release_text);
	return 2;
}

/* resolve(path [, uid]) -> path | nil, msg, errno: the host path with every symlink
 * resolved, none followed that another user than uid (the real uid by default) or root
 * could have placed (lsh_path_resolve). */
static int l_resolve(lua_State *L)
{
	const char *path = lsh_l_checkstring(L, 1);
	uid_t uid = (uid_t)luaL_optinteger(L, 2, (lua_Integer)getuid());
	lsh_l_check_nargs(L, 2);
	struct lsh_err *err = NULL;
	char *out = NULL;
	int r = lsh_path_resolve(path, uid, &out, &err);
	if (r < 0)
		return lsh_l_fail(L, err);
	return push_owned(L, push_lstring, out, strlen(out), release_text);
}

/* statedir(root, path [, create [, how]]) -> handle | nil, msg, errno. how: "readable"
 * (missing components made 0755), "new" (the last one must not exist), or both,
 * "new readable"; or "run" (create: a run's own state, lsh_statedir_open_run), which
 * returns the path used beneath root after the handle. */
static int l_statedir(lua_State *L)
{
	const char *root = lsh_l_checkstring(L, 1), *path = lsh_l_checkstring(L, 2);
	int create = lua_toboolean(L, 3);
	const char *how = luaL_optstring(L, 4, "");
	lsh_l_check_nargs(L, 4);
	unsigned flags = create ? LSH_STATEDIR_CREATE : 0;
	if (strcmp(how, "run") == 0 && !create)
		return luaL_argerror(L, 3, "\"run\" creates: pass true");
	if (strstr(how, "readable"))
		flags |= LSH_STATEDIR_READABLE;
	if (strstr(how, "new"))
		flags |= LSH_STATEDIR_EXCL;
	struct lsh_l_fd *h = lsh_l_newfd(L, "statedir");
	struct lsh_err *err = NULL;
	if (strcmp(how, "run") == 0) {
		char used[1024];
		int fd = lsh_statedir_open_run(root, path, used, sizeof used, &err);
		if (lsh_l_handle(L, h, fd, err) != 1)
			return 3;
		lua_pushstring(L, used);
		return 2;
	}
	int fd = lsh_statedir_open(root, path, flags, &err);
	return lsh_l_handle(L, h, fd, err);
}

/* statedir_of(root, path, uid) -> handle | nil, msg, errno: another user's state
 * directory, every component verified to be uid's and private (lsh_statedir_open_owner). */
static int l_statedir_of(lua_State *L)
{
	const char *root = lsh_l_checkstring(L, 1), *path = lsh_l_checkstring(L, 2);
	uid_t uid = (uid_t)luaL_checkinteger(L, 3);
	lsh_l_check_nargs(L, 3);
	struct lsh_l_fd *h = lsh_l_newfd(L, "statedir");
	struct lsh_err *err = NULL;
	int fd = lsh_statedir_open_owner(root, path, 0, uid, &err);
	return lsh_l_handle(L, h, fd, err);
}

/* statedir_prune(root, path) -> count | nil, msg, errno */
static int l_statedir_prune(lua_State *L)
{
	const char *root = lsh_l_checkstring(L, 1), *path = lsh_l_checkstring(L, 2);
	lsh_l_check_nargs(L, 2);
	struct lsh_err *err = NULL;
	int n = lsh_statedir_prune(root, path, &err);
	if (n < 0)
		return lsh_l_fail(L, err);
	lua_pushinteger(L, n);
	return 1;
}

/* state_read(dir, name [, max [, "any"]]) -> text | nil, msg, errno. "any": a file of
 * another user's directory (statedir_of), whoever owns it. */
static int l_state_read(lua_State *L)
{
	static const char *const owners[] = { "own", "any", NULL };
	int dir = lsh_l_checkfd(L, 1)->fd;
	const char *name = lsh_l_checkstring(L, 2);
	size_t max = opt_max(L, 3), len = 0;
	int any = luaL_checkoption(L, 4, "own", owners);
	lsh_l_check_nargs(L, 4);
	struct lsh_err *err = NULL;
	char *text = NULL;
	int r = any ? lsh_statedir_read_any(dir, name, max, &text, &len, &err)
		    : lsh_statedir_read(dir, name, max, &text, &len, &err);
	return push_text(L, r, text, len, err);
}

/* state_write(dir, name, text, "create"|"append"|"replace"|"update" [, mode]) -> true | nil, msg,
 * errno. mode: "private" (0600, the default), "readable" (0644: an installed profile),
 * "executable" (0755: a script a check runs). */
static int l_state_write(lua_State *L)
{
	static const char *const hows[] = { "create", "append", "replace", "update", NULL };
	static const char *const modes[] = { "private", "readable", "executable", NULL };
	int dir = lsh_l_checkfd(L, 1)->fd;
	const char *name = lsh_l_checkstring(L, 2);
	size_t len;
	const char *text = luaL_checklstring(L, 3, &len);
	int how = luaL_checkoption(L, 4, NULL, hows);
	int mode = luaL_checkoption(L, 5, "private", modes);
	lsh_l_check_nargs(L, 5);
	struct lsh_err *err = NULL;
	if (mode == 1)
		how |= LSH_STATE_READABLE;
	else if (mode == 2)
		how |= LSH_STATE_EXECUTABLE;
	int r = lsh_statedir_write(dir, name, text, len, (enum lsh_state_how)how, &err);
	return lsh_l_result(L, r, err);
}

/* state_remove(dir, name) -> true (removed) | false (there was none) | nil, msg, errno */
static int l_state_remove(lua_State *L)
{
	int dir = lsh_l_checkfd(L, 1)->fd;
	const char *name = lsh_l_checkstring(L, 2);
	lsh_l_check_nargs(L, 2);
	struct lsh_err *err = NULL;
	int r = lsh_statedir_remove(dir, name, &err);
	if (r < 0)
		return lsh_l_fail(L, err);
	lua_pushboolean(L, r);
	return 1;
}

/* state_lock(dir) -> true (taken) | false (another holds it) | nil, msg, errno */
static int l_state_lock(lua_State *L)
{
	int dir = lsh_l_checkfd(L, 1)->fd;
	lsh_l_check_nargs(L, 1);
	struct lsh_err *err = NULL;
	int r = lsh_statedir_lock(dir, &err);
	if (r < 0)
		return lsh_l_fail(L, err);
	lua_pushboolean(L, r);
	return 1;
}

/* state_list(dir) -> { name, … } | nil, msg, errno */
static int l_state_list(lua_State *L)
{
	int dir = lsh_l_checkfd(L, 1)->fd;
	lsh_l_check_nargs(L, 1);
	struct lsh_err *err = NULL;
	char **names = NULL;
	int n = lsh_statedir_list(dir, &names, &err);
	if (n < 0)
		return lsh_l_fail(L, err);
	return push_owned(L, push_names, names, (size_t)n, release_names);
}

void lsh_l_open_state(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "read_file", l_read_file }, { "resolve", l_resolve }, { "statedir", l_statedir }, { "statedir_prune", l_statedir_prune },
		{ "statedir_of", l_statedir_of },
		{ "state_read", l_state_read }, { "state_write", l_state_write },
		{ "state_remove", l_state_remove }, { "state_lock", l_state_lock }, { "state_list", l_state_list }, { NULL, NULL },
	};
	luaL_setfuncs(L, fns, 0);
}
