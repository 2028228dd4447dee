/* Bounds for work on untrusted profiles. A profile is Lua code from anywhere; an
 * instruction-count hook alone cannot stop it allocating, because one instruction can
 * allocate without bound (`s .. s .. s …` with 200 operands, table.concat of one big
 * string repeated). So while a profile runs, the state's allocator is wrapped by one that
 * counts the bytes allocated since it was installed and refuses to grow past a limit:
 * Lua then raises "not enough memory" before the memory is ever touched. Limits nest:
 * the whole of `check` runs under one, the profile's own evaluation under a smaller one
 * inside it, and an allocation must fit both.
 *
 * Nor can a hook interrupt one long call into C. The Lua side charges the library calls a
 * profile can make for their work before they run; cpu_limit() is the backstop behind
 * that accounting: past a hard limit of CPU time the process prints one line and exits 2,
 * as RLIMIT_CPU would, whatever it was doing. Nothing has been created while a profile is
 * loaded, so there is nothing to tear down. */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
		/* Live data that a full collection leaves within an eighth of the limit
		 * would have every later allocation collect again, for a few bytes each
		 * time: that is the limit reached too. */
		if (l->used > l->limit - l->limit / 8)
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

/* memory_limit(bytes): from now on the state may allocate at most bytes more, within any
 * limit already installed (limits nest).
 * memory_limit(nil): removes the innermost limit; returns whether it was reached. */
static int l_memory_limit(lua_State *L)
{
	struct limit *l = installed(L);
	lsh_l_check_nargs(L, 1);
	if (lua_isnoneornil(L, 1)) {
		if (l == NULL)
			return luaL_error(L, "memory_limit: no limit is installed");
		int exceeded = l->exceeded || l->pending;
		lua_setallocf(L, l->prev, l->prev_ud);
		/* The enclosing limit's userdata becomes the anchor again; this one may be
		 * collected now. */
		lua_getfield(L, LUA_REGISTRYINDEX, LIMIT_KEY);
		lua_getiuservalue(L, -1, 1);
		lua_setfield(L, LUA_REGISTRYINDEX, LIMIT_KEY);
		lua_pop(L, 1);
		lua_pushboolean(L, exceeded);
		return 1;
	}
	lua_Integer bytes = luaL_checkinteger(L, 1);
	luaL_argcheck(L, bytes > 0, 1, "expected a positive number of bytes");
	l = lua_newuserdatauv(L, sizeof *l, 1);
	l->prev = lua_getallocf(L, &l->prev_ud);
	l->limit = (ptrdiff_t)bytes;
	l->used = 0;
	l->pending = 0;
	l->pending_ptr = NULL;
	l->pending_size = 0;
	l->exceeded = 0;
	/* Anchored in the registry so that it outlives every allocation it counts; it
	 * holds the enclosing limit's userdata, which must outlive it in turn. */
	lua_getfield(L, LUA_REGISTRYINDEX, LIMIT_KEY);
	lua_setiuservalue(L, -2, 1);
	lua_setfield(L, LUA_REGISTRYINDEX, LIMIT_KEY);
	lua_setallocf(L, limited_alloc, l);
	lua_pushboolean(L, 1);
	return 1;
}

/* memory_exceeded(): whether any installed limit refused an allocation. */
static int l_memory_exceeded(lua_State *L)
{
	lsh_l_check_nargs(L, 0);
	int exceeded = 0;
	for (struct limit *l = installed(L); l != NULL;
	     l = l->prev == limited_alloc ? l->prev_ud : NULL)
		exceeded = exceeded || l->exceeded || l->pending;
	lua_pushboolean(L, exceeded);
	return 1;
}

/* The CPU backstop. Its state is the process's (a signal handler has no other), so
 * there is one at a time. */
static timer_t cpu_timer;
static int cpu_timer_made;
static char cpu_message[512];
static size_t cpu_message_len;

static void on_cpu_limit(int sig)
{
	(void)sig;
	/* Only async-signal-safe calls: the message was formatted when the limit was set. */
	ssize_t r = write(STDERR_FILENO, cpu_message, cpu_message_len);
	(void)r;
	_exit(2);
}

/* cpu_limit(seconds, message): when this process has used seconds more of CPU time,
 * message (one line) goes to stderr and the process exits 2. cpu_limit(nil): disarms. */
static int l_cpu_limit(lua_State *L)
{
	lsh_l_check_nargs(L, 2);
	struct itimerspec its;
	memset(&its, 0, sizeof its);
	if (lua_isnoneornil(L, 1)) {
		if (cpu_timer_made && timer_settime(cpu_timer, 0, &its, NULL) != 0)
			return luaL_error(L, "cpu_limit: timer_settime: %s", strerror(errno));
		lua_pushboolean(L, 1);
		return 1;
	}
	lua_Number seconds = luaL_checknumber(L, 1);
	size_t len;
	const char *msg = luaL_checklstring(L, 2, &len);
	luaL_argcheck(L, seconds > 0 && seconds < 1e6, 1, "expected a number of seconds above 0");
	if (len > sizeof cpu_message - 2)
		len = sizeof cpu_message - 2;
	if (!cpu_timer_made) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_cpu_limit;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGXCPU, &sa, NULL) != 0)
			return luaL_error(L, "cpu_limit: sigaction: %s", strerror(errno));
		struct sigevent sev;
		memset(&sev, 0, sizeof sev);
		sev.sigev_notify = SIGEV_SIGNAL;
		sev.sigev_signo = SIGXCPU;
		/* A POSIX timer is not inherited by a child, so a sandbox never sees it. */
		if (timer_create(CLOCK_PROCESS_CPUTIME_ID, &sev, &cpu_timer) != 0)
			return luaL_error(L, "cpu_limit: timer_create: %s", strerror(errno));
		cpu_timer_made = 1;
	}
	/* Disarmed while the message changes, so the handler never reads half of one. */
	timer_settime(cpu_timer, 0, &its, NULL);
	memcpy(cpu_message, msg, len);
	cpu_message[len] = '\n';
	cpu_message_len = len + 1;
	its.it_value.tv_sec = (time_t)seconds;
	its.it_value.tv_nsec = (long)((seconds - (lua_Number)its.it_value.tv_sec) * 1e9);
	if (timer_settime(cpu_timer, 0, &its, NULL) != 0)
		return luaL_error(L, "cpu_limit: timer_settime: %s", strerror(errno));
	lua_pushboolean(L, 1);
	return 1;
}

void lsh_l_open_sandbox(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "memory_limit", l_memory_limit },
		{ "memory_exceeded", l_memory_exceeded },
		{ "cpu_limit", l_cpu_limit },
		{ NULL, NULL },
	};
	luaL_setfuncs(L, fns, 0);
}
