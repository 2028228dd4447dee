/* Files and trees from Lua, beyond the state directories: digests of what `install`
 * copies, the names in a directory of profiles, a symlink's target, and whole trees
 * removed or handed to other ids (the scratch directories of `lunshare test`). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lcore.h"

/* sha256(text) -> 64 hex digits */
static int l_sha256(lua_State *L)
{
	size_t len;
	const char *s = luaL_checklstring(L, 1, &len);
	char hex[2 * LSH_SHA256_SIZE + 1];
	lsh_sha256_hex(s, len, hex);
	lua_pushstring(L, hex);
	return 1;
}

/* readlink(path) -> target | nil, msg, errno */
static int l_readlink(lua_State *L)
{
	const char *path = lsh_l_checkstring(L, 1);
	lsh_l_check_nargs(L, 1);
	char buf[PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof buf - 1);
	if (n < 0) {
		struct lsh_err *err = NULL;
		lsh_err_set(&err, errno, "readlink %s", path);
		return lsh_l_fail(L, err);
	}
	lua_pushlstring(L, buf, (size_t)n);
	return 1;
}

/* file_id(path) -> "DEV:INO" of what path names (following symlinks) | nil, msg, errno */
static int l_file_id(lua_State *L)
{
	const char *path = lsh_l_checkstring(L, 1);
	lsh_l_check_nargs(L, 1);
	struct stat st;
	if (stat(path, &st) < 0) {
		struct lsh_err *err = NULL;
		lsh_err_set(&err, errno, "%s", path);
		return lsh_l_fail(L, err);
	}
	lua_pushfstring(L, "%I:%I", (lua_Integer)st.st_dev, (lua_Integer)st.st_ino);
	return 1;
}

static int push_names(lua_State *L)
{
	char **names = lua_touserdata(L, 1);
	lua_newtable(L);
	for (int i = 0; names[i]; i++) {
		lua_pushstring(L, names[i]);
		lua_rawseti(L, -2, i + 1);
	}
	return 1;
}

/* dir_list(path) -> { name, … } (sorted, without names starting with '.') | nil, msg, errno.
 * The directory is opened by path (it is the caller's choice: a directory of the profile
 * path); only its names are read. */
static int l_dir_list(lua_State *L)
{
	const char *path = lsh_l_checkstring(L, 1);
	lsh_l_check_nargs(L, 1);
	struct lsh_err *err = NULL;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		lsh_err_set(&err, errno, "%s", path);
		return lsh_l_fail(L, err);
	}
	char **names = NULL;
	int n = lsh_statedir_list(fd, &names, &err);
	close(fd);
	if (n < 0) {
		lsh_err_wrap(&err, "%s", path);
		return lsh_l_fail(L, err);
	}
	/* Pushing can raise: copy in a protected call, then free whatever happened. */
	lua_pushcfunction(L, push_names);
	lua_pushlightuserdata(L, names);
	int r = lua_pcall(L, 1, 1, 0);
	lsh_statedir_list_free(names);
	if (r != LUA_OK)
		return lua_error(L);
	return 1;
}

/* tree_remove(dir, name) -> true | nil, msg, errno: name beneath the statedir handle dir
 * and everything in it, never through a symlink, never across a mount. */
static int l_tree_remove(lua_State *L)
{
	int dir = lsh_l_checkfd(L, 1)->fd;
	const char *name = lsh_l_checkstring(L, 2);
	lsh_l_check_nargs(L, 2);
	struct lsh_err *err = NULL;
	int r = lsh_tree_remove(dir, name, &err);
	return lsh_l_result(L, r, err);
}

/* tree_chown(dir, name, uid, gid) -> true | nil, msg, errno */
static int l_tree_chown(lua_State *L)
{
	int dir = lsh_l_checkfd(L, 1)->fd;
	const char *name = lsh_l_checkstring(L, 2);
	lua_Integer uid = luaL_checkinteger(L, 3), gid = luaL_checkinteger(L, 4);
	lsh_l_check_nargs(L, 4);
	luaL_argcheck(L, uid >= 0 && uid <= 0xfffffffe, 3, "expected an id");
	luaL_argcheck(L, gid >= 0 && gid <= 0xfffffffe, 4, "expected an id");
	struct lsh_err *err = NULL;
	int r = lsh_tree_chown(dir, name, (uid_t)uid, (gid_t)gid, &err);
	return lsh_l_result(L, r, err);
}

/* tcp_listen(addr [, port]) -> handle, port | nil, msg, errno: a listener that completes
 * connections without ever accepting them. */
static int l_tcp_listen(lua_State *L)
{
	const char *addr = lsh_l_checkstring(L, 1);
	int port = (int)luaL_optinteger(L, 2, 0);
	lsh_l_check_nargs(L, 2);
	struct lsh_l_fd *h = lsh_l_newfd(L, "socket");
	struct lsh_err *err = NULL;
	int fd = lsh_inet_listen(addr, &port, &err);
	if (lsh_l_handle(L, h, fd, err) != 1)
		return 3;
	lua_pushinteger(L, port);
	return 2;
}

void lsh_l_open_files(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "sha256", l_sha256 }, { "readlink", l_readlink }, { "file_id", l_file_id }, { "dir_list", l_dir_list },
		{ "tree_remove", l_tree_remove }, { "tree_chown", l_tree_chown },
		{ "tcp_listen", l_tcp_listen }, { NULL, NULL },
	};
	luaL_setfuncs(L, fns, 0);
}
