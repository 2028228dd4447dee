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
	lsh_ops_plug,
	lsh_ops_security,
	lsh_ops_helper,
	lsh_ops_relay,
	lsh_ops_record,
	lsh_ops_enter,
};

static const char *const phase_names[LSH_PHASE_COUNT] = { "prepare", "clone", "host", "child", "exec" };
static const char *const where_names[] = { "supervisor", "child" };

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

const struct lsh_op_field *lsh_op_field(const struct lsh_op *op, const char *name)
{
	for (const struct lsh_op_field *f = op->fields; name && f->name; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

enum lsh_where lsh_phase_where(enum lsh_phase phase)
{
	return phase == LSH_PHASE_CHILD || phase == LSH_PHASE_EXEC ? LSH_WHERE_CHILD : LSH_WHERE_SUPERVISOR;
}

const char *lsh_phase_name(enum lsh_phase phase)
{
	return (unsigned)phase < LSH_PHASE_COUNT ? phase_names[phase] : "?";
}

const char *lsh_where_name(enum lsh_where where)
{
	return (unsigned)where < LSH_ARRAY_SIZE(where_names) ? where_names[where] : "?";
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

/* The slot of the step's field called name, when it has the type. */
static int slot_of(const struct lsh_plan_step *step, const char *name, enum lsh_arg_type type)
{
	const struct lsh_op_field *f = step->op ? lsh_op_field(step->op, name) : NULL;
	if (f == NULL || !(f->type == type || (type == LSH_ARG_INT && f->type == LSH_ARG_BOOL)))
		return -EINVAL;
	return f->slot;
}

int lsh_plan_step_set_str(struct lsh_plan_step *step, const char *field, const char *s)
{
	int slot = slot_of(step, field, LSH_ARG_STR);
	if (slot < 0)
		return slot;
	char *copy = s ? strdup(s) : NULL;
	if (s && copy == NULL)
		return -ENOMEM;
	free(step->strs[slot]);
	step->strs[slot] = copy;
	return 0;
}

int lsh_plan_step_set_int(struct lsh_plan_step *step, const char *field, int64_t v)
{
	int slot = slot_of(step, field, LSH_ARG_INT);
	if (slot < 0)
		return slot;
	step->ints[slot] = v;
	step->ints_set |= 1u << slot;
	return 0;
}

int lsh_plan_step_set_list(struct lsh_plan_step *step, const char *field, const char *const *v, size_t n)
{
	int slot = slot_of(step, field, LSH_ARG_LIST);
	if (slot < 0)
		return slot;
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

/* What a step of each phase is, for the message that says it came too early. */
static const char *const too_early[LSH_PHASE_COUNT] = {
	[LSH_PHASE_HOST] = "a supervisor step that needs the sandbox's process",
	[LSH_PHASE_CHILD] = "a step of the child",
	[LSH_PHASE_EXEC] = "the command",
};

int lsh_plan_check(const struct lsh_plan *plan, struct lsh_plan_facts *facts, long *failed_step,
		   struct lsh_err **err)
{
	enum lsh_phase at = LSH_PHASE_PREPARE;
	long last = -1; /* the step that set `at` */

	memset(facts, 0, sizeof *facts);
	facts->clone_at = -1;
	*failed_step = -1;
	for (size_t i = 0; i < plan->n; i++) {
		const struct lsh_plan_step *s = &plan->steps[i];
		*failed_step = (long)i;
		if (s->op == NULL)
			return lsh_err_msg(err, EINVAL, "step %zu: no operation", i + 1);
		const struct lsh_op *op = s->op;
		if (s->where != lsh_phase_where(op->phase))
			return lsh_err_msg(err, EINVAL, "step %zu (%s): cannot run in the %s", i + 1, op->name,
					   lsh_where_name(s->where));
		for (const struct lsh_op_field *f = op->fields; f->name; f++) {
			int missing = (f->type == LSH_ARG_STR && s->strs[f->slot] == NULL) ||
				      (f->type == LSH_ARG_LIST && s->lists[f->slot] == NULL) ||
				      ((f->type == LSH_ARG_INT || f->type == LSH_ARG_BOOL) &&
				       !(s->ints_set & (1u << f->slot)));
			if (f->required && missing)
				return lsh_err_msg(err, EINVAL, "step %zu (%s): missing field %s", i + 1, op->name,
						   f->name);
		}
		/* The order: what runs first comes first. The executor walks the plan once per
		 * process, so a step out of its phase's place would run at the wrong time. */
		if (op->phase < at)
			return lsh_err_msg(err, EINVAL, "step %zu (%s): out of order: a %s step after step %ld (%s), "
					   "a %s step; steps run in the order prepare, clone, host, child, exec",
					   i + 1, op->name, lsh_phase_name(op->phase), last + 1,
					   plan->steps[last].op->name, lsh_phase_name(at));
		if (op->phase == LSH_PHASE_CLONE && facts->clone_at >= 0)
			return lsh_err_msg(err, EINVAL, "step %zu: a second clone step", i + 1);
		if (op->phase > LSH_PHASE_CLONE && facts->clone_at < 0)
			return lsh_err_msg(err, EINVAL, "step %zu (%s): %s, it must come after the clone step",
					   i + 1, op->name, too_early[op->phase]);
		if (op->phase == LSH_PHASE_EXEC && i + 1 != plan->n)
			return lsh_err_msg(err, EINVAL, "step %zu: exec must be the last step", i + 1);
		if (op->phase == LSH_PHASE_CLONE)
			facts->clone_at = (long)i;
		if (op->check && op->check(s, facts, err) < 0)
			return lsh_err_wrap(err, "step %zu (%s)", i + 1, op->name);
		at = op->phase;
		last = (long)i;
	}
	if (facts->clone_at < 0) {
		*failed_step = -1;
		return lsh_err_msg(err, EINVAL, "the plan has no clone step");
	}
	if (at != LSH_PHASE_EXEC)
		return lsh_err_msg(err, EINVAL, "step %zu: the last step must be exec", plan->n);
	*failed_step = -1;
	return 0;
}

int lsh_plan_validate(const struct lsh_plan *plan, long *failed_step, struct lsh_err **err)
{
	struct lsh_plan_facts facts;
	return lsh_plan_check(plan, &facts, failed_step, err);
}
