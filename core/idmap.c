/* User and group id maps of a user namespace: /proc/PID/{uid,gid}_map, setgroups, and the
 * setuid helpers newuidmap/newgidmap for ranges an unprivileged user may not map itself. */
#include "internal.h"

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

static const char *const map_file[] = { "uid_map", "gid_map" };

int lsh_idmap_format(const struct lsh_idmap_range *r, size_t n, char *buf, size_t size)
{
	size_t len = 0;

	if (size == 0)
		return -ENOSPC;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(buf + len, size - len, "%" PRIu32 " %" PRIu32 " %" PRIu32 "\n",
				 r[i].inside, r[i].outside, r[i].count);
		if (w < 0 || (size_t)w >= size - len)
			return -ENOSPC;
		len += (size_t)w;
	}
	return (int)len;
}

int lsh_idmap_parse(const char *text, struct lsh_idmap_range *r, size_t max)
{
	size_t n = 0;
	const char *p = text;

	while (*p) {
		unsigned long long v[3];
		char *end;
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (*p == '\0')
			break;
		for (int i = 0; i < 3; i++) {
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p < '0' || *p > '9')
				return -EINVAL;
			errno = 0;
			v[i] = strtoull(p, &end, 10);
			if (errno || v[i] > UINT32_MAX)
				return -EINVAL;
			p = end;
		}
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '\n' && *p != '\0')
			return -EINVAL;
		if (n == max || v[2] == 0)
			return -EINVAL;
		r[n].inside = (uint32_t)v[0];
		r[n].outside = (uint32_t)v[1];
		r[n].count = (uint32_t)v[2];
		n++;
	}
	return (int)n;
}

static int write_proc(pid_t pid, const char *file, const char *text, struct lsh_err **err)
{
	char path[64];

	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return lsh_err_set(err, errno, "open %s", path);
	size_t len = strlen(text);
	ssize_t w = write(fd, text, len);
	if (w < 0)
		return lsh_err_set(err, errno, "write %s", path);
	if ((size_t)w != len)
		return lsh_err_msg(err, EIO, "write %s: short write", path);
	return 0;
}

int lsh_idmap_write(pid_t pid, enum lsh_idmap_kind kind, const struct lsh_idmap_range *r, size_t n,
		    struct lsh_err **err)
{
	char buf[4096];

	if (kind != LSH_IDMAP_UID && kind != LSH_IDMAP_GID)
		return lsh_err_msg(err, EINVAL, "id map: unknown kind %d", (int)kind);
	if (n == 0 || lsh_idmap_format(r, n, buf, sizeof buf) < 0)
		return lsh_err_msg(err, EINVAL, "%s: needs 1 to 340 ranges", map_file[kind]);
	return write_proc(pid, map_file[kind], buf, err);
}

int lsh_idmap_setgroups(pid_t pid, int allow, struct lsh_err **err)
{
	return write_proc(pid, "setgroups", allow ? "allow" : "deny", err);
}

int lsh_idmap_helper(const char *helper, pid_t pid, enum lsh_idmap_kind kind,
		     const struct lsh_idmap_range *r, size_t n, struct lsh_err **err)
{
	/* argv: helper pid (inside outside count)*n; at most 340 ranges as the kernel allows. */
	enum { MAXR = 340 };
	char *argv[2 + 3 * MAXR + 1];
	char nums[2 + 3 * MAXR][12];
	const char *path = helper ? helper : (kind == LSH_IDMAP_UID ? "newuidmap" : "newgidmap");

	if (n == 0 || n > MAXR)
		return lsh_err_msg(err, EINVAL, "%s: needs 1 to %d ranges", path, MAXR);
	size_t a = 0;
	argv[a++] = (char *)path;
	snprintf(nums[1], sizeof nums[1], "%d", (int)pid);
	argv[a++] = nums[1];
	for (size_t i = 0; i < n; i++) {
		uint32_t v[3] = { r[i].inside, r[i].outside, r[i].count };
		for (int j = 0; j < 3; j++) {
			snprintf(nums[a], sizeof nums[a], "%" PRIu32, v[j]);
			argv[a] = nums[a];
			a++;
		}
	}
	argv[a] = NULL;

	/* The helper's complaint becomes our error message rather than a second line on
	 * the user's terminal. */
	int out[2];
	if (pipe2(out, O_CLOEXEC) < 0)
		return lsh_err_set(err, errno, "pipe for %s", path);
	pid_t child = fork();
	if (child < 0) {
		close(out[0]);
		close(out[1]);
		return lsh_err_set(err, errno, "fork for %s", path);
	}
	if (child == 0) {
		static char *const envp[] = { "PATH=/usr/bin:/bin:/usr/sbin:/sbin", NULL };
		dup2(out[1], 2);
		if (strchr(path, '/'))
			execve(path, argv, envp);
		else {
			char full[PATH_MAX];
			const char *dirs[] = { "/usr/bin/", "/bin/", "/usr/sbin/", "/sbin/" };
			for (size_t i = 0; i < LSH_ARRAY_SIZE(dirs); i++) {
				snprintf(full, sizeof full, "%s%s", dirs[i], path);
				execve(full, argv, envp);
			}
		}
		_exit(127);
	}
	close(out[1]);
	char said[512];
	size_t len = 0;
	ssize_t got;
	while (len < sizeof said - 1 && (got = read(out[0], said + len, sizeof said - 1 - len)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			break;
		len += (size_t)got;
	}
	close(out[0]);
	while (len > 0 && (said[len - 1] == '\n' || said[len - 1] == ' '))
		len--;
	said[len] = '\0';
	for (char *p = said; *p; p++)
		if (*p == '\n')
			*p = ' ';
	int status;
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return lsh_err_set(err, errno, "waitpid %s", path);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return lsh_err_msg(err, ENOENT, "%s: not found (install the uidmap package)", path);
	if (len > 0)
		return lsh_err_msg(err, EPERM, "%s", said);
	return lsh_err_msg(err, EPERM, "%s %d: failed with status %d (does /etc/sub%cid grant these ranges?)",
			   path, (int)pid, lsh_proc_exit_status(status), kind == LSH_IDMAP_UID ? 'u' : 'g');
}

int lsh_idmap_subid(const char *path, const char *user, uint32_t uid, uint32_t *start,
		    uint32_t *count, struct lsh_err **err)
{
	char line[512], uidstr[16];

	if (path == NULL)
		path = "/etc/subuid";
	snprintf(uidstr, sizeof uidstr, "%" PRIu32, uid);
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		if (errno == ENOENT)
			return 0;
		return lsh_err_set(err, errno, "open %s", path);
	}
	int found = 0;
	while (!found && fgets(line, sizeof line, f)) {
		char *name = strtok(line, ":"), *s = strtok(NULL, ":"), *c = strtok(NULL, ":\n");
		if (!name || !s || !c)
			continue;
		if ((user && strcmp(name, user) == 0) || strcmp(name, uidstr) == 0) {
			unsigned long long a = strtoull(s, NULL, 10), b = strtoull(c, NULL, 10);
			if (a <= UINT32_MAX && b > 0 && b <= UINT32_MAX) {
				*start = (uint32_t)a;
				*count = (uint32_t)b;
				found = 1;
			}
		}
	}
	fclose(f);
	return found;
}

int lsh_idmap_userns(const struct lsh_idmap_range *uid, size_t nu, const struct lsh_idmap_range *gid,
		     size_t ng, struct lsh_err **err)
{
	/* A namespace needs a process to be made in and to have its maps written for; the
	 * fd keeps it alive once that process is gone. The process only waits: it runs no
	 * code of anyone's and holds nothing. */
	int ready[2] = { -1, -1 }, go[2] = { -1, -1 };
	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0) {
		int e = errno;
		if (ready[0] >= 0) {
			close(ready[0]);
			close(ready[1]);
		}
		return lsh_err_set(err, e, "user namespace for an id mapping: pipe");
	}
	pid_t pid = fork();
	if (pid == 0) {
		char c = unshare(CLONE_NEWUSER) < 0 ? 'e' : 'u';
		close(ready[0]);
		close(go[1]);
		if (write(ready[1], &c, 1) == 1)
			while (read(go[0], &c, 1) < 0 && errno == EINTR)
				;
		_exit(0);
	}
	int e = errno, r = 0;
	close(ready[1]);
	close(go[0]);
	char c = 0;
	if (pid < 0)
		r = lsh_err_set(err, e, "user namespace for an id mapping: fork");
	else if (read(ready[0], &c, 1) != 1 || c != 'u')
		r = lsh_err_msg(err, EPERM, "user namespace for an id mapping: unshare failed");
	else if ((r = lsh_idmap_write(pid, LSH_IDMAP_UID, uid, nu, err)) == 0 &&
		 (r = lsh_idmap_write(pid, LSH_IDMAP_GID, gid, ng, err)) == 0) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
		r = open(path, O_RDONLY | O_CLOEXEC);
		if (r < 0)
			r = lsh_err_set(err, errno, "open %s", path);
	}
	close(ready[0]);
	close(go[1]);
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	return r;
}
