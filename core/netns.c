/* Named network namespaces, kept the way iproute2 keeps them, so that each side uses the
 * other's: /run/netns is a shared mount point (so a name made in one mount namespace shows
 * in the others that share it), and /run/netns/NAME is an empty file with the namespace's
 * nsfs file bind-mounted on it, which pins the namespace without any process in it. */
#include "internal.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

static const char *dir_or_default(const char *dir)
{
	return dir && *dir ? dir : LSH_NETNS_DIR;
}

static int check_name(const char *name, struct lsh_err **err)
{
	if (name == NULL || name[0] == '\0' || strchr(name, '/') || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0 || strlen(name) > 200)
		return lsh_err_msg(err, EINVAL, "bad netns name \"%s\" (no '/', not . or ..)",
				   name ? name : "");
	return 0;
}

/* As `ip netns add`: make dir a shared mount, binding it onto itself first if it is not a
 * mount point yet (MS_SHARED on a plain directory is EINVAL). */
static int make_dir_shared(const char *dir, struct lsh_err **err)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return lsh_err_set(err, errno, "mkdir %s", dir);
	for (int tries = 0; tries < 2; tries++) {
		if (mount("", dir, "none", MS_SHARED | MS_REC, NULL) == 0)
			return 0;
		if (errno != EINVAL || tries > 0)
			break;
		if (mount(dir, dir, "none", MS_BIND | MS_REC, NULL) < 0)
			return lsh_err_set(err, errno, "bind %s onto itself", dir);
	}
	if (errno == EPERM)
		return lsh_err_msg(err, EPERM, "make %s a shared mount: %s (named netns need root, "
				   "or a mount namespace of your own)", dir, strerror(EPERM));
	return lsh_err_set(err, errno, "make %s a shared mount", dir);
}

struct pin {
	int fd; /* the placeholder file, opened relative to the netns directory */
	int error;
	const char *call;
};

/* In a thread of its own: unshare(CLONE_NEWNET) moves only this thread into the new
 * namespace, and the bind mount (the mount namespace is shared by all threads) pins it
 * before the thread, its last user, goes away. The caller's threads never move. The target
 * is the placeholder's fd, through /proc/self/fd: the file made a moment ago with O_EXCL,
 * never a path that someone could have turned into a symlink since. */
static void *pin_thread(void *p)
{
	struct pin *a = p;
	char target[64];
	if (unshare(CLONE_NEWNET) < 0) {
		a->error = errno;
		a->call = "unshare(CLONE_NEWNET)";
		return NULL;
	}
	snprintf(target, sizeof target, "/proc/self/fd/%d", a->fd);
	if (mount("/proc/thread-self/ns/net", target, "none", MS_BIND, NULL) < 0) {
		a->error = errno;
		a->call = "bind mount of the new namespace";
	}
	return NULL;
}

int lsh_netns_dir_open(const char *dir, int create, struct lsh_err **err)
{
	dir = dir_or_default(dir);
	if (create) {
		int r = make_dir_shared(dir, err);
		if (r < 0)
			return r;
	}
	/* Opened after the bind onto itself, so the fd is the mount's top. */
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return lsh_err_set(err, errno, "netns directory %s", dir);
	return fd;
}

int lsh_netns_create_at(int dirfd, const char *name, struct lsh_err **err)
{
	int r;
	if ((r = check_name(name, err)) < 0)
		return r;
	struct pin a = { -1, 0, NULL };
	a.fd = openat(dirfd, name, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0);
	if (a.fd < 0)
		return lsh_err_set(err, errno, "create netns %s", name);
	pthread_t t;
	if ((r = pthread_create(&t, NULL, pin_thread, &a)) != 0) {
		a.error = r;
		a.call = "start a thread";
	} else {
		pthread_join(t, NULL);
	}
	close(a.fd);
	if (a.error) {
		unlinkat(dirfd, name, 0);
		return lsh_err_set(err, a.error, "create netns %s: %s", name, a.call);
	}
	return 0;
}

int lsh_netns_delete_at(int dirfd, const char *name, struct lsh_err **err)
{
	int r;
	if ((r = check_name(name, err)) < 0)
		return r;
	/* The pin as it is, relative to the directory and without following a symlink: a
	 * name someone replaced by a symlink is refused, never unmounted or removed through. */
	_cleanup_close_ int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return lsh_err_msg(err, ENOENT, "delete netns %s: no such netns", name);
	if (fd < 0)
		return lsh_err_set(err, errno, "delete netns %s", name);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return lsh_err_set(err, errno, "delete netns %s", name);
	if (!S_ISREG(st.st_mode))
		return lsh_err_msg(err, EINVAL, "delete netns %s: is %s, not a netns pin", name,
				   lsh_file_kind(st.st_mode));
	/* Detached: a process still inside keeps the namespace; the name goes now. */
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL)
		return lsh_err_set(err, errno, "delete netns %s: unmount", name);
	if (unlinkat(dirfd, name, 0) < 0)
		return lsh_err_set(err, errno, "delete netns %s: remove it", name);
	return 0;
}

int lsh_netns_open_at(int dirfd, const char *name, struct lsh_err **err)
{
	int r;
	if ((r = check_name(name, err)) < 0)
		return r;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return lsh_err_msg(err, ENOENT, "open netns %s: no such netns (see `ip netns list`)", name);
		return lsh_err_set(err, errno, "open netns %s", name);
	}
	return fd;
}

int lsh_netns_create(const char *dir, const char *name, struct lsh_err **err)
{
	int r;
	if ((r = check_name(name, err)) < 0)
		return r;
	_cleanup_close_ int dirfd = lsh_netns_dir_open(dir, 1, err);
	if (dirfd < 0)
		return lsh_err_wrap(err, "create netns %s", name);
	return lsh_netns_create_at(dirfd, name, err);
}

/* Opens dir (NULL: /run/netns) for op on name; a missing dir means no such netns. */
static int open_dir_for(const char *dir, const char *op, const char *name, const char *hint,
			struct lsh_err **err)
{
	int r;
	if ((r = check_name(name, err)) < 0)
		return r;
	int dirfd = open(dir_or_default(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0 && errno == ENOENT)
		return lsh_err_msg(err, ENOENT, "%s netns %s: no such netns%s", op, name, hint);
	if (dirfd < 0)
		return lsh_err_set(err, errno, "%s netns %s: %s", op, name, dir_or_default(dir));
	return dirfd;
}

int lsh_netns_delete(const char *dir, const char *name, struct lsh_err **err)
{
	_cleanup_close_ int dirfd = open_dir_for(dir, "delete", name, "", err);
	return dirfd < 0 ? dirfd : lsh_netns_delete_at(dirfd, name, err);
}

int lsh_netns_open(const char *dir, const char *name, struct lsh_err **err)
{
	_cleanup_close_ int dirfd = open_dir_for(dir, "open", name, " (see `ip netns list`)", err);
	return dirfd < 0 ? dirfd : lsh_netns_open_at(dirfd, name, err);
}

void lsh_netns_list_free(char **names)
{
	lsh_statedir_list_free(names);
}

int lsh_netns_list_at(int dirfd, char ***out, struct lsh_err **err)
{
	/* The names of a directory, sorted, without dot files: what a state directory lists. */
	int r = lsh_statedir_list(dirfd, out, err);
	return r < 0 ? lsh_err_wrap(err, "list netns") : r;
}

int lsh_netns_list(const char *dir, char ***out, struct lsh_err **err)
{
	*out = NULL;
	dir = dir_or_default(dir);
	_cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0 && errno == ENOENT) {
		/* A missing dir is an empty list. */
		*out = calloc(1, sizeof **out);
		return *out ? 0 : lsh_err_set(err, ENOMEM, "list netns");
	}
	if (dirfd < 0)
		return lsh_err_set(err, errno, "list netns: open %s", dir);
	int r = lsh_netns_list_at(dirfd, out, err);
	return r < 0 ? lsh_err_wrap(err, "%s", dir) : r;
}
