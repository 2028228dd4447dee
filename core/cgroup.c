/* Per-run cgroups with memory, pids and CPU limits.
 *
 * cgroup v2 is used where the caller's own v2 cgroup offers the controllers (a delegated
 * subtree); otherwise each controller's v1 hierarchy, as on machines that mount memory,
 * pids and cpu as v1 under /sys/fs/cgroup/<controller> with an empty v2 beside them. The
 * run's cgroup is made under the caller's own cgroup of each hierarchy, so limits the
 * caller is under still apply. */
#include "internal.h"

#include <limits.h>

#include <dirent.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

enum { CG_MEMORY, CG_PIDS, CG_CPU, CG_N };
static const char *const cg_names[CG_N] = { "memory", "pids", "cpu" };

struct lsh_cgroup {
	int v2;
	/* v1: one per controller in use; v2: [0] only. The run's cgroup is made and verified
	 * once (lsh_private_dir_at), then only ever used through fd, and removed by name in
	 * parent: never by a path someone could redirect in between. dir is for messages. */
	char *dir[CG_N];
	int fd[CG_N];
	int parent[CG_N];
	char *name;
};

/* Writes value to file in the cgroup directory dirfd (dir names it in messages). */
static int write_at(int dirfd, const char *dir, const char *file, const char *value, struct lsh_err **err)
{
	_cleanup_close_ int fd = openat(dirfd, file, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return lsh_err_set(err, errno, "open %s/%s", dir, file);
	ssize_t n = write(fd, value, strlen(value));
	if (n < 0)
		return lsh_err_set(err, errno, "write \"%s\" to %s/%s", value, dir, file);
	return 0;
}

static int write_file(const char *dir, const char *file, const char *value, struct lsh_err **err)
{
	_cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return lsh_err_set(err, errno, "open %s", dir);
	return write_at(dirfd, dir, file, value, err);
}

static char *read_small_at(int dirfd, const char *path)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	char *buf = malloc(65536);
	if (buf == NULL)
		return NULL;
	size_t len = 0;
	ssize_t n;
	while (len < 65535 && (n = read(fd, buf + len, 65535 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	return buf;
}

static char *read_small(const char *path)
{
	return read_small_at(AT_FDCWD, path);
}

/* The caller's own path in the hierarchy with this controller ("" for v2's "0::"). */
static char *own_path(const char *controller)
{
	_cleanup_free_ char *text = read_small("/proc/self/cgroup");
	if (text == NULL)
		return NULL;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (c2 == NULL)
			continue;
		*c1 = '\0';
		*c2 = '\0';
		const char *ctrls = c1 + 1; /* "" for the v2 line "0::/path" */
		if (controller == NULL) {
			if (strcmp(line, "0") == 0 && *ctrls == '\0')
				return strdup(c2 + 1);
			continue;
		}
		char list[256];
		snprintf(list, sizeof list, ",%s,", ctrls);
		char want[64];
		snprintf(want, sizeof want, ",%s,", controller);
		if (strstr(list, want))
			return strdup(c2 + 1);
	}
	return NULL;
}

/* The mount point of the v1 hierarchy with this controller, or of cgroup2 (NULL). */
static char *mount_point(const char *controller)
{
	_cleanup_free_ char *text = read_small("/proc/self/mountinfo");
	if (text == NULL)
		return NULL;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char mnt[1024], fstype[64], opts[512];
		char *dash = strstr(line, " - ");
		if (dash == NULL || sscanf(line, "%*s %*s %*s %*s %1023s", mnt) != 1 ||
		    sscanf(dash + 3, "%63s %*s %511s", fstype, opts) != 2)
			continue;
		if (controller == NULL && strcmp(fstype, "cgroup2") == 0)
			return strdup(mnt);
		if (controller && strcmp(fstype, "cgroup") == 0) {
			char list[600], want[64];
			snprintf(list, sizeof list, ",%s,", opts);
			snprintf(want, sizeof want, ",%s,", controller);
			if (strstr(list, want))
				return strdup(mnt);
		}
	}
	return NULL;
}

static char *join_dir(const char *mnt, const char *own, const char *name)
{
	char *dir = NULL;
	if (asprintf(&dir, "%s/%s/%s", mnt, own, name) < 0)
		return NULL;
	/* "/sys/fs/cgroup/memory" + "/" + "name": collapse the slashes the root path adds */
	for (char *p = dir; (p = strstr(p, "//")) != NULL;)
		memmove(p, p + 1, strlen(p));
	size_t len = strlen(dir);
	if (len > 1 && dir[len - 1] == '/')
		dir[len - 1] = '\0';
	return dir;
}

static int wants(const struct lsh_cgroup_limits *lim, int c)
{
	return c == CG_MEMORY ? lim->memory > 0 : c == CG_PIDS ? lim->pids > 0 : lim->cpu_quota > 0;
}

static int has_word(const char *text, const char *word)
{
	char list[512], want[32];
	snprintf(list, sizeof list, " %s ", text ? text : "");
	for (char *p = list; *p; p++)
		if (*p == '\n')
			*p = ' ';
	snprintf(want, sizeof want, " %s ", word);
	return strstr(list, want) != NULL;
}

/* The v2 directory for the run when the caller's own v2 cgroup offers every wanted
 * controller. Below the v2 root the run's cgroup is a sibling of the caller's: the caller's
 * cgroup holds processes, so (no internal processes) it cannot hand controllers down,
 * while its parent already does, which is why the caller's cgroup has them. */
static char *v2_dir(const char *name, const struct lsh_cgroup_limits *lim)
{
	_cleanup_free_ char *mnt = mount_point(NULL);
	_cleanup_free_ char *own = own_path(NULL);
	if (mnt == NULL || own == NULL)
		return NULL;
	_cleanup_free_ char *base = join_dir(mnt, own, "");
	char path[4096];
	snprintf(path, sizeof path, "%s/cgroup.controllers", base ? base : "");
	_cleanup_free_ char *ctrls = read_small(path);
	if (base == NULL || ctrls == NULL)
		return NULL;
	for (int c = 0; c < CG_N; c++)
		if (wants(lim, c) && !has_word(ctrls, cg_names[c]))
			return NULL;
	/* The parent of a cgroup below the root: "/a/b" → "/a", "/a" → "/". */
	char *slash = strrchr(own, '/');
	if (slash && strcmp(own, "/") != 0)
		slash[slash == own ? 1 : 0] = '\0';
	return join_dir(mnt, own, name);
}

static int write_limits(struct lsh_cgroup *cg, const struct lsh_cgroup_limits *lim, struct lsh_err **err)
{
	char v[64];
	int64_t period = lim->cpu_period > 0 ? lim->cpu_period : 100000;
	int r = 0;
	if (cg->v2) {
		int fd = cg->fd[0];
		const char *d = cg->dir[0];
		if (lim->memory > 0) {
			snprintf(v, sizeof v, "%lld", (long long)lim->memory);
			if ((r = write_at(fd, d, "memory.max", v, err)) < 0)
				return r;
			/* Swap would let the command go past the limit instead of being killed. */
			write_at(fd, d, "memory.swap.max", "0", NULL);
		}
		if (lim->pids > 0) {
			snprintf(v, sizeof v, "%lld", (long long)lim->pids);
			if ((r = write_at(fd, d, "pids.max", v, err)) < 0)
				return r;
		}
		if (lim->cpu_quota > 0) {
			snprintf(v, sizeof v, "%lld %lld", (long long)lim->cpu_quota, (long long)period);
			r = write_at(fd, d, "cpu.max", v, err);
		}
		return r;
	}
	if (lim->memory > 0) {
		snprintf(v, sizeof v, "%lld", (long long)lim->memory);
		if ((r = write_at(cg->fd[CG_MEMORY], cg->dir[CG_MEMORY], "memory.limit_in_bytes", v, err)) < 0)
			return r;
		/* memsw exists only with swap accounting; without it there is nothing to cap. */
		write_at(cg->fd[CG_MEMORY], cg->dir[CG_MEMORY], "memory.memsw.limit_in_bytes", v, NULL);
	}
	if (lim->pids > 0) {
		snprintf(v, sizeof v, "%lld", (long long)lim->pids);
		if ((r = write_at(cg->fd[CG_PIDS], cg->dir[CG_PIDS], "pids.max", v, err)) < 0)
			return r;
	}
	if (lim->cpu_quota > 0) {
		snprintf(v, sizeof v, "%lld", (long long)period);
		if ((r = write_at(cg->fd[CG_CPU], cg->dir[CG_CPU], "cpu.cfs_period_us", v, err)) < 0)
			return r;
		snprintf(v, sizeof v, "%lld", (long long)lim->cpu_quota);
		r = write_at(cg->fd[CG_CPU], cg->dir[CG_CPU], "cpu.cfs_quota_us", v, err);
	}
	return r;
}

/* Makes the run's cgroup dir (a path: its parent is the trusted cgroup the caller is
 * under) for slot c: the parent opened, the cgroup made new with mkdirat, opened with
 * O_NOFOLLOW and verified (a directory, ours, writable by no one else) before anything is
 * written to it. Unlike a state directory it is 0755: programs in the sandbox read their
 * own limits there (the JVM and the Go runtime size themselves by cpu.max and memory.max),
 * and a limit is no secret; what matters is that no one else can make, swap or write it. */
static int make_dir(struct lsh_cgroup *cg, int c, char *dir, struct lsh_err **err)
{
	cg->dir[c] = dir;
	char *slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return lsh_err_msg(err, EINVAL, "create cgroup %s: no parent", dir);
	*slash = '\0';
	cg->parent[c] = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int e = errno;
	*slash = '/';
	if (cg->parent[c] < 0)
		return lsh_err_set(err, e, "create cgroup %s", dir);
	int fd = lsh_private_dir_at(cg->parent[c], cg->name, LSH_STATEDIR_CREATE | LSH_STATEDIR_EXCL | LSH_PRIVDIR_READABLE,
				    "cgroup",
				    dir, err);
	if (fd < 0)
		return fd;
	cg->fd[c] = fd;
	return 0;
}

int lsh_cgroup_sweep(struct lsh_cgroup *cg, const char *prefix)
{
	size_t plen = strlen(prefix);
	int removed = 0;
	for (int c = 0; cg && c < CG_N; c++) {
		if (cg->parent[c] < 0)
			continue;
		int dfd = openat(cg->parent[c], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
		if (d == NULL) {
			if (dfd >= 0)
				close(dfd);
			continue;
		}
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			char *end;
			if (strncmp(e->d_name, prefix, plen) != 0)
				continue;
			long pid = strtol(e->d_name + plen, &end, 10);
			if (*end || pid <= 0 || pid == (long)getpid() || pid > INT_MAX)
				continue;
			/* A live pid may be the run that made it, here or in another pid
			 * namespace: leave it. */
			if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
				continue;
			if (unlinkat(cg->parent[c], e->d_name, AT_REMOVEDIR) == 0)
				removed++;
		}
		closedir(d);
	}
	return removed;
}

static struct lsh_cgroup *cgroup_new(const char *name)
{
	struct lsh_cgroup *cg = calloc(1, sizeof *cg);
	if (cg == NULL)
		return NULL;
	for (int c = 0; c < CG_N; c++)
		cg->fd[c] = cg->parent[c] = -1;
	if ((cg->name = strdup(name)) == NULL) {
		free(cg);
		return NULL;
	}
	return cg;
}

int lsh_cgroup_create(const char *name, const struct lsh_cgroup_limits *lim, struct lsh_cgroup **out,
		      struct lsh_err **err)
{
	int r;

	*out = NULL;
	if (strchr(name, '/') || name[0] == '.' || name[0] == '\0')
		return lsh_err_msg(err, EINVAL, "cgroup: bad name \"%s\"", name);
	struct lsh_cgroup *cg = cgroup_new(name);
	if (cg == NULL)
		return lsh_err_set(err, ENOMEM, "cgroup");
	char *dir = v2_dir(name, lim);
	if (dir) {
		cg->v2 = 1;
		/* The parent must hand the controllers down before the child can use them; it
		 * usually does already (see v2_dir), else it is asked to. */
		char *parent = strndup(dir, (size_t)(strrchr(dir, '/') - dir));
		char sc[4200];
		snprintf(sc, sizeof sc, "%s/cgroup.subtree_control", parent ? parent : "");
		_cleanup_free_ char *enabled = read_small(sc);
		for (int c = 0; parent && c < CG_N; c++) {
			char v[32];
			snprintf(v, sizeof v, "+%s", cg_names[c]);
			if (wants(lim, c) && !has_word(enabled, cg_names[c]) &&
			    (r = write_file(parent, "cgroup.subtree_control", v, err)) < 0) {
				free(parent);
				free(dir);
				lsh_cgroup_destroy(cg);
				return lsh_err_wrap(err, "cgroup v2: enable %s for children", cg_names[c]);
			}
		}
		free(parent);
		if ((r = make_dir(cg, 0, dir, err)) < 0) {
			lsh_cgroup_destroy(cg);
			return r;
		}
	} else {
		for (int c = 0; c < CG_N; c++) {
			if (!wants(lim, c))
				continue;
			_cleanup_free_ char *mnt = mount_point(cg_names[c]);
			_cleanup_free_ char *own = own_path(cg_names[c]);
			if (mnt == NULL || own == NULL) {
				lsh_cgroup_destroy(cg);
				return lsh_err_msg(err, ENOENT,
						   "cgroup: no %s controller (neither a v2 cgroup offering it nor a v1 hierarchy)",
						   cg_names[c]);
			}
			char *d = join_dir(mnt, own, name);
			if (d == NULL) {
				lsh_cgroup_destroy(cg);
				return lsh_err_set(err, ENOMEM, "cgroup");
			}
			if ((r = make_dir(cg, c, d, err)) < 0) {
				lsh_cgroup_destroy(cg);
				return r;
			}
		}
	}
	if ((r = write_limits(cg, lim, err)) < 0) {
		lsh_cgroup_destroy(cg);
		return r;
	}
	*out = cg;
	return 0;
}

int lsh_cgroup_attach(struct lsh_cgroup *cg, pid_t pid, struct lsh_err **err)
{
	char v[32];
	snprintf(v, sizeof v, "%d", (int)pid);
	for (int c = 0; c < CG_N; c++)
		if (cg->fd[c] >= 0) {
			int r = write_at(cg->fd[c], cg->dir[c], "cgroup.procs", v, err);
			if (r < 0)
				return r;
		}
	return 0;
}

int lsh_cgroup_fd(struct lsh_cgroup *cg, struct lsh_err **err)
{
	if (!cg->v2)
		return -ENOENT;
	int fd = fcntl(cg->fd[0], F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return lsh_err_set(err, errno, "open %s", cg->dir[0]);
	return fd;
}

static long long field(int dirfd, const char *file, const char *key)
{
	_cleanup_free_ char *text = read_small_at(dirfd, file);
	if (text == NULL)
		return -1;
	size_t klen = strlen(key);
	for (char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, key, klen) == 0 && p[klen] == ' ')
			return atoll(p + klen + 1);
	return -1;
}

int lsh_cgroup_oom_killed(struct lsh_cgroup *cg)
{
	if (cg == NULL)
		return 0;
	if (cg->v2)
		return cg->fd[0] >= 0 && field(cg->fd[0], "memory.events", "oom_kill") > 0;
	if (cg->fd[CG_MEMORY] < 0)
		return 0;
	/* oom_kill in memory.oom_control since Linux 4.13. */
	return field(cg->fd[CG_MEMORY], "memory.oom_control", "oom_kill") > 0;
}

const char *lsh_cgroup_path(struct lsh_cgroup *cg)
{
	if (cg == NULL)
		return NULL;
	for (int c = 0; c < CG_N; c++)
		if (cg->dir[c])
			return cg->dir[c];
	return NULL;
}

/* Kills what is left and removes the directory (name in parent); a dying process leaves
 * the cgroup a moment after its parent saw it exit, so rmdir is retried briefly on EBUSY. */
static void remove_dir(int parent, int dirfd, const char *name)
{
	for (int tries = 0; tries < 200; tries++) {
		if (unlinkat(parent, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
			return;
		if (errno != EBUSY)
			return;
		_cleanup_free_ char *pids = read_small_at(dirfd, "cgroup.procs");
		for (char *p = pids; p && *p;) {
			int pid = atoi(p);
			if (pid > 0)
				kill(pid, SIGKILL);
			p = strchr(p, '\n');
			p = p ? p + 1 : NULL;
		}
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

void lsh_cgroup_destroy(struct lsh_cgroup *cg)
{
	if (cg == NULL)
		return;
	for (int c = 0; c < CG_N; c++) {
		if (cg->fd[c] >= 0) {
			remove_dir(cg->parent[c], cg->fd[c], cg->name);
			close(cg->fd[c]);
		}
		if (cg->parent[c] >= 0)
			close(cg->parent[c]);
		free(cg->dir[c]);
	}
	free(cg->name);
	free(cg);
}
