/* Mounts from Lua: the primitives the executor's mount steps use, for the REPL and trusted
 * scripts. Detached mounts and path fds are "mount" / "path" handles (lunshare.Fd). */
#include <fcntl.h>
#include <string.h>

#include "lcore.h"

static const char *const attr_names[] = { "rdonly", "nosuid", "nodev", "noexec", "idmap", NULL };
static const uint64_t attr_values[] = { LSH_MOUNT_RDONLY, LSH_MOUNT_NOSUID, LSH_MOUNT_NODEV,
					LSH_MOUNT_NOEXEC, LSH_MOUNT_IDMAP };

/* A list of attribute names ({ "rdonly", "nosuid" }) at idx, or none. */
static uint64_t check_attrs(lua_State *L, int idx)
{
	uint64_t a = 0;
	if (lua_isnoneornil(L, idx))
		return 0;
	luaL_checktype(L, idx, LUA_TTABLE);
	lua_Integer n = luaL_len(L, idx);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_geti(L, idx, i);
		a |= attr_values[luaL_checkoption(L, -1, NULL, attr_names)];
		lua_pop(L, 1);
	}
	return a;
}

/* make_private(path [, recursive = true]) -> true | nil, msg, errno */
static int l_make_private(lua_State *L)
{
	struct lsh_err *err = NULL;
	const char *path = lsh_l_checkstring(L, 1);
	int rec = lua_isnoneornil(L, 2) ? 1 : lua_toboolean(L, 2);
	lsh_l_check_nargs(L, 2);
	int r = lsh_mount_make_private(path, rec, &err);
	return lsh_l_result(L, r, err);
}

/* umount(path) -> true | nil, msg, errno: detaches the mount on path (umount -l). */
static int l_umount(lua_State *L)
{
	struct lsh_err *err = NULL;
	const char *path = lsh_l_checkstring(L, 1);
	lsh_l_check_nargs(L, 1);
	int r = lsh_mount_detach(path, &err);
	return lsh_l_result(L, r, err);
}

/* pivot_root(new_root, put_old) -> true | nil, msg, errno */
static int l_pivot_root(lua_State *L)
{
	struct lsh_err *err = NULL;
	const char *n = lsh_l_checkstring(L, 1), *o = lsh_l_checkstring(L, 2);
	lsh_l_check_nargs(L, 2);
	int r = lsh_mount_pivot_root(n, o, &err);
	return lsh_l_result(L, r, err);
}

/* enter_root(fd) -> true | nil, msg, errno: pivot into fd and detach the old root. */
static int l_enter_root(lua_State *L)
{
	struct lsh_err *err = NULL;
	int fd = lsh_l_tofd(L, 1);
	lsh_l_check_nargs(L, 1);
	int r = lsh_mount_enter_root(fd, &err);
	return lsh_l_result(L, r, err);
}

/* open_in_root(rootfd, path) -> path handle (O_PATH, RESOLVE_IN_ROOT) */
static int l_open_in_root(lua_State *L)
{
	struct lsh_err *err = NULL;
	int root = lsh_l_tofd(L, 1);
	const char *path = lsh_l_checkstring(L, 2);
	lsh_l_check_nargs(L, 2);
	struct lsh_l_fd *h = lsh_l_newfd(L, "path");
	int fd = lsh_mount_open_in_root(root, path, O_PATH, &err);
	return lsh_l_handle(L, h, fd, err);
}

/* mount_target(rootfd, path [, "dir" | "file" | "none" [, mode]]) -> path handle */
static int l_mount_target(lua_State *L)
{
	static const char *const nodes[] = { "none", "dir", "file", NULL };
	struct lsh_err *err = NULL;
	int root = lsh_l_tofd(L, 1);
	const char *path = lsh_l_checkstring(L, 2);
	int node = luaL_checkoption(L, 3, "none", nodes);
	mode_t mode = (mode_t)luaL_optinteger(L, 4, node == LSH_NODE_DIR ? 0755 : 0644);
	lsh_l_check_nargs(L, 4);
	struct lsh_l_fd *h = lsh_l_newfd(L, "path");
	int fd = lsh_mount_target(root, path, (enum lsh_mount_node)node, mode, &err);
	return lsh_l_handle(L, h, fd, err);
}

/* clone_tree(path | fd [, recursive = true]) -> mount handle (detached) */
static int l_clone_tree(lua_State *L)
{
	struct lsh_err *err = NULL;
	int dirfd = AT_FDCWD;
	const char *path = NULL;
	if (lua_type(L, 1) == LUA_TSTRING)
		path = lsh_l_checkstring(L, 1);
	else
		dirfd = lsh_l_tofd(L, 1);
	int rec = lua_isnoneornil(L, 2) ? 1 : lua_toboolean(L, 2);
	lsh_l_check_nargs(L, 2);
	struct lsh_l_fd *h = lsh_l_newfd(L, "mount");
	int fd = lsh_mount_clone_tree(dirfd, path, rec, &err);
	return lsh_l_handle(L, h, fd, err);
}

/* mount_setattr(mount, { set = {…}, clear = {…}, recursive = bool, userns = fd }) -> true */
static int l_mount_setattr(lua_State *L)
{
	static const char *const keys[] = { "set", "clear", "recursive", "userns", NULL };
	struct lsh_err *err = NULL;
	int mfd = lsh_l_tofd(L, 1);
	luaL_checktype(L, 2, LUA_TTABLE);
	lsh_l_check_nargs(L, 2);
	lsh_l_check_keys(L, 2, keys);
	lua_getfield(L, 2, "set");
	uint64_t set = check_attrs(L, -1);
	lua_getfield(L, 2, "clear");
	uint64_t clr = check_attrs(L, -1);
	lua_getfield(L, 2, "recursive");
	int rec = lua_toboolean(L, -1);
	int userns = -1;
	if (lua_getfield(L, 2, "userns") != LUA_TNIL)
		userns = lsh_l_tofd(L, -1);
	int r = lsh_mount_setattr(mfd, set, clr, rec, userns, &err);
	return lsh_l_result(L, r, err);
}

/* move_mount(mount, target) -> true: attaches a detached mount on a path handle. */
static int l_move_mount(lua_State *L)
{
	struct lsh_err *err = NULL;
	int from = lsh_l_tofd(L, 1), to = lsh_l_tofd(L, 2);
	lsh_l_check_nargs(L, 2);
	int r = lsh_mount_attach(from, to, &err);
	return lsh_l_result(L, r, err);
}

/* new_fs(fstype [, { "key=value", "flag", … } [, { attrs… }]]) -> mount handle (detached) */
static int l_new_fs(lua_State *L)
{
	struct lsh_err *err = NULL;
	const char *fstype = lsh_l_checkstring(L, 1);
	const char *opts[33];
	size_t n = 0;
	if (!lua_isnoneornil(L, 2)) {
		luaL_checktype(L, 2, LUA_TTABLE);
		lua_Integer len = luaL_len(L, 2);
		luaL_argcheck(L, len < 33, 2, "at most 32 options");
		for (lua_Integer i = 1; i <= len; i++) {
			lua_geti(L, 2, i);
			opts[n++] = lsh_l_checkstring(L, -1);
			lua_pop(L, 1); /* the string stays alive in the table */
		}
	}
	opts[n] = NULL;
	uint64_t attrs = check_attrs(L, 3);
	lsh_l_check_nargs(L, 3);
	struct lsh_l_fd *h = lsh_l_newfd(L, "mount");
	int fd = lsh_mount_new_fs(fstype, fstype, opts, attrs, &err);
	return lsh_l_handle(L, h, fd, err);
}

void lsh_l_open_mount(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "make_private", l_make_private }, { "umount", l_umount }, { "pivot_root", l_pivot_root },
		{ "enter_root", l_enter_root }, { "open_in_root", l_open_in_root },
		{ "mount_target", l_mount_target }, { "clone_tree", l_clone_tree },
		{ "mount_setattr", l_mount_setattr }, { "move_mount", l_move_mount },
		{ "new_fs", l_new_fs }, { NULL, NULL },
	};
	luaL_setfuncs(L, fns, 0);
}
