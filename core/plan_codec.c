/* Plans as bytes, for the plan cache: a plan written by one run and read back by a later
 * one. The text is untrusted when read (a file can be corrupted, or written by whoever
 * could write the cache), so the decoder is strict and bounded, builds the plan through the
 * same setters as any caller (each field by its name in the op table, of the op's type),
 * and leaves the checks to lsh_plan_validate, which the executor runs on every plan. The
 * format is length-prefixed, so any byte may appear in a string:
 *
 *   LSHPLAN 1\n
 *   step OP WHERE ORIGIN\n        WHERE 0|1; ORIGIN "-" or LEN:BYTES
 *   s FIELD LEN:BYTES\n           a string field
 *   i FIELD INTEGER\n             an integer or boolean field (those not 0)
 *   l FIELD COUNT\n               a list field, then COUNT lines LEN:BYTES\n
 *   end\n
 */
#include "internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define MAGIC "LSHPLAN 1\n"

enum { MAX_STEPS = 4096, MAX_LIST = 65536 };

struct buf {
	char *p;
	size_t len, cap;
	int oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (p == NULL) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void put_bytes(struct buf *b, const char *s)
{
	char n[32];
	snprintf(n, sizeof n, "%zu:", strlen(s));
	puts_(b, n);
	puts_(b, s);
}

int lsh_plan_encode(const struct lsh_plan *plan, char **out, size_t *len, struct lsh_err **err)
{
	struct buf b = { 0 };
	char num[64];
	puts_(&b, MAGIC);
	for (size_t i = 0; i < lsh_plan_len(plan); i++) {
		const struct lsh_plan_step *s = lsh_plan_step(plan, i);
		snprintf(num, sizeof num, " %d ", (int)s->where);
		puts_(&b, "step ");
		puts_(&b, s->op->name);
		puts_(&b, num);
		if (s->origin)
			put_bytes(&b, s->origin);
		else
			puts_(&b, "-");
		puts_(&b, "\n");
		for (const struct lsh_op_field *f = s->op->fields; f->name; f++) {
			switch (f->type) {
			case LSH_ARG_STR:
				if (s->strs[f->slot] == NULL)
					break;
				puts_(&b, "s ");
				puts_(&b, f->name);
				puts_(&b, " ");
				put_bytes(&b, s->strs[f->slot]);
				puts_(&b, "\n");
				break;
			case LSH_ARG_INT:
			case LSH_ARG_BOOL:
				/* An int that was set is kept, 0 too: a required one may be 0. */
				if (f->type == LSH_ARG_INT ? !(s->ints_set & (1u << f->slot)) : s->ints[f->slot] == 0)
					break;
				snprintf(num, sizeof num, " %" PRId64 "\n", s->ints[f->slot]);
				puts_(&b, "i ");
				puts_(&b, f->name);
				puts_(&b, num);
				break;
			case LSH_ARG_LIST:
				if (s->lists[f->slot] == NULL)
					break;
				snprintf(num, sizeof num, " %zu\n", s->nlists[f->slot]);
				puts_(&b, "l ");
				puts_(&b, f->name);
				puts_(&b, num);
				for (size_t k = 0; k < s->nlists[f->slot]; k++) {
					put_bytes(&b, s->lists[f->slot][k]);
					puts_(&b, "\n");
				}
				break;
			case LSH_ARG_NONE:
			default:
				break;
			}
		}
		puts_(&b, "end\n");
	}
	if (b.oom) {
		free(b.p);
		return lsh_err_set(err, ENOMEM, "encode the plan");
	}
	*out = b.p;
	*len = b.len;
	return 0;
}

/* ---- decoding ---------------------------------------------------------------------- */

struct rd {
	const char *p, *end;
	unsigned line;
};

static int bad(struct rd *r, struct lsh_err **err, const char *what)
{
	return lsh_err_msg(err, EINVAL, "cached plan: line %u: expected %s", r->line, what);
}

/* A word up to the next space or newline (not consumed), into w (NUL-terminated). */
static int word(struct rd *r, char *w, size_t size)
{
	size_t n = 0;
	while (r->p < r->end && *r->p != ' ' && *r->p != '\n') {
		if (n + 1 >= size)
			return -1;
		w[n++] = *r->p++;
	}
	w[n] = '\0';
	return n > 0 ? 0 : -1;
}

static int expect(struct rd *r, char c)
{
	if (r->p >= r->end || *r->p != c)
		return -1;
	if (c == '\n')
		r->line++;
	r->p++;
	return 0;
}

static int number(struct rd *r, int64_t min, int64_t max, int64_t *v)
{
	char w[32], *e;
	if (word(r, w, sizeof w) < 0)
		return -1;
	errno = 0;
	long long x = strtoll(w, &e, 10);
	if (errno || *e || x < min || x > max || (w[0] == '0' && w[1]) || (w[0] == '-' && w[1] == '0'))
		return -1;
	*v = x;
	return 0;
}

/* LEN:BYTES, with no NUL among the bytes (every string in a plan is a C string): a new
 * string in *s. */
static int bytes(struct rd *r, char **s)
{
	int64_t n;
	char w[24], *e;
	size_t k = 0;
	while (r->p < r->end && *r->p != ':' && k + 1 < sizeof w)
		w[k++] = *r->p++;
	w[k] = '\0';
	if (k == 0 || expect(r, ':') < 0)
		return -1;
	errno = 0;
	n = strtoll(w, &e, 10);
	if (errno || *e || n < 0 || (w[0] == '0' && w[1]) || n > r->end - r->p || memchr(r->p, '\0', (size_t)n))
		return -1;
	if ((*s = strndup(r->p, (size_t)n)) == NULL)
		return -ENOMEM;
	r->p += n;
	return 0;
}

static void free_strs(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int field_line(struct rd *r, struct lsh_plan_step *s, struct lsh_err **err)
{
	char kind[4], name[64];
	if (word(r, kind, sizeof kind) < 0 || expect(r, ' ') < 0 || word(r, name, sizeof name) < 0 ||
	    expect(r, ' ') < 0)
		return bad(r, err, "a field: KIND NAME VALUE");
	const struct lsh_op_field *f = lsh_op_field(s->op, name);
	if (f == NULL)
		return bad(r, err, "a field of the step's op");
	int rc;
	if (strcmp(kind, "s") == 0 && f->type == LSH_ARG_STR) {
		char *v = NULL;
		if ((rc = bytes(r, &v)) < 0 || expect(r, '\n') < 0) {
			free(v);
			return rc == -ENOMEM ? lsh_err_set(err, ENOMEM, "cached plan") : bad(r, err, "LEN:BYTES");
		}
		rc = lsh_plan_step_set_str(s, name, v);
		free(v);
	} else if (strcmp(kind, "i") == 0 && (f->type == LSH_ARG_INT || f->type == LSH_ARG_BOOL)) {
		int64_t v;
		if (number(r, f->type == LSH_ARG_BOOL ? 0 : INT64_MIN, f->type == LSH_ARG_BOOL ? 1 : INT64_MAX, &v) < 0 ||
		    expect(r, '\n') < 0)
			return bad(r, err, f->type == LSH_ARG_BOOL ? "1 (a boolean field)" : "an integer");
		rc = lsh_plan_step_set_int(s, name, v);
	} else if (strcmp(kind, "l") == 0 && f->type == LSH_ARG_LIST) {
		int64_t n;
		if (number(r, 0, MAX_LIST, &n) < 0 || expect(r, '\n') < 0)
			return bad(r, err, "a count of list items");
		char **v = calloc((size_t)n + 1, sizeof *v);
		if (v == NULL)
			return lsh_err_set(err, ENOMEM, "cached plan");
		for (int64_t k = 0; k < n; k++)
			if ((rc = bytes(r, &v[k])) < 0 || expect(r, '\n') < 0) {
				free_strs(v, (size_t)n);
				return rc == -ENOMEM ? lsh_err_set(err, ENOMEM, "cached plan") : bad(r, err, "LEN:BYTES");
			}
		rc = lsh_plan_step_set_list(s, name, (const char *const *)v, (size_t)n);
		free_strs(v, (size_t)n);
	} else {
		return bad(r, err, "a field of its own type (s, i or l)");
	}
	return rc < 0 ? lsh_err_set(err, -rc, "cached plan: field %s", name) : 0;
}

int lsh_plan_decode(const char *text, size_t len, struct lsh_plan **out, struct lsh_err **err)
{
	struct rd r = { text, text + len, 1 };
	*out = NULL;
	if (len < sizeof MAGIC - 1 || memcmp(text, MAGIC, sizeof MAGIC - 1) != 0)
		return lsh_err_msg(err, EINVAL, "cached plan: not a plan of this version");
	r.p += sizeof MAGIC - 1;
	r.line = 2;
	struct lsh_plan *plan = lsh_plan_new();
	if (plan == NULL)
		return lsh_err_set(err, ENOMEM, "cached plan");
	int rc = 0;
	while (rc == 0 && r.p < r.end) {
		char w[64];
		int64_t where;
		char *origin = NULL;
		if (lsh_plan_len(plan) >= MAX_STEPS) {
			rc = bad(&r, err, "at most 4096 steps");
			break;
		}
		if (word(&r, w, sizeof w) < 0 || strcmp(w, "step") != 0 || expect(&r, ' ') < 0 ||
		    word(&r, w, sizeof w) < 0 || expect(&r, ' ') < 0 || number(&r, 0, 1, &where) < 0 ||
		    expect(&r, ' ') < 0) {
			rc = bad(&r, err, "step OP WHERE ORIGIN");
			break;
		}
		const struct lsh_op *op = lsh_plan_op_by_name(w);
		if (op == NULL) {
			rc = bad(&r, err, "an op the executor knows");
			break;
		}
		if (r.p < r.end && *r.p == '-')
			r.p++;
		else if (bytes(&r, &origin) < 0) {
			rc = bad(&r, err, "an origin (LEN:BYTES or -)");
			break;
		}
		struct lsh_plan_step *s = expect(&r, '\n') < 0 ? NULL : lsh_plan_add(plan, op, (enum lsh_where)where, origin);
		free(origin);
		if (s == NULL) {
			rc = bad(&r, err, "a step line");
			break;
		}
		for (;;) {
			if (r.end - r.p >= 4 && memcmp(r.p, "end\n", 4) == 0) {
				r.p += 4;
				r.line++;
				break;
			}
			if (r.p >= r.end) {
				rc = bad(&r, err, "end");
				break;
			}
			if ((rc = field_line(&r, s, err)) < 0)
				break;
		}
	}
	if (rc < 0) {
		lsh_plan_free(plan);
		return rc;
	}
	*out = plan;
	return 0;
}
