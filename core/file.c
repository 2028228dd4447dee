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
