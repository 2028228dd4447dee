/* The seccomp probe (not a containment probe): makes one system call with harmless
 * arguments and says what became of it, so that the seccomp spec can check the default
 * filter rule by rule.
 *
 *   syscall LABEL...     for each LABEL (a system call name, or NAME:VARIANT below), prints
 *                        "LABEL errno=N" or "LABEL ok", then " reached" when the call got
 *                        past every filter the sandbox installed; "LABEL skip: why" when
 *                        the call cannot be made here
 *
 * "reached" tells a refusal by the sandbox's filter from a refusal by the kernel: many of
 * these calls fail for an unprivileged caller anyway (kexec_load, init_module: EPERM from
 * the capability check, like the filter's). The probe forks a child that installs a
 * filter of its own that sends the call to the probe as a user notification, and the
 * probe lets it continue into the kernel. A notification has a lower precedence than an
 * errno action (seccomp(2): ERRNO > USER_NOTIF), so when the sandbox's filter refuses
 * the call, no notification comes.
 *
 * Every argument is chosen so that nothing happens even where the call is allowed:
 * invalid flags, magic numbers, descriptors or names that make the kernel refuse before
 * it acts, or calls that only read (adjtimex with no modes, syslog's buffer size) or
 * only touch the probe itself (process_vm_readv of its own memory, a keyring id, a
 * child that exits at once). No call ever changes the machine: no acct(NULL), no
 * kexec_load with zero segments (which unloads the crash kernel), no real reboot magic.
 *
 * Variants: ioctl:TIOCSTI, ioctl:TIOCLINUX and their ":high" forms (the request with bit
 * 32 set, which the kernel drops), on the first terminal among fds 0-2; personality:linux
 * (PER_LINUX, which the default filter allows) besides personality (ADDR_NO_RANDOMIZE).
 * umount exists only as an i386 call on x86_64: it goes through int 0x80.
 * The @setid-files calls: chmod:suid, chmod:sgid (and fchmod, fchmodat, fchmodat2,
 * creat, mknod, mknodat), open:creat:suid, open:tmpfile:sgid… (and openat), openat2.
 *
 * Linked statically (with libseccomp), so that it runs inside any sandbox root. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sys/timex.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TTY_STI 0x5412UL   /* TIOCSTI */
#define TTY_LINUX 0x541cUL /* TIOCLINUX */
#define HIGH_BIT (1UL << 32)
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452 /* Linux 6.6, the same number on every architecture; older C libraries lack it */
#endif

/* A name no module, key type or key has. */
#define NONE "lsh_probe_no_such_thing"
/* A path that exists nowhere (the probe refuses to run if it does). */
#define NOPATH "/lsh-probe-no-such-path"

static int tty_fd = -1;

/* A fork-like child that exits at once; the caller waits for it. */
static long reap(long pid)
{
	if (pid == 0)
		syscall(SYS_exit, 0);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, __WALL);
	return pid < 0 ? -1 : 0;
}

#if defined(__x86_64__)
/* An i386 system call from this 64-bit process; its pointer arguments must lie below 4 GiB. */
static long int80(long nr, long a)
{
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a) : "memory");
	if (ret < 0 && ret > -4096) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}
#endif

static long call_ioctl(unsigned long req)
{
	/* TIOCSTI pushes this space into the terminal's input; TIOCLINUX reads subcode 6,
	 * the shift state, and a pseudo-terminal is no console anyway. */
	char arg[2] = { req == TTY_STI || req == (TTY_STI | HIGH_BIT) ? ' ' : 6, 0 };
	return syscall(SYS_ioctl, tty_fd, req, arg);
}

/* NAME:suid or NAME:sgid (open and openat: NAME:creat:… or NAME:tmpfile:…) */
static unsigned setid_mode(const char *label)
{
	return 0755 | (strstr(label, ":suid") ? S_ISUID : S_ISGID);
}

static int setid_flags(const char *label)
{
	return strstr(label, ":tmpfile:") ? O_TMPFILE | O_RDWR : O_CREAT | O_WRONLY;
}

static long call(const char *label)
{
	static char byte = 'x', copy;
	struct iovec local = { &copy, 1 }, remote = { &byte, 1 };

	if (strcmp(label, "ioctl:TIOCSTI") == 0)
		return call_ioctl(TTY_STI);
	if (strcmp(label, "ioctl:TIOCSTI:high") == 0)
		return call_ioctl(TTY_STI | HIGH_BIT);
	if (strcmp(label, "ioctl:TIOCLINUX") == 0)
		return call_ioctl(TTY_LINUX);
	if (strcmp(label, "ioctl:TIOCLINUX:high") == 0)
		return call_ioctl(TTY_LINUX | HIGH_BIT);
	if (strcmp(label, "keyctl") == 0)
		return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
	if (strcmp(label, "add_key") == 0) /* no such key type: ENODEV */
		return syscall(SYS_add_key, NONE, "lsh", "x", 1, KEY_SPEC_SESSION_KEYRING);
	if (strcmp(label, "request_key") == 0) /* no such key, no call-out: ENOKEY */
		return syscall(SYS_request_key, "user", NONE, NULL, 0);
	if (strcmp(label, "ptrace") == 0) /* the parent is not traced by us: ESRCH */
		return syscall(SYS_ptrace, PTRACE_PEEKDATA, getppid(), 0, 0);
	if (strcmp(label, "process_vm_readv") == 0) /* our own memory */
		return syscall(SYS_process_vm_readv, getpid(), &local, 1, &remote, 1, 0);
	if (strcmp(label, "process_vm_writev") == 0)
		return syscall(SYS_process_vm_writev, getpid(), &remote, 1, &local, 1, 0);
	if (strcmp(label, "perf_event_open") == 0) {
		/* A software clock of this process, user space only, disabled. */
		struct perf_event_attr a = { .type = PERF_TYPE_SOFTWARE, .size = sizeof a,
					     .config = PERF_COUNT_SW_TASK_CLOCK, .disabled = 1,
					     .exclude_kernel = 1, .exclude_hv = 1 };
		long fd = syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
		if (fd >= 0)
			close((int)fd);
		return fd < 0 ? -1 : 0;
	}
	if (strcmp(label, "bpf") == 0) /* no such command: EINVAL */
		return syscall(SYS_bpf, 0x7fff, NULL, 0);
	if (strcmp(label, "userfaultfd") == 0) {
		/* User-mode faults only: allowed to everyone since 5.11. */
		long fd = syscall(SYS_userfaultfd, O_CLOEXEC | 1 /* UFFD_USER_MODE_ONLY */);
		if (fd >= 0)
			close((int)fd);
		return fd < 0 ? -1 : 0;
	}
	/* io_uring with no entries (EINVAL) and on no ring (EBADF): nothing is set up. */
	if (strcmp(label, "io_uring_setup") == 0) {
		char params[120] = { 0 }; /* struct io_uring_params, all zero */
		return syscall(SYS_io_uring_setup, 0, params);
	}
	if (strcmp(label, "io_uring_enter") == 0)
		return syscall(SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0);
	if (strcmp(label, "io_uring_register") == 0)
		return syscall(SYS_io_uring_register, -1, 0, NULL, 0);
	/* Invalid flags and too many segments: EINVAL after the capability check. */
	if (strcmp(label, "kexec_load") == 0)
		return syscall(SYS_kexec_load, 0, 17, NULL, 0x8000);
	if (strcmp(label, "kexec_file_load") == 0)
		return syscall(SYS_kexec_file_load, -1, -1, 0, NULL, 0x8000);
	if (strcmp(label, "init_module") == 0) /* an empty image: ENOEXEC */
		return syscall(SYS_init_module, NULL, 0, "");
	if (strcmp(label, "finit_module") == 0)
		return syscall(SYS_finit_module, -1, "", 0);
	if (strcmp(label, "delete_module") == 0)
		return syscall(SYS_delete_module, NONE, O_NONBLOCK);
	if (strcmp(label, "mount") == 0) /* an unreadable type string: EFAULT */
		return syscall(SYS_mount, "none", NOPATH, (char *)1, 0, NULL);
	if (strcmp(label, "umount") == 0) {
#if defined(__x86_64__)
		char *low = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
		if (low == MAP_FAILED)
			return -1;
		strcpy(low, NOPATH);
		return int80(22 /* i386 umount */, (long)low);
#else
		errno = ENOSYS;
		return -1;
#endif
	}
	if (strcmp(label, "umount2") == 0) /* unknown flags: EINVAL */
		return syscall(SYS_umount2, NOPATH, 0x80000000);
	if (strcmp(label, "pivot_root") == 0)
		return syscall(SYS_pivot_root, NOPATH, NOPATH);
	if (strcmp(label, "open_tree") == 0) {
		/* An O_PATH descriptor of "/": no copy of the tree (no OPEN_TREE_CLONE). */
		long fd = syscall(SYS_open_tree, AT_FDCWD, "/", O_CLOEXEC);
		if (fd >= 0)
			close((int)fd);
		return fd < 0 ? -1 : 0;
	}
	if (strcmp(label, "move_mount") == 0)
		return syscall(SYS_move_mount, -1, NOPATH, -1, NOPATH, 0x80000000);
	if (strcmp(label, "fsopen") == 0)
		return syscall(SYS_fsopen, NONE, 0);
	if (strcmp(label, "fsconfig") == 0)
		return syscall(SYS_fsconfig, -1, 0 /* FSCONFIG_SET_FLAG */, "ro", NULL, 0);
	if (strcmp(label, "fsmount") == 0)
		return syscall(SYS_fsmount, -1, 0, 0);
	if (strcmp(label, "fspick") == 0)
		return syscall(SYS_fspick, AT_FDCWD, NOPATH, 0);
	if (strcmp(label, "mount_setattr") == 0) /* no attributes, size 0: EINVAL */
		return syscall(SYS_mount_setattr, AT_FDCWD, NOPATH, 0, NULL, 0);
	if (strcmp(label, "personality") == 0) /* ADDR_NO_RANDOMIZE, for this child only */
		return syscall(SYS_personality, 0x0040000) < 0 ? -1 : 0;
	if (strcmp(label, "personality:linux") == 0)
		return syscall(SYS_personality, 0 /* PER_LINUX */) < 0 ? -1 : 0;
	if (strcmp(label, "clone") == 0) /* the raw call, not unshare: a nested user namespace */
		return reap(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, NULL, NULL, 0));
	if (strcmp(label, "unshare") == 0)
		return syscall(SYS_unshare, CLONE_NEWUSER);
	if (strcmp(label, "clone3") == 0) {
		struct clone_args a = { .exit_signal = SIGCHLD };
		return reap(syscall(SYS_clone3, &a, sizeof a));
	}
	if (strcmp(label, "open_by_handle_at") == 0) {
		struct { unsigned int bytes; int type; unsigned char h[8]; } fh = { 8, 1, { 0 } };
		return syscall(SYS_open_by_handle_at, -1, &fh, O_RDONLY);
	}
	if (strcmp(label, "acct") == 0) /* never acct(NULL): that turns the host's accounting off */
		return syscall(SYS_acct, NOPATH);
	if (strcmp(label, "swapon") == 0) /* unknown flags: EINVAL */
		return syscall(SYS_swapon, NOPATH, 0x40000000);
	if (strcmp(label, "swapoff") == 0)
		return syscall(SYS_swapoff, NOPATH);
	if (strcmp(label, "reboot") == 0) /* wrong magic numbers: EINVAL after the capability check */
		return syscall(SYS_reboot, 0, 0, 0, NULL);
	if (strcmp(label, "syslog") == 0) /* SYSLOG_ACTION_SIZE_BUFFER: reads a number */
		return syscall(SYS_syslog, 10, NULL, 0) < 0 ? -1 : 0;
	if (strcmp(label, "settimeofday") == 0) /* an unreadable time: EFAULT */
		return syscall(SYS_settimeofday, (void *)1, NULL);
	if (strcmp(label, "clock_settime") == 0) { /* no such clock: EINVAL */
		struct timespec ts = { 0, 0 };
		return syscall(SYS_clock_settime, 100, &ts);
	}
	if (strcmp(label, "clock_adjtime") == 0) { /* no modes: only reads the clock's state */
		struct timex tx = { .modes = 0 };
		return syscall(SYS_clock_adjtime, CLOCK_REALTIME, &tx) < 0 ? -1 : 0;
	}
	if (strcmp(label, "adjtimex") == 0) {
		struct timex tx = { .modes = 0 };
		return syscall(SYS_adjtimex, &tx) < 0 ? -1 : 0;
	}
	if (strcmp(label, "iopl") == 0) /* level 4 does not exist: EINVAL */
		return syscall(SYS_iopl, 4);
	if (strcmp(label, "ioperm") == 0) /* turn off a port never turned on */
		return syscall(SYS_ioperm, 0x80, 1, 0);
	/* @setid-files: a setuid or setgid mode on a path whose parent does not exist
	 * (ENOENT) or on no descriptor (EBADF): nothing is made or changed. */
	if (strncmp(label, "chmod:", 6) == 0)
		return syscall(SYS_chmod, NOPATH, setid_mode(label));
	if (strncmp(label, "fchmod:", 7) == 0)
		return syscall(SYS_fchmod, -1, setid_mode(label));
	if (strncmp(label, "fchmodat:", 9) == 0)
		return syscall(SYS_fchmodat, AT_FDCWD, NOPATH, setid_mode(label));
	if (strncmp(label, "fchmodat2:", 10) == 0)
		return syscall(SYS_fchmodat2, AT_FDCWD, NOPATH, setid_mode(label), 0);
	if (strncmp(label, "creat:", 6) == 0)
		return syscall(SYS_creat, NOPATH "/x", setid_mode(label));
	if (strncmp(label, "open:", 5) == 0)
		return syscall(SYS_open, NOPATH "/x", setid_flags(label), setid_mode(label));
	if (strncmp(label, "openat:", 7) == 0)
		return syscall(SYS_openat, AT_FDCWD, NOPATH "/x", setid_flags(label), setid_mode(label));
	if (strncmp(label, "mknod:", 6) == 0)
		return syscall(SYS_mknod, NOPATH "/x", S_IFREG | setid_mode(label), 0);
	if (strncmp(label, "mknodat:", 8) == 0)
		return syscall(SYS_mknodat, AT_FDCWD, NOPATH "/x", S_IFREG | setid_mode(label), 0);
	if (strcmp(label, "openat2") == 0) {
		uint64_t how[3] = { O_RDONLY, 0, 0 }; /* struct open_how */
		return syscall(SYS_openat2, AT_FDCWD, NOPATH, how, sizeof how);
	}
	errno = 0;
	return -2;
}

/* The system call name of a label: "ioctl:TIOCSTI:high" → "ioctl". */
static void syscall_name(const char *label, char *name, size_t size)
{
	snprintf(name, size, "%s", label);
	name[strcspn(name, ":")] = 0;
}

/* Whether a notification is the call the label makes (ioctl: the same request). */
static int is_the_call(const char *label, const struct seccomp_notif *req)
{
	char name[64];
	syscall_name(label, name, sizeof name);
	if (req->data.nr != seccomp_syscall_resolve_name_arch(req->data.arch, name))
		return 0;
	if (strcmp(name, "ioctl") == 0) {
		unsigned long want = strstr(label, "TIOCSTI") ? TTY_STI : TTY_LINUX;
		return (req->data.args[1] & 0xffffffffUL) == want;
	}
	return 1;
}

static int send_fd(int sock, int fd)
{
	char c = 0, buf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &c, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf, .msg_controllen = sizeof buf };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof fd);
	return sendmsg(sock, &m, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char c, buf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &c, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf, .msg_controllen = sizeof buf };
	if (recvmsg(sock, &m, 0) != 1)
		return -1;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(cm), sizeof fd);
	return fd;
}

/* The child: its own notifying filter for the call, then the call; the result (0 or an
 * errno) goes back over the socket. */
static void __attribute__((noreturn)) child(const char *label, int sock)
{
	char name[64];
	syscall_name(label, name, sizeof name);
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);
	int nr = seccomp_syscall_resolve_name(name);
	/* umount is an i386 call only; the filter must know that architecture to see it. */
	if (!f || (strcmp(name, "umount") == 0 && seccomp_arch_add(f, SCMP_ARCH_X86) < 0) ||
	    nr == __NR_SCMP_ERROR || seccomp_rule_add(f, SCMP_ACT_NOTIFY, nr, 0) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || seccomp_load(f) < 0)
		_exit(3);
	int nfd = seccomp_notify_fd(f);
	if (nfd < 0 || send_fd(sock, nfd) < 0)
		_exit(3);
	close(nfd);
	long r = call(label);
	int result = r == -2 ? -1 : r < 0 ? errno : 0;
	if (write(sock, &result, sizeof result) != sizeof result)
		_exit(3);
	_exit(0);
}

static int probe(const char *label)
{
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		printf("%s skip: socketpair: %s\n", label, strerror(errno));
		return 77;
	}
	pid_t pid = fork();
	if (pid < 0) {
		printf("%s skip: fork: %s\n", label, strerror(errno));
		return 77;
	}
	if (pid == 0) {
		close(sp[0]);
		child(label, sp[1]);
	}
	close(sp[1]);
	int nfd = recv_fd(sp[0]), reached = 0, result = 0, got = 0;
	struct seccomp_notif *req = NULL;
	struct seccomp_notif_resp *resp = NULL;
	if (nfd >= 0 && seccomp_notify_alloc(&req, &resp) == 0) {
		for (;;) {
			struct pollfd p[2] = { { nfd, POLLIN, 0 }, { sp[0], POLLIN, 0 } };
			if (poll(p, 2, 10000) <= 0)
				break;
			if (p[1].revents) {
				got = read(sp[0], &result, sizeof result) == sizeof result;
				break;
			}
			if (p[0].revents & POLLIN) {
				memset(req, 0, sizeof *req);
				if (seccomp_notify_receive(nfd, req) < 0)
					continue; /* the caller was gone before we looked */
				if (is_the_call(label, req))
					reached = 1;
				memset(resp, 0, sizeof *resp);
				resp->id = req->id;
				resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
				seccomp_notify_respond(nfd, resp);
			} else if (p[0].revents) {
				/* The filter's last user is gone: the result is on its way or lost. */
				got = read(sp[0], &result, sizeof result) == sizeof result;
				break;
			}
		}
	}
	int status = 0;
	waitpid(pid, &status, 0);
	if (nfd < 0 || (!got && WIFEXITED(status) && WEXITSTATUS(status) == 3)) {
		printf("%s skip: cannot install a notifying filter here\n", label);
		return 77;
	}
	if (!got) {
		if (WIFSIGNALED(status))
			printf("%s signal=%d\n", label, WTERMSIG(status));
		else
			printf("%s no-result\n", label);
		return 1;
	}
	if (result < 0) {
		printf("%s unknown: the probe makes no such call\n", label);
		return 2;
	}
	if (result == 0)
		printf("%s ok%s\n", label, reached ? " reached" : "");
	else
		printf("%s errno=%d%s\n", label, result, reached ? " reached" : "");
	return 0;
}

#if defined(__x86_64__)
/* Whether this kernel runs i386 system calls: without ia32 emulation int 0x80 faults. */
static int int80_works(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(int80(20 /* getpid */, 0) == getpid() ? 0 : 1);
	int status = 0;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}
#endif

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: syscall LABEL...\n");
		return 2;
	}
	alarm(60); /* never outlive a stuck notification */
	if (access(NOPATH, F_OK) == 0) {
		fprintf(stderr, "syscall: %s exists: refusing to run\n", NOPATH);
		return 2;
	}
	for (int i = 0; i <= 2 && tty_fd < 0; i++)
		if (isatty(i))
			tty_fd = i;
	int rc = 0;
	for (int i = 1; i < argc; i++) {
		const char *l = argv[i];
		if (strncmp(l, "ioctl:", 6) == 0 && tty_fd < 0) {
			printf("%s skip: no terminal on fds 0-2\n", l);
			continue;
		}
#if defined(__x86_64__)
		if (strcmp(l, "umount") == 0 && !int80_works()) {
			printf("%s skip: this kernel does not run i386 system calls (int 0x80)\n", l);
			continue;
		}
#endif
		char name[64];
		syscall_name(l, name, sizeof name);
		if (seccomp_syscall_resolve_name(name) == __NR_SCMP_ERROR) {
			printf("%s unknown: no such system call\n", l);
			rc = 1;
			continue;
		}
		fflush(stdout);
		int r = probe(l);
		if (r != 0 && r != 77)
			rc = 1;
	}
	return rc;
}
