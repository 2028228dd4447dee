/* Mounts, the plan's steps: the filesystem view, run by the child in its own mount namespace.
 *
 * "rootfs" makes every mount private, puts a tmpfs on /tmp and pivots into it, so that the
 * host's tree is at /oldroot (the sources) and a second tmpfs at /newroot is the sandbox's
 * root (the targets), as bubblewrap does. Each mount step then takes a source under the
 * old root (RESOLVE_IN_ROOT, so the host's absolute symlinks resolve as on the host) and
 * attaches it on a target created under the new root (never through a symlink). "pivot"
 * makes /newroot the root and detaches everything else. All of it happens in the child's
 * mount namespace: a failure anywhere just ends the child, and the host never sees a
 * mount. */
#include "internal.h"
#include "syscalls.h"

#include <fcntl.h>
#include <sched.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#define AREA 0 /* ctx->area[AREA] */
#define AREA_IDMAP 3 /* ctx->area[AREA_IDMAP]: the idmapped trees the supervisor made */

struct mnt_state {
	int oldroot; /* the host's root, at /oldroot */
	int newroot; /* the sandbox's root, at /newroot until "pivot" */
	int seq;     /* for names of scratch directories in the base tmpfs */
};

static struct mnt_state *state(struct lsh_spawn_ctx *ctx, const char *op, struct lsh_err **err)
{
	struct mnt_state *st = ctx->area[AREA];
	if (st == NULL)
		lsh_err_msg(err, EINVAL, "%s: needs a rootfs step before it", op);
	return st;
}

static int need_mount_ns(struct lsh_spawn_ctx *ctx, const char *op, struct lsh_err **err)
{
	/* The one guard between a plan and the host's mount table. */
	if (!(ctx->clone_flags & CLONE_NEWNS))
		return lsh_err_msg(err, EPERM, "%s: needs the mount namespace", op);
	return 0;
}

/* mount_private */
enum { PRIVATE_PATH };				/* strs */

static int op_mount_private(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx,
			    struct lsh_err **err)
{
	int r = need_mount_ns(ctx, "mount_private", err);
	return r < 0 ? r : lsh_mount_make_private(s->strs[PRIVATE_PATH], 1, err);
}

/* rootfs: the scratch tmpfs's mode and the new root's mode and size are the planner's. */
enum { ROOTFS_SIZE };				/* strs */
enum { ROOTFS_MODE, ROOTFS_SCRATCH_MODE };	/* ints */

/* "mode=%o" of a step's mode field; the planner chose it (no default here). */
static const char *mode_opt(char *buf, size_t n, int64_t mode)
{
	snprintf(buf, n, "mode=%o", (unsigned)mode);
	return buf;
}

static int op_rootfs(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	int r;
	if ((r = need_mount_ns(ctx, "rootfs", err)) < 0)
		return r;
	if ((r = lsh_mount_make_private("/", 1, err)) < 0)
		return r;
	/* The base: a scratch tmpfs holding the old and the new root while we build. It is
	 * this mount namespace's alone, just made: no other process can reach it, so the
	 * names made in it here may be used by path. */
	char scratch[32];
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
		  mode_opt(scratch, sizeof scratch, s->ints[ROOTFS_SCRATCH_MODE])) < 0)
		return lsh_err_set(err, errno, "rootfs: mount a tmpfs on /tmp");
	if (chdir("/tmp") < 0 || mkdir("newroot", 0755) < 0 || mkdir("oldroot", 0755) < 0)
		return lsh_err_set(err, errno, "rootfs: prepare /tmp");
	if ((r = lsh_mount_pivot_root(".", "oldroot", err)) < 0)
		return lsh_err_wrap(err, "rootfs");
	if (chdir("/") < 0)
		return lsh_err_set(err, errno, "rootfs: chdir /");

	char mode[32], size[64];
	const char *opts[3] = { mode_opt(mode, sizeof mode, s->ints[ROOTFS_MODE]), NULL, NULL };
	if (s->strs[ROOTFS_SIZE]) {
		snprintf(size, sizeof size, "size=%s", s->strs[ROOTFS_SIZE]);
		opts[1] = size;
	}
	_cleanup_close_ int mfd = lsh_mount_new_fs("tmpfs", "tmpfs", opts, LSH_MOUNT_NOSUID | LSH_MOUNT_NODEV, err);
	if (mfd < 0)
		return lsh_err_wrap(err, "rootfs");
	_cleanup_close_ int target = open("/newroot", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (target < 0)
		return lsh_err_set(err, errno, "rootfs: /newroot");
	if ((r = lsh_mount_attach(mfd, target, err)) < 0)
		return lsh_err_wrap(err, "rootfs: attach the new root");

	struct mnt_state *st = calloc(1, sizeof *st);
	if (st == NULL)
		return lsh_err_set(err, ENOMEM, "rootfs");
	st->oldroot = open("/oldroot", O_PATH | O_DIRECTORY | O_CLOEXEC);
	st->newroot = open("/newroot", O_PATH | O_DIRECTORY | O_CLOEXEC);
	ctx->area[AREA] = st;
	if (st->oldroot < 0 || st->newroot < 0)
		return lsh_err_set(err, errno, "rootfs: open the roots");
	return 0;
}

/* Attaches the detached mount mfd on dst under root (internal.h). */
int lsh_mount_attach_at(int root, int mfd, const char *dst, enum lsh_mount_node node, mode_t mode,
			struct lsh_err **err)
{
	_cleanup_close_ int target = lsh_mount_target(root, dst, node, mode, err);
	if (target < 0)
		return target;
	return lsh_mount_attach(mfd, target, err);
}

/* idmap_tree: the supervisor, still real root before the clone, makes an idmapped copy of
 * the host's tree at src, in which the owner of `owner` (default: src itself) appears as
 * the sandbox's user (host ids uid/gid), and the other host ids of the sandbox's own range
 * (uid_first, uid_count; gid_first, gid_count) appear as themselves: the ids the sandbox
 * has besides its user (a chown inside, tar's) land on disk as its own unprivileged host
 * ids. Nothing else is mapped. Only a process with
 * CAP_SYS_ADMIN over the filesystem's user namespace (the host's) may do that, which the
 * sandbox never has. The child inherits the fd across the clone; a bind or overlay step
 * names it by its number (the n-th idmap_tree step of the plan, from 1). */
enum { IDMAP_SRC, IDMAP_OWNER };		/* strs */
enum { IDMAP_UID, IDMAP_GID, IDMAP_DEV, IDMAP_OPTIONAL, IDMAP_UID_FIRST, IDMAP_UID_COUNT,
       IDMAP_GID_FIRST, IDMAP_GID_COUNT }; /* ints */

struct idmap_state {
	size_t n;
	int fds[64];
};

static void idmap_undo(void *arg)
{
	struct idmap_state *st = arg;
	for (size_t i = 0; i < st->n; i++)
		if (st->fds[i] >= 0)
			close(st->fds[i]);
	free(st);
}

static int op_idmap_tree(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	const char *src = s->strs[IDMAP_SRC], *owner = s->strs[IDMAP_OWNER] ? s->strs[IDMAP_OWNER] : src;
	struct idmap_state *st = ctx->area[AREA_IDMAP];
	if (st == NULL) {
		if ((st = calloc(1, sizeof *st)) == NULL)
			return lsh_err_set(err, ENOMEM, "idmap_tree %s", src);
		if (lsh_spawn_defer(ctx, idmap_undo, st, err) < 0)
			return -ENOMEM;
		ctx->area[AREA_IDMAP] = st;
	}
	if (st->n == LSH_ARRAY_SIZE(st->fds))
		return lsh_err_msg(err, E2BIG, "idmap_tree %s: too many idmapped mounts", src);
	st->fds[st->n++] = -1;
	/* The host's view, as the child's binds see it under the old root. */
	_cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return lsh_err_set(err, errno, "idmap: open /");
	/* As the child's binds do: the planner resolved src, so no symlink is followed now. */
	_cleanup_close_ int sfd = lsh_openat2(rootfd, src, O_PATH,
					      RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS);
	if (sfd < 0)
		sfd = errno == ELOOP ? lsh_err_msg(err, ELOOP, "%s: a symlink on the way (the plan's source "
						     "has none: it changed since it was planned)", src)
				     : lsh_err_set(err, errno, "%s", src);
	if ((sfd == -ENOENT || sfd == -ELOOP) && s->ints[IDMAP_OPTIONAL]) {
		lsh_err_free(*err);
		*err = NULL;
		return 0;
	}
	if (sfd < 0)
		return lsh_err_wrap(err, "idmap source");
	_cleanup_close_ int ofd = owner == src ? -1 : lsh_mount_open_in_root(rootfd, owner, O_PATH, err);
	if (owner != src && ofd < 0)
		return lsh_err_wrap(err, "idmap owner");
	struct stat sb;
	if (fstat(ofd >= 0 ? ofd : sfd, &sb) < 0)
		return lsh_err_set(err, errno, "idmap: stat %s", owner);
	uint64_t attrs = LSH_MOUNT_NOSUID | (s->ints[IDMAP_DEV] ? 0 : LSH_MOUNT_NODEV);
	struct stat ss;
	if (fstat(sfd, &ss) < 0)
		return lsh_err_set(err, errno, "idmap: stat %s", src);
	if (!S_ISDIR(ss.st_mode) && !S_ISREG(ss.st_mode)) {
		/* A device node, socket or fifo grants by its mode and what it is, not by who
		 * owns it: a plain copy with the same flags. */
		int plain = lsh_mount_clone_tree(sfd, NULL, 1, err);
		if (plain < 0 || lsh_mount_setattr(plain, attrs, 0, 1, -1, err) < 0) {
			if (plain >= 0)
				close(plain);
			return lsh_err_wrap(err, "idmap_tree %s", src);
		}
		st->fds[st->n - 1] = plain;
		return 0;
	}
	struct lsh_idmap_range ur[4], gr[4];
	size_t nu = lsh_idmap_owner_ranges((uint32_t)sb.st_uid, (uint32_t)s->ints[IDMAP_UID],
					   (uint32_t)s->ints[IDMAP_UID_FIRST], (uint32_t)s->ints[IDMAP_UID_COUNT], ur);
	size_t ng = lsh_idmap_owner_ranges((uint32_t)sb.st_gid, (uint32_t)s->ints[IDMAP_GID],
					   (uint32_t)s->ints[IDMAP_GID_FIRST], (uint32_t)s->ints[IDMAP_GID_COUNT], gr);
	int fd = lsh_mount_clone_idmapped(sfd, ur, nu, gr, ng, attrs, err);
	if (fd < 0) {
		int e = -fd;
		if (e == EINVAL || e == EPERM || e == ENOSYS || e == EOPNOTSUPP)
			return lsh_err_msg(err, e, "idmap_tree %s: the kernel or this filesystem refuses idmapped "
					   "mounts (%s), which a writable bind for a root caller needs; instead bind it "
					   "read-only (ro_bind), chown it to the sandbox's ids %ld:%ld, or keep root "
					   "inside host root (user.map = \"host_root\")",
					   src, strerror(e), (long)s->ints[IDMAP_UID], (long)s->ints[IDMAP_GID]);
		return lsh_err_wrap(err, "idmap_tree %s", src);
	}
	st->fds[st->n - 1] = fd;
	return 0;
}

/* The n-th idmapped tree, taken out of the state (internal.h). */
int lsh_mount_idmapped(struct lsh_spawn_ctx *ctx, long n, struct lsh_err **err)
{
	struct idmap_state *st = ctx->area[AREA_IDMAP];
	if (st == NULL || n < 1 || (size_t)n > st->n)
		return lsh_err_msg(err, EINVAL, "no idmap_tree step number %ld before the clone", n);
	return take_fd(&st->fds[n - 1]);
}

/* bind: src (under the old root) on dst (under the new root), recursively; nosuid always,
 * nodev unless "dev", read-only all the way down with "readonly". */
enum { BIND_SRC, BIND_DST };			/* strs */
enum { BIND_READONLY, BIND_DEV, BIND_OPTIONAL, BIND_LEGACY, BIND_IDMAPPED }; /* ints */

static int op_bind(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	const char *src = s->strs[BIND_SRC], *dst = s->strs[BIND_DST] ? s->strs[BIND_DST] : src;
	int readonly = (int)s->ints[BIND_READONLY], dev = (int)s->ints[BIND_DEV];
	int optional = (int)s->ints[BIND_OPTIONAL];
	struct mnt_state *st = state(ctx, "bind", err);
	if (st == NULL)
		return -EINVAL;
	if (s->ints[BIND_IDMAPPED]) {
		/* The tree the supervisor made, already with its flags. */
		_cleanup_close_ int tree = lsh_mount_idmapped(ctx, s->ints[BIND_IDMAPPED], err);
		struct stat tb;
		if (tree == -1)
			return 0; /* an optional source that is missing */
		if (tree < 0)
			return lsh_err_wrap(err, "bind %s", src);
		if (fstat(tree, &tb) < 0)
			return lsh_err_set(err, errno, "bind: source %s", src);
		enum lsh_mount_node node = S_ISDIR(tb.st_mode) ? LSH_NODE_DIR : LSH_NODE_FILE;
		return lsh_mount_attach_at(st->newroot, tree, dst, node, 0755, err) < 0
			       ? lsh_err_wrap(err, "bind %s on %s", src, dst) : 0;
	}
	/* The planner resolved src (symlinks followed only where no other user could have
	 * placed them): here no symlink is followed at all, so one swapped in since the plan
	 * was made is refused (ELOOP), never followed. */
	_cleanup_close_ int sfd = lsh_openat2(st->oldroot, src, O_PATH,
					      RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS);
	if (sfd < 0)
		sfd = errno == ELOOP ? lsh_err_msg(err, ELOOP, "%s: a symlink on the way (the plan's source "
						     "has none: it changed since it was planned)", src)
				     : lsh_err_set(err, errno, "%s", src);
	if (sfd < 0) {
		if ((sfd == -ENOENT || sfd == -ELOOP) && optional) {
			lsh_err_free(*err);
			*err = NULL;
			return 0;
		}
		return lsh_err_wrap(err, "source");
	}
	struct stat sb;
	if (fstat(sfd, &sb) < 0)
		return lsh_err_set(err, errno, "bind: source %s", src);
	uint64_t attrs = LSH_MOUNT_NOSUID | (dev ? 0 : LSH_MOUNT_NODEV) | (readonly ? LSH_MOUNT_RDONLY : 0);
	enum lsh_mount_node node = S_ISDIR(sb.st_mode) ? LSH_NODE_DIR : LSH_NODE_FILE;
	/* The flags go on the detached copy: it is never visible writable, and AT_RECURSIVE
	 * makes every submount read-only too (a plain remount would miss them). */
	if (!s->ints[BIND_LEGACY]) {
		_cleanup_close_ int tree = lsh_mount_clone_tree(sfd, NULL, 1, err);
		if (tree >= 0 && lsh_mount_setattr(tree, attrs, 0, 1, -1, err) == 0)
			return lsh_mount_attach_at(st->newroot, tree, dst, node, 0755, err) < 0
				       ? lsh_err_wrap(err, "bind %s on %s", src, dst) : 0;
		if ((*err)->code != ENOSYS)
			return lsh_err_wrap(err, "bind %s", src);
		lsh_err_free(*err);
		*err = NULL;
	}
	/* Before Linux 5.2 (open_tree) or 5.12 (mount_setattr), or when the step asks
	 * ("legacy"): mount(2) of the source by its fd, then a remount of each submount. The
	 * target was made without symlinks just before. */
	_cleanup_close_ int t = lsh_mount_target(st->newroot, dst, node, 0755, err);
	if (t < 0)
		return lsh_err_wrap(err, "bind %s: target", src);
	char from[64];
	snprintf(from, sizeof from, "/oldroot/proc/self/fd/%d", sfd);
	return lsh_mount_bind_legacy(from, t, attrs, "/oldroot/proc", err);
}

/* Splits "/a/b/c" into the parent "/a/b" (in buf) and returns "c". */
const char *lsh_path_split(const char *path, char *buf, size_t size)
{
	snprintf(buf, size, "%s", path);
	char *slash = strrchr(buf, '/');
	if (slash == NULL)
		return path;
	*slash = '\0';
	return path + (slash - buf) + 1;
}

/* A new filesystem instance attached on dst; returns the mount fd (the caller closes). */
static int new_fs_at(struct lsh_spawn_ctx *ctx, const char *op, const char *fstype,
		     const char *const *opts, uint64_t attrs, const char *dst, struct lsh_err **err)
{
	struct mnt_state *st = state(ctx, op, err);
	if (st == NULL)
		return -EINVAL;
	int mfd = lsh_mount_new_fs(fstype, fstype, opts, attrs, err);
	if (mfd < 0)
		return lsh_err_wrap(err, "%s %s", op, dst);
	if (lsh_mount_attach_at(st->newroot, mfd, dst, LSH_NODE_DIR, 0755, err) < 0) {
		close(mfd);
		return lsh_err_wrap(err, "%s on %s", op, dst);
	}
	return mfd;
}

/* tmpfs */
enum { TMPFS_DST, TMPFS_SIZE };			/* strs */
enum { TMPFS_MODE };				/* ints */

static int op_tmpfs(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	char mode[32], size[64];
	const char *opts[3] = { mode_opt(mode, sizeof mode, s->ints[TMPFS_MODE]), NULL, NULL };
	if (s->strs[TMPFS_SIZE]) {
		snprintf(size, sizeof size, "size=%s", s->strs[TMPFS_SIZE]);
		opts[1] = size;
	}
	int mfd = new_fs_at(ctx, "tmpfs", "tmpfs", opts, LSH_MOUNT_NOSUID | LSH_MOUNT_NODEV, s->strs[TMPFS_DST], err);
	if (mfd < 0)
		return mfd;
	close(mfd);
	return 0;
}

/* Makes name (a path in the mount at dirfd) a read-only bind of itself; a missing one is
 * fine (kernels differ in what /proc holds). */
static int protect(int dirfd, const char *name, struct lsh_err **err)
{
	_cleanup_close_ int target = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (target < 0)
		return errno == ENOENT ? 0 : lsh_err_set(err, errno, "%s", name);
	_cleanup_close_ int tree = lsh_mount_clone_tree(target, NULL, 1, err);
	if (tree < 0)
		return tree;
	int r = lsh_mount_setattr(tree, LSH_MOUNT_RDONLY | LSH_MOUNT_NOSUID | LSH_MOUNT_NODEV, 0, 1, -1, err);
	return r < 0 ? r : lsh_mount_attach(tree, target, err);
}

/* proc: a new instance on dst, and the entries of readonly (names in it) bound read-only
 * over themselves. Which entries is the planner's to say. */
enum { PROC_DST };				/* strs */
enum { PROC_READONLY };				/* lists */

static int op_proc(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	/* The kernel allows a new proc only for the pid namespace of the mounting process
	 * and, in a user namespace, only while a full proc is visible (the old root's). */
	_cleanup_close_ int mfd = new_fs_at(ctx, "proc", "proc", NULL,
					    LSH_MOUNT_NOSUID | LSH_MOUNT_NODEV | LSH_MOUNT_NOEXEC, s->strs[PROC_DST], err);
	if (mfd == -EPERM) /* (*err)->msg is freed only after the new one is formatted */
		return lsh_err_msg(err, EPERM, "%s (in a user namespace the kernel allows a new proc only "
				   "while the host's /proc is fully visible, nothing mounted over parts of it)",
				   (*err)->msg);
	if (mfd < 0)
		return mfd;
	for (size_t i = 0; i < s->nlists[PROC_READONLY]; i++) {
		const char *name = s->lists[PROC_READONLY][i];
		/* A name, not a path: protect() opens it in the new proc without following it. */
		if (*name == '\0' || strchr(name, '/') || strcmp(name, "..") == 0 || strcmp(name, ".") == 0)
			return lsh_err_msg(err, EINVAL, "proc: bad entry \"%s\" to make read-only", name);
		if (protect(mfd, name, err) < 0)
			return lsh_err_wrap(err, "proc: make /proc/%s read-only", name);
	}
	return 0;
}

/* mqueue */
enum { MQUEUE_DST };				/* strs */

static int op_mqueue(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	int mfd = new_fs_at(ctx, "mqueue", "mqueue", NULL,
			    LSH_MOUNT_NOSUID | LSH_MOUNT_NODEV | LSH_MOUNT_NOEXEC, s->strs[MQUEUE_DST], err);
	if (mfd < 0)
		return mfd;
	close(mfd);
	return 0;
}

/* dev: a tmpfs with the host's device nodes the step names bound in (a user namespace may
 * not create device nodes, so bubblewrap binds them too), a private devpts instance with
 * its ptmx, shm, and the links ("NAME=TARGET": ptmx, the /proc/self/fd ones). Which nodes
 * and links, the tmpfs's mode and size, devpts's modes and shm's mode are the planner's
 * to say. */
enum { DEV_DST, DEV_SIZE };			/* strs */
enum { DEV_NODES, DEV_LINKS };			/* lists */
enum { DEV_MODE, DEV_PTMXMODE, DEV_PTS_MODE, DEV_SHM_MODE }; /* ints */

static int op_dev(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	char mode[32], size[64], ptmxmode[32], ptsmode[32];
	snprintf(size, sizeof size, "size=%s", s->strs[DEV_SIZE]);
	snprintf(ptmxmode, sizeof ptmxmode, "ptmxmode=%o", (unsigned)s->ints[DEV_PTMXMODE]);
	const char *tmpfs_opts[] = { mode_opt(mode, sizeof mode, s->ints[DEV_MODE]), size, NULL };
	_cleanup_close_ int dev = new_fs_at(ctx, "dev", "tmpfs", tmpfs_opts,
					    LSH_MOUNT_NOSUID | LSH_MOUNT_NOEXEC, s->strs[DEV_DST], err);
	if (dev < 0)
		return dev;
	struct mnt_state *st = ctx->area[AREA];
	for (size_t i = 0; i < s->nlists[DEV_NODES]; i++) {
		const char *node = s->lists[DEV_NODES][i];
		char host[64];
		/* A name in the host's /dev, not a path: nothing else of the host is reached. */
		if (*node == '\0' || strchr(node, '/') || strcmp(node, "..") == 0 || strcmp(node, ".") == 0 ||
		    strlen(node) > 32)
			return lsh_err_msg(err, EINVAL, "dev: bad node name \"%s\"", node);
		snprintf(host, sizeof host, "/dev/%s", node);
		_cleanup_close_ int src = lsh_mount_open_in_root(st->oldroot, host, O_PATH, err);
		if (src < 0)
			return lsh_err_wrap(err, "dev: host node");
		_cleanup_close_ int tree = lsh_mount_clone_tree(src, NULL, 0, err);
		if (tree < 0 || lsh_mount_setattr(tree, LSH_MOUNT_NOSUID | LSH_MOUNT_NOEXEC, 0, 0, -1, err) < 0)
			return lsh_err_wrap(err, "dev: %s", host);
		/* The tmpfs is this step's own, new and reachable by nobody else yet: the file
		 * to mount on is made in one call, with no look first and no chmod (the bind
		 * covers it with the host node's own mode). A name given twice is opened as
		 * any target is. */
		int made = openat(dev, node, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0);
		_cleanup_close_ int target = made >= 0 || errno != EEXIST
			? (made >= 0 ? made : lsh_err_set(err, errno, "create %s", node))
			: lsh_mount_target(dev, node, LSH_NODE_FILE, 0666, err);
		if (target < 0 || lsh_mount_attach(tree, target, err) < 0)
			return lsh_err_wrap(err, "dev: %s", host);
	}
	_cleanup_close_ int ptsdir = lsh_mount_mkdirat(dev, "pts", 0755, err);
	if (ptsdir < 0)
		return lsh_err_wrap(err, "dev");
	/* newinstance: the sandbox's ptys are its own, invisible to the host's devpts. */
	const char *pts_opts[] = { "newinstance", ptmxmode, mode_opt(ptsmode, sizeof ptsmode, s->ints[DEV_PTS_MODE]),
				   NULL };
	_cleanup_close_ int pts = lsh_mount_new_fs("devpts", "devpts", pts_opts,
						   LSH_MOUNT_NOSUID | LSH_MOUNT_NOEXEC, err);
	if (pts < 0)
		return lsh_err_wrap(err, "dev");
	if (lsh_mount_attach(pts, ptsdir, err) < 0)
		return lsh_err_wrap(err, "dev: pts");
	for (size_t i = 0; i < s->nlists[DEV_LINKS]; i++) {
		const char *link = s->lists[DEV_LINKS][i], *eq = strchr(link, '=');
		char name[33];
		/* A name in the new /dev, not a path (the target is the link's text). */
		if (eq == NULL || eq == link || eq[1] == '\0' || (size_t)(eq - link) >= sizeof name ||
		    memchr(link, '/', (size_t)(eq - link)))
			return lsh_err_msg(err, EINVAL, "dev: bad link \"%s\" (expected NAME=TARGET)", link);
		snprintf(name, sizeof name, "%.*s", (int)(eq - link), link);
		if (strcmp(name, "..") == 0 || strcmp(name, ".") == 0)
			return lsh_err_msg(err, EINVAL, "dev: bad link \"%s\" (expected NAME=TARGET)", link);
		if (symlinkat(eq + 1, dev, name) < 0)
			return lsh_err_set(err, errno, "dev: symlink %s", name);
	}
	_cleanup_close_ int shm = lsh_mount_mkdirat(dev, "shm", (mode_t)s->ints[DEV_SHM_MODE], err);
	return shm < 0 ? lsh_err_wrap(err, "dev") : 0;
}

/* A host directory of an overlay, opened under the old root following no symlink: the
 * planner resolved it (symlinks followed only where no other user could have placed them),
 * so one found now was swapped in since and is refused. */
static int host_dir(struct mnt_state *st, const char *path, struct lsh_err **err)
{
	int fd = lsh_openat2(st->oldroot, path, O_PATH | O_DIRECTORY,
			     RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS);
	if (fd < 0 && errno == ELOOP)
		return lsh_err_msg(err, ELOOP, "%s: a symlink on the way (the plan's path has none: it "
				   "changed since it was planned)", path);
	return fd < 0 ? lsh_err_set(err, errno, "%s", path) : fd;
}

/* overlay */
enum { OVERLAY_DST, OVERLAY_UPPER, OVERLAY_WORK, OVERLAY_BASE }; /* strs */
enum { OVERLAY_LOWER };				/* lists */
enum { OVERLAY_IDMAPPED };			/* ints */

static int overlay_mount(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct mnt_state *st,
			 const int *fds, struct lsh_err **err);

static int op_overlay(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	struct mnt_state *st = state(ctx, "overlay", err);
	if (st == NULL)
		return -EINVAL;
	const char *dst = s->strs[OVERLAY_DST], *up = s->strs[OVERLAY_UPPER], *wk = s->strs[OVERLAY_WORK];
	if (up && wk == NULL)
		return lsh_err_msg(err, EINVAL, "overlay %s: an upper dir needs a work dir", dst);
	/* The host dirs as the plan resolved them, each opened following no symlink, and
	 * handed to overlayfs by fd (/oldroot/proc/self/fd/N): what is mounted is what was
	 * opened, whatever changes on the host meanwhile. */
	int fds[64];
	size_t n = 0, want = s->nlists[OVERLAY_LOWER] + (up ? 2 : 0);
	if (want > LSH_ARRAY_SIZE(fds))
		return lsh_err_msg(err, E2BIG, "overlay %s: too many lower dirs", dst);
	for (; n < want; n++) {
		size_t nl = s->nlists[OVERLAY_LOWER];
		const char *path = n < nl ? s->lists[OVERLAY_LOWER][n] : n == nl ? up : wk;
		if ((fds[n] = host_dir(st, path, err)) < 0)
			break;
	}
	int r = n < want ? lsh_err_wrap(err, "overlay %s", dst) : overlay_mount(s, ctx, st, fds, err);
	while (n > 0)
		close(fds[--n]);
	return r;
}

static int overlay_mount(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct mnt_state *st,
			 const int *fds, struct lsh_err **err)
{
	const char *dst = s->strs[OVERLAY_DST], *up = s->strs[OVERLAY_UPPER], *wk = s->strs[OVERLAY_WORK];
	char lower[8192] = "lowerdir=", upper[4200] = "upperdir=", work[4200] = "workdir=";
	size_t len = strlen(lower);
	for (size_t i = 0; i < s->nlists[OVERLAY_LOWER]; i++) {
		int n = snprintf(lower + len, sizeof lower - len, "%s/oldroot/proc/self/fd/%d", i ? ":" : "", fds[i]);
		if (n < 0 || (size_t)n >= sizeof lower - len)
			return lsh_err_msg(err, ENAMETOOLONG, "overlay %s: lower dirs too long", dst);
		len += (size_t)n;
	}
	const char *ubase = s->strs[OVERLAY_BASE];
	size_t blen = ubase ? strlen(ubase) : 0;
	if (up && s->ints[OVERLAY_IDMAPPED]) {
		/* Upper and work through the idmapped copy of their common directory `base`,
		 * attached on a scratch directory of the base tmpfs: overlayfs writes there as
		 * the sandbox's user, and the host sees the directory's owner. */
		if (ubase == NULL || strncmp(up, ubase, blen) != 0 || strncmp(wk, ubase, blen) != 0 ||
		    (up[blen] != '/' && up[blen] != '\0') || (wk[blen] != '/' && wk[blen] != '\0'))
			return lsh_err_msg(err, EINVAL, "overlay %s: upper and work must be under base", dst);
		if (blen == 1)
			blen = 0; /* base "/" */
		_cleanup_close_ int tree = lsh_mount_idmapped(ctx, s->ints[OVERLAY_IDMAPPED], err);
		if (tree < 0)
			return lsh_err_wrap(err, "overlay %s", dst);
		char dir[64];
		snprintf(dir, sizeof dir, "idmapped%d", st->seq++);
		_cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		_cleanup_close_ int d = rootfd < 0 ? -errno : lsh_mount_mkdirat(rootfd, dir, 0700, err);
		if (d < 0)
			return rootfd < 0 ? lsh_err_set(err, -d, "overlay %s: scratch dir", dst)
					  : lsh_err_wrap(err, "overlay %s: scratch dir", dst);
		if (lsh_mount_attach(tree, d, err) < 0)
			return lsh_err_wrap(err, "overlay %s: attach the idmapped upper", dst);
		int n1 = snprintf(upper + 9, sizeof upper - 9, "/%s%s", dir, up + blen);
		int n2 = snprintf(work + 8, sizeof work - 8, "/%s%s", dir, wk + blen);
		if (n1 < 0 || (size_t)n1 >= sizeof upper - 9 || n2 < 0 || (size_t)n2 >= sizeof work - 8)
			return lsh_err_msg(err, ENAMETOOLONG, "overlay %s: path too long", dst);
	} else if (up) {
		size_t nl = s->nlists[OVERLAY_LOWER];
		snprintf(upper + 9, sizeof upper - 9, "/oldroot/proc/self/fd/%d", fds[nl]);
		snprintf(work + 8, sizeof work - 8, "/oldroot/proc/self/fd/%d", fds[nl + 1]);
	} else {
		/* No upper given: changes go to a directory of the base tmpfs and vanish with
		 * the sandbox. */
		char dir[64];
		snprintf(dir, sizeof dir, "overlay%d", st->seq++);
		snprintf(upper + 9, sizeof upper - 9, "/%s/upper", dir);
		snprintf(work + 8, sizeof work - 8, "/%s/work", dir);
		_cleanup_close_ int base = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		_cleanup_close_ int d = base < 0 ? -errno : lsh_mount_mkdirat(base, dir, 0700, err);
		_cleanup_close_ int u = d < 0 ? d : lsh_mount_mkdirat(d, "upper", 0755, err);
		_cleanup_close_ int w = u < 0 ? u : lsh_mount_mkdirat(d, "work", 0700, err);
		if (base < 0)
			return lsh_err_set(err, -base, "overlay %s: scratch dirs", dst);
		if (w < 0)
			return lsh_err_wrap(err, "overlay %s: scratch dirs", dst);
	}
	/* In a user namespace overlayfs keeps its metadata in user.* xattrs (userxattr,
	 * Linux 5.11); as real root it uses trusted.*. */
	const char *opts[5] = { lower, upper, work, NULL, NULL };
	int mfd = new_fs_at(ctx, "overlay", "overlay", opts, LSH_MOUNT_NOSUID | LSH_MOUNT_NODEV, dst, err);
	if (mfd == -EPERM || mfd == -EINVAL) {
		lsh_err_free(*err);
		*err = NULL;
		opts[3] = "userxattr";
		mfd = new_fs_at(ctx, "overlay", "overlay", opts, LSH_MOUNT_NOSUID | LSH_MOUNT_NODEV, dst, err);
	}
	if (mfd < 0)
		return mfd;
	close(mfd);
	return 0;
}

/* Opens (making it if needed) the directory that will hold path inside the new root, for
 * the steps that create a node there; *name is the last component. */
static int open_parent(struct lsh_spawn_ctx *ctx, const char *op, const char *path, const char **name,
		       struct lsh_err **err)
{
	struct mnt_state *st = state(ctx, op, err);
	if (st == NULL)
		return -EINVAL;
	char parent[4096];
	*name = lsh_path_split(path, parent, sizeof parent);
	int dir = lsh_mount_target(st->newroot, parent, LSH_NODE_DIR, 0755, err);
	return dir < 0 ? lsh_err_wrap(err, "%s %s", op, path) : dir;
}

/* symlink */
enum { SYMLINK_DST, SYMLINK_TARGET };		/* strs */

static int op_symlink(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	const char *name, *dst = s->strs[SYMLINK_DST], *target = s->strs[SYMLINK_TARGET];
	_cleanup_close_ int dir = open_parent(ctx, "symlink", dst, &name, err);
	if (dir < 0)
		return dir;
	if (symlinkat(target, dir, name) < 0)
		return lsh_err_set(err, errno, "symlink %s -> %s", dst, target);
	return 0;
}

/* dir */
enum { DIR_DST };				/* strs */
enum { DIR_MODE };				/* ints */

static int op_dir(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	struct mnt_state *st = state(ctx, "dir", err);
	if (st == NULL)
		return -EINVAL;
	mode_t mode = (mode_t)(s->ints[DIR_MODE] ? s->ints[DIR_MODE] : 0755);
	_cleanup_close_ int fd = lsh_mount_target(st->newroot, s->strs[DIR_DST], LSH_NODE_DIR, mode, err);
	return fd < 0 ? lsh_err_wrap(err, "dir") : 0;
}

/* file */
enum { FILE_DST, FILE_CONTENT };		/* strs */
enum { FILE_MODE };				/* ints */

static int op_file(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	const char *name, *dst = s->strs[FILE_DST];
	_cleanup_close_ int dir = open_parent(ctx, "file", dst, &name, err);
	if (dir < 0)
		return dir;
	/* O_EXCL: a file step makes a new file; it never rewrites one a bind brought in. */
	_cleanup_close_ int fd = openat(dir, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return lsh_err_set(err, errno, "file %s", dst);
	const char *p = s->strs[FILE_CONTENT] ? s->strs[FILE_CONTENT] : "";
	size_t left = strlen(p);
	while (left > 0) {
		ssize_t n = write(fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return lsh_err_set(err, errno, "file %s: write", dst);
		p += n;
		left -= (size_t)n;
	}
	if (fchmod(fd, (mode_t)(s->ints[FILE_MODE] ? s->ints[FILE_MODE] : 0644)) < 0)
		return lsh_err_set(err, errno, "file %s: chmod", dst);
	return 0;
}

/* remount_ro */
enum { REMOUNT_DST };				/* strs */

static int op_remount_ro(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	struct mnt_state *st = state(ctx, "remount_ro", err);
	if (st == NULL)
		return -EINVAL;
	const char *dst = s->strs[REMOUNT_DST];
	_cleanup_close_ int fd = lsh_mount_target(st->newroot, dst, LSH_NODE_NONE, 0, err);
	if (fd < 0)
		return lsh_err_wrap(err, "remount_ro");
	if (lsh_mount_setattr(fd, LSH_MOUNT_RDONLY, 0, 1, -1, err) < 0)
		return lsh_err_wrap(err, "remount_ro %s%s", dst, (*err)->code == EINVAL ? " (not a mount point)" : "");
	return 0;
}

/* pivot */
enum { PIVOT_READONLY };			/* ints */

static int op_pivot(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	struct mnt_state *st = state(ctx, "pivot", err);
	if (st == NULL)
		return -EINVAL;
	/* Read-only after every file and mount point is made: only the root tmpfs, the
	 * mounts on it keep their own flags. */
	if (s->ints[PIVOT_READONLY] && lsh_mount_setattr(st->newroot, LSH_MOUNT_RDONLY, 0, 0, -1, err) < 0)
		return lsh_err_wrap(err, "pivot: make the root read-only");
	int r = lsh_mount_enter_root(st->newroot, err);
	if (r < 0)
		return lsh_err_wrap(err, "pivot");
	close(st->oldroot);
	close(st->newroot);
	free(st);
	ctx->area[AREA] = NULL;
	return 0;
}

/* lock_mounts */
enum { LOCK_PROC };				/* strs */

static int op_lock_mounts(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	(void)ctx;
	return lsh_mount_lock(s->strs[LOCK_PROC], err);
}

#define CHILD LSH_PHASE_CHILD

const struct lsh_op lsh_ops_mount[] = {
	{ "mount_private", CHILD, { { "path", LSH_ARG_STR, PRIVATE_PATH, 1 } }, NULL, op_mount_private },
	{ "rootfs", CHILD,
	  { { "size", LSH_ARG_STR, ROOTFS_SIZE, 0 }, { "mode", LSH_ARG_INT, ROOTFS_MODE, 1 },
	    { "scratch_mode", LSH_ARG_INT, ROOTFS_SCRATCH_MODE, 1 } },
	  NULL, op_rootfs },
	{ "bind", CHILD,
	  { { "src", LSH_ARG_STR, BIND_SRC, 1 }, { "dst", LSH_ARG_STR, BIND_DST, 0 },
	    { "readonly", LSH_ARG_BOOL, BIND_READONLY, 0 }, { "dev", LSH_ARG_BOOL, BIND_DEV, 0 },
	    { "optional", LSH_ARG_BOOL, BIND_OPTIONAL, 0 }, { "legacy", LSH_ARG_BOOL, BIND_LEGACY, 0 },
	    { "idmapped", LSH_ARG_INT, BIND_IDMAPPED, 0 } },
	  NULL, op_bind },
	{ "idmap_tree", LSH_PHASE_PREPARE,
	  { { "src", LSH_ARG_STR, IDMAP_SRC, 1 }, { "owner", LSH_ARG_STR, IDMAP_OWNER, 0 },
	    { "uid", LSH_ARG_INT, IDMAP_UID, 1 }, { "gid", LSH_ARG_INT, IDMAP_GID, 1 },
	    { "dev", LSH_ARG_BOOL, IDMAP_DEV, 0 }, { "optional", LSH_ARG_BOOL, IDMAP_OPTIONAL, 0 },
	    { "uid_first", LSH_ARG_INT, IDMAP_UID_FIRST, 0 }, { "uid_count", LSH_ARG_INT, IDMAP_UID_COUNT, 0 },
	    { "gid_first", LSH_ARG_INT, IDMAP_GID_FIRST, 0 }, { "gid_count", LSH_ARG_INT, IDMAP_GID_COUNT, 0 } },
	  NULL, op_idmap_tree },
	{ "tmpfs", CHILD,
	  { { "dst", LSH_ARG_STR, TMPFS_DST, 1 }, { "size", LSH_ARG_STR, TMPFS_SIZE, 0 },
	    { "mode", LSH_ARG_INT, TMPFS_MODE, 1 } },
	  NULL, op_tmpfs },
	{ "proc", CHILD,
	  { { "dst", LSH_ARG_STR, PROC_DST, 1 }, { "readonly", LSH_ARG_LIST, PROC_READONLY, 1 } }, NULL, op_proc },
	{ "dev", CHILD,
	  { { "dst", LSH_ARG_STR, DEV_DST, 1 }, { "nodes", LSH_ARG_LIST, DEV_NODES, 1 },
	    { "links", LSH_ARG_LIST, DEV_LINKS, 1 }, { "mode", LSH_ARG_INT, DEV_MODE, 1 },
	    { "size", LSH_ARG_STR, DEV_SIZE, 1 }, { "ptmxmode", LSH_ARG_INT, DEV_PTMXMODE, 1 },
	    { "pts_mode", LSH_ARG_INT, DEV_PTS_MODE, 1 }, { "shm_mode", LSH_ARG_INT, DEV_SHM_MODE, 1 } },
	  NULL, op_dev },
	{ "mqueue", CHILD, { { "dst", LSH_ARG_STR, MQUEUE_DST, 1 } }, NULL, op_mqueue },
	{ "overlay", CHILD,
	  { { "dst", LSH_ARG_STR, OVERLAY_DST, 1 }, { "lower", LSH_ARG_LIST, OVERLAY_LOWER, 1 },
	    { "upper", LSH_ARG_STR, OVERLAY_UPPER, 0 }, { "work", LSH_ARG_STR, OVERLAY_WORK, 0 },
	    { "base", LSH_ARG_STR, OVERLAY_BASE, 0 }, { "idmapped", LSH_ARG_INT, OVERLAY_IDMAPPED, 0 } },
	  NULL, op_overlay },
	{ "symlink", CHILD,
	  { { "dst", LSH_ARG_STR, SYMLINK_DST, 1 }, { "target", LSH_ARG_STR, SYMLINK_TARGET, 1 } }, NULL, op_symlink },
	{ "dir", CHILD, { { "dst", LSH_ARG_STR, DIR_DST, 1 }, { "mode", LSH_ARG_INT, DIR_MODE, 0 } }, NULL, op_dir },
	{ "file", CHILD,
	  { { "dst", LSH_ARG_STR, FILE_DST, 1 }, { "content", LSH_ARG_STR, FILE_CONTENT, 0 },
	    { "mode", LSH_ARG_INT, FILE_MODE, 0 } },
	  NULL, op_file },
	{ "remount_ro", CHILD, { { "dst", LSH_ARG_STR, REMOUNT_DST, 1 } }, NULL, op_remount_ro },
	{ "pivot", CHILD, { { "readonly", LSH_ARG_BOOL, PIVOT_READONLY, 0 } }, NULL, op_pivot },
	{ "lock_mounts", CHILD, { { "proc", LSH_ARG_STR, LOCK_PROC, 1 } }, NULL, op_lock_mounts },
	{ NULL, 0, { { NULL, 0, 0, 0 } }, NULL, NULL },
};
