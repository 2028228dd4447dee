/* Plans: the ordered steps the executor performs, built by the caller, checked here. */
#include "internal.h"

#include <string.h>

struct lsh_plan {
	struct lsh_plan_step *steps;
	size_t n, cap;
};

/* Each area of the core contributes its table of ops; the executor knows no other list. */
static const struct lsh_op *const areas[] = {
	lsh_ops_proc,
	lsh_ops_net,
	lsh_ops_mount,
	lsh_ops_security,
};

const struct lsh_op *lsh_plan_op_at(size_t i)
{
	for (size_t a = 0; a < LSH_ARRAY_SIZE(areas); a++)
		for (const struct lsh_op *op = areas[a]; op->name; op++)
			if (i-- == 0)
				return op;
	return NULL;
}

const struct lsh_op *lsh_plan_op_by_name(const char *name)
{
	const struct lsh_op *op;
	for (size_t i = 0; name && (op = lsh_plan_op_at(i)) != NULL; i++)
		if (strcmp(op->name, name) == 0)
			return op;
	return NULL;
}

struct lsh_plan *lsh_plan_new(void)
{
	return calloc(1, sizeof(struct lsh_plan));
}

static void free_list(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void lsh_plan_free(struct lsh_plan *plan)
{
	if (plan == NULL)
		return;
	for (size_t i = 0; i < plan->n; i++) {
		struct lsh_plan_step *s = &plan->steps[i];
		free(s->origin);
		for (int j = 0; j < LSH_STEP_STRS; j++)
			free(s->strs[j]);
		for (int j = 0; j < LSH_STEP_LISTS; j++)
			free_list(s->lists[j]);
	}
	free(plan->steps);
	free(plan);
}

struct lsh_plan_step *lsh_plan_add(struct lsh_plan *plan, const struct lsh_op *op,
				   enum lsh_where where, const char *origin)
{
	if (plan->n == plan->cap) {
		size_t cap = plan->cap ? plan->cap * 2 : 16;
		struct lsh_plan_step *s = realloc(plan->steps, cap * sizeof *s);
		if (s == NULL)
			return NULL;
		plan->steps = s;
		plan->cap = cap;
	}
	struct lsh_plan_step *s = &plan->steps[plan->n];
	memset(s, 0, sizeof *s);
	s->op = op;
	s->where = where;
	if (origin && (s->origin = strdup(origin)) == NULL)
		return NULL;
	plan->n++;
	return s;
}

int lsh_plan_step_set_str(struct lsh_plan_step *step, int slot, const char *s)
{
	if (slot < 0 || slot >= LSH_STEP_STRS)
		return -EINVAL;
	char *copy = s ? strdup(s) : NULL;
	if (s && copy == NULL)
		return -ENOMEM;
	free(step->strs[slot]);
	step->strs[slot] = copy;
	return 0;
}

int lsh_plan_step_set_list(struct lsh_plan_step *step, int slot, const char *const *v, size_t n)
{
	if (slot < 0 || slot >= LSH_STEP_LISTS)
		return -EINVAL;
	char **copy = calloc(n + 1, sizeof *copy);
	if (copy == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if ((copy[i] = strdup(v[i])) == NULL) {
			free_list(copy);
			return -ENOMEM;
		}
	free_list(step->lists[slot]);
	step->lists[slot] = copy;
	step->nlists[slot] = n;
	return 0;
}

size_t lsh_plan_len(const struct lsh_plan *plan)
{
	return plan->n;
}

const struct lsh_plan_step *lsh_plan_step(const struct lsh_plan *plan, size_t i)
{
	return i < plan->n ? &plan->steps[i] : NULL;
}

static const char *const where_names[] = { "supervisor", "child", "pid1" };

int lsh_plan_validate(const struct lsh_plan *plan, long *failed_step, struct lsh_err **err)
{
	long clone_at = -1;

	*failed_step = -1;
	for (size_t i = 0; i < plan->n; i++) {
		const struct lsh_plan_step *s = &plan->steps[i];
		*failed_step = (long)i;
		if (s->op == NULL)
			return lsh_err_msg(err, EINVAL, "step %zu: no operation", i + 1);
		if ((unsigned)s->where > LSH_WHERE_PID1 || !(s->op->wheres & (1u << s->where)))
			return lsh_err_msg(err, EINVAL, "step %zu (%s): cannot run in the %s", i + 1,
					   s->op->name,
					   (unsigned)s->where <= LSH_WHERE_PID1 ? where_names[s->where] : "?");
		for (const struct lsh_op_field *f = s->op->fields; f->name; f++) {
			int missing = (f->type == LSH_ARG_STR && s->strs[f->slot] == NULL) ||
				      (f->type == LSH_ARG_LIST && s->lists[f->slot] == NULL);
			if (f->required && missing)
				return lsh_err_msg(err, EINVAL, "step %zu (%s): missing field %s", i + 1,
						   s->op->name, f->name);
		}
		if (strcmp(s->op->name, "clone") == 0) {
			if (clone_at >= 0)
				return lsh_err_msg(err, EINVAL, "step %zu: a second clone step", i + 1);
			clone_at = (long)i;
		} else if (s->where != LSH_WHERE_SUPERVISOR && clone_at < 0) {
			return lsh_err_msg(err, EINVAL, "step %zu (%s): runs in the %s before the clone step",
					   i + 1, s->op->name, where_names[s->where]);
		}
		int is_exec = strcmp(s->op->name, "exec") == 0;
		if (is_exec != (i + 1 == plan->n))
			return lsh_err_msg(err, EINVAL, is_exec ? "step %zu: exec must be the last step"
							: "step %zu: the last step must be exec", i + 1);
	}
	*failed_step = -1;
	if (clone_at < 0)
		return lsh_err_msg(err, EINVAL, "the plan has no clone step");
	return 0;
}
