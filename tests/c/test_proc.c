/* clone3 with pidfds, waiting, signals, exec path search, fd closing, and the reaper. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "lunshare.h"
#include "internal.h"

#include <poll.h>
#include <time.h>

static long ms_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* A child for lsh_proc_end: it ignores SIGTERM when told to, says so on a pipe, and waits.
 * Returns its pidfd; *pid its pid. */
static int stubborn_child(int ignore_term, pid_t *pid)
{
	int ready[2];
	if (pipe(ready) < 0)
		return -1;
	*pid = fork();
	if (*pid == 0) {
		close(ready[0]);
		if (ignore_term)
			signal(SIGTERM, SIG_IGN);
		(void)!write(ready[1], "r", 1);
		for (;;)
			pause();
	}
	close(ready[1]);
	char b;
	(void)!read(ready[0], &b, 1);
	close(ready[0]);
	return lsh_proc_pidfd(*pid, NULL);
}

int main(void)
{
	struct lsh_err *err = NULL;
	int pidfd = -1, status = 0;

	pid_t pid = lsh_proc_clone(0, -1, &pidfd, &err);
	if (pid == 0)
		_exit(42);
	ok(pid > 0 && pidfd >= 0, "clone gives a pid and a pidfd");
	ok(lsh_proc_wait(pidfd, 0, &status, &err) == 1 && lsh_proc_exit_status(status) == 42,
	   "wait through the pidfd gets the exit code");
	close(pidfd);

	pid = lsh_proc_clone(CLONE_NEWUSER | CLONE_NEWPID, -1, &pidfd, &err);
	if (pid == 0)
		_exit(getpid() == 1 ? 0 : 1);
	ok(pid > 0, "clone into new user and pid namespaces");
	ok(lsh_proc_wait(pidfd, 0, &status, &err) == 1 && WEXITSTATUS(status) == 0, "the child is pid 1");
	close(pidfd);

	pid = lsh_proc_clone(0, -1, &pidfd, &err);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	ok(lsh_proc_wait(pidfd, 1, &status, &err) == 0, "nohang wait on a running child is 0");
	ok(lsh_proc_signal(pidfd, SIGTERM, &err) == 0, "signal through the pidfd");
	ok(lsh_proc_wait(pidfd, 0, &status, &err) == 1 && lsh_proc_exit_status(status) == 128 + SIGTERM,
	   "a signal gives 128+N");
	close(pidfd);

	/* exec searches the PATH of the given environment, not ours. */
	pid = fork();
	if (pid == 0) {
		char *argv[] = { "true", NULL };
		char *envp[] = { "PATH=/nonexistent:/bin", NULL };
		lsh_proc_exec(argv, envp, NULL);
		_exit(9);
	}
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exec finds true in the env's PATH");
	char *argv[] = { "no-such-command-lsh", NULL };
	char *envp[] = { "PATH=/bin", NULL };
	ok(lsh_proc_exec(argv, envp, &err) == -ENOENT && err && strstr(err->msg, "no-such-command-lsh"),
	   "exec failure names the command");
	lsh_err_free(err);
	err = NULL;

	/* A file that exists but whose interpreter does not: "cannot run", and which one. */
	char script[] = "/tmp/lsh-test-interp-XXXXXX";
	int sfd = mkstemp(script);
	const char text[] = "#!/no/such/interpreter-lsh -x\n";
	ok(sfd >= 0 && write(sfd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1) && fchmod(sfd, 0700) == 0,
	   "a script with a missing interpreter");
	close(sfd);
	char *sargv[] = { script, NULL };
	ok(lsh_proc_exec(sargv, envp, &err) == -ENOEXEC && err &&
	   strstr(err->msg, ": /no/such/interpreter-lsh is not in the sandbox"),
	   "exec names the missing interpreter");
	unlink(script);
	lsh_err_free(err);
	err = NULL;

	/* close_fds keeps what it is asked to keep and closes the rest. */
	pid = fork();
	if (pid == 0) {
		int a = open("/dev/null", O_RDONLY), b = open("/dev/null", O_RDONLY), c = open("/dev/null", O_RDONLY);
		int keep[] = { b };
		if (lsh_proc_close_fds(keep, 1, NULL) < 0)
			_exit(1);
		_exit(fcntl(a, F_GETFD) < 0 && fcntl(b, F_GETFD) >= 0 && fcntl(c, F_GETFD) < 0 ? 0 : 2);
	}
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "close_fds keeps only the listed fds");
	pid = fork();
	if (pid == 0) {
		int a = open("/dev/null", O_RDONLY);
		if (lsh_proc_close_fds(NULL, 0, NULL) < 0)
			_exit(1);
		_exit(fcntl(a, F_GETFD) < 0 && fcntl(1, F_GETFD) >= 0 ? 0 : 2);
	}
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "close_fds with nothing to keep closes all but stdio");

	/* The reaper returns the command's status and forwards signals. Pid 1 says when it
	 * holds every signal (one sent before would be dropped: pid 1 has no handler). */
	int ready[2];
	if (pipe(ready) < 0)
		return 1;
	pid = lsh_proc_clone(CLONE_NEWUSER | CLONE_NEWPID, -1, &pidfd, &err);
	if (pid == 0) {
		sigset_t all, old;
		sigfillset(&all);
		sigprocmask(SIG_BLOCK, &all, &old);
		pid_t cmd = fork();
		if (cmd == 0) {
			sigprocmask(SIG_SETMASK, &old, NULL);
			pause();
			_exit(0);
		}
		if (write(ready[1], "r", 1) != 1)
			_exit(2);
		_exit(lsh_proc_reap(cmd, NULL));
	}
	close(ready[1]);
	char byte;
	ok(read(ready[0], &byte, 1) == 1, "pid 1 is ready to forward signals");
	close(ready[0]);
	lsh_proc_signal(pidfd, SIGTERM, &err);
	ok(lsh_proc_wait(pidfd, 0, &status, &err) == 1 && WEXITSTATUS(status) == 128 + SIGTERM,
	   "pid 1 forwards SIGTERM and exits 143 (%d)", WEXITSTATUS(status));
	close(pidfd);
	ok(lsh_proc_exit_status(0x0100) == 1 && lsh_proc_exit_status(SIGKILL) == 137, "exit status mapping");

	/* lsh_proc_stat: a child's parent, its uid, and a start time that tells it from a
	 * later process with its pid (it cannot be earlier than ours). */
	struct lsh_proc_info self, kid;
	int hold[2];
	if (pipe(hold) < 0)
		return 1;
	pid_t c = fork();
	if (c == 0) {
		char b;
		close(hold[1]);
		_exit(read(hold[0], &b, 1) < 0);
	}
	close(hold[0]);
	ok(lsh_proc_stat(getpid(), &self, &err) == 0 && self.ppid == getppid() && self.uid == getuid(),
	   "proc_stat of ourselves: parent %d, uid %u", (int)self.ppid, (unsigned)self.uid);
	ok(lsh_proc_stat(c, &kid, &err) == 0 && kid.ppid == getpid() && kid.starttime >= self.starttime &&
	   kid.starttime > 0, "proc_stat of a child: its parent is us, it started after us (%llu >= %llu)",
	   (unsigned long long)kid.starttime, (unsigned long long)self.starttime);
	pid_t kids[4];
	ok(lsh_proc_children(getpid(), kids, 4, &err) >= 1 && kids[0] == c, "proc_children finds the child");
	close(hold[1]);
	waitpid(c, &status, 0);
	ok(lsh_proc_stat(c, &kid, NULL) == -ENOENT, "proc_stat of a reaped child: -ENOENT");

	/* lsh_proc_end, the one way a helper and the relay are ended: TERM, the grace, KILL,
	 * reaped and the pidfd closed. */
	pid_t p;
	int pfd = stubborn_child(0, &p);
	long t0 = ms_now();
	lsh_proc_end(pfd, 5000);
	long took = ms_now() - t0;
	ok(pfd >= 0 && took < 4000 && waitpid(p, &status, WNOHANG) < 0 && errno == ECHILD &&
	   fcntl(pfd, F_GETFD) < 0 && errno == EBADF,
	   "proc_end: a process that goes at SIGTERM is reaped before the grace is over (%ld ms)", took);
	pfd = stubborn_child(1, &p);
	t0 = ms_now();
	lsh_proc_end(pfd, 200);
	took = ms_now() - t0;
	ok(pfd >= 0 && took >= 200 && waitpid(p, &status, WNOHANG) < 0 && errno == ECHILD,
	   "proc_end: one that ignores SIGTERM is killed after the grace and reaped (%ld ms)", took);
	lsh_proc_end(-1, 1000);
	ok(1, "proc_end of no process is nothing");
	return done_testing();
}
