/* What the binding files share: error returns in the io library's style, checked option
 * tables, and the kernel-handle userdata. */
#ifndef LSH_LCORE_H
#define LSH_LCORE_H

#include <lauxlib.h>
#include <lua.h>

#include "lunshare.h"

#define LSH_LUA_EXPORT __attribute__((visibility("default")))

/* Pushes nil, message, errno, frees err, and returns 3 (for `return lsh_l_fail(L, err);`). */
int lsh_l_fail(lua_State *L, struct lsh_err *err);
/* Raises "bad argument" unless every key of the table at idx is in the NULL-terminated list. */
void lsh_l_check_keys(lua_State *L, int idx, const char *const *allowed);
/* Raises unless there are at most n arguments. */
void lsh_l_check_nargs(lua_State *L, int n);

/* A kernel handle (a namespace fd, a pidfd, a netlink socket, …): an fd that closes on
 * __close, __gc and :close(). kind names it in tostring(). */
struct lsh_l_fd {
	int fd;
	const char *kind;
};
/* Creates a closed handle first, so that a raise leaks nothing; the caller then stores fd. */
struct lsh_l_fd *lsh_l_newfd(lua_State *L, const char *kind);
struct lsh_l_fd *lsh_l_checkfd(lua_State *L, int idx);
/* An fd argument: a handle or a plain integer. */
int lsh_l_tofd(lua_State *L, int idx);

/* Each binding file registers its functions into the module table on the top of the stack. */
void lsh_l_open_util(lua_State *L);
void lsh_l_open_ns(lua_State *L);
void lsh_l_open_idmap(lua_State *L);
void lsh_l_open_proc(lua_State *L);
void lsh_l_open_plan(lua_State *L);
void lsh_l_open_net(lua_State *L);
void lsh_l_open_mount(lua_State *L);
void lsh_l_open_sandbox(lua_State *L);
void lsh_l_open_security(lua_State *L);
void lsh_l_open_state(lua_State *L);
void lsh_l_open_files(lua_State *L);

LSH_LUA_EXPORT int luaopen_lunshare_core(lua_State *L);

#endif
