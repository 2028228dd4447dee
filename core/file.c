/* Reading a whole file that someone else may have chosen: a profile, a file a profile names
 * (extends, seccomp rules), a topology, a state file. Such a name can point at a FIFO (open
 * blocks for a writer), /dev/zero (read never ends) or a 50 GiB log; so the file is opened
 * without blocking, refused unless fstat says it is a regular file, and read up to a cap.
 * Nothing is read from anything else: not a byte of a device, a FIFO or a directory. */
#include "internal.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *lsh_file_kind(mode_t mode)
{
	return S_ISREG(mode)    ? "a regular file"
	       : S_ISDIR(mode)  ? "a directory"
	       : S_ISLNK(mode)  ? "a symlink"
	       : S_ISCHR(mode)  ? "a character device"
	       : S_ISBLK(mode)  ? "a block device"
	       : S_ISFIFO(mode) ? "a FIFO"
	       : S_ISSOCK(mode) ? "a socket"
				: "of an unknown kind";
}

/* "1 MiB", "64 KiB" or "1000 bytes", for the message about a file over its cap. */
static void size_text(size_t n, char *buf, size_t size)
{
	if (n >= (1u << 20) && n % (1u << 20) == 0)
		snprintf(buf, size, "%zu MiB", n >> 20);
	else if (n >= 1024 && n % 1024 == 0)
		snprintf(buf, size, "%zu KiB", n >> 10);
	else
		snprintf(buf, size, "%zu bytes", n);
}

int lsh_file_read(int dirfd, const char *path, unsigned flags, size_t max, char **out, size_t *len,
		  struct lsh_err **err)
{
	return lsh_file_read_real(dirfd, path, flags, max, out, len, NULL, err);
}

/* Where the open fd really is: what /proc/self/fd/N links to, every symlink on the way
 * resolved (NULL when /proc cannot say). A caller that decides from the name whether it
 * may quote a file's text would be fooled by "x.lua" -> /etc/shadow; this is what was
 * opened. */
static char *real_path(int fd)
{
	char link[64], buf[4096];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, buf, sizeof buf - 1);
	if (n <= 0 || (size_t)n >= sizeof buf - 1 || buf[0] != '/')
		return NULL;
	buf[n] = '\0';
	return strdup(buf);
}

int lsh_file_read_real(int dirfd, const char *path, unsigned flags, size_t max, char **out, size_t *len,
		       char **real, struct lsh_err **err)
{
	*out = NULL;
	if (real)
		*real = NULL;
	if (len)
		*len = 0;
	/* O_NONBLOCK: opening a FIFO for reading returns at once instead of waiting for a
	 * writer; O_NOCTTY: a terminal never becomes our controlling one. Neither changes
	 * anything for the regular file we go on to read. */
	int oflags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
	if (flags & LSH_FILE_NOFOLLOW)
		oflags |= O_NOFOLLOW;
	_cleanup_close_ int fd = openat(dirfd, path, oflags);
	if (fd < 0) {
		if (errno == ELOOP && (flags & LSH_FILE_NOFOLLOW))
			return lsh_err_msg(err, ELOOP, "%s: is a symlink (not followed here)", path);
		return lsh_err_set(err, errno, "%s", path);
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		return lsh_err_set(err, errno, "%s", path);
	if (S_ISDIR(st.st_mode))
		return lsh_err_set(err, EISDIR, "%s", path);
	if (!S_ISREG(st.st_mode))
		return lsh_err_msg(err, EINVAL, "%s: not a regular file (%s)", path, lsh_file_kind(st.st_mode));
	if ((flags & LSH_FILE_OWNED) && st.st_uid != geteuid())
		return lsh_err_msg(err, EPERM, "%s: owned by uid %u, not by this user (%u)", path,
				   (unsigned)st.st_uid, (unsigned)geteuid());
	char cap[32];
	size_text(max, cap, sizeof cap);
	if ((uintmax_t)st.st_size > max)
		return lsh_err_msg(err, EFBIG, "%s: larger than %s", path, cap);
	/* st_size is only a hint (a /proc file says 0, a file may grow while we read): read
	 * until end of file, one byte past the cap at most, to tell "exactly max" from more. */
	size_t size = (size_t)st.st_size + 1, used = 0;
	if (size < 4096)
		size = 4096;
	if (size > max + 1)
		size = max + 1;
	char *buf = malloc(size + 1);
	if (buf == NULL)
		return lsh_err_set(err, ENOMEM, "%s", path);
	for (;;) {
		if (used == size) {
			if (size == max + 1)
				break;
			size_t nsize = size * 2 > max + 1 ? max + 1 : size * 2;
			char *nb = realloc(buf, nsize + 1);
			if (nb == NULL) {
				free(buf);
				return lsh_err_set(err, ENOMEM, "%s", path);
			}
			buf = nb;
			size = nsize;
		}
		ssize_t n = read(fd, buf + used, size - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(buf);
			return lsh_err_set(err, e, "read %s", path);
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	if (used > max) {
		free(buf);
		return lsh_err_msg(err, EFBIG, "%s: larger than %s", path, cap);
	}
	buf[used] = '\0';
	if (real)
		*real = real_path(fd);
	*out = buf;
	if (len)
		*len = used;
	return 0;
}

/* ---- host paths another user may have prepared ------------------------------------- */

enum { MAX_LINKS = 40, MAX_DEPTH_PATH = 256 };

/* Whether a symlink found in directory dir (stat pst) may be followed by a caller whose
 * trusted owners are uid and root: the rule of fs.protected_symlinks for sticky
 * directories, extended to every directory. Returns 0, or why not in buf. */
static int link_trusted(const struct stat *pst, const struct stat *lst, uid_t uid, char *buf, size_t size)
{
	if (pst->st_uid != uid && pst->st_uid != 0) {
		snprintf(buf, size, "in a directory uid %u owns", (unsigned)pst->st_uid);
		return -1;
	}
	if ((pst->st_mode & (S_IWGRP | S_IWOTH)) &&
	    !((pst->st_mode & S_ISVTX) && (lst->st_uid == uid || lst->st_uid == 0))) {
		snprintf(buf, size, "in a directory its %s can write (mode %04o)%s",
			 (pst->st_mode & S_IWOTH) ? "others" : "group", (unsigned)(pst->st_mode & 07777),
			 (pst->st_mode & S_ISVTX) ? ", and owned by another user" : "");
		return -1;
	}
	return 0;
}

int lsh_path_resolve(const char *path, uid_t uid, char **out, struct lsh_err **err)
{
	*out = NULL;
	if (path == NULL || path[0] != '/')
		return lsh_err_msg(err, EINVAL, "%s: not an absolute path", path ? path : "");
	/* The walk: fds[0..depth] are the directories passed, res their path; todo the path
	 * still to walk (a symlink's target goes in front of what was left). */
	int fds[MAX_DEPTH_PATH + 1], depth = 0, links = 0, rc = 0;
	char *todo = strdup(path), *res = calloc(1, 1);
	size_t res_len = 0;
	if (todo == NULL || res == NULL) {
		free(todo);
		free(res);
		return lsh_err_set(err, ENOMEM, "%s", path);
	}
	fds[0] = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fds[0] < 0) {
		rc = lsh_err_set(err, errno, "/");
		goto out;
	}
	size_t pos = 0;
	while (todo[pos] != '\0') {
		while (todo[pos] == '/')
			pos++;
		size_t end = pos;
		while (todo[end] != '\0' && todo[end] != '/')
			end++;
		if (end == pos)
			break;
		char name[256];
		if (end - pos >= sizeof name) {
			rc = lsh_err_msg(err, ENAMETOOLONG, "%s: a component is too long", path);
			goto out;
		}
		memcpy(name, todo + pos, end - pos);
		name[end - pos] = '\0';
		pos = end;
		if (strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			if (depth > 0) {
				close(fds[depth--]);
				while (res_len > 0 && res[res_len - 1] != '/')
					res_len--;
				if (res_len > 0)
					res_len--;
				res[res_len] = '\0';
			}
			continue;
		}
		int fd = openat(fds[depth], name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			int e = errno;
			rc = lsh_err_msg(err, e, "%s: %s/%s: %s", path, res, name, strerror(e));
			goto out;
		}
		struct stat st, pst;
		if (fstat(fd, &st) < 0 || fstat(fds[depth], &pst) < 0) {
			rc = lsh_err_set(err, errno, "%s", path);
			close(fd);
			goto out;
		}
		if (S_ISLNK(st.st_mode)) {
			char why[128], target[4096];
			if (link_trusted(&pst, &st, uid, why, sizeof why) < 0) {
				char at[4096 + 256];
				snprintf(at, sizeof at, "%s/%s", res, name);
				rc = lsh_err_msg(err, EPERM, "%s%s%s is a symlink %s: not followed (whoever can "
						 "change that directory chooses where it leads)", path,
						 strcmp(at, path) ? ": " : "", strcmp(at, path) ? at : "", why);
				close(fd);
				goto out;
			}
			ssize_t n = readlinkat(fd, "", target, sizeof target - 1);
			close(fd);
			if (n < 0 || ++links > MAX_LINKS) {
				rc = lsh_err_set(err, n < 0 ? errno : ELOOP, "%s: %s/%s", path, res, name);
				goto out;
			}
			target[n] = '\0';
			/* todo becomes target + "/" + what was left. */
			size_t left = strlen(todo + pos);
			char *next = malloc((size_t)n + 1 + left + 1);
			if (next == NULL) {
				rc = lsh_err_set(err, ENOMEM, "%s", path);
				goto out;
			}
			memcpy(next, target, (size_t)n);
			next[n] = '/';
			memcpy(next + n + 1, todo + pos, left + 1);
			free(todo);
			todo = next;
			pos = 0;
			if (target[0] == '/') {
				while (depth > 0)
					close(fds[depth--]);
				res_len = 0;
				res[0] = '\0';
			}
			continue;
		}
		if (depth == MAX_DEPTH_PATH) {
			close(fd);
			rc = lsh_err_msg(err, ENAMETOOLONG, "%s: too deep", path);
			goto out;
		}
		char *nres = realloc(res, res_len + 1 + strlen(name) + 1);
		if (nres == NULL) {
			close(fd);
			rc = lsh_err_set(err, ENOMEM, "%s", path);
			goto out;
		}
		res = nres;
		res[res_len++] = '/';
		strcpy(res + res_len, name);
		res_len += strlen(name);
		fds[++depth] = fd;
	}
	if (res_len == 0) {
		free(res);
		res = strdup("/");
		if (res == NULL) {
			rc = lsh_err_set(err, ENOMEM, "%s", path);
			goto out;
		}
	}
	*out = res;
	res = NULL;
out:
	while (depth >= 0) {
		if (fds[depth] >= 0)
			close(fds[depth]);
		depth--;
	}
	free(todo);
	free(res);
	return rc;
}
