/* A canonical serialization of Lua data, for the plan cache (lunshare.plancache): equal
 * values give equal bytes, so a digest of the bytes compares values. In C because a cache
 * hit serializes its key and every replayed answer and decodes its whole entry, and in Lua
 * that was most of a hit's time (issue #14).
 *
 * The form, length-prefixed so that no value needs escaping:
 *   n  nil            T, F  true, false
 *   i<decimal>;       an integer
 *   f<%.17g>;         a float
 *   s<len>:<bytes>    a string
 *   t<key value>...e  a table, its keys sorted: numbers by value, then strings bytewise
 * Keys are numbers or strings; values are those, booleans and tables (no functions, no
 * userdata, no cycles). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lcore.h"

/* Deeper than any plan or recorded answer; a cycle reaches it and is refused. */
#define SER_MAX_DEPTH 64
/* What deserialize accepts: the cache's entries are files, so bounded. */
#define DE_MAX_DEPTH 32
#define DE_MAX_ITEMS 200000

/* The bytes being written: a userdata, so that a raise (an unserializable value, memory)
 * frees them with the rest of the garbage. A luaL_Buffer cannot be used: it keeps a slot on
 * the stack, and the walk below pushes and pops around its writes. */
struct sbuf {
	char *p;
	size_t len, cap;
};

static int sbuf_gc(lua_State *L)
{
	struct sbuf *b = lua_touserdata(L, 1);
	free(b->p);
	b->p = NULL;
	return 0;
}

static struct sbuf *sbuf_new(lua_State *L)
{
	struct sbuf *b = lua_newuserdatauv(L, sizeof *b, 0);
	*b = (struct sbuf){ 0 };
	if (luaL_newmetatable(L, "lunshare.serial_buffer")) {
		lua_pushcfunction(L, sbuf_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_setmetatable(L, -2);
	return b;
}

static void sbuf_add(lua_State *L, struct sbuf *b, const char *s, size_t n)
{
	if (n > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap - b->len < n) {
			if (cap > ((size_t)-1) / 2)
				luaL_error(L, "not enough memory");
			cap *= 2;
		}
		char *p = realloc(b->p, cap);
		if (!p)
			luaL_error(L, "not enough memory");
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

/* Sorts the keys of a table: numbers first, by value; then strings, bytewise. */
static int key_less(lua_State *L, int a, int b)
{
	int ta = lua_type(L, a), tb = lua_type(L, b);
	if (ta != tb)
		return ta == LUA_TNUMBER;
	if (ta == LUA_TNUMBER)
		return lua_compare(L, a, b, LUA_OPLT);
	size_t la, lb;
	const char *sa = lua_tolstring(L, a, &la), *sb = lua_tolstring(L, b, &lb);
	int c = memcmp(sa, sb, la < lb ? la : lb);
	return c < 0 || (c == 0 && la < lb);
}

/* Sorts keys[1..n] (a sequence at index keys) with key_less: a bottom-up merge sort through
 * a second sequence, O(n log n) whatever the keys (the state may have no table library). */
static void sort_keys(lua_State *L, int keys, lua_Integer n)
{
	lua_createtable(L, (int)n, 0);
	int tmp = lua_gettop(L);
	for (lua_Integer width = 1; width < n; width *= 2) {
		for (lua_Integer lo = 1; lo <= n; lo += 2 * width) {
			lua_Integer mid = lo + width > n + 1 ? n + 1 : lo + width;
			lua_Integer hi = lo + 2 * width > n + 1 ? n + 1 : lo + 2 * width;
			lua_Integer i = lo, j = mid, k = lo;
			while (i < mid || j < hi) {
				int left = j >= hi;
				if (i < mid && j < hi) {
					lua_rawgeti(L, keys, j);
					lua_rawgeti(L, keys, i);
					left = !key_less(L, -2, -1);
					lua_pop(L, 2);
				}
				lua_rawgeti(L, keys, left ? i++ : j++);
				lua_rawseti(L, tmp, k++);
			}
		}
		for (lua_Integer k = 1; k <= n; k++) {
			lua_rawgeti(L, tmp, k);
			lua_rawseti(L, keys, k);
		}
	}
	lua_pop(L, 1);
}

/* The keys of the table at idx, sorted, in a new sequence on the stack; returns how many. */
static lua_Integer sorted_keys(lua_State *L, int idx)
{
	lua_newtable(L);
	int keys = lua_gettop(L);
	lua_Integer n = 0;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		int kt = lua_type(L, -1);
		if (kt != LUA_TSTRING && kt != LUA_TNUMBER)
			luaL_error(L, "unserializable key");
		lua_pushvalue(L, -1);
		lua_rawseti(L, keys, ++n);
	}
	sort_keys(L, keys, n);
	return n;
}

/* Appends the value at idx (absolute) to b. */
static void ser(lua_State *L, int idx, struct sbuf *b, int depth)
{
	char num[64];
	int n;
	switch (lua_type(L, idx)) {
	case LUA_TNIL:
		sbuf_add(L, b, "n", 1);
		return;
	case LUA_TBOOLEAN:
		sbuf_add(L, b, lua_toboolean(L, idx) ? "T" : "F", 1);
		return;
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			n = snprintf(num, sizeof num, "i" LUA_INTEGER_FMT ";", (LUAI_UACINT)lua_tointeger(L, idx));
		else
			n = snprintf(num, sizeof num, "f%.17g;", (double)lua_tonumber(L, idx));
		sbuf_add(L, b, num, (size_t)n);
		return;
	case LUA_TSTRING: {
		size_t len;
		const char *s = lua_tolstring(L, idx, &len);
		n = snprintf(num, sizeof num, "s%zu:", len);
		sbuf_add(L, b, num, (size_t)n);
		sbuf_add(L, b, s, len);
		return;
	}
	case LUA_TTABLE: {
		if (depth > SER_MAX_DEPTH)
			luaL_error(L, "unserializable table: nested too deep (a cycle?)");
		luaL_checkstack(L, 8, "serialize");
		lua_Integer count = sorted_keys(L, idx);
		int keys = lua_gettop(L);
		sbuf_add(L, b, "t", 1);
		for (lua_Integer i = 1; i <= count; i++) {
			lua_rawgeti(L, keys, i);
			ser(L, lua_gettop(L), b, depth + 1);
			lua_rawget(L, idx);
			ser(L, lua_gettop(L), b, depth + 1);
			lua_pop(L, 1);
		}
		sbuf_add(L, b, "e", 1);
		lua_pop(L, 1);
		return;
	}
	default:
		luaL_error(L, "unserializable %s", luaL_typename(L, idx));
	}
}

void lsh_l_serialize(lua_State *L, int idx)
{
	idx = lua_absindex(L, idx);
	struct sbuf *b = sbuf_new(L);
	ser(L, idx, b, 0);
	lua_pushlstring(L, b->p ? b->p : "", b->len);
	lua_remove(L, -2);
}

/* serialize(value) -> bytes; raises on what cannot be serialized. */
static int l_serialize(lua_State *L)
{
	luaL_checkany(L, 1);
	lua_settop(L, 1);
	lsh_l_serialize(L, 1);
	return 1;
}

void lsh_l_push_digest_of(lua_State *L, int idx)
{
	lsh_l_serialize(L, idx);
	size_t len;
	const char *s = lua_tolstring(L, -1, &len);
	char hex[2 * LSH_SHA256_SIZE + 1];
	lsh_sha256_hex(s, len, hex);
	lua_pop(L, 1);
	lua_pushstring(L, hex);
}

/* The SHA-256 (hex) of serialize(table.pack(...)), raising on what cannot be serialized. */
static int pack_digest(lua_State *L)
{
	int n = lua_gettop(L);
	lua_createtable(L, n, 1);
	for (int i = 1; i <= n; i++) {
		lua_pushvalue(L, i);
		lua_rawseti(L, -2, i);
	}
	lua_pushinteger(L, n);
	lua_setfield(L, -2, "n");
	lsh_l_push_digest_of(L, -1);
	return 1;
}

void lsh_l_digest(lua_State *L, int first, int n)
{
	first = lua_absindex(L, first);
	if (!lua_checkstack(L, n + 1)) {
		lua_pushnil(L);
		return;
	}
	lua_pushcfunction(L, pack_digest);
	for (int i = 0; i < n; i++)
		lua_pushvalue(L, first + i);
	if (lua_pcall(L, n, 1, 0) != LUA_OK) {
		lua_pop(L, 1);
		lua_pushnil(L);
	}
}

/* digest(...) -> hex | nil: nil when an argument cannot be serialized (the plan cache's
 * comparison of a recorded answer; such an answer makes a plan uncacheable). */
static int l_digest(lua_State *L)
{
	lsh_l_digest(L, 1, lua_gettop(L));
	return 1;
}

/* ---- deserialize ---- */

struct de {
	const char *s;
	size_t len, pos;
	long items;
	const char *why;
};

/* Reads the number text up to ';' and pushes it: as tonumber reads it, and for an integer
 * as math.tointeger takes it. 0 when it is no such number. */
static int de_number(lua_State *L, struct de *d, int integer)
{
	const char *at = d->s + d->pos;
	const char *semi = memchr(at, ';', d->len - d->pos);
	size_t n = semi ? (size_t)(semi - at) : 0;
	char text[64];
	if (!semi || n == 0 || n >= sizeof text || memchr(at, '\0', n))
		return 0;
	memcpy(text, at, n);
	text[n] = '\0';
	d->pos += n + 1;
	if (lua_stringtonumber(L, text) == 0)
		return 0;
	if (integer && !lua_isinteger(L, -1)) {
		lua_Integer i;
		int ok = lua_numbertointeger(lua_tonumber(L, -1), &i) && (lua_Number)i == lua_tonumber(L, -1);
		lua_pop(L, 1);
		if (!ok)
			return 0;
		lua_pushinteger(L, i);
	}
	return 1;
}

/* Pushes the next value (nil included) and returns 1, or sets d->why and returns 0. */
static int de_value(lua_State *L, struct de *d, int depth)
{
	if (depth > DE_MAX_DEPTH)
		return d->why = "too deep", 0;
	if (++d->items > DE_MAX_ITEMS)
		return d->why = "too many values", 0;
	if (d->pos >= d->len)
		return d->why = "a value", 0;
	luaL_checkstack(L, 4, "deserialize");
	char c = d->s[d->pos++];
	switch (c) {
	case 'n':
		lua_pushnil(L);
		return 1;
	case 'T':
	case 'F':
		lua_pushboolean(L, c == 'T');
		return 1;
	case 'i':
	case 'f':
		if (!de_number(L, d, c == 'i'))
			return d->why = "a number", 0;
		return 1;
	case 's': {
		size_t start = d->pos, n = 0;
		while (d->pos < d->len && d->s[d->pos] >= '0' && d->s[d->pos] <= '9')
			d->pos++;
		size_t digits = d->pos - start;
		if (digits == 0 || digits > 8 || d->pos >= d->len || d->s[d->pos] != ':')
			return d->why = "a string", 0;
		for (size_t i = start; i < d->pos; i++)
			n = n * 10 + (size_t)(d->s[i] - '0');
		d->pos++;
		if (n > d->len - d->pos)
			return d->why = "a string", 0;
		lua_pushlstring(L, d->s + d->pos, n);
		d->pos += n;
		return 1;
	}
	case 't':
		lua_newtable(L);
		for (;;) {
			if (d->pos >= d->len)
				return d->why = "end of table", 0;
			if (d->s[d->pos] == 'e')
				break;
			if (!de_value(L, d, depth + 1))
				return 0;
			if (lua_isnil(L, -1) || (lua_type(L, -1) == LUA_TNUMBER && !lua_isinteger(L, -1) &&
							 isnan(lua_tonumber(L, -1))))
				return d->why = "a key", 0;
			if (!de_value(L, d, depth + 1))
				return 0;
			lua_rawset(L, -3);
		}
		d->pos++;
		return 1;
	default:
		return d->why = "a value", 0;
	}
}

int lsh_l_deserialize(lua_State *L, const char *s, size_t len)
{
	struct de d = { s, len, 0, 0, NULL };
	int top = lua_gettop(L);
	if (!de_value(L, &d, 1)) {
		lua_settop(L, top);
		lua_pushnil(L);
		lua_pushstring(L, d.why);
		return 2;
	}
	if (d.pos != d.len) {
		lua_settop(L, top);
		lua_pushnil(L);
		lua_pushliteral(L, "trailing bytes");
		return 2;
	}
	return 1;
}

/* deserialize(bytes) -> value | nil, why: bounded, for text read from a file. */
static int l_deserialize(lua_State *L)
{
	size_t len;
	const char *s = luaL_checklstring(L, 1, &len);
	return lsh_l_deserialize(L, s, len);
}

void lsh_l_open_serial(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "serialize", l_serialize },
		{ "deserialize", l_deserialize },
		{ "digest", l_digest },
		{ NULL, NULL },
	};
	luaL_setfuncs(L, fns, 0);
}
