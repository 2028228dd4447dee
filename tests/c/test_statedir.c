/* Private state directories and the bounded reader: what another user may have prepared in
 * a shared directory (a world-writable directory, one owned by them, a symlink, a FIFO, a
 * huge or endless file) is refused with a message naming it, and nothing is followed; and the
 * tree remover (core/tree.c) that lunshare test cleans its scratch trees with. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "lunshare.h"

static char base[] = "/tmp/lsh-statedir-XXXXXX";

static mode_t mode_of(const char *rel)
{
	char p[512];
	struct stat st;
	snprintf(p, sizeof p, "%s/%s", base, rel);
	return lstat(p, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

static void sh(const char *fmt, const char *arg)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, fmt, arg, arg, arg);
	if (system(cmd) != 0)
		printf("# command failed: %s\n", cmd);
}

/* Opens rel beneath base; returns the fd or the negative errno, and the message in msg. */
static int open_dir(const char *rel, unsigned flags, char *msg, size_t size)
{
	struct lsh_err *err = NULL;
	int fd = lsh_statedir_open(base, rel, flags, &err);
	snprintf(msg, size, "%s", err ? err->msg : "");
	lsh_err_free(err);
	return fd;
}

static void creates_private_dirs(void)
{
	char msg[512];
	mode_t old = umask(0777);
	int fd = open_dir("a/b/c", LSH_STATEDIR_CREATE, msg, sizeof msg);
	umask(old);
	ok(fd >= 0, "creates a missing path beneath the root (%s)", msg);
	ok(mode_of("a") == 0700 && mode_of("a/b") == 0700 && mode_of("a/b/c") == 0700,
	   "every component it creates is 0700, whatever the umask (%o %o %o)", mode_of("a"), mode_of("a/b"),
	   mode_of("a/b/c"));
	if (fd >= 0)
		close(fd);
	fd = open_dir("a/b/c", 0, msg, sizeof msg);
	ok(fd >= 0, "opens it again without creating (%s)", msg);
	if (fd >= 0)
		close(fd);
	ok(open_dir("a/missing", 0, msg, sizeof msg) == -ENOENT, "a missing one without create is ENOENT");
	ok(open_dir("a/../x", LSH_STATEDIR_CREATE, msg, sizeof msg) == -EINVAL && mode_of("x") == (mode_t)-1,
	   "\"..\" is not a component (%s)", msg);
}

static void refuses_what_another_user_prepared(void)
{
	char msg[512], p[512];

	/* The reproduced attack: a world-writable directory made in advance. */
	snprintf(p, sizeof p, "%s/open", base);
	mkdir(p, 0777);
	chmod(p, 0777);
	int r = open_dir("open/lunshare", LSH_STATEDIR_CREATE, msg, sizeof msg);
	ok(r == -EPERM && strstr(msg, "/open: writable by others (mode 0777)") && strstr(msg, base),
	   "a world-writable component is refused, by path and why (%s)", msg);
	ok(mode_of("open/lunshare") == (mode_t)-1, "and nothing is made inside it");
	chmod(p, 0720);
	r = open_dir("open", 0, msg, sizeof msg);
	ok(r == -EPERM && strstr(msg, "writable by its group"), "so is a group-writable one (%s)", msg);

	/* A symlink in place of a component, even to a directory of the caller's own. */
	snprintf(p, sizeof p, "%s/link", base);
	if (symlink("a", p) < 0)
		printf("# symlink: %s\n", strerror(errno));
	r = open_dir("link/b", LSH_STATEDIR_CREATE, msg, sizeof msg);
	ok(r == -ELOOP && strstr(msg, "/link: is a symlink"), "a symlink component is never followed (%s)", msg);
	snprintf(p, sizeof p, "%s/file", base);
	close(open(p, O_CREAT | O_WRONLY, 0600));
	r = open_dir("file/x", LSH_STATEDIR_CREATE, msg, sizeof msg);
	ok(r == -ENOTDIR && strstr(msg, "is a regular file, not a directory"), "a file component is refused (%s)", msg);

	if (geteuid() != 0) {
		skip("a directory owned by another user needs root to make");
		return;
	}
	snprintf(p, sizeof p, "%s/theirs", base);
	mkdir(p, 0700);
	if (chown(p, 12345, 12345) < 0)
		printf("# chown: %s\n", strerror(errno));
	r = open_dir("theirs/lunshare", LSH_STATEDIR_CREATE, msg, sizeof msg);
	ok(r == -EPERM && strstr(msg, "owned by uid 12345, not by this user (uid 0)"),
	   "a directory owned by another user is refused, even 0700 (%s)", msg);
}

static int read_in(int dir, const char *name, char **text, char *msg, size_t size)
{
	struct lsh_err *err = NULL;
	int r = lsh_statedir_read(dir, name, 64, text, NULL, &err);
	snprintf(msg, size, "%s", err ? err->msg : "");
	lsh_err_free(err);
	return r;
}

static int write_in(int dir, const char *name, const char *text, enum lsh_state_how how)
{
	struct lsh_err *err = NULL;
	int r = lsh_statedir_write(dir, name, text, strlen(text), how, &err);
	lsh_err_free(err);
	return r;
}

static void files_relative_to_the_fd(void)
{
	char msg[512], p[512], *text = NULL;
	int dir = open_dir("files", LSH_STATEDIR_CREATE, msg, sizeof msg);
	if (dir < 0) {
		ok(0, "open a state directory for files (%s)", msg);
		return;
	}
	ok(write_in(dir, "s", "one\n", LSH_STATE_CREATE) == 0, "creates a file");
	ok(write_in(dir, "s", "x", LSH_STATE_CREATE) == -EEXIST, "create never overwrites (O_EXCL)");
	ok(write_in(dir, "s", "two\n", LSH_STATE_APPEND) == 0, "appends");
	ok(read_in(dir, "s", &text, msg, sizeof msg) == 0 && strcmp(text, "one\ntwo\n") == 0, "reads it back");
	free(text);
	ok(write_in(dir, "s", "new\n", LSH_STATE_REPLACE) == 0 && read_in(dir, "s", &text, msg, sizeof msg) == 0 &&
		   strcmp(text, "new\n") == 0,
	   "replaces it whole");
	free(text);
	ok(mode_of("files/s") == 0600, "state files are 0600 (%o)", mode_of("files/s"));

	/* The holder attack: a symlink planted where a state file goes, to a file of ours. */
	snprintf(p, sizeof p, "%s/victim", base);
	int v = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	if (v >= 0 && write(v, "keys\n", 5) == 5)
		close(v);
	snprintf(p, sizeof p, "%s/files/h", base);
	char target[512];
	snprintf(target, sizeof target, "%s/victim", base);
	if (symlink(target, p) < 0)
		printf("# symlink: %s\n", strerror(errno));
	ok(read_in(dir, "h", &text, msg, sizeof msg) == -ELOOP && strstr(msg, "symlink"), "read refuses a symlink (%s)", msg);
	ok(write_in(dir, "h", "x", LSH_STATE_APPEND) == -ELOOP, "append refuses it");
	ok(write_in(dir, "h", "x", LSH_STATE_CREATE) == -EEXIST, "create refuses it");
	ok(write_in(dir, "h", "123 user:[1]\n", LSH_STATE_REPLACE) == 0, "replace puts a file in its place");
	struct stat st;
	ok(lstat(p, &st) == 0 && S_ISREG(st.st_mode), "the name is a regular file now");
	v = open(target, O_RDONLY);
	char buf[16] = "";
	ok(v >= 0 && read(v, buf, sizeof buf) == 5 && strcmp(buf, "keys\n") == 0, "and the symlink's target is untouched");
	if (v >= 0)
		close(v);

	snprintf(p, sizeof p, "%s/files/big", base);
	v = open(p, O_CREAT | O_WRONLY, 0600);
	for (int i = 0; v >= 0 && i < 65; i++)
		if (write(v, "x", 1) != 1)
			break;
	if (v >= 0)
		close(v);
	ok(read_in(dir, "big", &text, msg, sizeof msg) == -EFBIG && strstr(msg, "big: larger than 64 bytes"),
	   "a file over the cap is refused (%s)", msg);
	snprintf(p, sizeof p, "%s/files/fifo", base);
	mkfifo(p, 0600);
	ok(read_in(dir, "fifo", &text, msg, sizeof msg) == -EINVAL && strstr(msg, "not a regular file (a FIFO)"),
	   "a FIFO is refused without blocking (%s)", msg);
	ok(write_in(dir, "fifo", "x", LSH_STATE_APPEND) < 0, "and is not written to");
	ok(write_in(dir, "../escape", "x", LSH_STATE_CREATE) == -EINVAL && mode_of("escape") == (mode_t)-1,
	   "a name is one component");
	close(open(p, O_RDONLY | O_NONBLOCK));
	snprintf(p, sizeof p, "%s/files/.s.tmp", base);
	close(open(p, O_CREAT | O_WRONLY, 0600));

	char **names = NULL;
	struct lsh_err *err = NULL;
	int n = lsh_statedir_list(dir, &names, &err);
	char joined[256] = "";
	for (int i = 0; i < n; i++)
		snprintf(joined + strlen(joined), sizeof joined - strlen(joined), "%s%s", i ? " " : "", names[i]);
	ok(n == 4 && strcmp(joined, "big fifo h s") == 0, "lists the names, sorted, without dot files (%s)", joined);
	lsh_statedir_list_free(names);
	lsh_err_free(err);
	err = NULL;
	ok(lsh_statedir_remove(dir, "h", &err) == 1 && lsh_statedir_remove(dir, "h", &err) == 0,
	   "remove says whether there was one");
	close(dir);
}

static void prunes_empty_dirs_only(void)
{
	char msg[512];
	struct lsh_err *err = NULL;
	int fd = open_dir("p/q/r", LSH_STATEDIR_CREATE, msg, sizeof msg);
	if (fd >= 0)
		close(fd);
	fd = open_dir("p/keep", LSH_STATEDIR_CREATE, msg, sizeof msg);
	if (fd >= 0)
		close(fd);
	int n = lsh_statedir_prune(base, "p/q/r", &err);
	ok(n == 2 && mode_of("p/q") == (mode_t)-1 && mode_of("p") == 0700, "prunes the empty ones, keeps a non-empty parent (%d)", n);
	lsh_err_free(err);
	err = NULL;
	n = lsh_statedir_prune(base, "p/q/r", &err);
	ok(n == 0 && mode_of("p") == 0700, "a path gone already is fine (%d)", n);
	lsh_err_free(err);
	err = NULL;
	n = lsh_statedir_prune(base, "link/b", &err);
	ok(n < 0 && mode_of("a") == 0700, "never through a symlink (%d)", n);
	lsh_err_free(err);
}

static int read_file_how(const char *path, unsigned flags, size_t max, size_t *len, char *msg, size_t size)
{
	struct lsh_err *err = NULL;
	char *text = NULL;
	int r = lsh_file_read(AT_FDCWD, path, flags, max, &text, len, &err);
	snprintf(msg, size, "%s", err ? err->msg : "");
	free(text);
	lsh_err_free(err);
	return r;
}

static int read_file(const char *path, size_t max, size_t *len, char *msg, size_t size)
{
	return read_file_how(path, 0, max, len, msg, size);
}

static void bounded_reader(void)
{
	char msg[512], p[512];
	size_t len = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int r = read_file("/dev/zero", LSH_FILE_MAX, &len, msg, sizeof msg);
	ok(r == -EINVAL && strcmp(msg, "/dev/zero: not a regular file (a character device)") == 0,
	   "/dev/zero is refused before a byte is read (%s)", msg);
	snprintf(p, sizeof p, "%s/files/fifo", base);
	r = read_file(p, LSH_FILE_MAX, &len, msg, sizeof msg);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ok(r == -EINVAL && strstr(msg, "(a FIFO)"), "a FIFO no one writes is refused (%s)", msg);
	ok(t1.tv_sec - t0.tv_sec < 2, "at once");
	r = read_file(base, LSH_FILE_MAX, &len, msg, sizeof msg);
	ok(r == -EISDIR && strstr(msg, ": Is a directory"), "a directory is refused (%s)", msg);
	snprintf(p, sizeof p, "%s/two-mib", base);
	sh("head -c 2097152 /dev/zero > %s", p);
	r = read_file(p, LSH_FILE_MAX, &len, msg, sizeof msg);
	ok(r == -EFBIG && strstr(msg, "two-mib: larger than 1 MiB"), "a 2 MiB file is refused (%s)", msg);
	sh("head -c 1048576 /dev/zero > %s", p);
	r = read_file(p, LSH_FILE_MAX, &len, msg, sizeof msg);
	ok(r == 0 && len == LSH_FILE_MAX, "exactly 1 MiB is read whole (%zu)", len);
	r = read_file_how("/proc/self/status", LSH_FILE_KERNEL, LSH_FILE_MAX, &len, msg, sizeof msg);
	ok(r == 0 && len > 100, "a /proc file (size 0 in stat) is read to its end with LSH_FILE_KERNEL (%zu)", len);
	/* A name someone else chose never reaches a kernel filesystem's file for reading. */
	r = read_file("/proc/self/status", LSH_FILE_MAX, &len, msg, sizeof msg);
	ok(r == -EINVAL && strcmp(msg, "/proc/self/status: on proc, a kernel filesystem: not read (no profile lives there)") == 0,
	   "a /proc file is refused by default (%s)", msg);
	if (access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) == 0) {
		r = read_file("/sys/kernel/mm/transparent_hugepage/enabled", LSH_FILE_MAX, &len, msg, sizeof msg);
		ok(r == -EINVAL && strstr(msg, ": on sysfs, a kernel filesystem"), "a /sys file is refused (%s)", msg);
	} else {
		skip("no /sys/kernel/mm/transparent_hugepage/enabled");
	}
	/* The filesystems read from are an allow list: a regular file on one that is neither
	 * local nor in the kernel's list (mqueue, in a mount namespace of our own) is refused
	 * too, as FUSE or NFS would be, whose reads another process answers. */
	if (geteuid() == 0) {
		char mq[4200], name[4300];
		snprintf(mq, sizeof mq, "%s/mq", base);
		snprintf(name, sizeof name, "%s/x.lua", mq);
		mkdir(mq, 0700);
		pid_t child = fork();
		if (child == 0) {
			char cmsg[512];
			size_t clen;
			if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
			    mount("none", mq, "mqueue", 0, NULL) < 0)
				_exit(3);
			int fd = open(name, O_CREAT | O_WRONLY, 0600);
			if (fd < 0)
				_exit(4);
			close(fd);
			int cr = read_file(name, LSH_FILE_MAX, &clen, cmsg, sizeof cmsg);
			_exit(cr == -EINVAL && strstr(cmsg, "x.lua: on a filesystem of type 0x19800202, not one lunshare reads") ? 0 : 5);
		}
		int status = -1;
		waitpid(child, &status, 0);
		rmdir(mq);
		ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a file on mqueue, in no list, is refused (status %d)", status);
	} else {
		skip("mounting mqueue needs root");
	}
	/* LSH_FILE_NOFOLLOW with the O_PATH open: a symlink is still refused by its kind. */
	snprintf(p, sizeof p, "%s/two-mib-link", base);
	sh("ln -sf two-mib %s", p);
	struct lsh_err *lerr = NULL;
	char *ltext = NULL;
	r = lsh_file_read(AT_FDCWD, p, LSH_FILE_NOFOLLOW, LSH_FILE_MAX, &ltext, &len, &lerr);
	ok(r == -ELOOP && lerr && strstr(lerr->msg, "two-mib-link: is a symlink (not followed here)"),
	   "a symlink with LSH_FILE_NOFOLLOW is refused (%s)", lerr ? lerr->msg : "");
	free(ltext);
	lsh_err_free(lerr);
	snprintf(p, sizeof p, "%s/missing", base);
	r = read_file(p, LSH_FILE_MAX, &len, msg, sizeof msg);
	ok(r == -ENOENT && strstr(msg, "missing: No such file or directory"), "a missing file says so (%s)", msg);
}

/* lsh_tree_remove as a caller without CAP_DAC_OVERRIDE (nobody): directories of its own
 * that a sandbox made chmod 000 are opened (u+rwx first) and removed; a symlink in the
 * tree goes, and the directory it points to keeps its mode. */
static void tree_remove_unlocks_its_own_dirs(void)
{
	char t[512], outside[512];
	snprintf(t, sizeof t, "%s/own/tree", base);
	snprintf(outside, sizeof outside, "%s/outside", base);
	sh("chmod 711 %s && mkdir -m 700 %s/own && chown 65534:65534 %s/own", base); /* nobody's own parent */
	sh("mkdir -p %s/x/y && touch %s/x/y/z && chown -R 65534:65534 %s", t);
	sh("mkdir -m 500 %s && chown 65534:65534 %s", outside);
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "ln -s %s %s/l && chown -h 65534:65534 %s/l && chmod 000 %s/x/y %s/x", outside, t, t, t,
		 t);
	if (system(cmd) != 0)
		printf("# command failed: %s\n", cmd);
	pid_t pid = fork();
	if (pid == 0) {
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(3);
		struct lsh_err *err = NULL;
		int r = lsh_tree_remove(AT_FDCWD, t, &err);
		if (r < 0)
			printf("# %s\n", err ? err->msg : "?");
		fflush(stdout);
		_exit(r < 0 ? 1 : 0);
	}
	int status = -1;
	waitpid(pid, &status, 0);
	struct stat st;
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0 && lstat(t, &st) < 0 && errno == ENOENT,
	   "removes a tree whose directories of its own are chmod 000, as their owner (status %d)", status);
	ok(mode_of("outside") == 0500, "a symlink in it is removed, not followed: its target keeps 0500 (%o)",
	   mode_of("outside"));
}

/* A run's own state (lsh_statedir_open_run): beneath /tmp, a first component someone left
 * open to others is passed over for a fresh one of the caller's own, and never written;
 * elsewhere, and for a usable path, nothing moves. */
static void run_state_falls_back(void)
{
	char foreign[64], path[128], used[256], p[512], msg[512];
	struct lsh_err *err = NULL;
	snprintf(foreign, sizeof foreign, "%sf", base + strlen("/tmp/"));
	snprintf(p, sizeof p, "/tmp/%s", foreign);
	mkdir(p, 0777);
	chmod(p, 0777);
	snprintf(path, sizeof path, "%s/lunshare/egress", foreign);
	int fd = lsh_statedir_open_run("/tmp", path, used, sizeof used, &err);
	snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
	lsh_err_free(err);
	err = NULL;
	size_t n = strlen(foreign);
	ok(fd >= 0 && strncmp(used, foreign, n) == 0 && used[n] == '-' && strspn(used + n + 1, "0123456789abcdef") == 16 &&
	   strcmp(used + n + 17, "/lunshare/egress") == 0, "a refused /tmp/NAME gives way to a fresh NAME-RANDOM (%s%s)",
	   used, msg);
	if (fd >= 0)
		close(fd);
	char top[300];
	snprintf(top, sizeof top, "/tmp/%.*s", (int)(n + 17), used);
	struct stat st;
	ok(lstat(top, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700 && st.st_uid == geteuid(),
	   "which is a directory of the caller's, 0700");
	snprintf(p, sizeof p, "/tmp/%s/lunshare", foreign);
	ok(lstat(p, &st) < 0 && errno == ENOENT, "and nothing is made in the refused one");
	sh("rm -rf %s", top);
	/* a usable path stays where it is */
	snprintf(path, sizeof path, "%s/runstate/x", base + strlen("/tmp/"));
	fd = lsh_statedir_open_run("/tmp", path, used, sizeof used, &err);
	snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
	lsh_err_free(err);
	err = NULL;
	ok(fd >= 0 && strcmp(used, path) == 0, "a usable path is used as it is (%s%s)", used, msg);
	if (fd >= 0)
		close(fd);
	/* no fallback beneath another root */
	fd = lsh_statedir_open_run(base, "open/lunshare", used, sizeof used, &err);
	ok(fd == -EPERM && err && strstr(err->msg, "/open: writable by"), "beneath another root, a refusal stays one (%s)",
	   err ? err->msg : "");
	lsh_err_free(err);
	snprintf(p, sizeof p, "/tmp/%s", foreign);
	sh("rm -rf %s", p);
}

/* lsh_path_resolve: a path through no symlink comes back as spelled, its slashes collapsed
 * (one openat2); one with a link, "." or ".." is walked, and a link another user could
 * have placed stops it either way. */
static void resolves_host_paths(void)
{
	char p[512], want[512];
	char *out = NULL;
	struct lsh_err *err = NULL;
	sh("mkdir -p %s/res/d/e %s/res/open && cd %s/res && ln -s d l && chmod 0777 open && ln -s ../d open/l", base);
	snprintf(want, sizeof want, "%s/res/d/e", base);
	snprintf(p, sizeof p, "/%s//res/d///e/", base);
	int r = lsh_path_resolve(p, 0, &out, &err);
	ok(r == 0 && out && strcmp(out, want) == 0, "slashes collapse: %s", out ? out : err->msg);
	free(out);
	r = lsh_path_resolve("///", 0, &out, &err);
	ok(r == 0 && out && strcmp(out, "/") == 0, "/// is / (%s)", out ? out : "?");
	free(out);
	snprintf(p, sizeof p, "%s/res/l/e", base);
	r = lsh_path_resolve(p, 0, &out, &err);
	ok(r == 0 && out && strcmp(out, want) == 0, "a symlink on the way is resolved: %s", out ? out : err->msg);
	free(out);
	snprintf(p, sizeof p, "%s/res/./d/../d/e", base);
	r = lsh_path_resolve(p, 0, &out, &err);
	ok(r == 0 && out && strcmp(out, want) == 0, ". and .. are walked: %s", out ? out : err->msg);
	free(out);
	snprintf(p, sizeof p, "%s/res/open/l/e", base);
	r = lsh_path_resolve(p, 1000, &out, &err);
	ok(r == -EPERM && out == NULL && err && strstr(err->msg, "is a symlink in a directory its others can write"),
	   "a link in a directory others can write is not followed (%s)", err ? err->msg : out);
	lsh_err_free(err);
	err = NULL;
	snprintf(p, sizeof p, "%s/res/d/none", base);
	r = lsh_path_resolve(p, 0, &out, &err);
	ok(r == -ENOENT && out == NULL && err && strstr(err->msg, "/res/d/none: No such file"),
	   "a missing path is the walk's error (%s)", err ? err->msg : out);
	lsh_err_free(err);
	/* Deeper than the walk goes: refused with or without a "." (which takes the walk),
	 * not served by the openat2 for want of one. */
	char deep[1024];
	int n = snprintf(deep, sizeof deep, "%s/res/deep", base);
	for (int i = 0; i < 300; i++)
		n += snprintf(deep + n, sizeof deep - (size_t)n, "/a");
	sh("mkdir -p %s", deep);
	const char *tails[] = { "", "/." };
	for (int i = 0; i < 2; i++) {
		char q[1100];
		snprintf(q, sizeof q, "%s%s", deep, tails[i]);
		err = NULL;
		r = lsh_path_resolve(q, 0, &out, &err);
		ok(r == -ENAMETOOLONG && out == NULL, "300 components are too deep%s (%s)", tails[i],
		   err ? err->msg : "resolved");
		free(out);
		out = NULL;
		lsh_err_free(err);
	}
}

int main(void)
{
	/* Anything that blocks (a FIFO opened without O_NONBLOCK) fails the test, not the suite. */
	alarm(30);
	if (mkdtemp(base) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	creates_private_dirs();
	refuses_what_another_user_prepared();
	files_relative_to_the_fd();
	prunes_empty_dirs_only();
	bounded_reader();
	tree_remove_unlocks_its_own_dirs();
	run_state_falls_back();
	resolves_host_paths();
	sh("rm -rf %s", base);
	return done_testing();
}
