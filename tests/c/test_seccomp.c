/* seccomp filters built from rule strings: actions, argument conditions, compat
 * architectures, and rejected rules. Each filter is loaded in a child. */
#include <errno.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <termios.h>

#include "tap.h"
#include "child.h"
#include "lunshare.h"

static int load(const char *const *rules, size_t n)
{
	struct lsh_err *err = NULL;
	if (lsh_caps_no_new_privs(&err) < 0 || lsh_seccomp_load(rules, n, &err) < 0) {
		printf("# %s\n", err ? err->msg : "?");
		return -1;
	}
	return 0;
}

static int errno_rules(void)
{
	const char *rules[] = { "errno:1 ptrace", "errno:38 clone3", "errno:13 ioctl a1&0xffffffff==0x5412",
				"errno:1 unshare a0&0x10000000==0x10000000" };
	CHECK(load(rules, 4) == 0);
	CHECK(ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0 && errno == EPERM);
	CHECK(syscall(__NR_clone3, NULL, 0) < 0 && errno == ENOSYS);
	char c = 'x';
	CHECK(ioctl(0, TIOCSTI, &c) < 0 && errno == EACCES);
	/* High bits the kernel ignores must not get TIOCSTI past the filter. */
	CHECK(syscall(SYS_ioctl, 0, (unsigned long)TIOCSTI | (1UL << 32), &c) < 0 && errno == EACCES);
	/* Another ioctl is not matched: it fails (or not) for its own reason. */
	struct winsize ws;
	errno = 0;
	CHECK(ioctl(0, TIOCGWINSZ, &ws) == 0 || errno != EACCES);
	CHECK(unshare(CLONE_NEWUSER) < 0 && errno == EPERM);
	CHECK(unshare(0) == 0);
	return 0;
}

static int kill_rule(void)
{
	const char *rules[] = { "kill getppid" };
	if (load(rules, 1) < 0)
		return 1;
	syscall(SYS_getppid);
	return 2; /* not reached */
}

/* The compiled filter of errno_rules' rules (lsh_seccomp_compile), attached as bytes:
 * the same decisions as the rules loaded through libseccomp. */
static char *compiled;

static int compiled_rules(void)
{
	struct lsh_err *err = NULL;
	if (lsh_caps_no_new_privs(&err) < 0 || lsh_seccomp_attach(compiled, &err) < 0) {
		printf("# %s\n", err ? err->msg : "?");
		return 1;
	}
	CHECK(ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0 && errno == EPERM);
	CHECK(syscall(SYS_clone3, NULL, 0) < 0 && errno == ENOSYS);
	CHECK(ioctl(0, TIOCSTI, "x") < 0 && errno == EACCES);
	CHECK(unshare(CLONE_NEWUSER) < 0 && errno == EPERM);
	CHECK(unshare(0) == 0);
	return 0;
}

#if defined(__x86_64__)
/* An i386 system call through int 0x80 from a 64-bit process: the filter must know the
 * compat numbers too (ptrace is 26 there, 101 on x86_64). */
static long int80(long nr, long a, long b)
{
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b) : "memory");
	return ret;
}

/* Whether this kernel runs i386 system calls at all: ia32_emulation=0, or a hypervisor
 * without it, answers int 0x80 with SIGSEGV before any filter sees it. */
static int int80_works(void)
{
	return int80(20 /* getpid */, 0, 0) == getpid() ? 0 : 1;
}

static int compat(void)
{
	const char *rules[] = { "errno:1 ptrace" };
	CHECK(load(rules, 1) == 0);
	CHECK(int80(26, PTRACE_TRACEME, 0) == -EPERM);
	return 0;
}
#endif

int main(void)
{
	struct lsh_err *err = NULL;
	ok(lsh_seccomp_syscall("ptrace") == SYS_ptrace, "resolves a system call name");
	ok(lsh_seccomp_syscall("no_such_call") == -ENOENT, "an unknown name is ENOENT");
	const char *good[] = { "allow read", "log getpid", "errno:1 personality a0!=0", "kill bpf",
			       "errno:1 ioctl a1&0xffffffff==0x541c" };
	ok(lsh_seccomp_check(good, 5, &err) == 0, "valid rules check");
	const char *bad[][1] = { { "deny ptrace" }, { "errno:1 no_such_call" }, { "errno:1 ioctl a9==1" },
				 { "errno:0 ptrace" }, { "errno:1 ioctl a1&0xff!=3" }, { "kill" } };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		lsh_err_free(err);
		err = NULL;
		ok(lsh_seccomp_check(bad[i], 1, &err) == -EINVAL && strstr(err->msg, "seccomp rule"),
		   "rejects \"%s\": %s", bad[i][0], err ? err->msg : "");
	}
	lsh_err_free(err);
	err = NULL;
	ok(in_child(errno_rules) == 0, "errno rules with masked and plain argument conditions");
	const char *rules[] = { "errno:1 ptrace", "errno:38 clone3", "errno:13 ioctl a1&0xffffffff==0x5412",
				"errno:1 unshare a0&0x10000000==0x10000000" };
	ok(lsh_seccomp_compile(rules, 4, &compiled, &err) == 0 && strlen(compiled) % 16 == 0 &&
		   lsh_seccomp_bpf_check(compiled, &err) == 0,
	   "compiles rules to a filter of whole instructions, in hex");
	ok(in_child(compiled_rules) == 0, "the compiled filter, attached as bytes, decides as the rules do");
	char *again = NULL;
	ok(lsh_seccomp_compile(rules, 4, &again, &err) == 0 && strcmp(again, compiled) == 0,
	   "the same rules compile to the same bytes");
	free(again);
	free(compiled);
	const char *forms[] = { "", "0", "abc", "0123456789abcdeX", "0123456789ABCDEF" };
	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		lsh_err_free(err);
		err = NULL;
		int checked = lsh_seccomp_bpf_check(forms[i], &err);
		lsh_err_free(err);
		err = NULL;
		ok(checked == -EINVAL && lsh_seccomp_attach(forms[i], &err) == -EINVAL,
		   "refuses \"%s\" as a compiled filter", forms[i]);
	}
	lsh_err_free(err);
	err = NULL;
	int st = in_child(kill_rule);
	ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "a kill rule kills the process with SIGSYS");
#if defined(__x86_64__)
	if (in_child(int80_works) != 0)
		skip("this kernel does not run i386 system calls (int 0x80)");
	else
		ok(in_child(compat) == 0, "the filter covers i386 system calls of a 64-bit process");
#else
	skip("compat architecture test is for x86_64");
#endif
	return done_testing();
}
