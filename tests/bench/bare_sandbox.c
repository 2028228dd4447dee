/* The floor for the filesystem benchmark: the least a program must do for the sandbox the
 * default profile describes, with no error reporting, no policy and no interpreter. It
 * clones into new user, mount, pid, net, ipc, uts and cgroup namespaces, maps the caller to
 * root, pivots into a tmpfs holding a read-only /usr (recursive), the merged-/usr links,
 * the same /etc pieces, a fresh /proc, a minimal /dev and a private /tmp, makes the root
 * read-only, and execs its arguments (default /bin/true) as pid 1.
 *
 * Built by tests/bench/fs_bench.sh, not by the main build:
 *   cc -O2 -o bare_sandbox tests/bench/bare_sandbox.c */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(x)                                                        \
	do {                                                            \
		if ((x) < 0) {                                          \
			perror(#x);                                     \
			_exit(127);                                     \
		}                                                       \
	} while (0)

static const char *const ro_binds[] = { "/usr", "/etc/ld.so.cache", "/etc/nsswitch.conf",
					"/etc/localtime", "/etc/ssl/certs", "/etc/ca-certificates",
					"/etc/alternatives" };
static const char *const links[][2] = { { "usr/bin", "/newroot/bin" }, { "usr/sbin", "/newroot/sbin" },
					{ "usr/lib", "/newroot/lib" }, { "usr/lib64", "/newroot/lib64" } };
static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	CHECK(fd);
	CHECK(write(fd, text, strlen(text)));
	close(fd);
}

static void mkdirs(char *path)
{
	for (char *p = path + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
}

static void ro_bind(const char *src)
{
	char from[256], to[256];
	struct stat st;
	snprintf(from, sizeof from, "/oldroot%s", src);
	snprintf(to, sizeof to, "/newroot%s", src);
	if (stat(from, &st) < 0)
		return; /* the --ro-bind-try of bubblewrap */
	int tree = (int)syscall(SYS_open_tree, AT_FDCWD, from, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	CHECK(tree);
	struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV };
	CHECK(mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a));
	mkdirs(to);
	if (S_ISDIR(st.st_mode))
		mkdir(to, 0755);
	else
		close(open(to, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
	CHECK(move_mount(tree, "", AT_FDCWD, to, MOVE_MOUNT_F_EMPTY_PATH));
	close(tree);
}

static void child(int sync, char **argv)
{
	char go;
	if (read(sync, &go, 1) != 1)
		_exit(127);
	CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	CHECK(mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700"));
	CHECK(chdir("/tmp"));
	CHECK(mkdir("newroot", 0755));
	CHECK(mkdir("oldroot", 0755));
	CHECK(syscall(SYS_pivot_root, ".", "oldroot"));
	CHECK(chdir("/"));
	CHECK(mount("tmpfs", "/newroot", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"));
	for (size_t i = 0; i < sizeof ro_binds / sizeof *ro_binds; i++)
		ro_bind(ro_binds[i]);
	for (size_t i = 0; i < sizeof links / sizeof *links; i++)
		CHECK(symlink(links[i][0], links[i][1]));
	CHECK(mkdir("/newroot/proc", 0755));
	CHECK(mount("proc", "/newroot/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL));
	CHECK(mkdir("/newroot/dev", 0755));
	CHECK(mount("tmpfs", "/newroot/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755"));
	for (size_t i = 0; i < sizeof nodes / sizeof *nodes; i++) {
		char from[64], to[64];
		snprintf(from, sizeof from, "/oldroot/dev/%s", nodes[i]);
		snprintf(to, sizeof to, "/newroot/dev/%s", nodes[i]);
		close(open(to, O_CREAT | O_WRONLY | O_CLOEXEC, 0666));
		CHECK(mount(from, to, NULL, MS_BIND, NULL));
	}
	CHECK(mkdir("/newroot/dev/pts", 0755));
	CHECK(mount("devpts", "/newroot/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620"));
	CHECK(symlink("pts/ptmx", "/newroot/dev/ptmx"));
	CHECK(symlink("/proc/self/fd", "/newroot/dev/fd"));
	CHECK(mkdir("/newroot/dev/shm", 01777));
	CHECK(mkdir("/newroot/tmp", 0755));
	CHECK(mount("tmpfs", "/newroot/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"));
	CHECK(mount(NULL, "/newroot", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL));
	CHECK(chdir("/newroot"));
	CHECK(syscall(SYS_pivot_root, ".", "."));
	CHECK(umount2(".", MNT_DETACH));
	CHECK(chdir("/"));
	CHECK(sethostname("lunshare", 8));
	char *envp[] = { "PATH=/usr/bin:/bin", NULL };
	execve(argv[0], argv, envp);
	perror(argv[0]);
	_exit(127);
}

int main(int argc, char **argv)
{
	char *def[] = { "/bin/true", NULL };
	char **cmd = argc > 1 ? argv + 1 : def;
	int p[2];
	char path[64], map[64];
	CHECK(pipe2(p, O_CLOEXEC));
	unsigned long flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
			      CLONE_NEWUTS | CLONE_NEWCGROUP | SIGCHLD;
	pid_t pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, 0);
	CHECK(pid);
	if (pid == 0) {
		close(p[1]);
		child(p[0], cmd);
	}
	close(p[0]);
	snprintf(path, sizeof path, "/proc/%d/setgroups", pid);
	write_file(path, "deny");
	snprintf(path, sizeof path, "/proc/%d/uid_map", pid);
	snprintf(map, sizeof map, "0 %d 1", (int)getuid());
	write_file(path, map);
	snprintf(path, sizeof path, "/proc/%d/gid_map", pid);
	snprintf(map, sizeof map, "0 %d 1", (int)getgid());
	write_file(path, map);
	CHECK(write(p[1], "g", 1));
	int status;
	CHECK(waitpid(pid, &status, 0));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
