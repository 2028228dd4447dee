/* The REPL's terminal, as the module lunshare.edit: Ctrl-C, and line editing, history and
 * completion through libedit (BSD licensed, unlike GNU readline).
 *
 * Ctrl-C works as in lua.c: while a chunk runs (edit.pcall), SIGINT installs a hook that
 * raises "interrupted!" at the chunk's next instruction; at the prompt it ends the line
 * being typed (edit.readline returns false), and the REPL goes on either way.
 *
 * libedit and the terminal libraries it pulls in are opened only when the REPL starts:
 * every sandbox start would otherwise pay for loading them. Without libedit the module
 * still loads, with pcall and without readline. Only the executable has this module.
 *
 * A signal handler and libedit's callbacks take no user pointer, so the state they work on
 * is kept here; there is one REPL in a process. */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lcore.h"

int luaopen_lunshare_edit(lua_State *L);

/* ---- Ctrl-C ---- */

static lua_State *volatile running; /* the state edit.pcall is running a chunk on */
static volatile sig_atomic_t interrupted;

static void stop_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	/* While lunshare's own state is a profile's (the evaluator swaps the string
	 * metatable and stops the collector), nothing may stop it half way: the hook waits
	 * for the first instruction after. */
	if (lsh_l_cpu_held())
		return;
	lua_sethook(L, NULL, 0, 0);
	/* Without a position: where the chunk was is mostly lunshare's own code. */
	lua_pushliteral(L, "interrupted!");
	lua_error(L);
}

static void on_sigint_running(int sig)
{
	(void)sig;
	interrupted = 1;
	/* lua_sethook may be called from a signal handler (lua.c does the same). */
	if (running)
		lua_sethook(running, stop_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

static void on_sigint_prompt(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* Installs handler for SIGINT without SA_RESTART, so that a blocking read returns. */
static void catch_sigint(void (*handler)(int), struct sigaction *old)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, old);
}

/* pcall(f, ...) -> true, results… | false, message: f(...) protected, where Ctrl-C raises
 * "interrupted!". The handler and the hook are off again before any Lua code runs after
 * the call, so an interrupt cannot reach the REPL's own loop. */
static int l_pcall(lua_State *L)
{
	struct sigaction old;
	luaL_checkany(L, 1);
	lua_State *prev = running;
	running = L;
	interrupted = 0;
	catch_sigint(on_sigint_running, &old);
	int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
	sigaction(SIGINT, &old, NULL);
	running = prev;
	if (lua_gethook(L) == stop_hook)
		lua_sethook(L, NULL, 0, 0);
	lua_pushboolean(L, status == LUA_OK);
	lua_insert(L, 1);
	return lua_gettop(L);
}

/* ---- libedit ---- */

typedef char *compentry_fn(const char *, int);

struct editline_api {
	char *(*readline)(const char *);
	int (*add_history)(const char *);
	int (*read_history)(const char *);
	int (*write_history)(const char *);
	/* readline's variables, which libedit exports as data. */
	compentry_fn **completion_entry_function;
	int *completion_append_character;
	const char **basic_word_break_characters;
	char **line_buffer;
	int *point;
};

static struct editline_api *api(lua_State *L)
{
	return lua_touserdata(L, lua_upvalueindex(1));
}

/* The completer: a Lua function in the registry, called from libedit's callback with the
 * state that called readline. */
static lua_State *completing;
static int completer = LUA_NOREF;
static struct editline_api *completing_api;
static char **matches;
static size_t nmatches, next_match;

#define MAX_MATCHES 1000

static void free_matches(void)
{
	for (size_t i = 0; i < nmatches; i++)
		free(matches[i]);
	free(matches);
	matches = NULL;
	nmatches = next_match = 0;
}

/* Asks completer(text, line up to the cursor) for the candidates; a completer that fails
 * or returns anything but a list of strings completes nothing. */
static void ask_completer(const char *text)
{
	lua_State *L = completing;
	free_matches();
	if (L == NULL || completer == LUA_NOREF)
		return;
	int top = lua_gettop(L);
	lua_rawgeti(L, LUA_REGISTRYINDEX, completer);
	lua_pushstring(L, text);
	const char *line = *completing_api->line_buffer ? *completing_api->line_buffer : "";
	int point = *completing_api->point;
	size_t len = strlen(line);
	lua_pushlstring(L, line, point >= 0 && (size_t)point < len ? (size_t)point : len);
	if (lua_pcall(L, 2, 1, 0) == LUA_OK && lua_istable(L, -1)) {
		lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
		if (n > MAX_MATCHES)
			n = MAX_MATCHES;
		matches = calloc((size_t)n + 1, sizeof *matches);
		for (lua_Integer i = 1; matches && i <= n; i++) {
			lua_rawgeti(L, -1, i);
			const char *s = lua_tostring(L, -1);
			if (s && (matches[nmatches] = strdup(s)) != NULL)
				nmatches++;
			lua_pop(L, 1);
		}
	}
	lua_settop(L, top);
}

/* rl_completion_entry_function: state 0 starts a completion; each call returns the next
 * candidate (libedit frees it), NULL after the last. */
static char *complete_entry(const char *text, int state)
{
	if (state == 0)
		ask_completer(text);
	if (next_match >= nmatches)
		return NULL;
	return strdup(matches[next_match++]);
}

/* readline(prompt) -> line | nil at the end of input | false for Ctrl-C (the line typed
 * so far is dropped) */
static int l_readline(lua_State *L)
{
	struct editline_api *a = api(L);
	const char *prompt = lsh_l_optstring(L, 1, "> ");
	struct sigaction old;
	lua_State *prev = completing;
	completing = L;
	completing_api = a;
	interrupted = 0;
	catch_sigint(on_sigint_prompt, &old);
	char *line = a->readline(prompt);
	sigaction(SIGINT, &old, NULL);
	completing = prev;
	free_matches();
	if (interrupted) {
		free(line);
		lua_pushboolean(L, 0);
		return 1;
	}
	if (line == NULL)
		return 0;
	lua_pushstring(L, line);
	free(line);
	return 1;
}

/* set_completer(fn): fn(text, line) returns the words that may replace text, the word
 * before the cursor (words break at spaces, quotes and operators, not at '.' or ':'). */
static int l_set_completer(lua_State *L)
{
	struct editline_api *a = api(L);
	static const char breaks[] = " \t\n\"\\'`@$><=;|&{(+-*/%^~#,[])}";
	luaL_checktype(L, 1, LUA_TFUNCTION);
	lua_settop(L, 1);
	if (completer != LUA_NOREF)
		luaL_unref(L, LUA_REGISTRYINDEX, completer);
	completer = luaL_ref(L, LUA_REGISTRYINDEX);
	*a->completion_entry_function = complete_entry;
	*a->completion_append_character = '\0';
	*a->basic_word_break_characters = breaks;
	return 0;
}

static int l_add_history(lua_State *L)
{
	api(L)->add_history(lsh_l_checkstring(L, 1));
	return 0;
}

static int l_read_history(lua_State *L)
{
	lua_pushboolean(L, api(L)->read_history(lsh_l_checkstring(L, 1)) == 0);
	return 1;
}

static int l_write_history(lua_State *L)
{
	lua_pushboolean(L, api(L)->write_history(lsh_l_checkstring(L, 1)) == 0);
	return 1;
}

/* Fills a from libedit; NULL, or why not. */
static const char *open_libedit(struct editline_api *a)
{
	void *h = dlopen("libedit.so.2", RTLD_NOW | RTLD_LOCAL);
	if (h == NULL)
		return dlerror();
	*(void **)&a->readline = dlsym(h, "readline");
	*(void **)&a->add_history = dlsym(h, "add_history");
	*(void **)&a->read_history = dlsym(h, "read_history");
	*(void **)&a->write_history = dlsym(h, "write_history");
	a->completion_entry_function = dlsym(h, "rl_completion_entry_function");
	a->completion_append_character = dlsym(h, "rl_completion_append_character");
	a->basic_word_break_characters = dlsym(h, "rl_basic_word_break_characters");
	a->line_buffer = dlsym(h, "rl_line_buffer");
	a->point = dlsym(h, "rl_point");
	if (!a->readline || !a->add_history || !a->read_history || !a->write_history ||
	    !a->completion_entry_function || !a->completion_append_character ||
	    !a->basic_word_break_characters || !a->line_buffer || !a->point)
		return "libedit.so.2 lacks readline() or its completion variables";
	return NULL;
}

int luaopen_lunshare_edit(lua_State *L)
{
	static const luaL_Reg line_fns[] = {
		{ "readline", l_readline },	    { "add_history", l_add_history },
		{ "read_history", l_read_history }, { "write_history", l_write_history },
		{ "set_completer", l_set_completer }, { NULL, NULL },
	};
	lua_newtable(L);
	lua_pushcfunction(L, l_pcall);
	lua_setfield(L, -2, "pcall");
	struct editline_api *a = lua_newuserdatauv(L, sizeof *a, 0);
	memset(a, 0, sizeof *a);
	const char *why = open_libedit(a);
	if (why) {
		lua_pop(L, 1);
		lua_pushfstring(L, "line editing is not available: %s", why);
		lua_setfield(L, -2, "unavailable");
		return 1;
	}
	luaL_setfuncs(L, line_fns, 1);
	return 1;
}
