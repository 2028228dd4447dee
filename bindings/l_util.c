/* Facts about the calling process that the Lua policy needs and stock Lua lacks. */
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "lcore.h"

extern char **environ;

static int l_ids(lua_State *L)
{
	lsh_l_check_nargs(L, 0);
	lua_createtable(L, 0, 5);
	lua_pushinteger(L, getuid());
	lua_setfield(L, -2, "uid");
	lua_pushinteger(L, geteuid());
	lua_setfield(L, -2, "euid");
	lua_pushinteger(L, getgid());
	lua_setfield(L, -2, "gid");
	lua_pushinteger(L, getegid());
	lua_setfield(L, -2, "egid");
	lua_pushinteger(L, getpid());
	lua_setfield(L, -2, "pid");
	return 1;
}

/* user(uid) -> name, home | nil: the passwd entry (NSS), asked only when needed since
 * loading NSS costs every sandbox start a fraction of a millisecond. */
static int l_user(lua_State *L)
{
	struct passwd *pw = getpwuid((uid_t)luaL_optinteger(L, 1, getuid()));
	if (pw == NULL)
		return 0;
	lua_pushstring(L, pw->pw_name);
	lua_pushstring(L, pw->pw_dir);
	return 2;
}

/* The environment as an array of "NAME=value" strings, in order. */
static int l_environ(lua_State *L)
{
	lsh_l_check_nargs(L, 0);
	lua_newtable(L);
	for (int i = 0; environ && environ[i]; i++) {
		lua_pushstring(L, environ[i]);
		lua_rawseti(L, -2, i + 1);
	}
	return 1;
}

static int l_uname(lua_State *L)
{
	struct utsname u;
	lsh_l_check_nargs(L, 0);
	if (uname(&u) < 0) {
		struct lsh_err *err = NULL;
		lsh_err_set(&err, errno, "uname");
		return lsh_l_fail(L, err);
	}
	lua_createtable(L, 0, 4);
	lua_pushstring(L, u.sysname);
	lua_setfield(L, -2, "sysname");
	lua_pushstring(L, u.release);
	lua_setfield(L, -2, "release");
	lua_pushstring(L, u.machine);
	lua_setfield(L, -2, "machine");
	lua_pushstring(L, u.nodename);
	lua_setfield(L, -2, "nodename");
	return 1;
}

/* stat kind of a path without following a final symlink: "file", "dir", "link", … or nil. */
static int l_kind(lua_State *L)
{
	const char *path = lsh_l_checkstring(L, 1);
	struct stat st;
	lsh_l_check_nargs(L, 1);
	if (lstat(path, &st) < 0) {
		lua_pushnil(L);
		return 1;
	}
	const char *k = S_ISREG(st.st_mode)  ? "file"
			: S_ISDIR(st.st_mode) ? "dir"
			: S_ISLNK(st.st_mode) ? "link"
			: S_ISCHR(st.st_mode) ? "char"
			: S_ISBLK(st.st_mode) ? "block"
			: S_ISFIFO(st.st_mode) ? "fifo"
					      : "socket";
	lua_pushstring(L, k);
	return 1;
}

/* Whether this process may read path (a regular file or a directory, symlinks followed),
 * asked of the kernel without opening it: a name from a recipe may be a FIFO (open blocks),
 * a device (open acts: a watchdog arms) or /proc/kmsg (a read takes the kernel's messages).
 * false and the kind of what is there for anything else. */
static int l_readable(lua_State *L)
{
	const char *path = lsh_l_checkstring(L, 1);
	struct stat st;
	lsh_l_check_nargs(L, 1);
	if (stat(path, &st) < 0) {
		lua_pushboolean(L, 0);
		return 1;
	}
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		lua_pushboolean(L, 0);
		lua_pushstring(L, lsh_file_kind(st.st_mode));
		return 2;
	}
	lua_pushboolean(L, faccessat(AT_FDCWD, path, S_ISDIR(st.st_mode) ? R_OK | X_OK : R_OK, AT_EACCESS) == 0);
	return 1;
}

static int l_strerror(lua_State *L)
{
	lua_pushstring(L, strerror((int)luaL_checkinteger(L, 1)));
	return 1;
}

static int l_isatty(lua_State *L)
{
	lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
	return 1;
}

/* foreground(fd) -> true when fd is a terminal whose foreground process group is this
 * process's (a job in the background is not: it would stop at its first read or tcsetattr) */
static int l_foreground(lua_State *L)
{
	int fd = (int)luaL_checkinteger(L, 1);
	lsh_l_check_nargs(L, 1);
	pid_t fg = tcgetpgrp(fd);
	lua_pushboolean(L, fg >= 0 && fg == getpgrp());
	return 1;
}

/* signum("TERM" | "SIGTERM") -> number | nil */
static int l_signum(lua_State *L)
{
	const char *name = lsh_l_checkstring(L, 1);
	if (strncmp(name, "SIG", 3) == 0)
		name += 3;
	for (int sig = 1; sig < SIGRTMIN; sig++) {
		const char *n = sigabbrev_np(sig);
		if (n && strcmp(n, name) == 0) {
			lua_pushinteger(L, sig);
			return 1;
		}
	}
	lua_pushnil(L);
	return 1;
}

/* has_syscall(name) -> boolean */
static int l_has_syscall(lua_State *L)
{
	struct lsh_err *err = NULL;
	int r = lsh_probe_syscall(lsh_l_checkstring(L, 1), &err);
	if (r < 0) {
		lsh_err_free(err);
		return luaL_argerror(L, 1, "unknown system call");
	}
	lua_pushboolean(L, r);
	return 1;
}

/* sleep(seconds): a pause, for polls with a bound (fractions allowed). */
static int l_sleep(lua_State *L)
{
	double s = luaL_checknumber(L, 1);
	luaL_argcheck(L, s >= 0 && s <= 3600, 1, "expected 0 to 3600 seconds");
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	return 0;
}

/* The largest errno a system call returns (the kernel's include/linux/err.h): a seccomp
 * rule's errno is at most this. */
#define MAX_ERRNO 4095

/* errno = { EPERM = 1, … }: every name the C library knows (strerrorname_np), and the
 * aliases it gives another name (ENOTSUP, EWOULDBLOCK, EDEADLOCK); MAX_ERRNO beside. */
static void push_errno(lua_State *L)
{
	static const struct { const char *name; int code; } aliases[] = {
		{ "ENOTSUP", ENOTSUP }, { "EWOULDBLOCK", EWOULDBLOCK }, { "EDEADLOCK", EDEADLOCK },
	};
	/* Sized once: a table grown name by name rehashes at every power of two. */
	lua_createtable(L, 0, 160);
	for (int e = 1; e < 256; e++) {
		const char *name = strerrorname_np(e);
		if (name) {
			lua_pushinteger(L, e);
			lua_setfield(L, -2, name);
		}
	}
	for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
		lua_pushinteger(L, aliases[i].code);
		lua_setfield(L, -2, aliases[i].name);
	}
	lua_setfield(L, -2, "errno");
	lua_pushinteger(L, MAX_ERRNO);
	lua_setfield(L, -2, "MAX_ERRNO");
}

/* signals = { HUP = 1, INT = 2, … }: the standard signals by the names the C library
 * gives them (sigabbrev_np). */
static void push_signals(lua_State *L)
{
	lua_createtable(L, 0, 40);
	for (int sig = 1; sig < SIGRTMIN; sig++) {
		const char *name = sigabbrev_np(sig);
		if (name) {
			lua_pushinteger(L, sig);
			lua_setfield(L, -2, name);
		}
	}
	lua_setfield(L, -2, "signals");
}

/* A pipe end as a Lua file, which the io library's methods read and write. */
static int stream_close(lua_State *L)
{
	luaL_Stream *p = luaL_checkudata(L, 1, LUA_FILEHANDLE);
	int res = fclose(p->f);
	return luaL_fileresult(L, res == 0, NULL);
}

static luaL_Stream *new_stream(lua_State *L)
{
	luaL_Stream *p = lua_newuserdatauv(L, sizeof *p, 0);
	p->f = NULL;
	p->closef = NULL; /* closed until it holds a file */
	luaL_setmetatable(L, LUA_FILEHANDLE);
	return p;
}

/* pipe() -> reader, writer | nil, msg, errno: both ends close on exec (dup2 makes a copy
 * that does not). The userdata exist before the fds, so a raise leaks nothing. */
struct build_id {
	uintptr_t addr; /* an address inside the object wanted */
	char hex[2 * 64 + 1];
};

/* The GNU build id of the object that holds id->addr, from its PT_NOTE segments. */
static int find_build_id(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct build_id *id = arg;
	int mine = 0;
	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && id->addr >= start && id->addr < start + ph->p_memsz)
			mine = 1;
	}
	if (!mine)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)p;
			const char *name = p + sizeof *n;
			const unsigned char *desc = (const unsigned char *)name + ((n->n_namesz + 3) & ~3u);
			if ((const char *)desc + n->n_descsz > end)
				break;
			if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && memcmp(name, "GNU", 4) == 0 &&
			    n->n_descsz <= 64) {
				for (unsigned k = 0; k < n->n_descsz; k++)
					snprintf(id->hex + 2 * k, 3, "%02x", desc[k]);
				return 1;
			}
			p = (const char *)desc + ((n->n_descsz + 3) & ~3u);
		}
	}
	return 1;
}

/* build_id() -> hex | nil: the GNU build id of the code running this (the executable, or
 * the Lua module): it changes with every build whose bytes differ, embedded scripts too. */
static int l_build_id(lua_State *L)
{
	struct build_id id = { (uintptr_t)&l_build_id, "" };
	lsh_l_check_nargs(L, 0);
	dl_iterate_phdr(find_build_id, &id);
	if (id.hex[0] == '\0')
		lua_pushnil(L);
	else
		lua_pushstring(L, id.hex);
	return 1;
}

static int l_pipe(lua_State *L)
{
	lsh_l_check_nargs(L, 0);
	luaL_Stream *r = new_stream(L), *w = new_stream(L);
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		struct lsh_err *err = NULL;
		lsh_err_set(&err, errno, "pipe2");
		return lsh_l_fail(L, err);
	}
	r->f = fdopen(fds[0], "r");
	w->f = fdopen(fds[1], "w");
	if (r->f == NULL || w->f == NULL) {
		int e = errno;
		if (r->f) fclose(r->f); else close(fds[0]);
		if (w->f) fclose(w->f); else close(fds[1]);
		r->f = w->f = NULL;
		struct lsh_err *err = NULL;
		lsh_err_set(&err, e, "fdopen");
		return lsh_l_fail(L, err);
	}
	r->closef = w->closef = stream_close;
	return 2;
}

/* dup2(from, to) -> true | nil, msg, errno: from is a Lua file, a handle or an fd. */
static int l_dup2(lua_State *L)
{
	lsh_l_check_nargs(L, 2);
	int from;
	luaL_Stream *p = luaL_testudata(L, 1, LUA_FILEHANDLE);
	if (p) {
		luaL_argcheck(L, p->closef != NULL, 1, "closed file");
		fflush(p->f);
		from = fileno(p->f);
	} else {
		from = lsh_l_tofd(L, 1);
	}
	int to = (int)luaL_checkinteger(L, 2);
	luaL_argcheck(L, to >= 0, 2, "not an fd");
	if (dup2(from, to) < 0) {
		struct lsh_err *err = NULL;
		lsh_err_set(&err, errno, "dup2");
		return lsh_l_fail(L, err);
	}
	lua_pushboolean(L, 1);
	return 1;
}

void lsh_l_open_util(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "ids", l_ids }, { "user", l_user }, { "environ", l_environ }, { "uname", l_uname },
		{ "kind", l_kind }, { "readable", l_readable }, { "strerror", l_strerror }, { "isatty", l_isatty },
		{ "foreground", l_foreground },
		{ "signum", l_signum }, { "has_syscall", l_has_syscall }, { "sleep", l_sleep },
		{ "pipe", l_pipe }, { "dup2", l_dup2 }, { "build_id", l_build_id },
		{ NULL, NULL },
	};
	luaL_setfuncs(L, fns, 0);
	push_errno(L);
	push_signals(L);
	/* The unit of a process's start time in /proc/PID/stat. */
	lua_pushinteger(L, sysconf(_SC_CLK_TCK));
	lua_setfield(L, -2, "CLK_TCK");
}
