/* Process control: clone3 with a pidfd, waiting and signalling through pidfds, fd hygiene,
 * exec, and the pid-1 reaper of a pid namespace. */
#include "internal.h"
#include "syscalls.h"

#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

pid_t lsh_proc_clone(unsigned long flags, int cgroup_fd, int *pidfd, struct lsh_err **err)
{
	struct lsh_clone_args args;

	memset(&args, 0, sizeof args);
	*pidfd = -1;
	args.flags = flags | CLONE_PIDFD;
	args.pidfd = (uint64_t)(uintptr_t)pidfd;
	args.exit_signal = SIGCHLD;
	if (cgroup_fd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)cgroup_fd;
	}
	long pid = sys_clone3(&args);
	if (pid < 0 && errno == ENOSYS && cgroup_fd < 0)
		/* Kernels before 5.3: clone(2) also fills a pidfd since 5.2. */
		pid = sys_clone(flags | CLONE_PIDFD | SIGCHLD, pidfd);
	if (pid < 0)
		return lsh_err_set(err, errno, "clone3(0x%lx)", flags);
	if (pid > 0 && *pidfd >= 0)
		/* pidfds from clone are close-on-exec already; make sure on old kernels. */
		fcntl(*pidfd, F_SETFD, FD_CLOEXEC);
	return (pid_t)pid;
}

int lsh_proc_pidfd(pid_t pid, struct lsh_err **err)
{
	int fd = sys_pidfd_open(pid, 0);
	if (fd < 0)
		return lsh_err_set(err, errno, "pidfd_open(%d)", (int)pid);
	return fd;
}

int lsh_proc_signal(int pidfd, int sig, struct lsh_err **err)
{
	if (sys_pidfd_send_signal(pidfd, sig, NULL, 0) < 0)
		return lsh_err_set(err, errno, "pidfd_send_signal(%d)", sig);
	return 0;
}

int lsh_proc_wait(int pidfd, int nohang, int *status, struct lsh_err **err)
{
	siginfo_t info;

	for (;;) {
		memset(&info, 0, sizeof info);
		if (waitid((idtype_t)LSH_P_PIDFD, (id_t)pidfd, &info, WEXITED | (nohang ? WNOHANG : 0)) == 0)
			break;
		if (errno != EINTR)
			return lsh_err_set(err, errno, "waitid(pidfd %d)", pidfd);
	}
	if (info.si_pid == 0)
		return 0;
	if (info.si_code == CLD_EXITED)
		*status = (info.si_status & 0xff) << 8;
	else
		*status = (info.si_status & 0x7f) | (info.si_code == CLD_DUMPED ? 0x80 : 0);
	return 1;
}

void lsh_proc_end(int pidfd, int grace_ms)
{
	int status;
	if (pidfd < 0)
		return;
	sys_pidfd_send_signal(pidfd, SIGTERM, NULL, 0);
	struct pollfd p = { pidfd, POLLIN, 0 };
	if (poll(&p, 1, grace_ms) <= 0)
		sys_pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
	lsh_proc_wait(pidfd, 0, &status, NULL);
	close(pidfd);
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

int lsh_proc_close_fds(const int *keep, size_t nkeep, struct lsh_err **err)
{
	int sorted[64];
	unsigned from = 3;

	if (nkeep > LSH_ARRAY_SIZE(sorted))
		return lsh_err_msg(err, EINVAL, "close fds: at most %zu fds can be kept",
				   LSH_ARRAY_SIZE(sorted));
	if (nkeep > 0) {
		memcpy(sorted, keep, nkeep * sizeof *keep);
		qsort(sorted, nkeep, sizeof *sorted, cmp_int);
	}
	for (size_t i = 0; i <= nkeep; i++) {
		unsigned to = i < nkeep ? (unsigned)sorted[i] : UINT_MAX;
		if (i < nkeep && sorted[i] < (int)from)
			continue;
		if (to > from && sys_close_range(from, to - 1, 0) < 0) {
			if (errno != ENOSYS)
				return lsh_err_set(err, errno, "close_range(%u, %u)", from, to - 1);
			/* Kernels before 5.9: close one by one up to the fd limit. */
			long max = sysconf(_SC_OPEN_MAX);
			for (long fd = from; fd < (to == UINT_MAX ? max : (long)to); fd++)
				close((int)fd);
		}
		if (i < nkeep)
			from = (unsigned)sorted[i] + 1;
	}
	return 0;
}

int lsh_proc_pdeathsig(int sig, pid_t expected_ppid, struct lsh_err **err)
{
	if (prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) < 0)
		return lsh_err_set(err, errno, "prctl(PR_SET_PDEATHSIG)");
	/* The parent may have died between clone and prctl; then no signal will come. A
	 * child in a new pid namespace sees ppid 0, which is as good as alive. */
	pid_t ppid = getppid();
	if (ppid != expected_ppid && ppid != 0)
		return lsh_err_msg(err, ESRCH, "the supervisor exited before the sandbox started");
	return 0;
}

int lsh_proc_setsid(struct lsh_err **err)
{
	if (setsid() < 0)
		return lsh_err_set(err, errno, "setsid");
	return 0;
}

static const char *env_path(char *const envp[])
{
	for (size_t i = 0; envp && envp[i]; i++)
		if (strncmp(envp[i], "PATH=", 5) == 0)
			return envp[i] + 5;
	return "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";
}

/* The interpreter a file names (an ELF's PT_INTERP, or a script's #! line) into buf, or
 * an empty string when it names none or cannot be read. */
static void interpreter_of(const char *path, char *buf, size_t size)
{
	buf[0] = '\0';
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	union {
		unsigned char b[256];
		Elf64_Ehdr e64;
		Elf32_Ehdr e32;
	} h;
	ssize_t n = fd < 0 ? -1 : pread(fd, &h, sizeof h, 0);
	if (n >= 2 && h.b[0] == '#' && h.b[1] == '!') {
		size_t i = 2, k = 0;
		while (i < (size_t)n && (h.b[i] == ' ' || h.b[i] == '\t'))
			i++;
		while (i < (size_t)n && k + 1 < size && h.b[i] != ' ' && h.b[i] != '\t' && h.b[i] != '\n')
			buf[k++] = (char)h.b[i++];
		buf[k] = '\0';
		return;
	}
	if (n < (ssize_t)sizeof(Elf32_Ehdr) || memcmp(h.b, ELFMAG, SELFMAG) != 0)
		return;
	int is64 = h.b[EI_CLASS] == ELFCLASS64;
	if (is64 && n < (ssize_t)sizeof(Elf64_Ehdr))
		return;
	uint64_t phoff = is64 ? h.e64.e_phoff : h.e32.e_phoff;
	unsigned phnum = is64 ? h.e64.e_phnum : h.e32.e_phnum;
	for (unsigned i = 0; i < phnum && i < 64; i++) {
		uint64_t type, off, len;
		if (is64) {
			Elf64_Phdr ph;
			if (pread(fd, &ph, sizeof ph, (off_t)(phoff + i * sizeof ph)) != (ssize_t)sizeof ph)
				return;
			type = ph.p_type, off = ph.p_offset, len = ph.p_filesz;
		} else {
			Elf32_Phdr ph;
			if (pread(fd, &ph, sizeof ph, (off_t)(phoff + i * sizeof ph)) != (ssize_t)sizeof ph)
				return;
			type = ph.p_type, off = ph.p_offset, len = ph.p_filesz;
		}
		if (type != PT_INTERP)
			continue;
		if (len >= size)
			len = size - 1;
		ssize_t r = pread(fd, buf, (size_t)len, (off_t)off);
		buf[r > 0 ? r : 0] = '\0';
		return;
	}
}

/* execve failed with ENOENT although path exists: what is missing is its interpreter,
 * which a sandbox's view may well lack. The message names it, and the failure is "cannot
 * run" (ENOEXEC), not "not found". */
static int missing_interpreter(const char *shown, const char *path, struct lsh_err **err)
{
	char interp[PATH_MAX], next[PATH_MAX];
	interpreter_of(path, interp, sizeof interp);
	/* A script's interpreter may be there while its own (the dynamic linker) is not. */
	for (int depth = 0; depth < 4 && interp[0] && access(interp, F_OK) == 0; depth++) {
		interpreter_of(interp, next, sizeof next);
		memcpy(interp, next, sizeof interp);
	}
	if (interp[0])
		return lsh_err_msg(err, ENOEXEC, "exec %s: %s is not in the sandbox", shown, interp);
	return lsh_err_set(err, ENOENT, "exec %s", shown);
}

int lsh_proc_exec(char *const argv[], char *const envp[], struct lsh_err **err)
{
	if (argv == NULL || argv[0] == NULL || argv[0][0] == '\0')
		return lsh_err_msg(err, EINVAL, "exec: empty command");
	if (strchr(argv[0], '/')) {
		execve(argv[0], argv, envp);
		if (errno == ENOENT && access(argv[0], F_OK) == 0)
			return missing_interpreter(argv[0], argv[0], err);
		return lsh_err_set(err, errno, "exec %s", argv[0]);
	}
	/* execvpe's search, but in the sandbox's PATH rather than the supervisor's. */
	int first = ENOENT;
	const char *p = env_path(envp);
	char full[PATH_MAX];
	while (*p) {
		const char *colon = strchrnul(p, ':');
		size_t dl = (size_t)(colon - p);
		if (dl == 0)
			dl = 1, p = ".";
		if (dl + 1 + strlen(argv[0]) < sizeof full) {
			memcpy(full, p, dl);
			full[dl] = '/';
			strcpy(full + dl + 1, argv[0]);
			execve(full, argv, envp);
			if (errno == ENOENT && access(full, F_OK) == 0)
				return missing_interpreter(argv[0], full, err);
			if (errno != ENOENT && errno != ENOTDIR && first == ENOENT)
				first = errno;
		}
		p = *colon ? colon + 1 : colon;
	}
	return lsh_err_set(err, first, "exec %s", argv[0]);
}

int lsh_proc_exit_status(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

/* Tells the supervisor how the command ended, when it exited by itself and no other
 * process is left in the namespace (pid 1 has no child at all: every process of a pid
 * namespace descends from its init, orphans included), so that a supervisor with nothing
 * to take down may return without waiting for this process's exit (LSH_SPAWN_EARLY). */
static void report_end(int notify_fd, int status, int code)
{
	char msg[1 + sizeof(int)] = { 'X' };
	if (notify_fd < 0 || !WIFEXITED(status) || waitpid(-1, NULL, WNOHANG | __WALL) != -1 || errno != ECHILD)
		return;
	memcpy(msg + 1, &code, sizeof code);
	if (send(notify_fd, msg, sizeof msg, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		/* The supervisor is gone, or waits for this exit as it always may. */
	}
}

/* The pid-1 loop; job: the command leads its own process group (lsh_proc_reap_job). */
static int reap(pid_t cmd, int job, int notify_fd, struct lsh_err **err)
{
	sigset_t all;
	siginfo_t info;
	int cmd_status = -1;

	sigfillset(&all);
	for (;;) {
		int sig = sigwaitinfo(&all, &info);
		if (sig < 0) {
			if (errno == EINTR)
				continue;
			return lsh_err_set(err, errno, "pid 1: sigwaitinfo");
		}
		if (sig == SIGCHLD) {
			int status;
			pid_t p;
			while ((p = waitpid(-1, &status, WNOHANG | (job ? WUNTRACED : 0))) > 0) {
				if (p != cmd)
					continue;
				if (WIFSTOPPED(status)) {
					/* The job stopped (Ctrl-Z in its terminal): say so to the
					 * supervisor, which suspends the whole run. */
					if (notify_fd >= 0 && send(notify_fd, "T", 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
						/* The supervisor is gone: the sandbox dies with it. */
					}
					continue;
				}
				cmd_status = status;
			}
			if (cmd_status >= 0) {
				int code = lsh_proc_exit_status(cmd_status);
				report_end(notify_fd, cmd_status, code);
				return code;
			}
			continue;
		}
		/* A signal the kernel sent to the terminal's foreground group reached the
		 * command too; forward only what was sent to pid 1 alone. */
		if (info.si_code == SI_KERNEL)
			continue;
		int ending = sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT;
		if (job && ending) {
			/* Every process of the namespace, not only the command: a shell's
			 * children would go on after it. */
			kill(-1, sig);
			kill(-1, SIGCONT);
			continue;
		}
		if (job && sig == SIGTSTP) {
			/* The run is suspended (only the supervisor can signal pid 1): every
			 * process of the namespace stops, not only the job. */
			kill(-1, SIGSTOP);
			continue;
		}
		if (job && sig == SIGCONT) {
			/* The run resumes: so does every process of the namespace. */
			kill(-1, SIGCONT);
			continue;
		}
		kill(cmd, sig);
		/* A stopped command would keep a terminating signal pending for good. */
		if (ending)
			kill(cmd, SIGCONT);
	}
}

int lsh_proc_reap(pid_t cmd, struct lsh_err **err)
{
	return reap(cmd, 0, -1, err);
}

int lsh_proc_reap_job(pid_t cmd, int notify_fd, struct lsh_err **err)
{
	return reap(cmd, 1, notify_fd, err);
}

/* Fields 5 to 21 of /proc/PID/stat, between the parent (4) and the start time (22). */
#define SKIP4 " %*s %*s %*s %*s"
#define SKIP17 SKIP4 SKIP4 SKIP4 SKIP4 " %*s"

int lsh_proc_stat(pid_t pid, struct lsh_proc_info *info, struct lsh_err **err)
{
	char path[64], *text = NULL;
	size_t len = 0;
	memset(info, 0, sizeof *info);
	if (pid <= 0)
		return lsh_err_msg(err, EINVAL, "bad pid %d", (int)pid);
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int r = lsh_file_read(AT_FDCWD, path, LSH_FILE_KERNEL, 4096, &text, &len, err);
	if (r < 0)
		return r;
	/* The command name may hold anything, ')' and spaces too: the fields start after
	 * the last ')'. */
	char *p = strrchr(text, ')');
	unsigned long long start = 0;
	int ppid = 0;
	char state = 0;
	if (p == NULL || sscanf(p + 1, " %c %d" SKIP17 " %llu",
				&state, &ppid, &start) != 3) {
		free(text);
		return lsh_err_msg(err, EINVAL, "%s: not in the kernel's format", path);
	}
	free(text);
	info->ppid = (pid_t)ppid;
	info->starttime = (uint64_t)start;
	info->state = state;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if ((r = lsh_file_read(AT_FDCWD, path, LSH_FILE_KERNEL, 1 << 16, &text, &len, err)) < 0)
		return r;
	char *u = strstr(text, "\nUid:");
	unsigned long uid;
	if (u == NULL || sscanf(u + 5, "%lu", &uid) != 1) {
		free(text);
		return lsh_err_msg(err, EINVAL, "%s: no Uid line", path);
	}
	free(text);
	info->uid = (uid_t)uid;
	return 0;
}

struct child {
	pid_t pid;
	uint64_t start;
};

static int by_start(const void *a, const void *b)
{
	const struct child *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

int lsh_proc_children(pid_t pid, pid_t *out, size_t max, struct lsh_err **err)
{
	DIR *d = opendir("/proc");
	if (d == NULL)
		return lsh_err_set(err, errno, "open /proc");
	struct child *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	int r = 0;
	while ((e = readdir(d)) != NULL) {
		char *end;
		long p = strtol(e->d_name, &end, 10);
		struct lsh_proc_info info;
		if (*end || p <= 0 || lsh_proc_stat((pid_t)p, &info, NULL) < 0 || info.ppid != pid)
			continue; /* not a process, or gone meanwhile */
		if (n == cap) {
			struct child *nv = realloc(v, (cap ? cap * 2 : 8) * sizeof *v);
			if (nv == NULL) {
				r = lsh_err_set(err, ENOMEM, "list the children of %d", (int)pid);
				break;
			}
			v = nv;
			cap = cap ? cap * 2 : 8;
		}
		v[n].pid = (pid_t)p;
		v[n++].start = info.starttime;
	}
	closedir(d);
	if (r == 0) {
		qsort(v, n, sizeof *v, by_start);
		for (size_t i = 0; i < n && i < max; i++)
			out[i] = v[i].pid;
		r = (int)n;
	}
	free(v);
	return r;
}

int lsh_proc_poll_exit(int pidfd, int timeout_ms, struct lsh_err **err)
{
	struct pollfd p = { pidfd, POLLIN, 0 };
	for (;;) {
		int r = poll(&p, 1, timeout_ms);
		if (r > 0)
			return 1;
		if (r == 0)
			return 0;
		if (errno != EINTR)
			return lsh_err_set(err, errno, "poll(pidfd %d)", pidfd);
	}
}
