/* Private state directories: where lunshare keeps anything between two commands (topology
 * state and journals, holder files, netns pins, and later named sandboxes, a plan cache,
 * sockets). Such a directory often sits in a place other users can write (/tmp, or a
 * runtime directory set up by hand), so another user may have made it first, made it
 * world-writable, or put a symlink in its place, and then choose what lunshare reads,
 * overwrites or removes. So the walk from the trusted root opens every component with
 * O_NOFOLLOW, creates the missing ones 0700, and checks each with fstat (a directory,
 * owned by the caller, no group or other write) before going on; everything after works
 * relative to the verified fd, and nothing is ever done by path again. */
#include "internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>

enum { MAX_DEPTH = 16 };

/* A file or directory name inside a state directory: one component. */
static int check_name(const char *name, struct lsh_err **err)
{
	if (name == NULL || name[0] == '\0' || strchr(name, '/') || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0 || strlen(name) > 200)
		return lsh_err_msg(err, EINVAL, "bad state file name \"%s\" (one component, no '/')",
				   name ? name : "");
	return 0;
}

/* Why a directory is refused, or 0 when it may be used. */
static int verify(int fd, uid_t owner, const char *what, const char *shown, struct lsh_err **err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return lsh_err_set(err, errno, "%s %s", what, shown);
	if (!S_ISDIR(st.st_mode))
		return lsh_err_msg(err, ENOTDIR, "%s %s: is %s, not a directory", what, shown,
				   lsh_file_kind(st.st_mode));
	if (st.st_uid != owner && owner == geteuid())
		return lsh_err_msg(err, EPERM, "%s %s: owned by uid %u, not by this user (uid %u); "
				   "another user may have made it: remove it, or set XDG_RUNTIME_DIR to a "
				   "directory of your own", what, shown, (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_uid != owner)
		return lsh_err_msg(err, EPERM, "%s %s: owned by uid %u, not by uid %u", what, shown,
				   (unsigned)st.st_uid, (unsigned)owner);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return lsh_err_msg(err, EPERM, "%s %s: writable by %s (mode %04o); it must be private "
				   "to its owner", what, shown, (st.st_mode & S_IWOTH) ? "others" : "its group",
				   (unsigned)(st.st_mode & 07777));
	return 0;
}

static int private_dir_at(int dirfd, const char *name, unsigned flags, uid_t owner, const char *what,
			  const char *shown, struct lsh_err **err)
{
	const int oflags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	int made = 0, fd = -1;
	if (!(flags & LSH_STATEDIR_EXCL))
		fd = openat(dirfd, name, oflags);
	if (fd < 0 && (errno == ENOENT || (flags & LSH_STATEDIR_EXCL)) && (flags & LSH_STATEDIR_CREATE)) {
		/* EEXIST: another run made it a moment ago; it is verified like any other,
		 * unless this one must be new. */
		if (mkdirat(dirfd, name, 0700) == 0)
			made = 1;
		else if (errno != EEXIST || (flags & LSH_STATEDIR_EXCL))
			return lsh_err_set(err, errno, "create %s %s", what, shown);
		/* Opened by name right after mkdir, but with O_NOFOLLOW and then checked: if
		 * someone swapped it in between, what we hold is refused, never used. */
		fd = openat(dirfd, name, oflags);
	}
	if (fd < 0) {
		int e = errno;
		struct stat st;
		if (e == ENOENT)
			return lsh_err_msg(err, ENOENT, "%s %s: no such directory", what, shown);
		/* O_NOFOLLOW|O_DIRECTORY refuses a symlink and anything not a directory (ELOOP
		 * or ENOTDIR): say which it was. */
		if ((e == ELOOP || e == ENOTDIR) && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return lsh_err_msg(err, S_ISLNK(st.st_mode) ? ELOOP : ENOTDIR, "%s %s: is %s, not a "
					   "directory%s", what, shown, lsh_file_kind(st.st_mode),
					   S_ISLNK(st.st_mode) ? " (symlinks are never followed here)" : "");
		return lsh_err_set(err, e, "%s %s", what, shown);
	}
	/* mkdir obeys the umask, which can only take bits away; the mode is made exact. */
	mode_t mode = (flags & LSH_PRIVDIR_READABLE) ? 0755 : 0700;
	if (made && fchmod(fd, mode) < 0) {
		int e = errno;
		close(fd);
		return lsh_err_set(err, e, "%s %s: chmod %04o", what, shown, (unsigned)mode);
	}
	int r = verify(fd, owner, what, shown, err);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int lsh_private_dir_at(int dirfd, const char *name, unsigned flags, const char *what, const char *shown,
		       struct lsh_err **err)
{
	return private_dir_at(dirfd, name, flags, geteuid(), what, shown, err);
}

/* Splits path into at most MAX_DEPTH components in buf; each must be a plain name. */
static int split(const char *path, char *buf, size_t size, char **comp, struct lsh_err **err)
{
	if (path == NULL || path[0] == '/' || strlen(path) >= size)
		return lsh_err_msg(err, EINVAL, "state directory: bad relative path \"%s\"", path ? path : "");
	strcpy(buf, path);
	int n = 0;
	char *save = NULL;
	for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (n == MAX_DEPTH || strcmp(c, ".") == 0 || strcmp(c, "..") == 0)
			return lsh_err_msg(err, EINVAL, "state directory: bad relative path \"%s\"", path);
		comp[n++] = c;
	}
	if (n == 0)
		return lsh_err_msg(err, EINVAL, "state directory: empty path");
	return n;
}

static int open_root(const char *root, struct lsh_err **err)
{
	/* The trusted root is the caller's choice ($XDG_RUNTIME_DIR, /run, /tmp): it may be
	 * reached through a symlink, and it may be shared (sticky /tmp); what lunshare makes
	 * inside it is what gets verified. */
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return lsh_err_set(err, errno, "state directory root %s", root);
	return fd;
}

/* Walks comp[0..n) beneath root (LSH_STATEDIR_EXCL applies to the last one); stores every
 * component's fd in fds (fds[0] the root). */
static int walk(const char *root, char **comp, int n, unsigned flags, uid_t owner, int *fds, struct lsh_err **err)
{
	char shown[4096];
	size_t len = (size_t)snprintf(shown, sizeof shown, "%s", root);
	for (int i = 0; i <= n; i++)
		fds[i] = -1;
	if ((fds[0] = open_root(root, err)) < 0)
		return fds[0];
	for (int i = 0; i < n; i++) {
		if (len < sizeof shown)
			len += (size_t)snprintf(shown + len, sizeof shown - len, "%s%s",
						len && shown[len - 1] == '/' ? "" : "/", comp[i]);
		unsigned f = (flags & LSH_STATEDIR_CREATE) | (i == n - 1 ? (flags & LSH_STATEDIR_EXCL) : 0) |
			     ((flags & LSH_STATEDIR_READABLE) ? LSH_PRIVDIR_READABLE : 0);
		int fd = private_dir_at(fds[i], comp[i], f, owner, "state directory", shown, err);
		if (fd < 0)
			return fd;
		fds[i + 1] = fd;
	}
	return 0;
}

static void close_all(int *fds, int n)
{
	for (int i = 0; i <= n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

int lsh_statedir_open(const char *root, const char *path, unsigned flags, struct lsh_err **err)
{
	return lsh_statedir_open_owner(root, path, flags, geteuid(), err);
}

int lsh_statedir_open_owner(const char *root, const char *path, unsigned flags, uid_t owner, struct lsh_err **err)
{
	char buf[4096], *comp[MAX_DEPTH];
	int fds[MAX_DEPTH + 1];
	int n = split(path, buf, sizeof buf, comp, err);
	if (n < 0)
		return n;
	/* Only the caller makes directories, and only its own. */
	if (owner != geteuid() && (flags & LSH_STATEDIR_CREATE))
		return lsh_err_msg(err, EINVAL, "state directory: cannot create another user's");
	int r = walk(root, comp, n, flags, owner, fds, err);
	if (r < 0) {
		close_all(fds, n);
		return r;
	}
	int fd = take_fd(&fds[n]);
	close_all(fds, n);
	return fd;
}

/* State a run holds and nobody finds again by name (a helper's files): the predictable
 * path when it is usable; else, beneath /tmp only (shared by every user, so another one may
 * have made the caller's /tmp/lunshare-UID first, or left it open to others), a fresh
 * "FIRST-RANDOM" of the caller's own in place of the refused first component, made new
 * (O_EXCL: never a name someone else prepared), 0700 and verified like any other. The
 * refused directory is never written. Decided here, at run time, so that planning (check,
 * explain) makes no directory at all. */
int lsh_statedir_open_run(const char *root, const char *path, char *used, size_t size, struct lsh_err **err)
{
	struct lsh_err *first_err = NULL;
	int fd = lsh_statedir_open(root, path, LSH_STATEDIR_CREATE, &first_err);
	if (fd >= 0) {
		if ((size_t)snprintf(used, size, "%s", path) >= size) {
			close(fd);
			lsh_err_free(first_err);
			return lsh_err_msg(err, ENAMETOOLONG, "state directory %s/%s: path too long", root, path);
		}
		return fd;
	}
	size_t len = strcspn(path, "/");
	char first[256];
	if (strcmp(root, "/tmp") != 0 || len == 0 || len >= sizeof first - 20) {
		*err = first_err;
		return fd;
	}
	memcpy(first, path, len);
	first[len] = '\0';
	/* Only a refusal of the first component (someone else's, or open to others) moves the
	 * state: a broken directory of the caller's own further down is the caller's to fix. */
	struct lsh_err *e = NULL;
	int own = lsh_statedir_open(root, first, 0, &e);
	lsh_err_free(e);
	if (own >= 0 || own == -ENOENT) {
		if (own >= 0)
			close(own);
		*err = first_err;
		return fd;
	}
	int rootfd = open_root(root, err);
	if (rootfd < 0) {
		lsh_err_free(first_err);
		return rootfd;
	}
	for (int tries = 0; tries < 8; tries++) {
		uint64_t rnd;
		char name[300];
		if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
			break;
		snprintf(name, sizeof name, "%s-%016llx", first, (unsigned long long)rnd);
		e = NULL;
		int d = lsh_private_dir_at(rootfd, name, LSH_STATEDIR_CREATE | LSH_STATEDIR_EXCL, "state directory",
					   name, &e);
		lsh_err_free(e);
		if (d == -EEXIST)
			continue;
		if (d < 0)
			break;
		close(d);
		if ((size_t)snprintf(used, size, "%s%s", name, path + len) >= size)
			break;
		close(rootfd);
		lsh_err_free(first_err);
		return lsh_statedir_open(root, used, LSH_STATEDIR_CREATE, err);
	}
	close(rootfd);
	*err = first_err;
	return fd;
}

int lsh_statedir_prune(const char *root, const char *path, struct lsh_err **err)
{
	char buf[4096], *comp[MAX_DEPTH];
	int fds[MAX_DEPTH + 1];
	int n = split(path, buf, sizeof buf, comp, err);
	if (n < 0)
		return n;
	int r = walk(root, comp, n, 0, geteuid(), fds, err);
	if (r == -ENOENT) {
		/* Gone already, up to some level: prune what is left above it. */
		lsh_err_free(*err);
		*err = NULL;
		r = 0;
		while (n > 0 && fds[n] < 0)
			n--;
	}
	int removed = 0;
	/* Deepest first, each by name in its verified parent: a directory that is not empty
	 * (or is a mount point) stays, and so does everything above it. */
	for (int i = n; r == 0 && i > 0; i--) {
		close(fds[i]);
		fds[i] = -1;
		if (unlinkat(fds[i - 1], comp[i - 1], AT_REMOVEDIR) < 0)
			break;
		removed++;
	}
	close_all(fds, n);
	return r < 0 ? r : removed;
}

int lsh_statedir_read(int dirfd, const char *name, size_t max, char **out, size_t *len,
		      struct lsh_err **err)
{
	*out = NULL;
	int r = check_name(name, err);
	if (r < 0)
		return r;
	return lsh_file_read(dirfd, name, LSH_FILE_NOFOLLOW | LSH_FILE_OWNED, max, out, len, err);
}

int lsh_statedir_read_any(int dirfd, const char *name, size_t max, char **out, size_t *len,
			  struct lsh_err **err)
{
	*out = NULL;
	int r = check_name(name, err);
	if (r < 0)
		return r;
	return lsh_file_read(dirfd, name, LSH_FILE_NOFOLLOW, max, out, len, err);
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Opens name for writing, relative to dirfd and never through a symlink; an existing file
 * must be a regular file of ours (O_NONBLOCK: a FIFO put there fails instead of blocking). */
static int open_for_write(int dirfd, const char *name, int oflags, mode_t mode, struct lsh_err **err)
{
	int fd = openat(dirfd, name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | oflags, mode);
	if (fd < 0) {
		if (errno == ELOOP)
			return lsh_err_msg(err, ELOOP, "%s: is a symlink (not followed here)", name);
		return lsh_err_set(err, errno, "%s", name);
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return lsh_err_set(err, e, "%s", name);
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		close(fd);
		return lsh_err_msg(err, EPERM, "%s: is %s owned by uid %u, not a regular file of this user",
				   name, lsh_file_kind(st.st_mode), (unsigned)st.st_uid);
	}
	return fd;
}

int lsh_statedir_write(int dirfd, const char *name, const char *data, size_t len, enum lsh_state_how how,
		       struct lsh_err **err)
{
	int r = check_name(name, err);
	if (r < 0)
		return r;
	/* The umask may take bits away from a readable file: fchmod makes the mode exact. */
	mode_t mode = (how & LSH_STATE_EXECUTABLE) ? 0755 : (how & LSH_STATE_READABLE) ? 0644 : 0600;
	how &= ~(LSH_STATE_READABLE | LSH_STATE_EXECUTABLE);
	if (how == LSH_STATE_CREATE || how == LSH_STATE_APPEND) {
		_cleanup_close_ int fd = open_for_write(dirfd, name, O_CREAT | (how == LSH_STATE_CREATE ? O_EXCL : O_APPEND),
							mode, err);
		if (fd < 0)
			return fd;
		if ((r = write_all(fd, data, len)) < 0)
			return lsh_err_set(err, -r, "write %s", name);
		if (mode != 0600 && how == LSH_STATE_CREATE && fchmod(fd, mode) < 0)
			return lsh_err_set(err, errno, "write %s: chmod", name);
		return 0;
	}
	if (how != LSH_STATE_REPLACE && how != LSH_STATE_UPDATE)
		return lsh_err_msg(err, EINVAL, "write %s: unknown way of writing", name);
	/* Written aside under a new name, then renamed over: a reader sees the old file or the
	 * new one, never half of one; rename replaces whatever the name was (even a symlink)
	 * without following it. */
	char tmp[256];
	int fd = -1;
	for (unsigned i = 0; fd < 0 && i < 100; i++) {
		snprintf(tmp, sizeof tmp, ".%s.%d.%u", name, (int)getpid(), i);
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd < 0 && errno != EEXIST)
			return lsh_err_set(err, errno, "write %s: create a temporary file", name);
	}
	if (fd < 0)
		return lsh_err_set(err, EEXIST, "write %s: create a temporary file", name);
	r = write_all(fd, data, len);
	if (r == 0 && mode != 0600 && fchmod(fd, mode) < 0)
		r = -errno;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	close(fd);
	/* An update swaps the two names: should the file's owner have removed it meanwhile
	 * (a sandbox's record when the run ends), the exchange fails and nothing brings it
	 * back. The old text, now under the temporary name, goes. */
	if (r == 0 && how == LSH_STATE_UPDATE && renameat2(dirfd, tmp, dirfd, name, RENAME_EXCHANGE) < 0)
		r = -errno;
	else if (r == 0 && how == LSH_STATE_REPLACE && renameat(dirfd, tmp, dirfd, name) < 0)
		r = -errno;
	unlinkat(dirfd, tmp, 0);
	if (r < 0)
		return lsh_err_set(err, -r, "write %s", name);
	return 0;
}

int lsh_statedir_remove(int dirfd, const char *name, struct lsh_err **err)
{
	int r = check_name(name, err);
	if (r < 0)
		return r;
	/* unlinkat removes the name itself, whatever it is; it never follows a symlink. */
	if (unlinkat(dirfd, name, 0) < 0) {
		if (errno == ENOENT)
			return 0;
		return lsh_err_set(err, errno, "remove %s", name);
	}
	return 1;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void lsh_statedir_list_free(char **names)
{
	for (size_t i = 0; names && names[i]; i++)
		free(names[i]);
	free(names);
}

int lsh_statedir_list(int dirfd, char ***out, struct lsh_err **err)
{
	*out = NULL;
	int dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return lsh_err_set(err, errno, "list the directory");
	DIR *d = fdopendir(dfd);
	if (d == NULL) {
		int e = errno;
		close(dfd);
		return lsh_err_set(err, e, "list the directory");
	}
	size_t n = 0, cap = 8;
	char **v = calloc(cap + 1, sizeof *v);
	int r = v ? 0 : -ENOMEM;
	struct dirent *e;
	/* Names starting with '.' are files being written aside; they are not state yet. */
	while (r == 0 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **nv = realloc(v, (cap * 2 + 1) * sizeof *v);
			if (nv == NULL) {
				r = -ENOMEM;
				break;
			}
			v = nv;
			cap *= 2;
		}
		if ((v[n] = strdup(e->d_name)) == NULL) {
			r = -ENOMEM;
			break;
		}
		v[++n] = NULL;
	}
	closedir(d);
	if (r < 0) {
		lsh_statedir_list_free(v);
		return lsh_err_set(err, ENOMEM, "list the directory");
	}
	qsort(v, n, sizeof *v, by_name);
	*out = v;
	return (int)n;
}

int lsh_statedir_lock(int dirfd, struct lsh_err **err)
{
	/* flock on the verified directory's own fd: no file to create or follow, and the
	 * lock goes with the last fd to it (a command that dies releases it). */
	for (;;) {
		if (flock(dirfd, LOCK_EX | LOCK_NB) == 0)
			return 1;
		if (errno == EWOULDBLOCK)
			return 0;
		if (errno != EINTR)
			return lsh_err_set(err, errno, "lock the state directory");
	}
}
