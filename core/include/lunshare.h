/* lunshare — Linux namespace primitives and a plan executor.
 *
 * This is the only public header of the C library. Every function that can fail takes
 * `struct lsh_err **err` as its last argument, returns a value >= 0 on success and a
 * negative errno on failure, and then stores in *err an error record saying which call on
 * which object failed and why. *err must be NULL on entry; the caller frees the record with
 * lsh_err_free(). Nothing here prints, exits, or keeps global state.
 *
 * Ownership is stated per function: "borrows" means the library does not keep or close
 * the argument; "takes" means it does; "returns a new fd" means the caller closes it.
 */
#ifndef LUNSHARE_H
#define LUNSHARE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(LSH_BUILDING)
#define LSH_API __attribute__((visibility("default")))
#else
#define LSH_API
#endif

#define LSH_VERSION "0.2.0"

/* ------------------------------------------------------------------------------------
 * Errors
 * ---------------------------------------------------------------------------------- */

struct lsh_err {
	int code;  /* a positive errno value */
	char *msg; /* "outer context: inner context: strerror" */
};

/* Sets *err to a new record "<fmt>: <strerror(errnum)>" and returns -errnum. When the
 * record cannot be allocated, *err points to a static ENOMEM record instead. */
LSH_API int lsh_err_set(struct lsh_err **err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* As lsh_err_set, but the message is exactly <fmt> (no strerror appended). */
LSH_API int lsh_err_msg(struct lsh_err **err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prefixes the existing record with "<fmt>: " and returns -code. *err must be set. */
LSH_API int lsh_err_wrap(struct lsh_err **err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Frees a record; NULL and the static ENOMEM record are fine. */
LSH_API void lsh_err_free(struct lsh_err *err);

/* ------------------------------------------------------------------------------------
 * Namespaces (ns.c)
 * ---------------------------------------------------------------------------------- */

enum { LSH_NS_COUNT = 8 };

struct lsh_ns_kind {
	const char *name;   /* "user", "pid", "mnt" is spelled "mount" here */
	const char *proc;   /* the entry under /proc/PID/ns: "user", "pid", "mnt", … */
	unsigned long flag; /* CLONE_NEWUSER, … */
};

/* The eight kinds, in the order a setns() of several should enter them (user first). */
LSH_API const struct lsh_ns_kind *lsh_ns_kinds(void);
/* Looks a kind up by its name ("mount") or its /proc name ("mnt"); NULL when unknown. */
LSH_API const struct lsh_ns_kind *lsh_ns_kind_by_name(const char *name);
LSH_API const struct lsh_ns_kind *lsh_ns_kind_by_flag(unsigned long flag);

/* unshare(2) of the given CLONE_NEW* flags. */
LSH_API int lsh_ns_unshare(unsigned long flags, struct lsh_err **err);
/* Opens /proc/PID/ns/<proc name> (pid 0 means self). Returns a new O_CLOEXEC fd. */
LSH_API int lsh_ns_open(pid_t pid, const struct lsh_ns_kind *kind, struct lsh_err **err);
/* setns(2): fd is a namespace fd (flags is 0 or its CLONE_NEW* kind) or a pidfd (flags is
 * any combination of CLONE_NEW* to enter several at once). Borrows fd. */
LSH_API int lsh_ns_enter(int fd, unsigned long flags, struct lsh_err **err);
/* Identity of a namespace: the device and inode of /proc/PID/ns/<proc name>. */
LSH_API int lsh_ns_id(pid_t pid, const struct lsh_ns_kind *kind, uint64_t *dev, uint64_t *ino,
		      struct lsh_err **err);

/* ------------------------------------------------------------------------------------
 * User and group id maps (idmap.c)
 * ---------------------------------------------------------------------------------- */

struct lsh_idmap_range {
	uint32_t inside;
	uint32_t outside;
	uint32_t count;
};

enum lsh_idmap_kind { LSH_IDMAP_UID = 0, LSH_IDMAP_GID = 1 };

/* Formats ranges as the kernel's "inside outside count\n" lines into buf (NUL-terminated).
 * Returns the length, or -ENOSPC. */
LSH_API int lsh_idmap_format(const struct lsh_idmap_range *r, size_t n, char *buf, size_t size);
/* Parses the kernel's format. Returns the number of ranges (<= max) or -EINVAL. */
LSH_API int lsh_idmap_parse(const char *text, struct lsh_idmap_range *r, size_t max);
/* Writes /proc/PID/{uid,gid}_map directly. A process without CAP_SETUID/CAP_SETGID over the
 * parent namespace may only map its own id, with a single range of one. */
LSH_API int lsh_idmap_write(pid_t pid, enum lsh_idmap_kind kind,
			    const struct lsh_idmap_range *r, size_t n, struct lsh_err **err);
/* Writes "allow" or "deny" to /proc/PID/setgroups (deny is required before an
 * unprivileged gid_map write). */
LSH_API int lsh_idmap_setgroups(pid_t pid, int allow, struct lsh_err **err);
/* Writes the map through the setuid helper newuidmap/newgidmap (helper is its path, or
 * NULL for the one on the standard path), which checks /etc/subuid or /etc/subgid. */
LSH_API int lsh_idmap_helper(const char *helper, pid_t pid, enum lsh_idmap_kind kind,
			     const struct lsh_idmap_range *r, size_t n, struct lsh_err **err);
/* Looks up the first subordinate range of user (name) or uid in /etc/subuid or
 * /etc/subgid (path may be NULL for those). Returns 1 and fills start/count when found,
 * 0 when none. */
LSH_API int lsh_idmap_subid(const char *path, const char *user, uint32_t uid, uint32_t *start,
			    uint32_t *count, struct lsh_err **err);
/* A new user namespace with these maps (written by the caller, who needs CAP_SETUID and
 * CAP_SETGID over its own namespace for anything but its own id), made by a short-lived
 * child that has exited when this returns. Returns a new O_CLOEXEC fd of the namespace:
 * what an idmapped mount takes (lsh_mount_setattr with LSH_MOUNT_IDMAP). */
LSH_API int lsh_idmap_userns(const struct lsh_idmap_range *uid, size_t nu,
			     const struct lsh_idmap_range *gid, size_t ng, struct lsh_err **err);

/* ------------------------------------------------------------------------------------
 * Processes (proc.c)
 * ---------------------------------------------------------------------------------- */

/* clone3(2) with CLONE_PIDFD and the given CLONE_NEW* flags, falling back to clone(2) where
 * clone3 is missing. cgroup_fd >= 0 adds CLONE_INTO_CGROUP (clone3 only). Returns the pid
 * (0 in the child) and stores a new pidfd in *pidfd in the parent. */
LSH_API pid_t lsh_proc_clone(unsigned long flags, int cgroup_fd, int *pidfd, struct lsh_err **err);
/* pidfd_open(2). Returns a new fd. */
LSH_API int lsh_proc_pidfd(pid_t pid, struct lsh_err **err);
/* pidfd_send_signal(2). Borrows pidfd. */
LSH_API int lsh_proc_signal(int pidfd, int sig, struct lsh_err **err);
/* Waits for the process behind pidfd; *status is in waitpid() format. With nohang, returns
 * 0 when it has not exited yet and 1 when it has. Borrows pidfd. */
LSH_API int lsh_proc_wait(int pidfd, int nohang, int *status, struct lsh_err **err);
/* What /proc says of a process that anyone may read: its parent, its start time (the
 * 22nd field of /proc/PID/stat, clock ticks after boot: with the pid it names one process
 * for good, since a reused pid starts later), its state letter and its real uid (from
 * /proc/PID/status). Returns 0, or -ENOENT when there is no such process. */
struct lsh_proc_info {
	pid_t ppid;
	uint64_t starttime;
	uid_t uid;
	char state;
};
LSH_API int lsh_proc_stat(pid_t pid, struct lsh_proc_info *info, struct lsh_err **err);
/* The children of pid (every process whose parent it is), found by walking /proc (the
 * kernel's /proc/PID/task/TID/children is optional). Stores at most max pids in out,
 * oldest first. Returns how many there are (which may exceed max). */
LSH_API int lsh_proc_children(pid_t pid, pid_t *out, size_t max, struct lsh_err **err);
/* Waits up to timeout_ms (< 0: for ever) for the process behind pidfd to end, whoever's
 * child it is (poll(2) on the pidfd). Returns 1 when it ended, 0 when the time passed.
 * Borrows pidfd. */
LSH_API int lsh_proc_poll_exit(int pidfd, int timeout_ms, struct lsh_err **err);
/* Closes every fd >= 3 except those in keep (close_range(2) between them). */
LSH_API int lsh_proc_close_fds(const int *keep, size_t nkeep, struct lsh_err **err);
/* PR_SET_PDEATHSIG, then checks that the parent (expected_ppid) did not die already. */
LSH_API int lsh_proc_pdeathsig(int sig, pid_t expected_ppid, struct lsh_err **err);
LSH_API int lsh_proc_setsid(struct lsh_err **err);
/* execve(2) of argv with envp; a file name without a slash is searched in the PATH of envp
 * (or a standard path). Returns only on failure. */
LSH_API int lsh_proc_exec(char *const argv[], char *const envp[], struct lsh_err **err);
/* Converts a waitpid() status into a shell exit status: the code, or 128+N for signal N. */
LSH_API int lsh_proc_exit_status(int status);
/* The pid-1 loop of a pid namespace: forwards catchable signals to `cmd`, reaps every
 * child, and returns the shell exit status of `cmd` once it has exited. `sigmask` is the
 * set blocked by the caller before the fork of cmd (pass the old mask to restore). */
LSH_API int lsh_proc_reap(pid_t cmd, struct lsh_err **err);
/* lsh_proc_reap for a command that leads a process group of its own (a job): SIGINT,
 * SIGTERM, SIGHUP and SIGQUIT go to every process of the namespace (kill(-1)), SIGCONT
 * to the command's group; with notify_fd >= 0 (borrowed), each time the command stops
 * one byte 'T' is sent there, so that whoever runs the sandbox can suspend with it. */
LSH_API int lsh_proc_reap_job(pid_t cmd, int notify_fd, struct lsh_err **err);

/* ------------------------------------------------------------------------------------
 * Terminals (pty.c)
 * ---------------------------------------------------------------------------------- */

struct termios;
/* A new pty from /dev/ptmx of the caller's mount view, unlocked: stores the master and,
 * opened from it (TIOCGPTPEER), the peer in *master and *slave (new fds, O_CLOEXEC). */
LSH_API int lsh_pty_open(int *master, int *slave, struct lsh_err **err);
/* Gives slave the line settings and window size of `like` (an fd, when it is a terminal;
 * -1 for none), makes it the controlling terminal (the caller must lead a session with
 * none) and fds 0, 1 and 2; closes slave when it is above 2. */
LSH_API int lsh_pty_take(int slave, int like, struct lsh_err **err);
/* Raw mode on the terminal fd, its modes saved in *saved for lsh_tty_restore. */
LSH_API int lsh_tty_raw(int fd, struct termios *saved, struct lsh_err **err);
LSH_API void lsh_tty_restore(int fd, const struct termios *saved);
/* The window size of terminal from, given to to (a pty master: its group gets SIGWINCH). */
LSH_API void lsh_pty_copy_winsize(int from, int to);

/* ------------------------------------------------------------------------------------
 * UTS and time namespaces (uts.c, timens.c)
 * ---------------------------------------------------------------------------------- */

LSH_API int lsh_uts_set_hostname(const char *name, struct lsh_err **err);
LSH_API int lsh_uts_set_domainname(const char *name, struct lsh_err **err);

enum lsh_clock { LSH_CLOCK_MONOTONIC = 1, LSH_CLOCK_BOOTTIME = 7 };
/* Writes one offset to /proc/PID/timens_offsets (pid 0: self). Valid only after
 * unshare(CLONE_NEWTIME) and before any process entered the new namespace. */
LSH_API int lsh_timens_set_offset(pid_t pid, enum lsh_clock clock, int64_t sec, int64_t nsec,
				  struct lsh_err **err);
/* unshare(CLONE_NEWTIME), writes the offsets, then enters time_for_children, so that the
 * calling (single-threaded) process itself lives in the new time namespace. */
LSH_API int lsh_timens_enter_new(int64_t mono_sec, int64_t boot_sec, struct lsh_err **err);

/* ------------------------------------------------------------------------------------
 * Network: rtnetlink (netlink.c) and iproute2-compatible named netns (netns.c)
 *
 * A struct lsh_nl is a caller-owned rtnetlink socket bound to one network namespace: the
 * one the caller is in, or another given by fd, pid or name. The socket is opened by a
 * short-lived thread that enters the target namespace, so the calling thread never moves.
 * Requests are synchronous; a kernel refusal becomes a negative errno and a message that
 * names the request and the link and carries the kernel's extended-ack text:
 * "add veth lsv0 (peer lsv0p): File exists".
 * ---------------------------------------------------------------------------------- */

struct lsh_nl;

/* Where a namespace is: here (the caller's), an fd of /proc/PID/ns/net or /run/netns/NAME,
 * a pid, or a pidfd (the network namespace of that process; Linux 5.8). */
enum lsh_nl_ns_by { LSH_NL_NS_HERE = 0, LSH_NL_NS_FD, LSH_NL_NS_PID, LSH_NL_NS_PIDFD };
struct lsh_nl_ns {
	enum lsh_nl_ns_by by;
	int value; /* the fd or pidfd (borrowed), or the pid */
};

/* Opens an rtnetlink socket acting in ns. Stores a new handle in *nl (free with
 * lsh_nl_close). Entering another namespace needs CAP_SYS_ADMIN over it. */
LSH_API int lsh_nl_open(struct lsh_nl **nl, struct lsh_nl_ns ns, struct lsh_err **err);
LSH_API void lsh_nl_close(struct lsh_nl *nl);

struct lsh_nl_link_spec {
	const char *name;	/* required */
	const char *kind;	/* "veth", "bridge", "dummy", "macvlan" */
	const char *peer;	/* veth: the peer's name (required) */
	struct lsh_nl_ns peer_ns; /* veth: create the peer directly in this namespace */
	const char *parent;	/* macvlan: the lower link (required) */
	const char *mode;	/* macvlan: "bridge" (default), "private", "vepa", "passthru" */
	const char *mac;	/* "02:00:00:00:00:01" or NULL */
	const char *master;	/* a bridge to enslave the link to, or NULL */
	unsigned mtu;		/* 0: the kind's default (applies to both veth ends) */
	int up;			/* set this end up (a veth peer is set up from its own namespace) */
};
/* RTM_NEWLINK with NLM_F_CREATE|NLM_F_EXCL. Creating the veth peer inside its namespace
 * costs ~0.6 ms where moving it there afterwards costs ~16 ms (a synchronize_net). */
LSH_API int lsh_nl_link_add(struct lsh_nl *nl, const struct lsh_nl_link_spec *spec,
			    struct lsh_err **err);
/* RTM_DELLINK by name; a veth takes its peer with it. */
LSH_API int lsh_nl_link_del(struct lsh_nl *nl, const char *name, struct lsh_err **err);
/* The ifindex of a link, or a negative errno (-ENODEV when there is none). */
LSH_API int lsh_nl_link_index(struct lsh_nl *nl, const char *name, struct lsh_err **err);

enum {
	LSH_NL_SET_UP = 1 << 0,
	LSH_NL_SET_DOWN = 1 << 1,
	LSH_NL_SET_MTU = 1 << 2,
	LSH_NL_SET_NAME = 1 << 3,
	LSH_NL_SET_MAC = 1 << 4,
	LSH_NL_SET_MASTER = 1 << 5, /* master NULL or "" releases the link */
	LSH_NL_SET_NETNS = 1 << 6,
};
struct lsh_nl_link_change {
	unsigned what;		/* LSH_NL_SET_* */
	unsigned mtu;
	const char *name;
	const char *mac;
	const char *master;
	struct lsh_nl_ns netns;
};
/* RTM_NEWLINK on an existing link: one request for every change asked for. */
LSH_API int lsh_nl_link_set(struct lsh_nl *nl, const char *name,
			    const struct lsh_nl_link_change *c, struct lsh_err **err);

/* RTM_NEWADDR/RTM_DELADDR of "10.0.0.1/24" or "fd00::1/64" on link dev. */
LSH_API int lsh_nl_addr_add(struct lsh_nl *nl, const char *dev, const char *cidr,
			    struct lsh_err **err);
LSH_API int lsh_nl_addr_del(struct lsh_nl *nl, const char *dev, const char *cidr,
			    struct lsh_err **err);

/* RTM_NEWROUTE/RTM_DELROUTE in the main table: dst is "default" or a CIDR (an address
 * alone is a host route), via a gateway (may be NULL) and/or on link dev (may be NULL).
 * The family follows dst, or via when dst is "default". */
LSH_API int lsh_nl_route_add(struct lsh_nl *nl, const char *dst, const char *via,
			     const char *dev, struct lsh_err **err);
LSH_API int lsh_nl_route_del(struct lsh_nl *nl, const char *dst, const char *via,
			     const char *dev, struct lsh_err **err);

/* Dumps: the callback sees each object (valid only during the call); a non-zero return
 * stops the dump early. */
struct lsh_nl_link_info {
	int index;
	const char *name;
	const char *kind;	/* NULL for a link without IFLA_INFO_KIND (lo, physical) */
	unsigned mtu;
	unsigned flags;		/* IFF_* */
	int up;			/* IFF_UP */
	char mac[18];
	int master;		/* ifindex, 0 when none */
	int link;		/* the peer's or lower link's ifindex (IFLA_LINK), 0 when none */
	int link_netnsid;	/* -1 when the peer is in the same namespace */
};
struct lsh_nl_addr_info {
	int index;
	int family;		/* AF_INET or AF_INET6 */
	unsigned prefix;
	unsigned scope;
	char addr[46];
};
struct lsh_nl_route_info {
	int family;
	unsigned dst_len;
	char dst[46];		/* "" for a default route */
	char gateway[46];	/* "" when none */
	int oif;
	unsigned table, protocol, scope, type;
};
typedef int (*lsh_nl_link_fn)(const struct lsh_nl_link_info *l, void *data);
typedef int (*lsh_nl_addr_fn)(const struct lsh_nl_addr_info *a, void *data);
typedef int (*lsh_nl_route_fn)(const struct lsh_nl_route_info *r, void *data);
LSH_API int lsh_nl_link_dump(struct lsh_nl *nl, lsh_nl_link_fn fn, void *data, struct lsh_err **err);
/* family: 0 for both, AF_INET, AF_INET6. */
LSH_API int lsh_nl_addr_dump(struct lsh_nl *nl, int family, lsh_nl_addr_fn fn, void *data,
			     struct lsh_err **err);
LSH_API int lsh_nl_route_dump(struct lsh_nl *nl, int family, lsh_nl_route_fn fn, void *data,
			      struct lsh_err **err);

/* Named netns as iproute2 keeps them: dir (NULL for /run/netns) is a shared mount and
 * dir/NAME is a bind mount of a network namespace's nsfs file, so `ip netns list/exec`
 * and lunshare see the same names both ways. */
#define LSH_NETNS_DIR "/run/netns"
/* Creates a new network namespace (loopback down, as `ip netns add`) and pins it at
 * dir/name. -EEXIST when the name is taken. The caller does not enter it. */
LSH_API int lsh_netns_create(const char *dir, const char *name, struct lsh_err **err);
/* Unmounts (detached) and removes dir/name; its links go with the last user. */
LSH_API int lsh_netns_delete(const char *dir, const char *name, struct lsh_err **err);
/* Returns a new O_CLOEXEC fd of dir/name, for setns() or lsh_nl_open(). */
LSH_API int lsh_netns_open(const char *dir, const char *name, struct lsh_err **err);
/* The names in dir, sorted; *names is a NULL-terminated array the caller frees with
 * lsh_netns_list_free. A missing dir is an empty list. */
LSH_API int lsh_netns_list(const char *dir, char ***names, struct lsh_err **err);
LSH_API void lsh_netns_list_free(char **names);
/* The same four relative to a directory fd (borrowed): a private state directory (a
 * rootless topology pins its namespaces in one), or lsh_netns_dir_open's. The pin is made
 * with O_CREAT|O_EXCL|O_NOFOLLOW and the namespace bind-mounted on that very file (through
 * its fd); delete opens the name with O_NOFOLLOW, refuses anything but a regular file,
 * unmounts that and unlinkat()s the name: a symlink in a pin's place is never followed. */
LSH_API int lsh_netns_create_at(int dirfd, const char *name, struct lsh_err **err);
LSH_API int lsh_netns_delete_at(int dirfd, const char *name, struct lsh_err **err);
LSH_API int lsh_netns_open_at(int dirfd, const char *name, struct lsh_err **err);
LSH_API int lsh_netns_list_at(int dirfd, char ***names, struct lsh_err **err);
/* Opens dir (NULL: /run/netns) as a new O_DIRECTORY fd; with create, first makes it the
 * shared mount `ip netns add` makes. */
LSH_API int lsh_netns_dir_open(const char *dir, int create, struct lsh_err **err);

/* ------------------------------------------------------------------------------------
 * Mounts: mount_tree.c (propagation, pivot_root, paths in a root, the mount(2) fallback,
 * locking), mount_api.c (the fd-based API); the plan's mount steps are in mount_ops.c,
 * its hot-plug steps (a bind added to a running sandbox, and taken off) in plug_ops.c
 *
 * A detached mount is an fd from lsh_mount_clone_tree or lsh_mount_new_fs: it is visible
 * nowhere until lsh_mount_attach puts it on a target, so its flags can be set first.
 * ---------------------------------------------------------------------------------- */

/* Mount attributes, the kernel's MOUNT_ATTR_* values. */
enum {
	LSH_MOUNT_RDONLY = 0x1,
	LSH_MOUNT_NOSUID = 0x2,
	LSH_MOUNT_NODEV = 0x4,
	LSH_MOUNT_NOEXEC = 0x8,
	LSH_MOUNT_IDMAP = 0x100000,
};

/* What lsh_mount_target creates when the last component is missing. */
enum lsh_mount_node { LSH_NODE_NONE = 0, LSH_NODE_DIR, LSH_NODE_FILE };

/* Makes the mount at path (and, with recursive, every mount below) private. */
LSH_API int lsh_mount_make_private(const char *path, int recursive, struct lsh_err **err);
/* umount2(path, MNT_DETACH): takes the mount off path (lazily, as umount -l). */
LSH_API int lsh_mount_detach(const char *path, struct lsh_err **err);
/* pivot_root(2). Borrows both paths. */
LSH_API int lsh_mount_pivot_root(const char *new_root, const char *put_old, struct lsh_err **err);
/* Makes the mount at newroot_fd the root: pivot_root(".", "."), the old root detached
 * (with every mount under it), and the cwd "/". Borrows newroot_fd. */
LSH_API int lsh_mount_enter_root(int newroot_fd, struct lsh_err **err);
/* openat2(2) of path under rootfd with RESOLVE_IN_ROOT: absolute symlinks and ".." cannot
 * leave rootfd (retried while a concurrent mount or rename makes it answer EAGAIN). flags
 * are open flags (O_PATH, …). Returns a new O_CLOEXEC fd. */
LSH_API int lsh_mount_open_in_root(int rootfd, const char *path, int flags, struct lsh_err **err);
/* Opens a mount target under rootfd, creating missing parents (mode 0755) and, when node
 * is not LSH_NODE_NONE, the last component with mode. No component may be a symlink or
 * ".." (ELOOP, EINVAL): a target cannot be redirected out of rootfd. A node it creates is
 * given its mode through an fd opened on it (never by name, so a symlink swapped in by
 * whoever can write a bound directory is refused, not followed), and that fd is what it
 * returns; an existing one is opened O_PATH. Returns a new O_CLOEXEC fd. Borrows rootfd. */
LSH_API int lsh_mount_target(int rootfd, const char *path, enum lsh_mount_node node, mode_t mode,
			     struct lsh_err **err);
/* open_tree(2) with OPEN_TREE_CLONE: a detached copy of the mount at dirfd/path (path NULL:
 * dirfd itself), with every submount when recursive. Returns a new O_CLOEXEC fd. */
LSH_API int lsh_mount_clone_tree(int dirfd, const char *path, int recursive, struct lsh_err **err);
/* mount_setattr(2) on the mount fd refers to (and every submount when recursive): sets
 * and clears LSH_MOUNT_* attributes. With LSH_MOUNT_IDMAP in set, userns_fd (borrowed)
 * gives the id mapping; fd must then be a detached mount. Linux 5.12. */
LSH_API int lsh_mount_setattr(int fd, uint64_t set, uint64_t clr, int recursive, int userns_fd,
			      struct lsh_err **err);
/* An idmapped copy of the tree at fd (borrowed), with every submount: a detached mount
 * whose id mapping is the ranges uid[nu] and gid[ng] ("inside" = the id on disk,
 * "outside" = the id it is seen as, and written back as): lsh_idmap_owner_ranges builds
 * them. Ids on disk that no range covers are seen as the overflow id and are not writable
 * through the mount. attrs (LSH_MOUNT_*) are set with the mapping. Needs CAP_SYS_ADMIN
 * over the filesystem's user namespace; a filesystem without idmapped mounts answers
 * EINVAL. Linux 5.12. */
LSH_API int lsh_mount_clone_idmapped(int fd, const struct lsh_idmap_range *uid, size_t nu,
				     const struct lsh_idmap_range *gid, size_t ng, uint64_t attrs,
				     struct lsh_err **err);
/* The mapping of a writable bind for a root caller's sandbox: the directory's owner
 * (on disk) is seen as the sandbox's user `user`, and every other host id of the
 * sandbox's own range [first, first+count) is seen as itself, so that the ids the sandbox
 * chowns to land on disk as the sandbox's own unprivileged host ids, never as a host
 * user's. The owner and `user` themselves are left out of the identity part (the kernel
 * refuses overlapping ranges). Fills r (room for 4) and returns how many. */
LSH_API size_t lsh_idmap_owner_ranges(uint32_t owner, uint32_t user, uint32_t first, uint32_t count,
				      struct lsh_idmap_range r[4]);
/* move_mount(2): attaches the detached mount mntfd on the target fd. Borrows both. */
LSH_API int lsh_mount_attach(int mntfd, int target_fd, struct lsh_err **err);
/* fsopen/fsconfig/fsmount: a new instance of fstype ("tmpfs", "proc", "devpts", …) as a
 * detached mount with LSH_MOUNT_* attrs. source may be NULL; options is a NULL-terminated
 * list of "key=value" or "flag" strings (may be NULL). Returns a new O_CLOEXEC fd. */
LSH_API int lsh_mount_new_fs(const char *fstype, const char *source, const char *const *options,
			     uint64_t attrs, struct lsh_err **err);
/* The fallback for kernels without open_tree/mount_setattr (before 5.12): mount(2) a
 * recursive bind of src (a path, borrowed) on the node target_fd refers to (borrowed, from
 * lsh_mount_target: no path is looked up again), then remount every mount under it with
 * attrs (LSH_MOUNT_*), one by one, as proc's mountinfo lists them, each opened without
 * following a symlink and remounted through its fd. proc is the path of a proc mount of
 * the caller's pid namespace ("/proc", or the old root's while a new root is built). */
LSH_API int lsh_mount_bind_legacy(const char *src, int target_fd, uint64_t attrs, const char *proc,
				  struct lsh_err **err);
/* Locks the caller's mounts: moves it into a new user namespace with the same ids (through
 * proc, the path of a proc mount of its pid namespace) and a copy of its mount namespace,
 * where the kernel forbids clearing any mount's flags or unmounting one to reveal what it
 * covers. Afterwards the caller has no capabilities over namespaces its old user
 * namespace owns (network, uts, ipc, …): lock after configuring them. Single-threaded
 * callers only (it may fork a helper to write multi-range maps). */
LSH_API int lsh_mount_lock(const char *proc, struct lsh_err **err);

/* ------------------------------------------------------------------------------------
 * Files someone else may have chosen (file.c) and private state directories (statedir.c)
 * ---------------------------------------------------------------------------------- */

/* The cap on any file lunshare reads whole: profiles, files they name, topologies, state. */
#define LSH_FILE_MAX ((size_t)1 << 20)

enum {
	LSH_FILE_NOFOLLOW = 1 << 0, /* refuse a symlink as the last component (ELOOP) */
	LSH_FILE_OWNED = 1 << 1,    /* refuse a file the effective uid does not own (EPERM) */
	LSH_FILE_KERNEL = 1 << 2,   /* a kernel file lunshare itself names (/proc/PID/stat, /sys/…):
				       opened for reading at once, on proc or sysfs too */
};

/* "a regular file", "a directory", "a FIFO", "a character device", … for messages. */
LSH_API const char *lsh_file_kind(mode_t mode);
/* Reads the whole of path (relative to dirfd; AT_FDCWD for the cwd) when it is a regular
 * file of at most max bytes. The name is opened with O_PATH first: nothing but a regular file
 * outside the kernel's filesystems is ever opened for reading (a device's open is an action:
 * a watchdog arms, a tape rewinds), and that open never blocks. -EISDIR for a directory
 * ("PATH: Is a directory"), -EINVAL for a FIFO, a device or a socket ("PATH: not a regular
 * file (a FIFO)") and for a file on proc, sysfs, debugfs, tracefs, securityfs, cgroup, bpf,
 * configfs, efivarfs, devpts, pstore, … ("PATH: on proc, a kernel filesystem: not read (no
 * profile lives there)"; LSH_FILE_KERNEL reads those), -ELOOP for a symlink with
 * LSH_FILE_NOFOLLOW, -EFBIG past max ("PATH: larger than 1 MiB"), -ESTALE when the file
 * reopened for reading is not the inode checked. Messages name the path, never the
 * content. Stores a new NUL-terminated buffer in *out (the caller frees it) and, when len
 * is not NULL, its length in *len. Borrows dirfd and path. */
LSH_API int lsh_file_read(int dirfd, const char *path, unsigned flags, size_t max, char **out,
			  size_t *len, struct lsh_err **err);
/* As lsh_file_read, and stores in *real (when real is not NULL) a new string, the absolute
 * path of the file that was opened, every symlink resolved, or NULL when /proc cannot say
 * (the caller frees it). What a caller decides from a file's kind (whether its text may be
 * quoted) it decides from this, never from the name it was given. */
LSH_API int lsh_file_read_real(int dirfd, const char *path, unsigned flags, size_t max, char **out,
			       size_t *len, char **real, struct lsh_err **err);

/* Resolves the absolute host path path, following a symlink only where its directory is
 * owned by uid or root and writable by no one else (or sticky, with the symlink owned by
 * uid or root: fs.protected_symlinks's rule, for every directory). A symlink another user
 * could have put or changed there is refused (-EPERM, the message names it and why), so
 * what someone prepares in /tmp or a shared directory is never followed; /bin -> usr/bin
 * and /etc/resolv.conf keep working. Stores in *out a new string, the path with no
 * symlink and no "." or ".." left (the caller frees it); a missing component is -ENOENT.
 * The result names the same object until whoever owns a directory on it changes it: open
 * it with RESOLVE_NO_SYMLINKS to refuse a symlink swapped in since. */
LSH_API int lsh_path_resolve(const char *path, uid_t uid, char **out, struct lsh_err **err);

/* A state directory is a directory beneath a trusted root (/run, $XDG_RUNTIME_DIR, /tmp)
 * that every component of, from the root down, is verified: opened with O_NOFOLLOW (never
 * a symlink), a directory, owned by the effective uid, writable by nobody else. Missing
 * components are created 0700 with LSH_STATEDIR_CREATE. Refusals are one message naming
 * the path and why: "state directory /tmp/lunshare-1000: owned by uid 1001, not by this
 * user (uid 1000); …", "…: writable by others (mode 0777); …", "…: is a symlink, …". The
 * root itself is opened by path, following symlinks: it is the caller's choice. */
enum {
	LSH_STATEDIR_CREATE = 1 << 0, /* make missing components, 0700 */
	LSH_STATEDIR_EXCL = 1 << 1,   /* the last component must be new (-EEXIST) */
	LSH_STATEDIR_READABLE = 1 << 2, /* make missing components 0755 instead: still
					   writable by their owner alone (installed profiles) */
};
/* Walks path (relative, like "lunshare-1000/lunshare/net") beneath root. Returns a new
 * O_DIRECTORY|O_CLOEXEC fd of the last component for the calls below; -ENOENT when a
 * component is missing and not created. Borrows root and path. */
LSH_API int lsh_statedir_open(const char *root, const char *path, unsigned flags, struct lsh_err **err);
/* As lsh_statedir_open, without LSH_STATEDIR_CREATE, for a directory of another user
 * (root listing a user's named sandboxes): every component beneath root must be owned by
 * owner and writable by no one else. */
LSH_API int lsh_statedir_open_owner(const char *root, const char *path, unsigned flags, uid_t owner,
				    struct lsh_err **err);
/* As lsh_statedir_open with LSH_STATEDIR_CREATE, for state a run holds and nobody finds
 * again by name: when root is /tmp and the first component of path is refused (another
 * user made it first, or left it open to others), a fresh "FIRST-RANDOM" of the caller's
 * own takes its place (made new, 0700, verified); the refused one is never written.
 * Stores the path used beneath root in used (size bytes). Returns the fd, or the first
 * refusal when no fallback applies. Borrows root and path. */
LSH_API int lsh_statedir_open_run(const char *root, const char *path, char *used, size_t size,
				  struct lsh_err **err);
/* Removes the empty directories of path beneath root, deepest first, each verified and
 * removed by name in its verified parent; stops at the first that is not empty (or is a
 * mount point). Returns how many it removed. */
LSH_API int lsh_statedir_prune(const char *root, const char *path, struct lsh_err **err);

/* Files in a state directory, named by one component (no '/', not . or ..) and always
 * opened relative to the directory's fd (borrowed) with O_NOFOLLOW. */
/* Reads name whole, as lsh_file_read with LSH_FILE_NOFOLLOW|LSH_FILE_OWNED. */
LSH_API int lsh_statedir_read(int dirfd, const char *name, size_t max, char **out, size_t *len,
			      struct lsh_err **err);
/* As lsh_statedir_read, without the owner check on the file: for a directory opened with
 * lsh_statedir_open_owner, whose files only its owner (or root) can have put there. */
LSH_API int lsh_statedir_read_any(int dirfd, const char *name, size_t max, char **out, size_t *len,
				  struct lsh_err **err);
enum lsh_state_how {
	LSH_STATE_CREATE = 0,  /* a new file (O_CREAT|O_EXCL): -EEXIST when there is one */
	LSH_STATE_APPEND = 1,  /* append, creating it when missing; an existing one must be a
				  regular file of the caller's */
	LSH_STATE_REPLACE = 2, /* written aside (O_EXCL) and renamed over name: readers see
				  the old file or the new one, never a part */
	LSH_STATE_UPDATE = 3,  /* as REPLACE, but only while name exists (renameat2
				  RENAME_EXCHANGE, then the old text unlinked): -ENOENT when
				  another process removed it, which is never undone */
	LSH_STATE_READABLE = 1 << 4, /* or'ed into how: a new file is 0644, not 0600 */
	LSH_STATE_EXECUTABLE = 1 << 5, /* or'ed into how: a new file is 0755 */
};
/* Writes len bytes of data (borrowed) to name. */
LSH_API int lsh_statedir_write(int dirfd, const char *name, const char *data, size_t len,
			       enum lsh_state_how how, struct lsh_err **err);
/* unlinkat(2) of name: 1 when removed, 0 when there was none. Never follows a symlink. */
LSH_API int lsh_statedir_remove(int dirfd, const char *name, struct lsh_err **err);
/* Takes the exclusive lock of a state directory (flock on its fd) without waiting: 1 when
 * taken, 0 when another process holds it. It is released when the last fd to the
 * directory's open file closes (also when the process dies). */
LSH_API int lsh_statedir_lock(int dirfd, struct lsh_err **err);
/* The names in the directory that do not start with '.', sorted; *names is a
 * NULL-terminated array freed with lsh_statedir_list_free. Returns the count. */
LSH_API int lsh_statedir_list(int dirfd, char ***names, struct lsh_err **err);
LSH_API void lsh_statedir_list_free(char **names);

/* Directory trees (tree.c), walked relative to each parent's fd with O_NOFOLLOW, never
 * through a symlink, never into another mount, at most 64 directories deep. */
/* Removes name beneath dirfd (borrowed) and everything in it; a symlink is removed, not
 * followed. A missing name is success. -EXDEV at a mount point found inside. */
LSH_API int lsh_tree_remove(int dirfd, const char *name, struct lsh_err **err);
/* Gives name beneath dirfd and everything in it to uid:gid (symlinks themselves). */
LSH_API int lsh_tree_chown(int dirfd, const char *name, uid_t uid, gid_t gid, struct lsh_err **err);

/* A TCP listener on addr ("127.0.0.1", "::1") and *port (0: any free one, stored back in
 * *port), backlog 16, never accepted from: connections complete in the kernel. Returns a
 * new O_CLOEXEC fd (inet.c). */
LSH_API int lsh_inet_listen(const char *addr, int *port, struct lsh_err **err);

/* ------------------------------------------------------------------------------------
 * Digests (sha256.c)
 * ---------------------------------------------------------------------------------- */

#define LSH_SHA256_SIZE 32
/* SHA-256 of len bytes of data (borrowed) into out. Cannot fail. */
LSH_API void lsh_sha256(const void *data, size_t len, unsigned char out[LSH_SHA256_SIZE]);
/* The same digest as 64 lowercase hex digits and a NUL. */
LSH_API void lsh_sha256_hex(const void *data, size_t len, char out[2 * LSH_SHA256_SIZE + 1]);

/* ------------------------------------------------------------------------------------
 * Kernel features (probe.c)
 * ---------------------------------------------------------------------------------- */

/* Whether this kernel has the named system call ("clone3", "pidfd_open", "close_range",
 * "open_tree", "move_mount", "fsopen", "mount_setattr", "openat2"): 1 or 0, or -EINVAL
 * for a name it does not know. Calls it with arguments it rejects; creates nothing. */
LSH_API int lsh_probe_syscall(const char *name, struct lsh_err **err);

/* ------------------------------------------------------------------------------------
 * Privileges and limits (caps.c, seccomp.c, rlimit.c, cgroup.c)
 * ---------------------------------------------------------------------------------- */

/* A capability number from its name ("net_bind_service", "cap_net_bind_service", any
 * case), or -EINVAL. */
LSH_API int lsh_caps_from_name(const char *name);
/* The name libcap gives capability number cap, without "cap_" ("net_bind_service"), in
 * buf; -EINVAL for a number libcap has no name for (past the last it knows), -ERANGE when
 * buf is too small. Counting from 0 until -EINVAL lists every capability. */
LSH_API int lsh_caps_name(int cap, char *buf, size_t size);
/* The securebits lsh_caps_restrict sets and locks with lock_securebits. */
LSH_API unsigned lsh_caps_locked_securebits(void);
/* Keeps exactly the named capabilities: drops every other one from the bounding set, sets
 * permitted, effective and inheritable to the kept set, and raises the kept ones as
 * ambient so they survive exec for a non-root uid. With lock_securebits, first sets and
 * locks SECBIT_NOROOT and SECBIT_NO_SETUID_FIXUP, so that uid 0 gains nothing on exec. Needs CAP_SETPCAP (root in the user namespace). Borrows keep. */
LSH_API int lsh_caps_restrict(const char *const *keep, size_t n, int lock_securebits,
			      struct lsh_err **err);
/* prctl(PR_SET_NO_NEW_PRIVS, 1). */
LSH_API int lsh_caps_no_new_privs(struct lsh_err **err);
/* setgroups(0, NULL), setresgid(gid), setresuid(uid): drops the supplementary groups the
 * caller carried in (so a root caller's group 0 does not follow it into the sandbox) and
 * takes the given ids of the current user namespace. A process that root cloned into a
 * user namespace whose map does not contain host root needs this to become root inside. */
LSH_API int lsh_caps_set_ids(uid_t uid, gid_t gid, struct lsh_err **err);
/* keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL): a new anonymous session keyring, so the
 * caller's session keys are not reachable. */
LSH_API int lsh_keyring_new_session(struct lsh_err **err);

/* Loads a seccomp filter made of rules, each a string "ACTION SYSCALL [COND...]":
 * ACTION is allow, kill, log or errno:N; COND is aI[&MASK]OP VALUE with OP one of
 * == != < <= > >= (e.g. "errno:1 ioctl a1&0xffffffff==0x5412"). The filter allows what no
 * rule matches; it covers the native architecture and its compat ones (x86 and x32 on
 * x86_64, arm on aarch64). The filter does not set no_new_privs itself: without it the
 * kernel requires CAP_SYS_ADMIN. Borrows rules. */
LSH_API int lsh_seccomp_load(const char *const *rules, size_t n, struct lsh_err **err);
/* Checks rules as lsh_seccomp_load would, without loading them. */
LSH_API int lsh_seccomp_check(const char *const *rules, size_t n, struct lsh_err **err);
/* The filter lsh_seccomp_load would load for rules, compiled (libseccomp's BPF for every
 * architecture it covers), as a new lowercase hex string in *hex (the caller frees it):
 * what a cached plan carries so that a hit does not run libseccomp's generation again.
 * Borrows rules. */
LSH_API int lsh_seccomp_compile(const char *const *rules, size_t n, char **hex, struct lsh_err **err);
/* Loads the compiled filter hex (from lsh_seccomp_compile) as lsh_seccomp_load loads
 * one: -EINVAL unless hex is 1 to BPF_MAXINSNS instructions; the kernel verifies the
 * program. lsh_seccomp_bpf_check checks the form only. Borrows hex. */
LSH_API int lsh_seccomp_attach(const char *hex, struct lsh_err **err);
LSH_API int lsh_seccomp_bpf_check(const char *hex, struct lsh_err **err);
/* The native number of a system call name, or -ENOENT. */
LSH_API int lsh_seccomp_syscall(const char *name);
/* The native name of system call number nr as a new string, or NULL. */
LSH_API char *lsh_seccomp_syscall_name(int nr);

/* Writes value to /proc/sys/<name> (dots become slashes: "net.ipv4.ping_group_range"). */
LSH_API int lsh_sysctl_write(const char *name, const char *value, struct lsh_err **err);

/* setrlimit of a resource by name ("nofile", "as", "cpu", …; "RLIMIT_NOFILE" too); soft
 * or hard < 0 means unlimited. */
LSH_API int lsh_rlimit_set(const char *name, int64_t soft, int64_t hard, struct lsh_err **err);
/* The RLIMIT_* number of a name, or -EINVAL. */
LSH_API int lsh_rlimit_from_name(const char *name);

/* A per-run cgroup with limits, on cgroup v2 where the caller's cgroup offers the
 * controllers, else on the v1 hierarchies of each controller. */
struct lsh_cgroup;
struct lsh_cgroup_limits {
	int64_t memory;		/* bytes; 0: no limit */
	int64_t pids;		/* 0: no limit */
	int64_t cpu_quota;	/* microseconds per cpu_period; 0: no limit */
	int64_t cpu_period;	/* microseconds; 0: 100000 */
};
/* Creates the cgroup(s) named `name` and writes the limits: on v2 beside the caller's own
 * cgroup (under it at the v2 root), on v1 under the caller's own cgroup of each
 * controller. Returns 0 and a new handle in *out. */
LSH_API int lsh_cgroup_create(const char *name, const struct lsh_cgroup_limits *lim,
			      struct lsh_cgroup **out, struct lsh_err **err);
/* Moves pid into the cgroup(s). */
LSH_API int lsh_cgroup_attach(struct lsh_cgroup *cg, pid_t pid, struct lsh_err **err);
/* A new O_DIRECTORY fd of the v2 cgroup for CLONE_INTO_CGROUP, or -ENOENT on v1. */
LSH_API int lsh_cgroup_fd(struct lsh_cgroup *cg, struct lsh_err **err);
/* 1 when the memory limit was hit and the kernel killed a process for it, else 0. */
LSH_API int lsh_cgroup_oom_killed(struct lsh_cgroup *cg);
/* The directory of the memory cgroup (or the v2 one), for messages and tests. */
LSH_API const char *lsh_cgroup_path(struct lsh_cgroup *cg);
/* Removes the empty sibling cgroups named "<prefix><pid>" whose pid is gone: what a run
 * killed with SIGKILL could not remove itself. Never touches one with processes in it
 * (rmdir refuses) or whose pid is alive. Returns how many it removed. */
LSH_API int lsh_cgroup_sweep(struct lsh_cgroup *cg, const char *prefix);
/* Removes the cgroup(s) (killing what is left in them) and frees the handle. NULL is fine. */
LSH_API void lsh_cgroup_destroy(struct lsh_cgroup *cg);

/* ------------------------------------------------------------------------------------
 * Plans (plan.c) and their executor (spawn.c)
 *
 * A plan is an ordered list of steps built by the caller (the Lua planner, or a C program).
 * Each step has an operation, the process where it runs, an origin (the profile file:line
 * it came from, for error messages), and named fields. The op tables of the core
 * (*_ops.c) are the one description of every op: its name, its phase, its fields (name,
 * type, whether required) and what it does; lsh_plan_op_at() lists them.
 *
 * The plan's order is its execution order, and each op belongs to one phase, which also
 * says where it runs: the supervisor's steps before the child exists (prepare), exactly
 * one clone, the supervisor's steps that need the child's pid (host), the child's steps
 * (child), and exec, the last step. lsh_plan_validate refuses a plan whose steps are not
 * in that order, naming the offending step.
 *
 * The operations, the phase of each, and the fields of its step (the names a Lua step
 * table uses, each with its type; lsh_plan_op_by_name() gives the slots). What each does
 * is said beside its run function in the op tables (the *_ops.c files of core);
 * `lunshare explain` prints a plan.
 * (tests/spec/header_spec.lua holds this list to the op tables.)
 *   bind [child]: dev (boolean), dst (string), idmapped (integer), legacy (boolean), optional
 *       (boolean), readonly (boolean), src (string, required)
 *   caps [child]: keep (list), lock_securebits (boolean)
 *   cgroup [prepare]: cpu_period (integer), cpu_quota (integer), memory (integer), pids
 *       (integer)
 *   cgroup_enter [host]: no fields
 *   chdir [child]: path (string, required)
 *   clone [clone]: namespaces (list, required)
 *   close_fds [child]: keep (list)
 *   dev [child]: dst (string, required), links (list, required), mode (integer, required),
 *       nodes (list, required), ptmxmode (integer, required), pts_mode (integer, required),
 *       shm_mode (integer, required), size (string, required)
 *   dir [child]: dst (string, required), mode (integer)
 *   domainname [child]: name (string, required)
 *   exec [exec]: argv (list, required), env (list, required), reaper (boolean)
 *   exit [exec]: no fields
 *   file [child]: content (string), dst (string, required), mode (integer)
 *   gid_map [host]: helper (string), map (string, required)
 *   helper [host]: argv (list, required), files (list), files_uid (integer), ids_count
 *       (integer), ids_from (integer), join_user (boolean), name (string, required), netns
 *       (boolean), ready (string), state_path (string), state_root (string), timeout (integer)
 *   hostname [child]: name (string, required)
 *   idmap_tree [prepare]: dev (boolean), gid (integer, required), gid_count (integer),
 *       gid_first (integer), optional (boolean), owner (string), src (string, required), uid
 *       (integer, required), uid_count (integer), uid_first (integer)
 *   join [child]: cgroup (boolean), namespaces (list, required), pid (integer, required),
 *       starttime (integer, required), user_ns (integer)
 *   link_setup [child]: addresses (list), mtu (integer), name (string, required), up (boolean)
 *   lo_up [child]: no fields
 *   lock_mounts [child]: proc (string, required)
 *   mount_private [child]: path (string, required)
 *   mqueue [child]: dst (string, required)
 *   netns_join [prepare]: dir (string), name (string, required), state_path (string),
 *       state_root (string), topology (string)
 *   no_new_privs [child]: no fields
 *   overlay [child]: base (string), dst (string, required), idmapped (integer), lower (list,
 *       required), upper (string), work (string)
 *   pivot [child]: readonly (boolean)
 *   plug_attach [child]: dst (string, required)
 *   plug_detach [child]: dst (string, required), mnt_id (integer, required)
 *   plug_source [child]: dev (boolean), idmapped (integer), own_view (boolean), pid (integer,
 *       required), readonly (boolean), src (string, required), starttime (integer, required),
 *       user_ns (integer)
 *   plug_target [child]: no fields
 *   plug_veth [host]: addresses (list), master (string), mtu (integer), name (string,
 *       required), near_pid (integer), near_starttime (integer), near_user_ns (integer), peer
 *       (string, required), pid (integer, required), starttime (integer, required), user_ns
 *       (integer)
 *   proc [child]: dst (string, required), readonly (list, required)
 *   pty [child]: no fields
 *   record [host]: data (string, required), name (string, required), state_path (string,
 *       required), state_root (string, required)
 *   relay [host]: allow (list, required), allow_private (list), gate (integer, required),
 *       helper_id (boolean), log (string), port (integer, required), uid (integer)
 *   remount_ro [child]: dst (string, required)
 *   rlimit [child]: hard (integer), resource (string, required), soft (integer)
 *   rootfs [child]: mode (integer, required), scratch_mode (integer, required), size (string)
 *   route [child]: dev (string), to (string, required), via (string)
 *   seccomp [child]: bpf (string), rules (list, required)
 *   session_keyring [child]: no fields
 *   set_ids [child]: gid (integer), uid (integer)
 *   setgroups [host]: allow (boolean)
 *   setsid [child]: no fields
 *   symlink [child]: dst (string, required), target (string, required)
 *   sysctl [child]: name (string, required), value (string, required)
 *   timens [child]: boottime (integer), monotonic (integer)
 *   timeout [prepare]: grace_ms (integer), ms (integer, required)
 *   tmpfs [child]: dst (string, required), mode (integer, required), size (string)
 *   uid_map [host]: helper (string), map (string, required)
 *   veth [host]: addresses (list), master (string), mtu (integer), name (string, required),
 *       peer (string, required)
 * ---------------------------------------------------------------------------------- */

enum lsh_where { LSH_WHERE_SUPERVISOR = 0, LSH_WHERE_CHILD = 1 };

enum lsh_phase {
	LSH_PHASE_PREPARE = 0, /* supervisor, before the clone (the cgroup to clone into) */
	LSH_PHASE_CLONE,       /* the clone into new namespaces */
	LSH_PHASE_HOST,	       /* supervisor, after the clone: id maps, host-side links */
	LSH_PHASE_CHILD,       /* the child, in its namespaces */
	LSH_PHASE_EXEC,	       /* the command */
	LSH_PHASE_COUNT
};

enum lsh_arg_type { LSH_ARG_NONE = 0, LSH_ARG_STR, LSH_ARG_INT, LSH_ARG_BOOL, LSH_ARG_LIST };

enum { LSH_STEP_STRS = 6, LSH_STEP_INTS = 8, LSH_STEP_LISTS = 2, LSH_OP_FIELDS = 12 };

struct lsh_op_field {
	const char *name;	/* the field name in the Lua step table */
	enum lsh_arg_type type;
	int slot;		/* index into strs / ints (int and bool) / lists, named per op */
	int required;
};

struct lsh_plan_step;
struct lsh_plan_facts;
struct lsh_spawn_ctx;

struct lsh_op {
	const char *name;	/* "hostname", "uid_map", … */
	enum lsh_phase phase;	/* when it runs, and so where (lsh_phase_where) */
	struct lsh_op_field fields[LSH_OP_FIELDS]; /* terminated by a NULL name */
	/* What can be checked without acting (NULL: nothing more than the fields); records
	 * in facts what later steps and the executor need (the clone's namespaces). */
	int (*check)(const struct lsh_plan_step *step, struct lsh_plan_facts *facts, struct lsh_err **err);
	int (*run)(const struct lsh_plan_step *step, struct lsh_spawn_ctx *ctx, struct lsh_err **err);
};

struct lsh_plan_step {
	const struct lsh_op *op;
	enum lsh_where where;
	char *origin;			/* may be NULL */
	char *strs[LSH_STEP_STRS];	/* owned */
	int64_t ints[LSH_STEP_INTS];
	char **lists[LSH_STEP_LISTS];	/* owned, NULL-terminated */
	size_t nlists[LSH_STEP_LISTS];
	unsigned ints_set;		/* bit i: ints[i] was set (a required int may be 0) */
};

struct lsh_plan;

/* The i-th operation the executor knows (0-based), NULL past the last. */
LSH_API const struct lsh_op *lsh_plan_op_at(size_t i);
LSH_API const struct lsh_op *lsh_plan_op_by_name(const char *name);
/* The field of op called name, or NULL. */
LSH_API const struct lsh_op_field *lsh_op_field(const struct lsh_op *op, const char *name);
/* Where the steps of a phase run, and the phase's name ("prepare", "clone", "host",
 * "child", "exec"); lsh_where_name gives "supervisor" or "child". */
LSH_API enum lsh_where lsh_phase_where(enum lsh_phase phase);
LSH_API const char *lsh_phase_name(enum lsh_phase phase);
LSH_API const char *lsh_where_name(enum lsh_where where);

LSH_API struct lsh_plan *lsh_plan_new(void);
LSH_API void lsh_plan_free(struct lsh_plan *plan);
/* Appends an empty step for op and returns it for the caller to fill with the setters
 * below (which copy). NULL on ENOMEM. */
LSH_API struct lsh_plan_step *lsh_plan_add(struct lsh_plan *plan, const struct lsh_op *op,
					   enum lsh_where where, const char *origin);
/* Set the step's field called field: a string, an integer or boolean, a list of strings.
 * -EINVAL when the op has no such field or it is of another type, -ENOMEM. */
LSH_API int lsh_plan_step_set_str(struct lsh_plan_step *step, const char *field, const char *s);
LSH_API int lsh_plan_step_set_int(struct lsh_plan_step *step, const char *field, int64_t v);
LSH_API int lsh_plan_step_set_list(struct lsh_plan_step *step, const char *field, const char *const *v,
				   size_t n);
LSH_API size_t lsh_plan_len(const struct lsh_plan *plan);
LSH_API const struct lsh_plan_step *lsh_plan_step(const struct lsh_plan *plan, size_t i);
/* Checks everything about the plan that can be known without acting: known ops where they
 * run, required fields, each op's own checks (the clone's namespaces, a reaper only with a
 * pid namespace), one clone step, exec last, and every step in its phase's order. On
 * failure *failed_step is the index of the offending step (or -1). */
LSH_API int lsh_plan_validate(const struct lsh_plan *plan, long *failed_step, struct lsh_err **err);
/* A plan as bytes and back (plan_codec.c), for the plan cache. encode: *out is a new
 * NUL-terminated string of *len bytes. decode: the text is untrusted; each step's op is
 * looked up by name and each field set through the setters above (of the op's own type),
 * so a malformed text is refused with EINVAL and a line number; the caller then validates
 * the plan (lsh_plan_validate, as lsh_spawn does) like any other. */
LSH_API int lsh_plan_encode(const struct lsh_plan *plan, char **out, size_t *len, struct lsh_err **err);
LSH_API int lsh_plan_decode(const char *text, size_t len, struct lsh_plan **out, struct lsh_err **err);

struct lsh_spawn_result {
	int status;	/* waitpid() status of the sandbox's first process */
	int exit_code;	/* the shell status: code, or 128+N for a signal */
	long failed_step; /* index of the step that failed, -1 when none */
	pid_t pid;	/* the child's pid in the caller's namespace (0 if never started) */
	int oom_killed;	/* the run's memory cgroup killed a process at its limit */
	int timed_out;	/* a "timeout" step's deadline passed and the sandbox was ended */
	int64_t cpu_us;	/* CPU time (user and system) of the sandbox's processes that were
			 * reaped: the command, and with a pid namespace what pid 1 reaped */
};

/* Executes a validated plan: runs the supervisor steps, clones the child, lets it run its
 * steps and exec, forwards SIGINT/SIGTERM/SIGHUP/SIGQUIT/SIGUSR1/SIGUSR2 to it (the first
 * four to the whole sandbox, which is killed 3 s later if still there), waits, and undoes
 * what the supervisor created in reverse order. With a "pty" step it proxies fds 0 and 1
 * to the sandbox's pty, fd 0 raw meanwhile when a terminal (restored before it returns),
 * passes on the window size, and stops itself when the sandbox's job stops (continuing
 * the job when it is continued; the terminal is raw, and read, only while the run is its
 * foreground: after bg the run goes on without it). After the command's end it drains the
 * pty for at most 100 ms: a process outside the sandbox's process group may hold it
 * longer. With a
 * "timeout" step it ends the sandbox at the deadline (res->timed_out). Without a pid
 * namespace, the process group the child leads is killed when the child ends. Returns 0
 * when the command ran (its status in *res), or a negative errno with *err and
 * res->failed_step naming the failure. */
LSH_API int lsh_spawn(const struct lsh_plan *plan, struct lsh_spawn_result *res,
		      struct lsh_err **err);

/* lsh_spawn's choices beyond the plan. LSH_SPAWN_EARLY: for a caller about to exit (the
 * CLI's run). When pid 1 (a reaper) reports that the command exited normally and no other
 * process is left in the sandbox, and the supervisor has nothing to take down (no cgroup,
 * record, helper, …) and no pty to drain, return at once with the command's status,
 * without waiting for pid 1's own exit: the kernel's teardown of the namespaces (their
 * mounts, the network namespace) happens in that exit, and takes milliseconds. pid 1 is
 * then left unreaped, to the caller's exit (it dies with the supervisor in any case);
 * res->cpu_us is 0. Every other end is waited for as lsh_spawn waits. */
#define LSH_SPAWN_EARLY 1u
LSH_API int lsh_spawn_with(const struct lsh_plan *plan, unsigned flags, struct lsh_spawn_result *res,
			   struct lsh_err **err);

#ifdef __cplusplus
}
#endif
#endif
