/* Whole directory trees, walked the way a tree someone else could write must be walked:
 * every entry opened relative to its parent's fd with O_NOFOLLOW, never through a
 * symlink, never into another mount, to a bounded depth. `lunshare test` removes with it
 * the scratch directories a sandbox wrote into (where the sandboxed program may have left
 * symlinks to anywhere), and hands them to the sandbox's ids first. */
#include "internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { MAX_DEPTH = 64 };

/* The directory name beneath dirfd, opened for listing, checked to be on device dev. */
static DIR *open_dir(int dirfd, const char *name, dev_t dev, struct lsh_err **err)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		lsh_err_set(err, errno, "open %s", name);
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_dev != dev) {
		close(fd);
		lsh_err_msg(err, EXDEV, "%s: another mount (not crossed)", name);
		return NULL;
	}
	DIR *d = fdopendir(fd);
	if (d == NULL) {
		lsh_err_set(err, errno, "open %s", name);
		close(fd);
	}
	return d;
}

static int remove_at(int at, const char *name, dev_t dev, int depth, struct lsh_err **err)
{
	struct stat st;
	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : lsh_err_set(err, errno, "remove %s", name);
	if (!S_ISDIR(st.st_mode)) {
		/* A symlink is removed itself, never followed. */
		if (unlinkat(at, name, 0) < 0 && errno != ENOENT)
			return lsh_err_set(err, errno, "remove %s", name);
		return 0;
	}
	if (st.st_dev != dev)
		return lsh_err_msg(err, EXDEV, "remove %s: a mount point (not crossed)", name);
	if (depth >= MAX_DEPTH)
		return lsh_err_msg(err, ELOOP, "remove %s: nested deeper than %d directories", name, MAX_DEPTH);
	/* A directory of ours that a sandbox made unreadable (chmod 000) is ours to open:
	 * u+rwx first. AT_SYMLINK_NOFOLLOW: the very inode named, never a symlink's target
	 * (glibc refuses a symlink with EOPNOTSUPP). */
	if (st.st_uid == geteuid() && (st.st_mode & S_IRWXU) != S_IRWXU &&
	    fchmodat(at, name, (st.st_mode & 07777) | S_IRWXU, AT_SYMLINK_NOFOLLOW) < 0 && errno != ENOENT)
		return lsh_err_set(err, errno, "remove %s: chmod u+rwx", name);
	DIR *d = open_dir(at, name, dev, err);
	if (d == NULL)
		return -(*err)->code;
	int r = 0;
	struct dirent *e;
	while (r == 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		r = remove_at(dirfd(d), e->d_name, dev, depth + 1, err);
	}
	closedir(d);
	if (r < 0)
		return r;
	if (unlinkat(at, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return lsh_err_set(err, errno, "remove %s", name);
	return 0;
}

int lsh_tree_remove(int dirfd, const char *name, struct lsh_err **err)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : lsh_err_set(err, errno, "remove %s", name);
	return remove_at(dirfd, name, st.st_dev, 0, err);
}

static int chown_at(int at, const char *name, dev_t dev, uid_t uid, gid_t gid, int depth,
		    struct lsh_err **err)
{
	struct stat st;
	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return lsh_err_set(err, errno, "chown %s", name);
	if (st.st_dev != dev)
		return lsh_err_msg(err, EXDEV, "chown %s: another mount (not crossed)", name);
	if (fchownat(at, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return lsh_err_set(err, errno, "chown %s", name);
	if (!S_ISDIR(st.st_mode))
		return 0;
	if (depth >= MAX_DEPTH)
		return lsh_err_msg(err, ELOOP, "chown %s: nested deeper than %d directories", name, MAX_DEPTH);
	DIR *d = open_dir(at, name, dev, err);
	if (d == NULL)
		return -(*err)->code;
	int r = 0;
	struct dirent *e;
	while (r == 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		r = chown_at(dirfd(d), e->d_name, dev, uid, gid, depth + 1, err);
	}
	closedir(d);
	return r;
}

int lsh_tree_chown(int dirfd, const char *name, uid_t uid, gid_t gid, struct lsh_err **err)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return lsh_err_set(err, errno, "chown %s", name);
	return chown_at(dirfd, name, st.st_dev, uid, gid, 0, err);
}
