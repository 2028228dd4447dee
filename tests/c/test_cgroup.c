/* Per-run cgroups: creation under the caller's cgroup, limits written, placement, the OOM
 * report, and removal. Needs a writable cgroup (root here); skips otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "tap.h"
#include "child.h"
#include "lunshare.h"

static int contains(const char *path, const char *text)
{
	char buf[4096] = "";
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n > 0)
		buf[n] = '\0';
	return strstr(buf, text) != NULL;
}

static int hog(void)
{
	/* Touch 256 MiB page by page: far past the 32 MiB limit. */
	size_t len = 256u << 20;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (size_t i = 0; p != MAP_FAILED && i < len; i += 4096)
		p[i] = 1;
	return 0;
}

/* Below the v2 root, the run's cgroup is made beside the caller's (which holds processes
 * and so cannot hand controllers down), not inside it. Run in a child moved into a cgroup
 * of its own for the test. */
static void sibling_test(const char *name)
{
	char mnt[] = "/sys/fs/cgroup/unified", parent[256], procs[300];
	snprintf(parent, sizeof parent, "%s/lsh-caller-%d", mnt, (int)getpid());
	if (mkdir(parent, 0755) < 0) {
		skip("cannot make a caller cgroup under %s", mnt);
		return;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct lsh_err *e = NULL;
		struct lsh_cgroup *c = NULL;
		struct lsh_cgroup_limits none = { 0, 0, 0, 0 };
		char want[300];
		snprintf(procs, sizeof procs, "%s/cgroup.procs", parent);
		int fd = open(procs, O_WRONLY);
		if (fd < 0 || write(fd, "0", 1) != 1)
			_exit(2);
		close(fd);
		if (lsh_cgroup_create(name, &none, &c, &e) < 0)
			_exit(3);
		snprintf(want, sizeof want, "%s/%s", mnt, name);
		int right = strcmp(lsh_cgroup_path(c), want) == 0;
		lsh_cgroup_destroy(c);
		_exit(right ? 0 : 1);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a caller below the v2 root gets a sibling cgroup (%d)",
	   WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	rmdir(parent);
}

int main(void)
{
	struct lsh_err *err = NULL;
	struct lsh_cgroup *cg = NULL;
	char name[64], path[4200];
	struct lsh_cgroup_limits lim = { 32 << 20, 16, 50000, 100000 };

	snprintf(name, sizeof name, "lsh-test-%d", (int)getpid());
	int r = lsh_cgroup_create(name, &lim, &cg, &err);
	if (r < 0 && (r == -EACCES || r == -EPERM || r == -EROFS || r == -ENOENT)) {
		skip("no writable cgroup here: %s", err->msg);
		lsh_err_free(err);
		return done_testing();
	}
	ok(r == 0, "creates the run's cgroup: %s", err ? err->msg : "");
	const char *dir = lsh_cgroup_path(cg);
	struct stat st;
	ok(dir && stat(dir, &st) == 0 && S_ISDIR(st.st_mode), "the cgroup exists: %s", dir ? dir : "");
	ok(dir && (st.st_mode & 07777) == 0755 && st.st_uid == geteuid(),
	   "it is its owner's alone to write, 0755, so the sandbox can read its own limits (%o)", (unsigned)(st.st_mode & 07777));
	struct lsh_cgroup *again = NULL;
	r = lsh_cgroup_create(name, &lim, &again, &err);
	ok(r == -EEXIST && again == NULL, "one that exists already is refused, never taken over (%d)", r);
	lsh_err_free(err);
	err = NULL;
	snprintf(path, sizeof path, "%s/memory.limit_in_bytes", dir);
	if (access(path, F_OK) != 0)
		snprintf(path, sizeof path, "%s/memory.max", dir);
	ok(contains(path, "33554432"), "the memory limit is written");

	fflush(stdout);
	int placed[2];
	if (pipe(placed) < 0)
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		/* Wait to be placed, then use too much memory. */
		char c;
		close(placed[1]);
		if (read(placed[0], &c, 1) != 1)
			_exit(2);
		_exit(hog());
	}
	close(placed[0]);
	ok(lsh_cgroup_attach(cg, pid, &err) == 0, "places a process in it");
	if (write(placed[1], "p", 1) != 1)
		return 1;
	close(placed[1]);
	int status = 0;
	waitpid(pid, &status, 0);
	ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the process is killed at the memory limit");
	ok(lsh_cgroup_oom_killed(cg) == 1, "and the cgroup reports the OOM kill");
	char *copy = strdup(dir);
	lsh_cgroup_destroy(cg);
	ok(stat(copy, &st) < 0 && errno == ENOENT, "destroy removes it");
	free(copy);

	struct lsh_cgroup_limits pidlim = { 0, 4, 0, 0 };
	ok(lsh_cgroup_create(name, &pidlim, &cg, &err) == 0, "a pids-only cgroup");
	ok(lsh_cgroup_oom_killed(cg) == 0, "no memory controller, no OOM report");
	lsh_cgroup_destroy(cg);
	ok(lsh_cgroup_create("../escape", &pidlim, &cg, &err) == -EINVAL, "a name with a slash is refused");
	lsh_err_free(err);
	err = NULL;

	/* v2: a cgroup without limits needs no controller, so the caller's v2 cgroup (the
	 * empty hybrid one here) serves, and the child is born in it with CLONE_INTO_CGROUP. */
	struct lsh_cgroup_limits none = { 0, 0, 0, 0 };
	int fd = -1;
	if (lsh_cgroup_create(name, &none, &cg, &err) == 0 && (fd = lsh_cgroup_fd(cg, &err)) >= 0) {
		int pidfd = -1;
		fflush(stdout);
		pid_t child = lsh_proc_clone(0, fd, &pidfd, &err);
		if (child == 0) {
			char want[128];
			snprintf(want, sizeof want, "/%s\n", name);
			_exit(contains("/proc/self/cgroup", want) ? 0 : 1);
		}
		ok(child > 0, "clones into the v2 cgroup: %s", err ? err->msg : "");
		int cst = 0;
		lsh_proc_wait(pidfd, 0, &cst, &err);
		ok(WIFEXITED(cst) && WEXITSTATUS(cst) == 0, "the child is in it from its first instruction");
		close(pidfd);
		close(fd);
		copy = strdup(lsh_cgroup_path(cg));
		lsh_cgroup_destroy(cg);
		ok(stat(copy, &st) < 0 && errno == ENOENT, "and the v2 cgroup is removed");
		free(copy);
		sibling_test(name);
	} else {
		skip("no writable cgroup v2 here: %s", err ? err->msg : "v1 only");
		lsh_cgroup_destroy(cg);
	}
	lsh_err_free(err);
	return done_testing();
}
