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
/* A primitive's result in the io library's style: true when r >= 0, else what lsh_l_fail
 * pushes. Call as `int r = lsh_x(…, &err); return lsh_l_result(L, r, err);`: err must be
 * read after the call, which an argument list does not guarantee. */
int lsh_l_result(lua_State *L, int r, struct lsh_err *err);
/* Raises "bad argument" unless every key of the table at idx is in the NULL-terminated list. */
void lsh_l_check_keys(lua_State *L, int idx, const char *const *allowed);
/* Raises unless there are at most n arguments. */
void lsh_l_check_nargs(lua_State *L, int n);

/* Every string a binding hands to C as a C string goes through one of these: a Lua string
 * may hold a NUL byte, and C would see only what comes before it ("/root/secret\0.lua"
 * opens /root/secret), so such a string is refused with a raise, never cut short. Like
 * luaL_checkstring and luaL_optstring; lsh_l_tocstring takes the string at idx as it is
 * (its type already checked) and says in the error which argument or field it was. */
const char *lsh_l_checkstring(lua_State *L, int idx);
const char *lsh_l_optstring(lua_State *L, int idx, const char *def);
const char *lsh_l_tocstring(lua_State *L, int idx, const char *what);

/* A kernel handle (a namespace fd, a pidfd, a netlink socket, …): an fd that closes on
 * __close, __gc and :close(). kind names it in tostring(). */
struct lsh_l_fd {
	int fd;
	const char *kind;
};
/* Creates a closed handle first, so that a raise leaks nothing; the caller then stores fd. */
struct lsh_l_fd *lsh_l_newfd(lua_State *L, const char *kind);
struct lsh_l_fd *lsh_l_checkfd(lua_State *L, int idx);
/* A primitive's fd in a handle: h (made with lsh_l_newfd before the fd existed, so on the
 * stack already) takes fd and is the result; or what lsh_l_fail pushes when fd < 0. */
int lsh_l_handle(lua_State *L, struct lsh_l_fd *h, int fd, struct lsh_err *err);
/* An fd argument: a handle or a plain integer. */
int lsh_l_tofd(lua_State *L, int idx);

/* Whether lunshare's own code holds off interrupts (cpu_hold): another hook that stops
 * Lua code (the REPL's Ctrl-C) waits while this is true. Safe in a hook. */
int lsh_l_cpu_held(void);

/* The plan cache's canonical serialization (l_serial.c): lsh_l_serialize pushes the bytes
 * of the value at idx (raising on a function, userdata or cycle); lsh_l_digest pushes the
 * SHA-256 (hex) of the serialization of table.pack(the n values from first), or nil when
 * they cannot be serialized; lsh_l_deserialize pushes the value of s (bounded) and returns
 * 1, or pushes nil and why and returns 2. */
void lsh_l_serialize(lua_State *L, int idx);
/* Pushes the SHA-256 (hex) of the serialization of the value at idx (raising as
 * lsh_l_serialize does): a plan cache key, a recorded answer's digest. */
void lsh_l_push_digest_of(lua_State *L, int idx);
void lsh_l_digest(lua_State *L, int first, int n);
int lsh_l_deserialize(lua_State *L, const char *s, size_t len);

/* The executable's plan cache hit before any script loads (l_fastrun.c): LSH_FAST_NONE when
 * it is not this path's to serve and nothing was done; LSH_FAST_DONE with *status the
 * exit status; LSH_FAST_HANDED when the command ran and lunshare.cmd.run reports its end
 * (core.handed_run). L: a fresh state, whose lunshare.core it loads. */
enum { LSH_FAST_NONE, LSH_FAST_DONE, LSH_FAST_HANDED };
int lsh_fast_run(lua_State *L, int argc, char **argv, int *status);

/* Each binding file registers its functions into the module table on the top of the stack. */
void lsh_l_open_util(lua_State *L);
void lsh_l_open_serial(lua_State *L);
void lsh_l_open_plancache(lua_State *L);
void lsh_l_open_fastrun(lua_State *L);
void lsh_l_open_ns(lua_State *L);
void lsh_l_open_idmap(lua_State *L);
void lsh_l_open_proc(lua_State *L);
void lsh_l_open_plan(lua_State *L);
void lsh_l_open_net(lua_State *L);
void lsh_l_open_mount(lua_State *L);
void lsh_l_open_bounds(lua_State *L);
void lsh_l_open_security(lua_State *L);
void lsh_l_open_state(lua_State *L);
void lsh_l_open_files(lua_State *L);

LSH_LUA_EXPORT int luaopen_lunshare_core(lua_State *L);

#endif
