/* The plan cache's key and its check of an entry, in C: `lunshare run` serves a hit from
 * here before any script is loaded (l_fastrun.c), and lunshare.plancache calls the same
 * functions, so that what makes a key and what makes an entry valid is written once.
 * What the cache is, and why each input is in the key or recorded, is lunshare.plancache's
 * header; this file is its mechanism. The recorder (a miss) stays in Lua, beside the
 * planner it watches.
 *
 * Each function takes lunshare.core's table as its upvalue: an entry's recorded calls are
 * replayed through the very functions a miss recorded. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lcore.h"

/* 2: the entry's checksum is FNV-1a (1 was SHA-256, a third of a hit's instructions). */
#define FORMAT "lunshare-plan-cache 2"
#define AREA "plans"
#define MAX_SIZE (1 << 20)

/* The host readers a miss records and a hit replays (lunshare.plancache.RECORDED). */
static const char *const recorded[] = {
	"read_file", "dir_list", "resolve", "user", "subid", "ids", "isatty", "foreground",
	"kind", "file_id", "readlink", "uname", "has_syscall", "environ", NULL,
};

static int is_recorded(const char *name)
{
	for (const char *const *r = recorded; *r; r++)
		if (strcmp(*r, name) == 0)
			return 1;
	return 0;
}

static const char *env_set(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

/* Pushes the state directories' trusted root and the path beneath it, decided from the
 * real uid: root's /run; a user's $XDG_RUNTIME_DIR; else /tmp/lunshare-UID (which
 * lunshare.state refuses when another user made it). */
static void push_base(lua_State *L)
{
	uid_t uid = getuid();
	const char *xdg = env_set("XDG_RUNTIME_DIR");
	if (uid == 0) {
		lua_pushliteral(L, "/run");
		lua_pushliteral(L, "lunshare");
	} else if (xdg) {
		lua_pushstring(L, xdg);
		lua_pushliteral(L, "lunshare");
	} else {
		lua_pushliteral(L, "/tmp");
		lua_pushfstring(L, "lunshare-%d/lunshare", (int)uid);
	}
}

/* state_base() -> root, path (lunshare.state.base) */
static int l_state_base(lua_State *L)
{
	lsh_l_check_nargs(L, 0);
	push_base(L);
	return 2;
}

/* Calls core[name] with the nargs values on the top of the stack, in protected mode;
 * leaves nret results (or nret nils when it raised) and returns whether it ran. */
static int call_core(lua_State *L, const char *name, int nargs, int nret)
{
	lua_getfield(L, lua_upvalueindex(1), name);
	lua_insert(L, -nargs - 1);
	if (lua_pcall(L, nargs, nret, 0) != LUA_OK) {
		lua_pop(L, 1);
		for (int i = 0; i < nret; i++)
			lua_pushnil(L);
		return 0;
	}
	return 1;
}

/* plancache_key(words, has_command) -> key | nil: nil when there is no cache
 * (LUNSHARE_SCRIPTS, no build id, or a user with no place for it). words: run's
 * arguments before the command. */
static int l_plancache_key(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	int has_command = lua_toboolean(L, 2);
	lua_settop(L, 1);
	/* A user without XDG_RUNTIME_DIR has no place: a plain run does not make
	 * /tmp/lunshare-UID (the state fallback, for what must be kept) to save time. */
	int place = env_set("LUNSHARE_CACHE_DIR") || getuid() == 0 || env_set("XDG_RUNTIME_DIR");
	if (env_set("LUNSHARE_SCRIPTS") || !place)
		return 0;
	call_core(L, "build_id", 0, 1);
	if (lua_isnil(L, -1))
		return 0;
	int build = lua_gettop(L);
	call_core(L, "ids", 0, 1);
	if (!lua_istable(L, -1))
		return 0;
	int ids = lua_gettop(L);
	lua_pushnil(L);
	lua_setfield(L, ids, "pid");
	/* { FORMAT, version, build, ids, words, has_command, root, path } */
	lua_createtable(L, 8, 0);
	lua_pushliteral(L, FORMAT);
	lua_rawseti(L, -2, 1);
	lua_getfield(L, lua_upvalueindex(1), "version");
	lua_rawseti(L, -2, 2);
	lua_pushvalue(L, build);
	lua_rawseti(L, -2, 3);
	lua_pushvalue(L, ids);
	lua_rawseti(L, -2, 4);
	lua_pushvalue(L, 1);
	lua_rawseti(L, -2, 5);
	lua_pushboolean(L, has_command);
	lua_rawseti(L, -2, 6);
	push_base(L);
	lua_rawseti(L, -3, 8);
	lua_rawseti(L, -2, 7);
	lsh_l_push_digest_of(L, -1);
	return 1;
}

/* Pushes getenv(name) as Lua sees it: the value or nil. */
static void push_env(lua_State *L, int idx)
{
	const char *v = lua_type(L, idx) == LUA_TSTRING ? getenv(lua_tostring(L, idx)) : NULL;
	if (v)
		lua_pushstring(L, v);
	else
		lua_pushnil(L);
}

/* Whether the recorded call at idx ({ name, serialized args, digest }) answers now as it
 * did. Leaves the stack as it found it. */
static int replay(lua_State *L, int idx)
{
	int top = lua_gettop(L);
	int same = 0;
	lua_rawgeti(L, idx, 1);
	lua_rawgeti(L, idx, 2);
	lua_rawgeti(L, idx, 3);
	if (lua_type(L, top + 1) != LUA_TSTRING || lua_type(L, top + 2) != LUA_TSTRING ||
	    lua_type(L, top + 3) != LUA_TSTRING)
		goto out;
	const char *name = lua_tostring(L, top + 1);
	size_t alen;
	const char *a = lua_tolstring(L, top + 2, &alen);
	if (lsh_l_deserialize(L, a, alen) != 1 || !lua_istable(L, -1))
		goto out;
	int args = lua_gettop(L);
	int base = lua_gettop(L);
	if (strcmp(name, "getenv") == 0) {
		lua_rawgeti(L, args, 1);
		push_env(L, -1);
		lsh_l_digest(L, -1, 1);
	} else if (strcmp(name, "environ_all") == 0) {
		call_core(L, "environ", 0, 1);
		lsh_l_digest(L, -1, 1);
	} else if (strcmp(name, "environ_kept") == 0) {
		/* The kept variables' values, false for an unset one. */
		lua_newtable(L);
		lua_Integer n = luaL_len(L, args);
		for (lua_Integer i = 1; i <= n; i++) {
			lua_rawgeti(L, args, i);
			push_env(L, -1);
			if (lua_isnil(L, -1)) {
				lua_pop(L, 1);
				lua_pushboolean(L, 0);
			}
			lua_rawseti(L, -3, i);
			lua_pop(L, 1);
		}
		lsh_l_digest(L, -1, 1);
	} else if (is_recorded(name)) {
		lua_getfield(L, args, "n");
		lua_Integer n = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : -1;
		lua_pop(L, 1);
		if (n < 0 || n > 8)
			goto out;
		luaL_checkstack(L, (int)n + 4, "replay");
		for (lua_Integer i = 1; i <= n; i++)
			lua_rawgeti(L, args, i);
		lua_getfield(L, lua_upvalueindex(1), name);
		lua_insert(L, -(int)n - 1);
		if (lua_pcall(L, (int)n, LUA_MULTRET, 0) != LUA_OK)
			goto out;
		int nres = lua_gettop(L) - base;
		/* core.ids without the pid, which the planner never reads and which differs
		 * every run. */
		if (strcmp(name, "ids") == 0 && nres >= 1 && lua_istable(L, base + 1)) {
			lua_pushnil(L);
			lua_setfield(L, base + 1, "pid");
		}
		lsh_l_digest(L, base + 1, nres);
	} else {
		goto out;
	}
	same = lua_type(L, -1) == LUA_TSTRING && lua_rawequal(L, -1, top + 3);
out:
	lua_settop(L, top);
	return same;
}

/* The checksum of an entry's body: 64-bit FNV-1a, as 16 hex digits. It detects damage, not
 * forgery: the directory is the user's own and private (statedir), and anyone who can write
 * an entry there could recompute any unkeyed sum, SHA-256 as well. What stops a foreign plan
 * is the key inside the body, the replayed calls (SHA-256 digests) and the plan's validation.
 * FNV-1a's step is a bijection of the state for each byte, so any one changed byte changes
 * the sum; a truncated or extended body (no length is stored) is caught as any other
 * damage is, with odds of 2^-64 of a miss. */
#define SUM_LEN 16
static void entry_sum(const char *body, size_t len, char out[SUM_LEN + 1])
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)body[i];
		h *= 0x100000001b3ULL;
	}
	static const char hex[] = "0123456789abcdef";
	for (int i = SUM_LEN - 1; i >= 0; i--, h >>= 4)
		out[i] = hex[h & 15];
	out[SUM_LEN] = 0;
}

/* plancache_entry(body) -> text: FORMAT "\n" sum "\n" body, what plancache_load reads. */
static int l_plancache_entry(lua_State *L)
{
	size_t len;
	const char *body = luaL_checklstring(L, 1, &len);
	char sum[SUM_LEN + 1];
	entry_sum(body, len, sum);
	lua_pushliteral(L, FORMAT "\n");
	lua_pushstring(L, sum);
	lua_pushliteral(L, "\n");
	lua_pushvalue(L, 1);
	lua_concat(L, 4);
	return 1;
}

/* Pushes nil and why; returns 2. */
static int miss(lua_State *L, const char *why)
{
	lua_pushnil(L);
	lua_pushstring(L, why);
	return 2;
}

/* plancache_load(key) -> { plan = …, meta = … } | nil, why: the cached entry for key when
 * it is this user's, intact, for this key, every recorded call answers as it did, and its
 * plan decodes and validates; else a miss and why. */
static int l_plancache_load(lua_State *L)
{
	lsh_l_checkstring(L, 1);
	lua_settop(L, 1);
	/* The directory: LUNSHARE_CACHE_DIR's (tests) or the state base's. */
	const char *root = env_set("LUNSHARE_CACHE_DIR");
	if (root) {
		lua_pushstring(L, root);
		lua_pushliteral(L, AREA);
	} else {
		push_base(L);
		lua_pushliteral(L, "/" AREA);
		lua_concat(L, 2);
	}
	lua_pushboolean(L, 0);
	call_core(L, "statedir", 3, 1);
	if (lua_isnil(L, -1))
		return miss(L, "no cache directory");
	int dir = lua_gettop(L);
	lua_pushvalue(L, dir);
	lua_pushvalue(L, 1);
	lua_pushinteger(L, MAX_SIZE);
	call_core(L, "state_read", 3, 1);
	/* The directory's fd closes now rather than at collection. */
	lua_getfield(L, dir, "close");
	lua_pushvalue(L, dir);
	if (lua_pcall(L, 1, 0, 0) != LUA_OK)
		lua_pop(L, 1);
	if (lua_type(L, -1) != LUA_TSTRING)
		return miss(L, "no entry (or not a regular file of this user's)");
	size_t len;
	const char *text = lua_tolstring(L, -1, &len);
	/* FORMAT "\n" hex-sum "\n" body */
	const char *nl1 = memchr(text, '\n', len);
	const char *nl2 = nl1 ? memchr(nl1 + 1, '\n', len - (size_t)(nl1 + 1 - text)) : NULL;
	char sum[SUM_LEN + 1];
	if (!nl2 || (size_t)(nl1 - text) != strlen(FORMAT) || memcmp(text, FORMAT, strlen(FORMAT)) != 0 ||
	    nl2 - nl1 - 1 != SUM_LEN)
		return miss(L, "not an entry of this format, or damaged");
	const char *body = nl2 + 1;
	size_t blen = len - (size_t)(body - text);
	entry_sum(body, blen, sum);
	if (memcmp(sum, nl1 + 1, SUM_LEN) != 0)
		return miss(L, "not an entry of this format, or damaged");
	if (lsh_l_deserialize(L, body, blen) != 1 || !lua_istable(L, -1))
		return miss(L, "not an entry for this key");
	int e = lua_gettop(L);
	lua_getfield(L, e, "key");
	int key_ok = lua_rawequal(L, -1, 1);
	lua_getfield(L, e, "calls");
	lua_getfield(L, e, "plan");
	lua_getfield(L, e, "meta");
	if (!key_ok || !lua_istable(L, -3) || lua_type(L, -2) != LUA_TSTRING || !lua_istable(L, -1))
		return miss(L, "not an entry for this key");
	int calls = e + 2, plan = e + 3, meta = e + 4;
	lua_Integer n = luaL_len(L, calls);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, calls, i);
		int ok = lua_istable(L, -1) && replay(L, lua_gettop(L));
		lua_pop(L, 1);
		if (!ok)
			return miss(L, "an input changed");
	}
	lua_pushvalue(L, plan);
	call_core(L, "plan_decode", 1, 1);
	if (!lua_istable(L, -1))
		return miss(L, "its plan does not decode or validate");
	lua_createtable(L, 0, 2);
	lua_insert(L, -2);
	lua_setfield(L, -2, "plan");
	lua_pushvalue(L, meta);
	lua_setfield(L, -2, "meta");
	return 1;
}

void lsh_l_open_plancache(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "plancache_key", l_plancache_key },
		{ "plancache_load", l_plancache_load },
		{ "plancache_entry", l_plancache_entry },
		{ "state_base", l_state_base },
		{ NULL, NULL },
	};
	lua_pushvalue(L, -1);
	luaL_setfuncs(L, fns, 1);
	lua_pushliteral(L, FORMAT);
	lua_setfield(L, -2, "PLANCACHE_FORMAT");
	lua_pushliteral(L, AREA);
	lua_setfield(L, -2, "PLANCACHE_AREA");
	lua_newtable(L);
	for (const char *const *r = recorded; *r; r++) {
		lua_pushboolean(L, 1);
		lua_setfield(L, -2, *r);
	}
	lua_setfield(L, -2, "PLANCACHE_RECORDED");
}
