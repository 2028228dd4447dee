/* Reading a whole file that someone else may have chosen: a profile, a file a profile names
 * (extends, seccomp rules), a topology, a state file. Such a name can point at a FIFO (open
 * blocks for a writer), /dev/zero (read never ends), /dev/watchdog (opening it arms the
 * watchdog: an open is an action), /proc/kmsg (a regular file whose read takes the kernel's
 * messages away from syslog) or a 50 GiB log. So the name is first opened with O_PATH, which
 * runs no driver's open and reads nothing; fstat must say a regular file and fstatfs a
 * local filesystem (not the kernel's, as proc or sysfs, nor one whose reads another process
 * answers, as FUSE or NFS: fs_refusal); only then is
 * that very inode opened for reading, through /proc/self/fd (the O_PATH fd's magic link: no
 * second walk of the name, which could meet something else), without blocking, checked to be
 * the same inode, and read up to a cap. lunshare's own reads of kernel files (/proc/PID/stat)
 * say LSH_FILE_KERNEL and skip the filesystem check. */
#include "internal.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>

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

/* Which filesystems a name someone else chose is read from: an allow list, since a deny
 * list of the kernel's own (proc, sysfs, …, where a read or a write is an action on the
 * kernel and no profile lives) misses those whose reads another process answers: a FUSE
 * daemon, or a server of NFS, CIFS or 9p, can hold a read forever, and check must not run
 * unbounded. Local disk filesystems, tmpfs, ramfs and overlay are read; the rest is named
 * in the refusal. The numbers are linux/magic.h's, spelt out (older headers lack some). */
static const unsigned long LOCAL_FS[] = {
	0xef53,	    /* ext2, ext3, ext4 */
	0x58465342, /* xfs */
	0x9123683e, /* btrfs */
	0x01021994, /* tmpfs */
	0x858458f6, /* ramfs */
	0x794c7630, /* overlay */
	0xf2f52010, /* f2fs */
	0xe0f5e1e2, /* erofs */
	0x73717368, /* squashfs */
	0x2fc12fc1, /* zfs */
	0xca451a4e, /* bcachefs */
	0x3153464a, /* jfs */
	0x52654973, /* reiserfs */
	0x4d44,	    /* vfat, msdos */
	0x2011bab0, /* exfat */
	0x7366746e, /* ntfs3 */
	0x9660,	    /* iso9660 */
	0x15013346, /* udf */
};

static const struct {
	unsigned long magic;
	const char *name;
} KERNEL_FS[] = {
	{ 0x9fa0, "proc" },		{ 0x62656572, "sysfs" },      { 0x64626720, "debugfs" },
	{ 0x74726163, "tracefs" },	{ 0x73636673, "securityfs" }, { 0x27e0eb, "cgroup" },
	{ 0x63677270, "cgroup2" },	{ 0xcafe4a11, "bpf" },	      { 0x62656570, "configfs" },
	{ 0xde5e81e4, "efivarfs" },	{ 0x1cd1, "devpts" },	      { 0x6165676c, "pstore" },
	{ 0xf97cff8c, "selinuxfs" },	{ 0x43415d53, "smackfs" },    { 0x65735543, "fusectl" },
	{ 0x42494e4d, "binfmt_misc" }, { 0x6e736673, "nsfs" },	      { 0x7655821, "resctrl" },
}, REMOTE_FS[] = {
	{ 0x65735546, "fuse" },	      { 0x6969, "nfs" },	       { 0xff534d42, "cifs" },
	{ 0xfe534d42, "smb2" },	      { 0x01021997, "9p" },	       { 0x00c36400, "ceph" },
	{ 0x47504653, "gpfs" },	      { 0x5346414f, "afs" },	       { 0x0bd00bd0, "lustre" },
};

/* Why a file on sf's filesystem is not read (one phrase), or NULL when it is read. */
static const char *fs_refusal(const struct statfs *sf, char *buf, size_t size)
{
	unsigned long t = (unsigned long)sf->f_type;
	for (size_t i = 0; i < sizeof LOCAL_FS / sizeof LOCAL_FS[0]; i++)
		if (t == LOCAL_FS[i])
			return NULL;
	for (size_t i = 0; i < sizeof KERNEL_FS / sizeof KERNEL_FS[0]; i++)
		if (t == KERNEL_FS[i].magic) {
			snprintf(buf, size, "on %s, a kernel filesystem: not read (no profile lives there)", KERNEL_FS[i].name);
			return buf;
		}
	for (size_t i = 0; i < sizeof REMOTE_FS / sizeof REMOTE_FS[0]; i++)
		if (t == REMOTE_FS[i].magic) {
			snprintf(buf, size, "on %s, whose reads another process or a server answers (it could hold one "
				 "forever): not read; copy it to a local filesystem", REMOTE_FS[i].name);
			return buf;
		}
	snprintf(buf, size, "on a filesystem of type 0x%lx, not one lunshare reads such a file from (local disk "
		 "filesystems, tmpfs, ramfs, overlay): not read; copy it to a local filesystem", t);
	return buf;
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
	struct stat st;
	_cleanup_close_ int fd = -1;
	if (flags & LSH_FILE_KERNEL) {
		/* A kernel file lunshare itself names (/proc/PID/stat): opened for reading at
		 * once, without blocking; still nothing but a regular file is read. */
		fd = openat(dirfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC |
					    ((flags & LSH_FILE_NOFOLLOW) ? O_NOFOLLOW : 0));
		if (fd < 0)
			return lsh_err_set(err, errno, "%s", path);
		if (fstat(fd, &st) < 0)
			return lsh_err_set(err, errno, "%s", path);
		if (S_ISDIR(st.st_mode))
			return lsh_err_set(err, EISDIR, "%s", path);
		if (!S_ISREG(st.st_mode))
			return lsh_err_msg(err, EINVAL, "%s: not a regular file (%s)", path, lsh_file_kind(st.st_mode));
	} else {
		/* O_PATH: the name is resolved and nothing else happens (no driver's open, no
		 * FIFO wait, no read). With LSH_FILE_NOFOLLOW a symlink at the end is not an error
		 * of open's here: the fd is the link itself, which fstat tells. */
		_cleanup_close_ int pfd =
			openat(dirfd, path, O_PATH | O_CLOEXEC | ((flags & LSH_FILE_NOFOLLOW) ? O_NOFOLLOW : 0));
		if (pfd < 0)
			return lsh_err_set(err, errno, "%s", path);
		if (fstat(pfd, &st) < 0)
			return lsh_err_set(err, errno, "%s", path);
		if (S_ISLNK(st.st_mode))
			return lsh_err_msg(err, ELOOP, "%s: is a symlink (not followed here)", path);
		if (S_ISDIR(st.st_mode))
			return lsh_err_set(err, EISDIR, "%s", path);
		if (!S_ISREG(st.st_mode))
			return lsh_err_msg(err, EINVAL, "%s: not a regular file (%s)", path, lsh_file_kind(st.st_mode));
		struct statfs sf;
		if (fstatfs(pfd, &sf) < 0)
			return lsh_err_set(err, errno, "%s", path);
		char why[256];
		if (fs_refusal(&sf, why, sizeof why))
			return lsh_err_msg(err, EINVAL, "%s: %s", path, why);
		/* The same inode, opened for reading through the O_PATH fd's magic link rather
		 * than by name again (a name walked twice can meet a device the second time). */
		char link[64];
		snprintf(link, sizeof link, "/proc/self/fd/%d", pfd);
		fd = open(link, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (fd < 0) {
			int e = errno;
			if (e == ENOENT)
				return lsh_err_msg(err, ENOENT, "%s: cannot open it for reading without /proc "
						   "(/proc/self/fd/%d is missing)", path, pfd);
			return lsh_err_set(err, e, "%s", path);
		}
		struct stat again;
		if (fstat(fd, &again) < 0)
			return lsh_err_set(err, errno, "%s", path);
		if (again.st_dev != st.st_dev || again.st_ino != st.st_ino || !S_ISREG(again.st_mode))
			return lsh_err_msg(err, ESTALE, "%s: changed while it was opened", path);
		st = again;
	}
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

/* The path with its slashes collapsed when it names something reachable through no
 * symlink at all (one openat2 refusing every link); NULL otherwise, and the walk decides,
 * with its own words for what it meets. With no link on the way, where the path leads is
 * the path itself: the walk would open the same directories, one system call or three per
 * component (issue #14: a plan cache hit replays several paths, each a few microseconds a
 * system call on a paravirtualized machine). */
static char *plain_path(const char *path)
{
	/* Deeper than the walk goes: the walk refuses it, and so must this. */
	int depth = 0;
	for (const char *c = path; *c;) {
		while (*c == '/')
			c++;
		size_t n = strcspn(c, "/");
		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return NULL;
		if (n > 0 && ++depth > MAX_DEPTH_PATH)
			return NULL;
		c += n;
	}
	int fd = lsh_openat2(AT_FDCWD, path, O_PATH, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	if (fd < 0)
		return NULL;
	close(fd);
	char *res = malloc(strlen(path) + 2), *o = res;
	if (res == NULL)
		return NULL;
	for (const char *c = path; *c;) {
		while (*c == '/')
			c++;
		size_t n = strcspn(c, "/");
		if (n == 0)
			break;
		*o++ = '/';
		memcpy(o, c, n);
		o += n;
		c += n;
	}
	if (o == res)
		*o++ = '/';
	*o = '\0';
	return res;
}

int lsh_path_resolve(const char *path, uid_t uid, char **out, struct lsh_err **err)
{
	*out = NULL;
	if (path == NULL || path[0] != '/')
		return lsh_err_msg(err, EINVAL, "%s: not an absolute path", path ? path : "");
	if ((*out = plain_path(path)) != NULL)
		return 0;
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
		if (fstat(fd, &st) < 0) {
			rc = lsh_err_set(err, errno, "%s", path);
			close(fd);
			goto out;
		}
		if (S_ISLNK(st.st_mode)) {
			char why[128], target[4096];
			/* Whose directory holds the link: asked only of a link, as the walk
			 * passes many directories for each link it meets (issue #14). */
			if (fstat(fds[depth], &pst) < 0) {
				rc = lsh_err_set(err, errno, "%s", path);
				close(fd);
				goto out;
			}
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
