/* The mount tree of a namespace, through the classic calls: propagation, pivot_root,
 * resolving paths inside a root that is not ours yet (openat2, Linux 5.6), the mount(2)
 * fallback for binds, and locking the tree. The fd-based mount API is in mount_api.c; the
 * plan's mount steps, built from both, in mount_ops.c. */
#include "internal.h"
#include "syscalls.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

int lsh_mount_make_private(const char *path, int recursive, struct lsh_err **err)
{
	/* Private, not slave: nothing the sandbox mounts may reach the host's peer groups,
	 * and nothing the host mounts later appears inside. */
	if (mount(NULL, path, NULL, MS_PRIVATE | (recursive ? MS_REC : 0), NULL) < 0)
		return lsh_err_set(err, errno, "make %s private", path);
	return 0;
}

int lsh_mount_detach(const char *path, struct lsh_err **err)
{
	if (umount2(path, MNT_DETACH) < 0)
		return lsh_err_set(err, errno, "umount %s", path);
	return 0;
}

int lsh_mount_pivot_root(const char *new_root, const char *put_old, struct lsh_err **err)
{
	if (syscall(SYS_pivot_root, new_root, put_old) < 0)
		return lsh_err_set(err, errno, "pivot_root %s %s", new_root, put_old);
	return 0;
}

int lsh_mount_enter_root(int newroot_fd, struct lsh_err **err)
{
	if (fchdir(newroot_fd) < 0)
		return lsh_err_set(err, errno, "enter the new root");
	/* pivot_root(".", ".") stacks the old root on top of the new one; detaching "."
	 * then drops the old root and everything under it from this namespace (pivot_root(2)). */
	int r = lsh_mount_pivot_root(".", ".", err);
	if (r < 0)
		return r;
	if (umount2(".", MNT_DETACH) < 0)
		return lsh_err_set(err, errno, "detach the old root");
	if (chdir("/") < 0)
		return lsh_err_set(err, errno, "chdir /");
	return 0;
}

static int openat2_once(int dirfd, const char *path, int flags, uint64_t resolve)
{
	struct open_how how;
	memset(&how, 0, sizeof how);
	how.flags = (uint64_t)(flags | O_CLOEXEC);
	how.resolve = resolve;
	return (int)syscall(__NR_openat2, dirfd, path, &how, sizeof how);
}

int lsh_openat2(int dirfd, const char *path, int flags, uint64_t resolve)
{
	/* With RESOLVE_BENEATH or RESOLVE_IN_ROOT, a lookup fails with EAGAIN when a mount or
	 * a rename happened anywhere on the machine while it ran (the kernel cannot then be
	 * sure a ".." stayed inside): a busy machine makes that common. Each try is cheap
	 * and the next usually succeeds; the bound keeps a machine that never stops
	 * mounting from holding us forever. */
	for (int tries = 0;; tries++) {
		int fd = openat2_once(dirfd, path, flags, resolve);
		if (fd >= 0 || errno != EAGAIN || tries == LSH_OPENAT2_TRIES)
			return fd;
	}
}

int lsh_mount_open_in_root(int rootfd, const char *path, int flags, struct lsh_err **err)
{
	/* Absolute symlinks and ".." stay inside rootfd, as they would once it is "/". */
	int fd = lsh_openat2(rootfd, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	if (fd < 0)
		return lsh_err_set(err, errno, "%s", path);
	return fd;
}

/* Whether the directory fd has no entries but . and .. */
static int is_empty_dir(int fd)
{
	char buf[256];
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
		if (n <= 0)
			return n == 0;
		for (long off = 0; off < n;) {
			const char *name = buf + off + 19; /* struct linux_dirent64: d_name at 19 */
			unsigned short reclen;
			memcpy(&reclen, buf + off + 16, sizeof reclen);
			if (strcmp(name, ".") != 0 && strcmp(name, ".."))
				return 0;
			off += reclen;
		}
	}
}

int lsh_mount_mkdirat(int dirfd, const char *name, mode_t mode, struct lsh_err **err)
{
	if (mkdirat(dirfd, name, 0700) < 0)
		return lsh_err_set(err, errno, "mkdir %s", name);
	/* mkdir obeys the umask (and drops setgid): the mode is set on the directory
	 * itself, through an fd, never by name. Whoever can write the parent (a bound host
	 * directory) may have swapped in a symlink after mkdirat: RESOLVE_NO_SYMLINKS and
	 * O_NOFOLLOW refuse it; or a directory of their own, or one of ours moved there:
	 * only an empty directory of ours, as mkdir made it, gets the mode. */
	int fd = lsh_openat2(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW,
			     RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	if (fd < 0) {
		int e = errno;
		if (e == ELOOP || e == ENOTDIR)
			return lsh_err_msg(err, e, "mkdir %s: replaced by %s right after it was made", name,
					   e == ELOOP ? "a symlink" : "something else");
		return lsh_err_set(err, e, "mkdir %s: open it", name);
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || !is_empty_dir(fd)) {
		close(fd);
		return lsh_err_msg(err, EPERM, "mkdir %s: replaced by another directory right after it was made", name);
	}
	if (fchmod(fd, mode) < 0) {
		int e = errno;
		close(fd);
		return lsh_err_set(err, e, "mkdir %s: chmod %o", name, (unsigned)mode);
	}
	return fd;
}

/* Creates the last component of a target as asked and returns an fd of what it made;
 * -EEXIST (err untouched) when it exists already: someone was first, and the caller opens
 * it like any other. */
static int create_node(int dirfd, const char *name, enum lsh_mount_node node, mode_t mode,
		       struct lsh_err **err)
{
	if (node == LSH_NODE_DIR) {
		int fd = lsh_mount_mkdirat(dirfd, name, mode, err);
		if (fd == -EEXIST) {
			lsh_err_free(*err);
			*err = NULL;
		}
		return fd;
	}
	/* O_EXCL: a new file, never one a symlink points at; the mode goes on its fd. */
	int fd = openat(dirfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? -EEXIST : lsh_err_set(err, errno, "create %s", name);
	if (fchmod(fd, mode) < 0) {
		int e = errno;
		close(fd);
		return lsh_err_set(err, e, "chmod %s", name);
	}
	return fd;
}

int lsh_mount_target(int rootfd, const char *path, enum lsh_mount_node node, mode_t mode,
		     struct lsh_err **err)
{
	/* Never through a symlink, not even one inside the new root: a target is exactly
	 * the path the profile names (RESOLVE_NO_SYMLINKS), below the root. */
	const uint64_t how = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	char name[256];
	const char *p = path;
	int cur = rootfd; /* borrowed until the first component is open */

	for (;;) {
		while (*p == '/')
			p++;
		size_t len = strcspn(p, "/");
		if (len == 0)
			break;
		if (len >= sizeof name) {
			if (cur != rootfd)
				close(cur);
			return lsh_err_msg(err, ENAMETOOLONG, "%s: a component is too long", path);
		}
		memcpy(name, p, len);
		name[len] = '\0';
		p += len;
		int last = p[strspn(p, "/")] == '\0';
		int fd = -1, e = 0, dotdot = strcmp(name, "..") == 0;
		if (!dotdot) {
			int flags = O_PATH | (last ? 0 : O_DIRECTORY);
			fd = lsh_openat2(cur, name, flags, how);
			if (fd < 0 && errno == ENOENT && (node != LSH_NODE_NONE || !last)) {
				/* What it creates it returns open: nothing is done by name after. */
				int r = create_node(cur, name, last ? node : LSH_NODE_DIR, last ? mode : 0755, err);
				if (r < 0 && r != -EEXIST) {
					if (cur != rootfd)
						close(cur);
					return lsh_err_wrap(err, "%s", path);
				}
				fd = r >= 0 ? r : lsh_openat2(cur, name, flags, how);
			}
			e = errno;
		}
		if (cur != rootfd)
			close(cur);
		if (dotdot)
			return lsh_err_msg(err, EINVAL, "%s: \"..\" is not allowed in a target", path);
		if (fd < 0 && e == ELOOP)
			/* A symlink is the usual redirect attempt: name the component. */
			return lsh_err_msg(err, ELOOP, "%s: \"%s\" is a symlink; a mount target "
					   "must not go through one", path, name);
		if (fd < 0)
			return lsh_err_set(err, e, "%s", path);
		cur = fd;
	}
	if (cur == rootfd && (cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3)) < 0)
		return lsh_err_set(err, errno, "%s", path);
	return cur;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *o = s;
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* The per-mount flags of a mountinfo options field, as MS_* flags for a remount. A
 * remount must repeat them: in a user namespace the kernel refuses to clear a flag the
 * host set (the mount is locked), and a remount without it would try to. */
static unsigned long mount_flags(const char *opts)
{
	static const struct { const char *name; unsigned long flag; } map[] = {
		{ "ro", MS_RDONLY }, { "nosuid", MS_NOSUID }, { "nodev", MS_NODEV },
		{ "noexec", MS_NOEXEC }, { "noatime", MS_NOATIME }, { "nodiratime", MS_NODIRATIME },
		{ "relatime", MS_RELATIME },
	};
	unsigned long f = 0;
	const char *p = opts;
	while (*p) {
		size_t n = strcspn(p, ",");
		for (size_t i = 0; i < LSH_ARRAY_SIZE(map); i++)
			if (strlen(map[i].name) == n && strncmp(p, map[i].name, n) == 0)
				f |= map[i].flag;
		p += n + (p[n] == ',');
	}
	return f;
}

int lsh_mount_bind_legacy(const char *src, int target_fd, uint64_t attrs, const char *proc,
			  struct lsh_err **err)
{
	char to[PATH_MAX], dst[PATH_MAX], path[PATH_MAX];
	/* The target by its fd (mount(2) follows the /proc magic link to that very node),
	 * and its path as this process sees it, which is how mountinfo names it. */
	snprintf(to, sizeof to, "%s/self/fd/%d", proc, target_fd);
	ssize_t len = readlink(to, dst, sizeof dst - 1);
	if (len < 0)
		return lsh_err_set(err, errno, "bind %s: find the target", src);
	dst[len] = '\0';
	if (mount(src, to, NULL, MS_BIND | MS_REC, NULL) < 0)
		return lsh_err_set(err, errno, "bind %s on %s", src, dst);
	unsigned long want = ((attrs & LSH_MOUNT_RDONLY) ? MS_RDONLY : 0) |
			     ((attrs & LSH_MOUNT_NOSUID) ? MS_NOSUID : 0) |
			     ((attrs & LSH_MOUNT_NODEV) ? MS_NODEV : 0) |
			     ((attrs & LSH_MOUNT_NOEXEC) ? MS_NOEXEC : 0);
	snprintf(path, sizeof path, "%s/self/mountinfo", proc);
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return lsh_err_set(err, errno, "open %s", path);
	_cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	char *line = NULL;
	size_t cap = 0;
	size_t dlen = strlen(dst);
	int r = rootfd < 0 ? lsh_err_set(err, errno, "open /") : 0, matched = 0;
	/* Parents come before their children in mountinfo, so each remount applies to a
	 * mount whose parent already has the flags. */
	while (r == 0 && getline(&line, &cap, f) > 0) {
		char mp[4096], opts[512];
		if (sscanf(line, "%*s %*s %*s %*s %4095s %511s", mp, opts) != 2)
			continue;
		unescape(mp);
		if (strncmp(mp, dst, dlen) != 0 || (mp[dlen] != '\0' && mp[dlen] != '/'))
			continue;
		unsigned long flags = MS_REMOUNT | MS_BIND | want | mount_flags(opts);
		matched++;
		/* Each mount point is opened without following a symlink (a mount point's path
		 * has none) and remounted through its fd: a swap inside a bound directory can
		 * neither send a remount elsewhere nor leave this mount writable. */
		_cleanup_close_ int fd = lsh_openat2(rootfd, mp[1] ? mp + 1 : ".", O_PATH,
						     RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
		if (fd < 0) {
			r = lsh_err_set(err, errno, "remount %s", mp);
			break;
		}
		snprintf(path, sizeof path, "%s/self/fd/%d", proc, fd);
		if (mount(NULL, path, NULL, flags, NULL) < 0)
			r = lsh_err_set(err, errno, "remount %s", mp);
	}
	free(line);
	fclose(f);
	/* A target that mountinfo does not show matches no line: the bind would stay
	 * writable, so that is a failure, never a quiet success. */
	if (r == 0 && matched == 0)
		r = lsh_err_msg(err, ENOENT, "remount %s: not found in %s/self/mountinfo", dst, proc);
	return r;
}

/* Reads a whole small /proc file into buf (NUL-terminated). */
static int read_small(const char *path, char *buf, size_t size, struct lsh_err **err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return lsh_err_set(err, errno, "open %s", path);
	ssize_t n = read(fd, buf, size - 1);
	int e = errno;
	close(fd);
	if (n < 0)
		return lsh_err_set(err, e, "read %s", path);
	buf[n] = '\0';
	return (int)n;
}

static int write_small(const char *path, const char *text, struct lsh_err **err)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return lsh_err_set(err, errno, "open %s", path);
	ssize_t n = write(fd, text, strlen(text));
	int e = errno;
	close(fd);
	if (n < 0)
		return lsh_err_set(err, e, "write %s", path);
	return 0;
}

/* "inside outside count" lines as "inside inside count": the same ids one level down. */
static int identity_map(const char *map, char *out, size_t size, int *single)
{
	struct lsh_idmap_range r[340];
	int n = lsh_idmap_parse(map, r, LSH_ARRAY_SIZE(r));
	if (n <= 0)
		return -EINVAL;
	for (int i = 0; i < n; i++)
		r[i].outside = r[i].inside;
	*single = n == 1 && r[0].count == 1;
	return lsh_idmap_format(r, (size_t)n, out, size) < 0 ? -ENOSPC : 0;
}

int lsh_mount_lock(const char *proc, struct lsh_err **err)
{
	char path[256], umap[8192], gmap[8192], unew[8192], gnew[8192];
	int usingle, gsingle, r;

	snprintf(path, sizeof path, "%s/self/uid_map", proc);
	if ((r = read_small(path, umap, sizeof umap, err)) < 0)
		return r;
	snprintf(path, sizeof path, "%s/self/gid_map", proc);
	if ((r = read_small(path, gmap, sizeof gmap, err)) < 0)
		return r;
	if (identity_map(umap, unew, sizeof unew, &usingle) < 0 ||
	    identity_map(gmap, gnew, sizeof gnew, &gsingle) < 0)
		return lsh_err_msg(err, EINVAL, "lock mounts: cannot read this user namespace's id maps");

	/* A process may map only its own id into a namespace it made; wider maps need a
	 * helper that stays in the parent namespace, where it holds CAP_SETUID. */
	int single = usingle && gsingle;
	int go[2] = { -1, -1 }, done[2] = { -1, -1 };
	pid_t helper = -1, self = getpid();
	if (!single) {
		if (pipe2(go, O_CLOEXEC) < 0 || pipe2(done, O_CLOEXEC) < 0 || (helper = fork()) < 0) {
			int e = errno;
			for (int i = 0; i < 2; i++) {
				if (go[i] >= 0)
					close(go[i]);
				if (done[i] >= 0)
					close(done[i]);
			}
			return lsh_err_set(err, e, "lock mounts: %s", helper < 0 && done[0] >= 0 ? "fork" : "pipe");
		}
		if (helper == 0) {
			char c;
			int code = 0;
			close(go[1]);
			close(done[0]);
			if (read(go[0], &c, 1) == 1) {
				snprintf(path, sizeof path, "%s/%d/uid_map", proc, (int)self);
				code = -write_small(path, unew, NULL);
				snprintf(path, sizeof path, "%s/%d/gid_map", proc, (int)self);
				if (code == 0)
					code = -write_small(path, gnew, NULL);
			}
			if (write(done[1], &code, sizeof code) < 0)
				_exit(1);
			_exit(0);
		}
		close(go[0]);
		close(done[1]);
	}
	/* The kernel copies the mount table into a namespace owned by the new user namespace
	 * and marks every copied mount locked: its flags (read-only, nosuid, nodev) can no
	 * longer be cleared and it cannot be unmounted to uncover what is below, even by
	 * root inside (user_namespaces(7), "Restrictions on mount namespaces"). */
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
		r = lsh_err_set(err, errno, "lock mounts: unshare a user and a mount namespace");
	} else if (single) {
		snprintf(path, sizeof path, "%s/self/setgroups", proc);
		r = write_small(path, "deny", err);
		snprintf(path, sizeof path, "%s/self/uid_map", proc);
		if (r == 0)
			r = write_small(path, unew, err);
		snprintf(path, sizeof path, "%s/self/gid_map", proc);
		if (r == 0)
			r = write_small(path, gnew, err);
		if (r < 0)
			lsh_err_wrap(err, "lock mounts");
	} else {
		int code = EIO;
		if (write(go[1], "g", 1) != 1 || read(done[0], &code, sizeof code) != sizeof code)
			code = EIO;
		r = code ? lsh_err_set(err, code, "lock mounts: write the id maps") : 0;
	}
	if (helper > 0) {
		close(go[1]);
		close(done[0]);
		while (waitpid(helper, NULL, 0) < 0 && errno == EINTR)
			;
	}
	return r;
}
