/* Mounts, the fd-based API (Linux 5.2+, mount_setattr 5.12+): open_tree clones a tree into a
 * detached mount, mount_setattr changes its flags (recursively, idmapped), fsopen/fsmount
 * make a new filesystem instance as a detached mount, and move_mount attaches one onto an
 * fd. Working on detached mounts means a mount is never visible before its flags are set,
 * and naming the target by an fd means no path can be swapped under us (crun does the
 * same). */
#include "internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>

int lsh_mount_clone_tree(int dirfd, const char *path, int recursive, struct lsh_err **err)
{
	unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC;
	if (recursive)
		flags |= AT_RECURSIVE;
	if (path == NULL || *path == '\0') {
		path = "";
		flags |= AT_EMPTY_PATH;
	}
	int fd = open_tree(dirfd, path, flags);
	if (fd < 0)
		return lsh_err_set(err, errno, "open_tree %s", *path ? path : "(fd)");
	return fd;
}

int lsh_mount_setattr(int fd, uint64_t set, uint64_t clr, int recursive, int userns_fd,
		      struct lsh_err **err)
{
	struct mount_attr attr;
	memset(&attr, 0, sizeof attr);
	attr.attr_set = set;
	attr.attr_clr = clr;
	if (set & LSH_MOUNT_IDMAP)
		attr.userns_fd = (uint64_t)userns_fd;
	unsigned flags = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
	if (mount_setattr(fd, "", flags, &attr, sizeof attr) < 0)
		return lsh_err_set(err, errno, "mount_setattr");
	return 0;
}

int lsh_mount_attach(int mntfd, int target_fd, struct lsh_err **err)
{
	if (move_mount(mntfd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return lsh_err_set(err, errno, "move_mount");
	return 0;
}

/* One "key=value" or "flag" option of fsconfig. */
static int configure(int fsfd, const char *fstype, const char *opt, struct lsh_err **err)
{
	const char *eq = strchr(opt, '=');
	int r;
	if (eq == NULL) {
		r = fsconfig(fsfd, FSCONFIG_SET_FLAG, opt, NULL, 0);
	} else {
		size_t klen = (size_t)(eq - opt);
		char key[64];
		if (klen == 0 || klen >= sizeof key)
			return lsh_err_msg(err, EINVAL, "fsconfig %s: bad option \"%s\"", fstype, opt);
		memcpy(key, opt, klen);
		key[klen] = '\0';
		r = fsconfig(fsfd, FSCONFIG_SET_STRING, key, eq + 1, 0);
	}
	if (r < 0)
		return lsh_err_set(err, errno, "fsconfig %s %s", fstype, opt);
	return 0;
}

int lsh_mount_new_fs(const char *fstype, const char *source, const char *const *options,
		     uint64_t attrs, struct lsh_err **err)
{
	_cleanup_close_ int fsfd = fsopen(fstype, FSOPEN_CLOEXEC);
	if (fsfd < 0)
		return lsh_err_set(err, errno, "fsopen %s", fstype);
	if (source && fsconfig(fsfd, FSCONFIG_SET_STRING, "source", source, 0) < 0)
		return lsh_err_set(err, errno, "fsconfig %s source=%s", fstype, source);
	for (size_t i = 0; options && options[i]; i++) {
		int r = configure(fsfd, fstype, options[i], err);
		if (r < 0)
			return r;
	}
	if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		/* The kernel may have left a reason in the context's log. */
		int e = errno;
		char log[256];
		ssize_t n = read(fsfd, log, sizeof log - 1);
		if (n > 2) {
			log[n] = '\0';
			log[strcspn(log, "\n")] = '\0';
			return lsh_err_set(err, e, "create %s (%s)", fstype, log + 2);
		}
		return lsh_err_set(err, e, "create %s", fstype);
	}
	int mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, (unsigned)attrs);
	if (mfd < 0)
		return lsh_err_set(err, errno, "fsmount %s", fstype);
	return mfd;
}

size_t lsh_idmap_owner_ranges(uint32_t owner, uint32_t user, uint32_t first, uint32_t count,
			      struct lsh_idmap_range r[4])
{
	size_t n = 0;
	r[n++] = (struct lsh_idmap_range){ owner, user, 1 };
	/* [first, first+count) less owner and user: at most three pieces. */
	uint64_t lo = first, end = (uint64_t)first + count;
	uint64_t cut[2] = { owner < user ? owner : user, owner < user ? user : owner };
	for (int i = 0; i < 2 && lo < end; i++) {
		if (cut[i] < lo || cut[i] >= end)
			continue;
		if (cut[i] > lo)
			r[n++] = (struct lsh_idmap_range){ (uint32_t)lo, (uint32_t)lo, (uint32_t)(cut[i] - lo) };
		lo = cut[i] + 1;
	}
	if (lo < end)
		r[n++] = (struct lsh_idmap_range){ (uint32_t)lo, (uint32_t)lo, (uint32_t)(end - lo) };
	return n;
}

int lsh_mount_clone_idmapped(int fd, const struct lsh_idmap_range *uid, size_t nu,
			     const struct lsh_idmap_range *gid, size_t ng, uint64_t attrs, struct lsh_err **err)
{
	_cleanup_close_ int userns = lsh_idmap_userns(uid, nu, gid, ng, err);
	if (userns < 0)
		return userns;
	_cleanup_close_ int tree = lsh_mount_clone_tree(fd, NULL, 1, err);
	if (tree < 0)
		return tree;
	int r = lsh_mount_setattr(tree, attrs | LSH_MOUNT_IDMAP, 0, 1, userns, err);
	if (r < 0)
		return lsh_err_wrap(err, "idmapped mount");
	return take_fd(&tree);
}
