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
 * profile can make for their work before they run; cpu_bounded() is the backstop behind
 * that accounting: past a hard limit of CPU time the process prints one line and exits 2,
 * as RLIMIT_CPU would, whatever it was doing. Nothing has been created while a profile is
 * loaded, so there is nothing to tear down. Before that, a soft limit interrupts the Lua
 * code it bounds. */
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

/* CPU time. The state is the process's (a signal handler has no other), so there is one
 * limit at a time. A hook costs every instruction of the code it watches, so lunshare's
 * own code runs without one: at the soft limit the timer's handler installs a hook on the
 * thread running the bounded function (lua_sethook may be called from a signal handler,
 * as lua.c does for SIGINT), and that hook raises at every instruction from then on, so
 * no pcall keeps the work going. The protected call is made here, in C, so that the hook
 * is gone before any Lua instruction after it runs. At the hard limit the process ends. */
static timer_t cpu_timer;
static int cpu_timer_made;
static lua_State *cpu_thread;
static volatile sig_atomic_t cpu_stage; /* 0 off, 1 before the soft limit, 2 after it */
static volatile sig_atomic_t cpu_soft_reached;
/* While lunshare's own state is the profile's (an evaluation has the string metatable and
 * the collector), the hook waits: it raises at the first instruction after. */
static int cpu_hold;
static struct timespec cpu_hard_after_soft;
static char cpu_soft_message[256];
static char cpu_message[512];
static size_t cpu_message_len;

static void soft_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	if (cpu_hold > 0)
		return;
	lua_pushstring(L, cpu_soft_message);
	lua_error(L);
}

/* cpu_hold(true | false): holds off (or lets go) the soft limit's hook, in pairs. */
static int l_cpu_hold(lua_State *L)
{
	lsh_l_check_nargs(L, 1);
	luaL_checktype(L, 1, LUA_TBOOLEAN);
	if (lua_toboolean(L, 1))
		cpu_hold++;
	else if (cpu_hold > 0)
		cpu_hold--;
	return 0;
}

int lsh_l_cpu_held(void)
{
	return cpu_hold > 0;
}

static void on_cpu_limit(int sig)
{
	(void)sig;
	/* A signal sent just before the timer was disarmed arrives to nothing. */
	if (cpu_stage == 0)
		return;
	if (cpu_stage == 1) {
		cpu_stage = 2;
		cpu_soft_reached = 1;
		struct itimerspec its = { .it_value = cpu_hard_after_soft };
		timer_settime(cpu_timer, 0, &its, NULL);
		lua_sethook(cpu_thread, soft_hook, LUA_MASKCOUNT, 1);
		return;
	}
	/* Only async-signal-safe calls: the message was formatted when the limit was set. */
	ssize_t r = write(STDERR_FILENO, cpu_message, cpu_message_len);
	(void)r;
	_exit(2);
}

static struct timespec to_timespec(lua_Number seconds)
{
	struct timespec ts;
	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (lua_Number)ts.tv_sec) * 1e9);
	return ts;
}

/* Copies from (cut to fit), a newline if asked, and a NUL into to; returns the length. */
static size_t copy_message(char *to, size_t size, const char *from, size_t len, int newline)
{
	if (len > size - 2)
		len = size - 2;
	memcpy(to, from, len);
	if (newline)
		to[len++] = '\n';
	to[len] = '\0';
	return len;
}

/* cpu_bounded(hard, message, soft, soft_message, fn, ...): calls fn(...) protected. When
 * this process has used soft seconds more of CPU time (0: no soft limit), fn's thread
 * raises soft_message at its next instruction and at every one after; at hard seconds,
 * message (one line) goes to stderr and the process exits 2. Returns whether the soft
 * limit was reached, then what pcall(fn, ...) returns. */
static int l_cpu_bounded(lua_State *L)
{
	lua_Number hard = luaL_checknumber(L, 1);
	size_t len, soft_len;
	const char *msg = luaL_checklstring(L, 2, &len);
	lua_Number soft = luaL_checknumber(L, 3);
	const char *soft_msg = luaL_checklstring(L, 4, &soft_len);
	luaL_checktype(L, 5, LUA_TFUNCTION);
	luaL_argcheck(L, hard > 0 && hard < 1e6, 1, "expected a number of seconds above 0");
	luaL_argcheck(L, soft >= 0 && soft < hard, 3, "expected a number of seconds below the hard limit");
	if (cpu_stage != 0)
		return luaL_error(L, "cpu_bounded: a limit is already running");
	if (!cpu_timer_made) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_cpu_limit;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGXCPU, &sa, NULL) != 0)
			return luaL_error(L, "cpu_bounded: sigaction: %s", strerror(errno));
		struct sigevent sev;
		memset(&sev, 0, sizeof sev);
		sev.sigev_notify = SIGEV_SIGNAL;
		sev.sigev_signo = SIGXCPU;
		/* A POSIX timer is not inherited by a child, so a sandbox never sees it. */
		if (timer_create(CLOCK_PROCESS_CPUTIME_ID, &sev, &cpu_timer) != 0)
			return luaL_error(L, "cpu_bounded: timer_create: %s", strerror(errno));
		cpu_timer_made = 1;
	}
	cpu_message_len = copy_message(cpu_message, sizeof cpu_message, msg, len, 1);
	copy_message(cpu_soft_message, sizeof cpu_soft_message, soft_msg, soft_len, 0);
	cpu_thread = L;
	cpu_soft_reached = 0;
	struct itimerspec its;
	memset(&its, 0, sizeof its);
	if (soft > 0) {
		cpu_hard_after_soft = to_timespec(hard - soft);
		its.it_value = to_timespec(soft);
		cpu_stage = 1;
	} else {
		its.it_value = to_timespec(hard);
		cpu_stage = 2;
	}
	if (timer_settime(cpu_timer, 0, &its, NULL) != 0) {
		cpu_stage = 0;
		return luaL_error(L, "cpu_bounded: timer_settime: %s", strerror(errno));
	}
	int nargs = lua_gettop(L) - 5;
	lua_pushboolean(L, 0); /* the place of the first result */
	lua_insert(L, 5);
	cpu_hold = 0;
	int status = lua_pcall(L, nargs, LUA_MULTRET, 0);
	/* Off in this order: a signal that comes between finds the stage off, and a hook
	 * installed before the stage was off is removed. */
	memset(&its, 0, sizeof its);
	timer_settime(cpu_timer, 0, &its, NULL);
	cpu_stage = 0;
	if (lua_gethook(L) == soft_hook)
		lua_sethook(L, NULL, 0, 0);
	cpu_thread = NULL;
	lua_pushboolean(L, cpu_soft_reached);
	lua_replace(L, 5);
	lua_pushboolean(L, status == LUA_OK);
	lua_insert(L, 6);
	return lua_gettop(L) - 4;
}

void lsh_l_open_bounds(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "memory_limit", l_memory_limit },
		{ "memory_exceeded", l_memory_exceeded },
		{ "cpu_bounded", l_cpu_bounded },
		{ "cpu_hold", l_cpu_hold },
		{ NULL, NULL },
	};
	luaL_setfuncs(L, fns, 0);
}
