/* Hot-plug, the plan's steps of `lunshare plug NAME bind …` and `lunshare unplug`: a
 * bind added to a running sandbox, and taken off again. The tree is cloned, with the
 * flags the same bind in a profile gets, where this process may clone it, then the join
 * step enters the sandbox's user and mount namespaces and plug_attach puts it on its
 * target there (a detached tree may be attached in any mount namespace whose owner we
 * have CAP_SYS_ADMIN over). open_tree(OPEN_TREE_CLONE) copies only from our own mount
 * namespace, and needs CAP_SYS_ADMIN over its owner: root clones from the host's (or
 * takes the idmapped tree its supervisor side made, as a profile's writable bind for a
 * root caller gets); a rootless caller first enters the sandbox's user namespace and
 * makes a fresh mount namespace there, a copy of the host's view that namespace owns,
 * whose mounts the kernel locks to one another (they cannot be split to show what they
 * cover). The process is made non-dumpable before it joins anything: the sandbox's
 * command, of the same user namespace, can neither ptrace nor open it. */
#include "internal.h"
#include "syscalls.h"

#include <fcntl.h>
#include <sched.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#define AREA_PLUG 5 /* ctx->area[AREA_PLUG]: the tree plug_source made */

struct plug_state {
	int tree;
	dev_t root_dev;		/* our root before the join (the sandbox's procfs, once */
	ino_t root_ino;		/* joined, does not show us: no /proc/self/ns) */
	int was_root;		/* we ran as host root */
};

static void plug_free(struct lsh_spawn_ctx *ctx)
{
	struct plug_state *ps = ctx->area[AREA_PLUG];
	if (ps && ps->tree >= 0)
		close(ps->tree);
	free(ps);
	ctx->area[AREA_PLUG] = NULL;
}

/* Where we are before the join. */
static int here(struct plug_state *ps, struct lsh_err **err)
{
	struct stat sb;
	if (stat("/", &sb) < 0)
		return lsh_err_set(err, errno, "stat /");
	ps->root_dev = sb.st_dev;
	ps->root_ino = sb.st_ino;
	ps->was_root = geteuid() == 0;
	return 0;
}

/* plug_source */
enum { PLUG_SRC };				/* strs */
enum { PLUG_PID, PLUG_STARTTIME, PLUG_USER_NS, PLUG_READONLY, PLUG_DEV, PLUG_IDMAPPED, PLUG_OWN_VIEW }; /* ints */

static int op_plug_source(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	const char *src = s->strs[PLUG_SRC];
	int readonly = (int)s->ints[PLUG_READONLY], dev = (int)s->ints[PLUG_DEV];
	if (ctx->area[AREA_PLUG])
		return lsh_err_msg(err, EINVAL, "plug_source: one bind per plan");
	struct plug_state *ps = calloc(1, sizeof *ps);
	if (ps == NULL)
		return lsh_err_set(err, ENOMEM, "plug_source");
	ps->tree = -1;
	ctx->area[AREA_PLUG] = ps;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return lsh_err_set(err, errno, "plug_source: not dumpable");
	if (here(ps, err) < 0)
		return lsh_err_wrap(err, "plug_source");
	if (s->ints[PLUG_IDMAPPED]) {
		ps->tree = lsh_mount_idmapped(ctx, s->ints[PLUG_IDMAPPED], err);
		if (ps->tree < 0)
			return ps->tree == -1 ? lsh_err_msg(err, ENOENT, "bind %s: no source", src)
					      : lsh_err_wrap(err, "bind %s", src);
		return 0;
	}
	if (s->ints[PLUG_OWN_VIEW]) {
		_cleanup_close_ int pidfd = lsh_join_pidfd((pid_t)s->ints[PLUG_PID], (uint64_t)s->ints[PLUG_STARTTIME],
							   (uint64_t)s->ints[PLUG_USER_NS], err);
		if (pidfd < 0)
			return pidfd;
		if (lsh_ns_enter(pidfd, CLONE_NEWUSER, err) < 0)
			return lsh_err_wrap(err, "plug_source: enter the sandbox's user namespace");
		if (unshare(CLONE_NEWNS) < 0)
			return lsh_err_set(err, errno, "plug_source: a mount namespace of the sandbox's user namespace");
	}
	_cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return lsh_err_set(err, errno, "plug_source: open /");
	/* As a profile's bind: the planner resolved src, so no symlink is followed now. */
	_cleanup_close_ int sfd = lsh_openat2(rootfd, src, O_PATH,
					      RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS);
	if (sfd < 0)
		return errno == ELOOP ? lsh_err_msg(err, ELOOP, "%s: a symlink on the way (the plan's source "
						   "has none: it changed since it was planned)", src)
				      : lsh_err_set(err, errno, "bind: source %s", src);
	uint64_t attrs = LSH_MOUNT_NOSUID | (dev ? 0 : LSH_MOUNT_NODEV) | (readonly ? LSH_MOUNT_RDONLY : 0);
	ps->tree = lsh_mount_clone_tree(sfd, NULL, 1, err);
	if (ps->tree < 0 || lsh_mount_setattr(ps->tree, attrs, 0, 1, -1, err) < 0)
		return lsh_err_wrap(err, "bind %s", src);
	return 0;
}

/* The sandbox's root, once the join step entered its mount namespace (which made that
 * namespace's root ours): refused when the join left us where we were, so that no plan
 * can attach or detach in the root of its caller. */
static int plug_root(struct plug_state *ps, const char *op, struct lsh_err **err)
{
	struct stat sb;
	if (ps == NULL)
		return lsh_err_msg(err, EINVAL, "%s: needs a plug_source step before it", op);
	if (stat("/", &sb) < 0)
		return lsh_err_set(err, errno, "%s: stat /", op);
	if (sb.st_dev == ps->root_dev && sb.st_ino == ps->root_ino)
		return lsh_err_msg(err, EPERM, "%s: needs a join step into the sandbox's mount namespace", op);
	/* Host root has no id in the sandbox's user namespace (a directory it made would
	 * have no owner: EOVERFLOW): it acts as the namespace's root, whose capabilities the
	 * join gave it, and whose files are the sandbox's own. */
	if (ps->was_root && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
		return lsh_err_set(err, errno, "%s: become the sandbox's root", op);
	int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? lsh_err_set(err, errno, "%s: open /", op) : fd;
}

/* plug_attach */
enum { ATTACH_DST };				/* strs */

static int op_plug_attach(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	const char *dst = s->strs[ATTACH_DST];
	struct plug_state *ps = ctx->area[AREA_PLUG];
	struct stat tb;
	int root = plug_root(ps, "plug_attach", err);
	if (root < 0)
		return root;
	int r = fstat(ps->tree, &tb) < 0 ? lsh_err_set(err, errno, "plug_attach: the tree")
					 : lsh_mount_attach_at(root, ps->tree, dst,
							       S_ISDIR(tb.st_mode) ? LSH_NODE_DIR : LSH_NODE_FILE, 0755, err);
	close(root);
	plug_free(ctx);
	return r < 0 ? lsh_err_wrap(err, "bind on %s", dst) : 0;
}

/* plug_detach: the bind plug made on dst comes off (MNT_DETACH: what still uses it keeps
 * it until done), and only that mount: mnt_id is its id as the sandbox's mountinfo showed
 * it right after the plug, compared with the mount the lookup reaches before anything is
 * unmounted. Never umount2(dst) by its path after a check: the sandbox's program can swap
 * a parent of dst for a symlink, or rename a directory holding one of its profile's mount
 * points (a tmpfs hiding part of a bind) to dst's parent, and the unplug child holds
 * CAP_SYS_ADMIN over mounts the sandbox itself cannot touch. */
enum { DETACH_DST };				/* strs */
enum { DETACH_MNT_ID };				/* ints */

static int same_mount(int fd, const char *name, uint64_t want, struct lsh_err **err)
{
	struct statx stx;
	if (statx(fd, name, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) < 0)
		return lsh_err_set(err, errno, "stat the target");
	if (!(stx.stx_mask & STATX_MNT_ID) || stx.stx_mnt_id != want)
		return lsh_err_msg(err, ESTALE, "the mount there is not the one plug made (it was moved or covered)");
	return 0;
}

static int op_plug_detach(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	const char *dst = s->strs[DETACH_DST];
	uint64_t want = (uint64_t)s->ints[DETACH_MNT_ID];
	struct plug_state *ps = ctx->area[AREA_PLUG];
	const uint64_t how = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS;
	_cleanup_close_ int root = plug_root(ps, "plug_detach", err);
	if (root < 0)
		return root;
	_cleanup_close_ int t = lsh_openat2(root, dst, O_PATH, how);
	if (t < 0)
		return lsh_err_set(err, errno, "%s", errno == ELOOP ? "a component of the target is a symlink" :
				   "resolve the target");
	struct stat sb;
	if (fstat(t, &sb) < 0)
		return lsh_err_set(err, errno, "stat the target");
	plug_free(ctx);
	/* A directory is unmounted as the working directory: the very mount t reached. A file
	 * through its parent held open, by a last name that cannot be a symlink
	 * (UMOUNT_NOFOLLOW) and that cannot be renamed or unlinked while a mount point. */
	int r;
	if (S_ISDIR(sb.st_mode)) {
		if (same_mount(t, "", want, err) < 0)
			return -ESTALE;
		if (fchdir(t) < 0)
			return lsh_err_set(err, errno, "enter the target");
		r = umount2(".", MNT_DETACH);
	} else {
		char parent[4096];
		const char *name = lsh_path_split(dst, parent, sizeof parent);
		if (dst[0] != '/' || strlen(dst) >= sizeof parent || name[0] == '\0')
			return lsh_err_msg(err, EINVAL, "expected an absolute target");
		_cleanup_close_ int pd = lsh_openat2(root, parent[0] ? parent : "/", O_PATH | O_DIRECTORY, how);
		if (pd < 0 || fchdir(pd) < 0)
			return lsh_err_set(err, errno, "enter the target's directory");
		if (same_mount(pd, name, want, err) < 0)
			return -ESTALE;
		r = umount2(name, MNT_DETACH | UMOUNT_NOFOLLOW);
	}
	if (r < 0)
		return lsh_err_set(err, errno, "%s", errno == EINVAL ? "not a mount point" : "umount");
	return 0;
}

/* plug_detach's start: only what plug_root checks, no tree. */
static int op_plug_target(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	(void)s;
	struct plug_state *ps = calloc(1, sizeof *ps);
	if (ps == NULL)
		return lsh_err_set(err, ENOMEM, "plug_target");
	ps->tree = -1;
	ctx->area[AREA_PLUG] = ps;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return lsh_err_set(err, errno, "plug_target: not dumpable");
	return here(ps, err) < 0 ? lsh_err_wrap(err, "plug_target") : 0;
}

#define CHILD LSH_PHASE_CHILD

const struct lsh_op lsh_ops_plug[] = {
	{ "plug_source", CHILD,
	  { { "src", LSH_ARG_STR, PLUG_SRC, 1 }, { "pid", LSH_ARG_INT, PLUG_PID, 1 },
	    { "starttime", LSH_ARG_INT, PLUG_STARTTIME, 1 }, { "user_ns", LSH_ARG_INT, PLUG_USER_NS, 0 },
	    { "readonly", LSH_ARG_BOOL, PLUG_READONLY, 0 }, { "dev", LSH_ARG_BOOL, PLUG_DEV, 0 },
	    { "idmapped", LSH_ARG_INT, PLUG_IDMAPPED, 0 }, { "own_view", LSH_ARG_BOOL, PLUG_OWN_VIEW, 0 } },
	  NULL, op_plug_source },
	{ "plug_target", CHILD, { { NULL, 0, 0, 0 } }, NULL, op_plug_target },
	{ "plug_attach", CHILD, { { "dst", LSH_ARG_STR, ATTACH_DST, 1 } }, NULL, op_plug_attach },
	{ "plug_detach", CHILD, { { "dst", LSH_ARG_STR, DETACH_DST, 1 }, { "mnt_id", LSH_ARG_INT, DETACH_MNT_ID, 1 } },
	  NULL, op_plug_detach },
	{ NULL, 0, { { NULL, 0, 0, 0 } }, NULL, NULL },
};
