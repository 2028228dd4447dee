/* Mount primitives, each in a forked child with its own user and mount namespaces: the
 * host's mount table is never touched. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "lunshare.h"

/* Runs f in a child with new user (caller as root) and mount namespaces, a private tree
 * and a scratch tmpfs on /tmp; as_nobody: the child is first uid and gid 65534 when the
 * test runs as root (a caller who is not root is unprivileged already), so that the user
 * namespace is one an unprivileged user makes, whose root is no one outside. Returns f's
 * result, or 100+ for a setup failure. */
static int in_mount_ns_as(int (*f)(void), int as_nobody)
{
	pid_t p = fork();
	if (p == 0) {
		if (as_nobody && getuid() == 0) {
			if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
			    setresuid(65534, 65534, 65534) < 0)
				_exit(107);
			/* The id change made the process non-dumpable, which gives its /proc/self
			 * files (uid_map among them) to root: make them its own again. */
			if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
				_exit(108);
		}
		uid_t uid = getuid();
		gid_t gid = getgid();
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
			_exit(101);
		char map[64];
		int fd = open("/proc/self/setgroups", O_WRONLY);
		if (fd >= 0) {
			if (write(fd, "deny", 4) < 0)
				_exit(102);
			close(fd);
		}
		snprintf(map, sizeof map, "0 %d 1", (int)uid);
		fd = open("/proc/self/uid_map", O_WRONLY);
		if (fd < 0 || write(fd, map, strlen(map)) < 0)
			_exit(103);
		close(fd);
		snprintf(map, sizeof map, "0 %d 1", (int)gid);
		fd = open("/proc/self/gid_map", O_WRONLY);
		if (fd < 0 || write(fd, map, strlen(map)) < 0)
			_exit(104);
		close(fd);
		if (lsh_mount_make_private("/", 1, NULL) < 0)
			_exit(105);
		if (mount("tmpfs", "/tmp", "tmpfs", 0, "mode=0755") < 0)
			_exit(106);
		_exit(f());
	}
	int st;
	waitpid(p, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 200;
}

static int in_mount_ns(int (*f)(void))
{
	return in_mount_ns_as(f, 0);
}

static int new_tmpfs(void)
{
	const char *opts[] = { "mode=0755", NULL };
	return lsh_mount_new_fs("tmpfs", "tmpfs", opts, 0, NULL);
}

static int target_creates_and_refuses_symlinks(void)
{
	struct lsh_err *err = NULL;
	struct stat st;
	int root = new_tmpfs();
	if (root < 0)
		return 1;
	int fd = lsh_mount_target(root, "/a/b/c", LSH_NODE_DIR, 0700, &err);
	if (fd < 0 || fstatat(root, "a/b/c", &st, 0) < 0 || (st.st_mode & 07777) != 0700)
		return 2;
	close(fd);
	if (fstatat(root, "a/b", &st, 0) < 0 || (st.st_mode & 07777) != 0755)
		return 3;
	fd = lsh_mount_target(root, "/f", LSH_NODE_FILE, 0640, &err);
	if (fd < 0 || fstatat(root, "f", &st, 0) < 0 || !S_ISREG(st.st_mode) || (st.st_mode & 0777) != 0640)
		return 4;
	close(fd);
	if (symlinkat("/etc", root, "esc") < 0 || symlinkat("a", root, "rel") < 0)
		return 5;
	if (lsh_mount_target(root, "/esc/x", LSH_NODE_DIR, 0755, &err) != -ELOOP || !strstr(err->msg, "\"esc\" is a symlink"))
		return 6;
	lsh_err_free(err);
	err = NULL;
	/* Even a symlink that stays inside is refused: a target is the path as written. */
	if (lsh_mount_target(root, "/rel/b", LSH_NODE_NONE, 0, &err) != -ELOOP)
		return 7;
	lsh_err_free(err);
	err = NULL;
	if (lsh_mount_target(root, "/a/../a", LSH_NODE_DIR, 0755, &err) != -EINVAL)
		return 8;
	lsh_err_free(err);
	err = NULL;
	if (lsh_mount_target(root, "/missing", LSH_NODE_NONE, 0, &err) != -ENOENT)
		return 9;
	lsh_err_free(err);
	return 0;
}

static int open_in_root_stays_inside(void)
{
	struct lsh_err *err = NULL;
	int root = new_tmpfs();
	if (root < 0 || mkdirat(root, "etc", 0755) < 0 || symlinkat("/etc", root, "abs") < 0 ||
	    symlinkat("../../../../etc", root, "up") < 0)
		return 1;
	int fd = openat(root, "etc/marker", O_CREAT | O_WRONLY, 0644);
	if (fd < 0)
		return 2;
	close(fd);
	/* Both resolve to the root's own etc, never the host's. */
	fd = lsh_mount_open_in_root(root, "/abs/marker", O_RDONLY, &err);
	if (fd < 0)
		return 3;
	close(fd);
	fd = lsh_mount_open_in_root(root, "/up/marker", O_RDONLY, &err);
	if (fd < 0)
		return 4;
	close(fd);
	if (lsh_mount_open_in_root(root, "/abs/passwd", O_RDONLY, &err) != -ENOENT)
		return 5;
	lsh_err_free(err);
	return 0;
}

/* Makes /tmp/src with a submount at /tmp/src/sub. */
static int tree_with_submount(void)
{
	if (mkdir("/tmp/src", 0755) < 0 || mkdir("/tmp/src/sub", 0755) < 0 || mkdir("/tmp/dst", 0755) < 0)
		return -1;
	return mount("tmpfs", "/tmp/src/sub", "tmpfs", 0, NULL);
}

static int writable(const char *path)
{
	int fd = open(path, O_CREAT | O_WRONLY, 0644);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int clone_setattr_attach_readonly(void)
{
	struct lsh_err *err = NULL;
	if (tree_with_submount() < 0)
		return 1;
	int tree = lsh_mount_clone_tree(AT_FDCWD, "/tmp/src", 1, &err);
	if (tree < 0)
		return 2;
	if (lsh_mount_setattr(tree, LSH_MOUNT_RDONLY | LSH_MOUNT_NOSUID, 0, 1, -1, &err) < 0)
		return 3;
	int target = open("/tmp/dst", O_PATH | O_CLOEXEC);
	if (target < 0 || lsh_mount_attach(tree, target, &err) < 0)
		return 4;
	if (writable("/tmp/dst/x") != -EROFS || writable("/tmp/dst/sub/x") != -EROFS)
		return 5;
	if (writable("/tmp/src/x") != 0 || writable("/tmp/src/sub/y") != 0)
		return 6;
	return 0;
}

static int legacy_bind_reaches_submounts(void)
{
	struct lsh_err *err = NULL;
	if (tree_with_submount() < 0)
		return 1;
	int dst = open("/tmp/dst", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dst < 0 || lsh_mount_bind_legacy("/tmp/src", dst, LSH_MOUNT_RDONLY | LSH_MOUNT_NODEV, "/proc", &err) < 0)
		return 2;
	close(dst);
	if (writable("/tmp/dst/x") != -EROFS || writable("/tmp/dst/sub/x") != -EROFS)
		return 3;
	return writable("/tmp/src/sub/y") == 0 ? 0 : 4;
}

static int new_fs_reports_bad_options(void)
{
	struct lsh_err *err = NULL;
	const char *opts[] = { "size=lots", NULL };
	int r = lsh_mount_new_fs("tmpfs", "tmpfs", opts, 0, &err);
	int ok_ = r < 0 && strstr(err->msg, "tmpfs size=lots") != NULL;
	lsh_err_free(err);
	err = NULL;
	r = lsh_mount_new_fs("no-such-fs-lsh", NULL, NULL, 0, &err);
	ok_ = ok_ && r == -ENODEV && strstr(err->msg, "fsopen no-such-fs-lsh");
	lsh_err_free(err);
	return ok_ ? 0 : 1;
}

static int enter_root_pivots(void)
{
	struct lsh_err *err = NULL;
	if (mkdir("/tmp/nr", 0755) < 0)
		return 1;
	int mfd = new_tmpfs();
	int target = open("/tmp/nr", O_PATH);
	if (mfd < 0 || target < 0 || lsh_mount_attach(mfd, target, &err) < 0)
		return 2;
	int root = open("/tmp/nr", O_PATH | O_DIRECTORY);
	if (root < 0 || mkdirat(root, "only", 0755) < 0)
		return 3;
	if (lsh_mount_enter_root(root, &err) < 0)
		return 4;
	struct stat st;
	if (stat("/only", &st) < 0 || stat("/etc", &st) == 0 || stat("/tmp", &st) == 0)
		return 5;
	char cwd[64];
	return getcwd(cwd, sizeof cwd) && strcmp(cwd, "/") == 0 ? 0 : 6;
}

static int lock_keeps_flags(void)
{
	struct lsh_err *err = NULL;
	if (mkdir("/tmp/ro", 0755) < 0 || mount("tmpfs", "/tmp/ro", "tmpfs", MS_RDONLY | MS_NOSUID, NULL) < 0)
		return 1;
	/* Before the lock, root of this namespace may make it writable again… */
	if (mount(NULL, "/tmp/ro", NULL, MS_REMOUNT | MS_BIND | MS_NOSUID, NULL) < 0 ||
	    mount(NULL, "/tmp/ro", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID, NULL) < 0)
		return 2;
	uid_t uid = getuid();
	if (lsh_mount_lock("/proc", &err) < 0) {
		printf("# %s\n", err->msg);
		return 3;
	}
	/* …after it, not, and the ids are the same. */
	if (mount(NULL, "/tmp/ro", NULL, MS_REMOUNT | MS_BIND | MS_NOSUID, NULL) == 0 || errno != EPERM)
		return 4;
	if (umount2("/tmp/ro", 0) == 0)
		return 5;
	return getuid() == uid ? 0 : 6;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The attack on target creation: whoever can write a bound host directory swaps the
 * directory a run just made for a symlink to a 0600 file of the victim's, hoping the run
 * then sets the profile's mode on the file. An attacker process does that as fast as it
 * can while the victim makes the target again and again; the file's mode must never
 * change. Returns 0, 1 when the mode changed, or 10+ for a setup failure. */
static int target_race_never_chmods_through_a_symlink(void)
{
	if (mkdir("/tmp/race", 0777) < 0)
		return 10;
	int secret = open("/tmp/secret", O_CREAT | O_WRONLY, 0600);
	int dir = open("/tmp/race", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (secret < 0 || dir < 0 || fchmod(secret, 0600) < 0)
		return 11;
	pid_t attacker = fork();
	if (attacker == 0) {
		for (;;)
			if (rmdir("/tmp/race/t") == 0)
				if (symlink("/tmp/secret", "/tmp/race/t") < 0)
					_exit(1);
	}
	int changed = 0, tries = 0;
	double end = now() + 3;
	struct stat st;
	while (!changed && now() < end) {
		struct lsh_err *err = NULL;
		int fd = lsh_mount_target(dir, "t", LSH_NODE_DIR, 0755, &err);
		if (fd >= 0)
			close(fd);
		lsh_err_free(err);
		if (unlinkat(dir, "t", 0) < 0)
			unlinkat(dir, "t", AT_REMOVEDIR);
		changed = fstat(secret, &st) == 0 && (st.st_mode & 07777) != 0600;
		tries++;
	}
	kill(attacker, SIGKILL);
	waitpid(attacker, NULL, 0);
	printf("# %d tries in 3 s\n", tries);
	fflush(stdout);
	return changed;
}

/* openat2 with RESOLVE_IN_ROOT fails with EAGAIN when a mount or rename races it, which a
 * loop of mounts in this namespace provokes on a path with many "..". The raw call is
 * seen failing so; lsh_mount_open_in_root, which retries, never does. Returns 0, 1 when
 * the wrapped call failed, 2 when EAGAIN could not be provoked (skip). */
static int open_in_root_retries_eagain(void)
{
	if (mkdir("/tmp/ea", 0755) < 0 || mkdir("/tmp/ea/a", 0755) < 0 || mkdir("/tmp/ea/m", 0755) < 0)
		return 10;
	int root = open("/tmp/ea", O_PATH | O_DIRECTORY | O_CLOEXEC);
	char path[1024] = "";
	for (int i = 0; i < 100; i++)
		strcat(path, "a/../");
	strcat(path, "a");
	pid_t mounter = fork();
	if (mounter == 0) {
		for (;;)
			if (mount("tmpfs", "/tmp/ea/m", "tmpfs", 0, NULL) == 0)
				umount2("/tmp/ea/m", MNT_DETACH);
	}
	int raw = 0, failed = 0;
	double end = now() + 4;
	while (raw < 20 && now() < end) {
		struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT };
		int fd = (int)syscall(SYS_openat2, root, path, &how, sizeof how);
		if (fd < 0 && errno == EAGAIN)
			raw++;
		if (fd >= 0)
			close(fd);
		struct lsh_err *err = NULL;
		fd = lsh_mount_open_in_root(root, path, O_PATH, &err);
		if (fd < 0)
			failed++;
		else
			close(fd);
		lsh_err_free(err);
	}
	kill(mounter, SIGKILL);
	waitpid(mounter, NULL, 0);
	printf("# raw openat2: %d EAGAIN; lsh_mount_open_in_root: %d failures\n", raw, failed);
	fflush(stdout);
	if (failed)
		return 1;
	return raw == 0 ? 2 : 0;
}

/* A step of op where the op runs. */
static struct lsh_plan_step *add(struct lsh_plan *p, const char *name)
{
	const struct lsh_op *op = lsh_plan_op_by_name(name);
	return lsh_plan_add(p, op, lsh_phase_where(op->phase), "test_mount.c");
}

static void bind_step(struct lsh_plan *p, const char *src, const char *dst, int legacy)
{
	struct lsh_plan_step *s = add(p, "bind");
	lsh_plan_step_set_str(s, "src", src);
	lsh_plan_step_set_str(s, "dst", dst);
	lsh_plan_step_set_int(s, "readonly", 1);
	lsh_plan_step_set_int(s, "legacy", legacy);
}

/* The rootfs and dev steps with the modes, size and links the planner gives them (core
 * has no defaults: scripts/lunshare/mounts.lua chooses). */
static void rootfs_step(struct lsh_plan *p)
{
	struct lsh_plan_step *s = add(p, "rootfs");
	lsh_plan_step_set_int(s, "mode", 0755);
	lsh_plan_step_set_int(s, "scratch_mode", 0700);
}

static void dev_step(struct lsh_plan *p, const char *const *nodes, size_t n)
{
	static const char *const links[] = { "ptmx=pts/ptmx", "fd=/proc/self/fd" };
	struct lsh_plan_step *s = add(p, "dev");
	lsh_plan_step_set_str(s, "dst", "/dev");
	lsh_plan_step_set_list(s, "nodes", nodes, n);
	lsh_plan_step_set_list(s, "links", links, 2);
	lsh_plan_step_set_int(s, "mode", 0755);
	lsh_plan_step_set_str(s, "size", "1m");
	lsh_plan_step_set_int(s, "ptmxmode", 0666);
	lsh_plan_step_set_int(s, "pts_mode", 0620);
	lsh_plan_step_set_int(s, "shm_mode", 01777);
}

/* A whole run through the executor: a new root with read-only binds of /usr and of /dev
 * (which has submounts), by the fd API or by the mount(2) fallback; the command exits 42
 * when writes to both the bind and a submount of it fail. */
static int run_plan_with_binds(int legacy)
{
	static const char *const ns[] = { "user", "mount", "pid" };
	static const char *const env[] = { "PATH=/usr/bin:/bin" };
	static const char *const argv[] = { "/bin/sh", "-c",
		"if touch /hostdev/.lsh-test-x 2>/dev/null || touch /hostdev/shm/.lsh-test-x 2>/dev/null; "
		"then exit 1; fi; test -x /usr/bin/env && exit 42", NULL };
	static const char *const links[][2] = { { "/bin", "usr/bin" }, { "/lib", "usr/lib" }, { "/lib64", "usr/lib64" } };
	struct lsh_plan *p = lsh_plan_new();
	char map[64];
	lsh_plan_step_set_list(add(p, "clone"), "namespaces", ns, 3);
	add(p, "setgroups");
	snprintf(map, sizeof map, "0 %d 1\n", (int)getuid());
	lsh_plan_step_set_str(add(p, "uid_map"), "map", map);
	snprintf(map, sizeof map, "0 %d 1\n", (int)getgid());
	lsh_plan_step_set_str(add(p, "gid_map"), "map", map);
	rootfs_step(p);
	bind_step(p, "/usr", "/usr", legacy);
	bind_step(p, "/dev", "/hostdev", legacy);
	for (size_t i = 0; i < 3; i++) {
		struct lsh_plan_step *s = add(p, "symlink");
		lsh_plan_step_set_str(s, "dst", links[i][0]);
		lsh_plan_step_set_str(s, "target", links[i][1]);
	}
	static const char *const nodes[] = { "null" };
	dev_step(p, nodes, 1);
	add(p, "pivot");
	struct lsh_plan_step *s = add(p, "exec");
	lsh_plan_step_set_list(s, "argv", argv, 3);
	lsh_plan_step_set_list(s, "env", env, 1);
	struct lsh_spawn_result res;
	struct lsh_err *err = NULL;
	int r = lsh_spawn(p, &res, &err);
	if (r < 0)
		printf("# spawn: %s (step %ld)\n", err->msg, res.failed_step);
	lsh_err_free(err);
	lsh_plan_free(p);
	/* Had the bind been writable, the files would be on the host: remove them. */
	unlink("/dev/.lsh-test-x");
	unlink("/dev/shm/.lsh-test-x");
	return r < 0 ? -1 : res.exit_code;
}

/* The read-only entries of a new /proc and the nodes of a new /dev are the plan's: a proc
 * step with readonly = { "sys" } protects /proc/sys and not /proc/bus, a dev step with
 * nodes = { "null" } has /dev/null and no /dev/zero (exit 43). A node name that is a path
 * is refused (the step fails: -EINVAL). */
static int run_plan_with_proc_and_dev(const char *node)
{
	static const char *const ns[] = { "user", "mount", "pid" };
	static const char *const env[] = { "PATH=/usr/bin:/bin" };
	static const char *const argv[] = { "/bin/sh", "-c",
		"test -c /dev/null && ! test -e /dev/zero || exit 1; "
		"grep -q ' /proc/sys ro,' /proc/self/mountinfo || exit 2; "
		"grep -q ' /proc/bus ' /proc/self/mountinfo && exit 3; exit 43", NULL };
	static const char *const links[][2] = { { "/bin", "usr/bin" }, { "/lib", "usr/lib" }, { "/lib64", "usr/lib64" } };
	static const char *const ro[] = { "sys" };
	const char *const nodes[] = { node };
	struct lsh_plan *p = lsh_plan_new();
	char map[64];
	lsh_plan_step_set_list(add(p, "clone"), "namespaces", ns, 3);
	add(p, "setgroups");
	snprintf(map, sizeof map, "0 %d 1\n", (int)getuid());
	lsh_plan_step_set_str(add(p, "uid_map"), "map", map);
	snprintf(map, sizeof map, "0 %d 1\n", (int)getgid());
	lsh_plan_step_set_str(add(p, "gid_map"), "map", map);
	rootfs_step(p);
	bind_step(p, "/usr", "/usr", 0);
	for (size_t i = 0; i < 3; i++) {
		struct lsh_plan_step *s = add(p, "symlink");
		lsh_plan_step_set_str(s, "dst", links[i][0]);
		lsh_plan_step_set_str(s, "target", links[i][1]);
	}
	struct lsh_plan_step *s = add(p, "proc");
	lsh_plan_step_set_str(s, "dst", "/proc");
	lsh_plan_step_set_list(s, "readonly", ro, 1);
	dev_step(p, nodes, 1);
	add(p, "pivot");
	s = add(p, "exec");
	lsh_plan_step_set_list(s, "argv", argv, 3);
	lsh_plan_step_set_list(s, "env", env, 1);
	struct lsh_spawn_result res;
	struct lsh_err *err = NULL;
	int r = lsh_spawn(p, &res, &err);
	if (r < 0)
		printf("# spawn: %s (step %ld)\n", err->msg, res.failed_step);
	lsh_err_free(err);
	lsh_plan_free(p);
	return r < 0 ? r : res.exit_code;
}

int main(void)
{
	int r;
	r = in_mount_ns(target_creates_and_refuses_symlinks);
	ok(r == 0, "targets are created beneath the root and never through a symlink (%d)", r);
	r = in_mount_ns(open_in_root_stays_inside);
	ok(r == 0, "absolute and .. symlinks resolve inside the root (%d)", r);
	r = in_mount_ns(clone_setattr_attach_readonly);
	ok(r == 0, "a cloned tree made read-only recursively is read-only in its submounts (%d)", r);
	r = in_mount_ns(legacy_bind_reaches_submounts);
	ok(r == 0, "the mount(2) fallback remounts every submount read-only (%d)", r);
	r = in_mount_ns(new_fs_reports_bad_options);
	ok(r == 0, "fsopen/fsconfig failures name the filesystem and option (%d)", r);
	r = in_mount_ns(enter_root_pivots);
	ok(r == 0, "enter_root pivots and detaches the old root (%d)", r);
	r = in_mount_ns(lock_keeps_flags);
	ok(r == 0, "locked mounts keep their flags and stay mounted, even for root inside (%d)", r);
	r = in_mount_ns(target_race_never_chmods_through_a_symlink);
	ok(r == 0, "a symlink swapped in while a target is made never gets its mode (%d)", r);
	/* The same attack where the run is an unprivileged user's: the code path is the same,
	 * but the victim holds no capability outside its user namespace (no CAP_FOWNER or
	 * CAP_DAC_OVERRIDE over the host's files) and the kernel's checks are the ones a
	 * rootless run meets. */
	r = in_mount_ns_as(target_race_never_chmods_through_a_symlink, 1);
	ok(r == 0, "so for nobody in a user namespace of its own: the symlink never gets the mode (%d)", r);
	r = in_mount_ns(open_in_root_retries_eagain);
	if (r == 2)
		skip("could not provoke EAGAIN from openat2 here");
	else
		ok(r == 0, "openat2's EAGAIN under a storm of mounts is retried, never returned (%d)", r);
	r = run_plan_with_binds(0);
	ok(r == 42, "a plan's read-only binds are read-only down to submounts (%d)", r);
	r = run_plan_with_binds(1);
	ok(r == 42, "so are they through the mount(2) fallback (%d)", r);
	r = run_plan_with_proc_and_dev("null");
	ok(r == 43, "proc's read-only entries and dev's nodes are the ones the plan names (%d)", r);
	r = run_plan_with_proc_and_dev("../sda");
	ok(r == -EINVAL, "a dev node named by a path is refused (%d)", r);
	return done_testing();
}
