/* A memory bound for evaluating untrusted profiles. A profile is Lua code from anywhere;
 * an instruction-count hook alone cannot stop it allocating, because one instruction can
 * allocate without bound (`s .. s .. s …` with 200 operands, table.concat of one big
 * string repeated). So while a profile runs, the state's allocator is wrapped by one that
 * counts the bytes allocated since it was installed and refuses to grow past a limit:
 * Lua then raises "not enough memory" before the memory is ever touched. */
#include <stddef.h>
#include <stdint.h>

#include "lcore.h"

#define LIMIT_KEY "lunshare.memory_limit"

struct limit {
	lua_Alloc prev;
	void *prev_ud;
	ptrdiff_t limit;
	ptrdiff_t used; /* since install, never below 0 */
	/* The last refused request, until Lua retries it successfully. */
	int pending;
	void *pending_ptr;
	size_t pending_size;
	int exceeded;
};

static void *limited_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct limit *l = ud;
	/* With ptr == NULL, osize is the kind of object, not a size (lua_Alloc docs). */
	ptrdiff_t old = ptr ? (ptrdiff_t)osize : 0;
	ptrdiff_t grow = (ptrdiff_t)nsize - old;
	if (grow > 0 && (nsize > (size_t)PTRDIFF_MAX / 2 || l->used + grow > l->limit)) {
		l->pending = 1;
		l->pending_ptr = ptr;
		l->pending_size = nsize;
		return NULL;
	}
	void *p = l->prev(l->prev_ud, ptr, osize, nsize);
	/* Frees of blocks older than the bound give no credit (the caller collects
	 * garbage before installing it; this covers what is left). */
	if (p != NULL || nsize == 0)
		l->used = l->used + grow < 0 ? 0 : l->used + grow;
	if (p != NULL && grow > 0 && l->pending) {
		/* The core answers a refusal with a full collection and one retry: a
		 * retry that fits means the memory was garbage. lauxlib's buffers do not
		 * retry, so any other allocation means the refusal stood. */
		if (ptr == l->pending_ptr && nsize == l->pending_size)
			l->pending = 0;
		else
			l->exceeded = 1;
	}
	return p;
}

static struct limit *installed(lua_State *L)
{
	void *ud;
	lua_Alloc f = lua_getallocf(L, &ud);
	return f == limited_alloc ? ud : NULL;
}

/* memory_limit(bytes): from now on the state may allocate at most bytes more.
 * memory_limit(nil): removes the bound; returns whether it was reached. */
static int l_memory_limit(lua_State *L)
{
	struct limit *l = installed(L);
	lsh_l_check_nargs(L, 1);
	if (lua_isnoneornil(L, 1)) {
		if (l == NULL)
			return luaL_error(L, "memory_limit: no limit is installed");
		int exceeded = l->exceeded || l->pending;
		lua_setallocf(L, l->prev, l->prev_ud);
		/* The userdata holding l may be collected now. */
		lua_pushnil(L);
		lua_setfield(L, LUA_REGISTRYINDEX, LIMIT_KEY);
		lua_pushboolean(L, exceeded);
		return 1;
	}
	lua_Integer bytes = luaL_checkinteger(L, 1);
	luaL_argcheck(L, bytes > 0, 1, "expected a positive number of bytes");
	if (l != NULL)
		return luaL_error(L, "memory_limit: a limit is already installed");
	l = lua_newuserdatauv(L, sizeof *l, 0);
	l->prev = lua_getallocf(L, &l->prev_ud);
	l->limit = (ptrdiff_t)bytes;
	l->used = 0;
	l->pending = 0;
	l->pending_ptr = NULL;
	l->pending_size = 0;
	l->exceeded = 0;
	/* Anchored in the registry so that it outlives every allocation it counts. */
	lua_setfield(L, LUA_REGISTRYINDEX, LIMIT_KEY);
	lua_setallocf(L, limited_alloc, l);
	lua_pushboolean(L, 1);
	return 1;
}

/* memory_exceeded(): whether the installed bound refused an allocation. */
static int l_memory_exceeded(lua_State *L)
{
	struct limit *l = installed(L);
	lsh_l_check_nargs(L, 0);
	lua_pushboolean(L, l != NULL && (l->exceeded || l->pending));
	return 1;
}

void lsh_l_open_sandbox(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "memory_limit", l_memory_limit },
		{ "memory_exceeded", l_memory_exceeded },
		{ NULL, NULL },
	};
	luaL_setfuncs(L, fns, 0);
}
