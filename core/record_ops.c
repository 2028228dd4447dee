/* The plan operation of a named sandbox: the supervisor records the running sandbox in
 * its private state directory, so that `lunshare ps`, `stop` and `enter` find it, and
 * removes the record on every exit path of the run (lsh_spawn_defer).
 *
 * The record is a file of two JSON lines, written aside and renamed into place only if its
 * name is free (a name in use is refused, whoever won a race), relative to the verified
 * directory, never through a symlink: the
 * planner's line (the name, the profile, what the sandbox's command was given: data the
 * planner wrote, copied as it is) and the executor's, which only it knows: the pids of
 * the sandbox's first process and of the supervisor with their start times (a pid with
 * its start time names one process for good), the uid, and the identities of the
 * namespaces the clone made. */
#include "internal.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* record */
enum { RECORD_ROOT, RECORD_PATH, RECORD_NAME, RECORD_DATA }; /* strs */

struct record {
	int dirfd;
	char name[256];
};

/* After the sandbox is gone: its record goes with it. */
static void record_undo(void *arg)
{
	struct record *rec = arg;
	unlinkat(rec->dirfd, rec->name, 0);
	close(rec->dirfd);
	free(rec);
}

static int check_record(const struct lsh_plan_step *s, struct lsh_plan_facts *facts, struct lsh_err **err)
{
	(void)facts;
	const char *name = s->strs[RECORD_NAME], *data = s->strs[RECORD_DATA];
	/* One component that lists never hide ('.' starts a file being written aside). */
	if (name[0] == '\0' || name[0] == '.' || strchr(name, '/') || strlen(name) > 64)
		return lsh_err_msg(err, EINVAL, "record: bad sandbox name \"%s\"", name);
	/* The planner's line is one JSON object: no newline may split the record. */
	if (data[0] != '{' || strchr(data, '\n'))
		return lsh_err_msg(err, EINVAL, "record: data must be one JSON object on one line");
	return 0;
}

static int put(char *buf, size_t size, size_t *len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int put(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = *len < size ? vsnprintf(buf + *len, size - *len, fmt, ap) : 0;
	va_end(ap);
	if (n < 0 || *len + (size_t)n >= size)
		return -ENOSPC;
	*len += (size_t)n;
	return 0;
}

/* The executor's line: {"pid":…,"starttime":…,"supervisor":…,"supervisor_starttime":…,
 * "uid":…,"ns":{"user":INODE,…}}. */
static int runtime_line(const struct lsh_spawn_ctx *ctx, char *buf, size_t size, struct lsh_err **err)
{
	struct lsh_proc_info child, self;
	int r;
	if ((r = lsh_proc_stat(ctx->pid, &child, err)) < 0 || (r = lsh_proc_stat(getpid(), &self, err)) < 0)
		return lsh_err_wrap(err, "record");
	size_t len = 0;
	r = put(buf, size, &len, "{\"pid\":%d,\"starttime\":%llu,\"supervisor\":%d,\"supervisor_starttime\":%llu,"
		"\"uid\":%u,\"ns\":{", (int)ctx->pid, (unsigned long long)child.starttime, (int)getpid(),
		(unsigned long long)self.starttime, (unsigned)ctx->euid);
	const char *sep = "";
	for (const struct lsh_ns_kind *k = lsh_ns_kinds(); r == 0 && k->name; k++) {
		uint64_t dev, ino;
		if (!(ctx->clone_flags & k->flag) || lsh_ns_id(ctx->pid, k, &dev, &ino, NULL) < 0)
			continue;
		r = put(buf, size, &len, "%s\"%s\":%llu", sep, k->name, (unsigned long long)ino);
		sep = ",";
	}
	if (r == 0)
		r = put(buf, size, &len, "}}\n");
	if (r < 0)
		return lsh_err_msg(err, ENOSPC, "record: the state line is too long");
	return (int)len;
}

static int op_record(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	const char *name = s->strs[RECORD_NAME], *data = s->strs[RECORD_DATA];
	int r = lsh_spawn_need(ctx, 0, 1, "record", err);
	if (r < 0)
		return r;
	char line[1024];
	int n = runtime_line(ctx, line, sizeof line, err);
	if (n < 0)
		return n;
	_cleanup_close_ int dirfd = lsh_statedir_open(s->strs[RECORD_ROOT], s->strs[RECORD_PATH],
						      LSH_STATEDIR_CREATE, err);
	if (dirfd < 0)
		return lsh_err_wrap(err, "record");
	size_t dlen = strlen(data);
	_cleanup_free_ char *text = malloc(dlen + 1 + (size_t)n + 1);
	if (text == NULL)
		return lsh_err_set(err, ENOMEM, "record");
	memcpy(text, data, dlen);
	text[dlen] = '\n';
	memcpy(text + dlen + 1, line, (size_t)n + 1);
	struct record *rec = calloc(1, sizeof *rec);
	if (rec == NULL)
		return lsh_err_set(err, ENOMEM, "record");
	snprintf(rec->name, sizeof rec->name, "%s", name);
	/* Written whole under a name lists skip, then renamed to its own name only if that
	 * is free (RENAME_NOREPLACE): a reader never sees half a record, and of two runs of
	 * one name one wins. A stale record of a run killed with SIGKILL was cleaned by the
	 * command that called us. */
	char tmp[300];
	snprintf(tmp, sizeof tmp, ".%s.%d", name, (int)getpid());
	unlinkat(dirfd, tmp, 0);
	r = lsh_statedir_write(dirfd, tmp, text, dlen + 1 + (size_t)n, LSH_STATE_CREATE, err);
	if (r < 0) {
		free(rec);
		return lsh_err_wrap(err, "record");
	}
	if (renameat2(dirfd, tmp, dirfd, name, RENAME_NOREPLACE) < 0) {
		int e = errno;
		unlinkat(dirfd, tmp, 0);
		free(rec);
		if (e == EEXIST)
			return lsh_err_msg(err, EEXIST, "record: a sandbox named \"%s\" is running", name);
		return lsh_err_set(err, e, "record: rename %s", name);
	}
	rec->dirfd = take_fd(&dirfd);
	return lsh_spawn_defer(ctx, record_undo, rec, err);
}

const struct lsh_op lsh_ops_record[] = {
	{ "record", LSH_PHASE_HOST,
	  { { "state_root", LSH_ARG_STR, RECORD_ROOT, 1 }, { "state_path", LSH_ARG_STR, RECORD_PATH, 1 },
	    { "name", LSH_ARG_STR, RECORD_NAME, 1 }, { "data", LSH_ARG_STR, RECORD_DATA, 1 } },
	  check_record, op_record },
	{ NULL, 0, { { NULL, 0, 0, 0 } }, NULL, NULL },
};
