/* The plan codec (plan_codec.c): a plan read back from its bytes is the same plan, any
 * byte may sit in a string, and malformed text (an op or field the tables lack, a field of
 * another type, a length past the end, a NUL, a truncated step) is refused, never half
 * read. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "lunshare.h"

static struct lsh_plan *sample(void)
{
	struct lsh_plan *p = lsh_plan_new();
	const char *ns[] = { "user", "pid", "mount" };
	const char *argv[] = { "/bin/echo", "a b", "line\nnext", "" };
	struct lsh_plan_step *s = lsh_plan_add(p, lsh_plan_op_by_name("clone"), LSH_WHERE_SUPERVISOR, "p.lua:1");
	lsh_plan_step_set_list(s, "namespaces", ns, 3);
	s = lsh_plan_add(p, lsh_plan_op_by_name("hostname"), LSH_WHERE_CHILD, NULL);
	lsh_plan_step_set_str(s, "name", "box");
	s = lsh_plan_add(p, lsh_plan_op_by_name("exec"), LSH_WHERE_CHILD, "command line");
	lsh_plan_step_set_list(s, "argv", argv, 4);
	lsh_plan_step_set_list(s, "env", NULL, 0);
	lsh_plan_step_set_int(s, "reaper", 1);
	return p;
}

static int refused(const char *text)
{
	struct lsh_plan *p = NULL;
	struct lsh_err *err = NULL;
	int r = lsh_plan_decode(text, strlen(text), &p, &err);
	int ok_ = r == -EINVAL && p == NULL && err != NULL;
	lsh_err_free(err);
	lsh_plan_free(p);
	return ok_;
}

/* text with the first `from` replaced by `to`, in a new string. */
static char *edit(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	if (at == NULL)
		return NULL;
	size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
	char *out = malloc(n);
	memcpy(out, text, (size_t)(at - text));
	strcpy(out + (at - text), to);
	strcat(out, at + strlen(from));
	return out;
}

int main(void)
{
	struct lsh_err *err = NULL;
	struct lsh_plan *p = sample(), *back = NULL;
	char *text = NULL, *again = NULL;
	size_t len = 0, len2 = 0;
	long failed;

	ok(lsh_plan_encode(p, &text, &len, &err) == 0, "encodes");
	ok(lsh_plan_decode(text, len, &back, &err) == 0, "decodes");
	ok(back && lsh_plan_validate(back, &failed, &err) == 0, "the plan read back validates");
	ok(back && lsh_plan_encode(back, &again, &len2, &err) == 0 && len2 == len && memcmp(text, again, len) == 0,
	   "and encodes to the same bytes");
	const struct lsh_plan_step *s = back ? lsh_plan_step(back, 2) : NULL;
	const struct lsh_op *exec = lsh_plan_op_by_name("exec");
	int argv = lsh_op_field(exec, "argv")->slot, env = lsh_op_field(exec, "env")->slot;
	int reaper = lsh_op_field(exec, "reaper")->slot;
	ok(s && s->nlists[env] == 0 && s->lists[env] && s->lists[argv] && s->nlists[argv] == 4 &&
	   strcmp(s->lists[argv][2], "line\nnext") == 0 && strcmp(s->lists[argv][3], "") == 0 &&
	   s->ints[reaper] == 1 && strcmp(s->origin, "command line") == 0,
	   "a newline and an empty string survive, and so do an empty list, the origin and the reaper");
	ok(back && lsh_plan_step(back, 1)->origin == NULL, "no origin stays none");
	lsh_plan_free(back);
	back = NULL;

	static const char *const edits[][2] = {
		{ "step hostname", "step hostnam" },    /* an op the executor lacks */
		{ "s name 3:box", "s nam 3:box" },	 /* a field the op lacks */
		{ "s name 3:box", "i name 3" },	 /* a string field as an integer */
		{ "i reaper 1", "i reaper 2" },	 /* a boolean that is not one */
		{ "s name 3:box", "s name 99999:box" }, /* a length past the end */
		{ "s name 3:box", "s name 03:box" },	 /* a length not in its one spelling */
		{ "l argv 4", "l argv 5" },		 /* more items than there are */
		{ "step exec 1", "step exec 2" },	 /* a place that is none */
		{ "LSHPLAN 1", "LSHPLAN 2" },		 /* another version */
	};
	for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
		char *t = edit(text, edits[i][0], edits[i][1]);
		ok(t && refused(t), "refuses '%s' for '%s'", edits[i][1], edits[i][0]);
		free(t);
	}
	/* A NUL inside a string: C would see the string cut short. */
	char *nul = edit(text, "3:box", "3:b#x");
	if (nul)
		*strchr(nul, '#') = '\0';
	ok(nul && lsh_plan_decode(nul, len, &back, &err) == -EINVAL && back == NULL, "refuses a NUL inside a string");
	lsh_err_free(err);
	err = NULL;
	free(nul);
	ok(lsh_plan_decode(text, len - 2, &back, &err) == -EINVAL, "refuses a truncated step");
	lsh_err_free(err);

	free(text);
	free(again);
	lsh_plan_free(p);
	done_testing();
}
