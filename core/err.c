/* The error record of the C core: crun's contract (a negative errno returned, a message
 * that callers wrap with their context on the way up), without any printing. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Returned when the record itself cannot be allocated; lsh_err_free() never frees it. */
static struct lsh_err nomem = { ENOMEM, (char *)"out of memory" };

static int set(struct lsh_err **err, int errnum, int with_strerror, const char *fmt, va_list ap)
{
	char *text = NULL, *msg = NULL;

	if (err == NULL)
		return -errnum;
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	if (text != NULL && with_strerror) {
		if (asprintf(&msg, "%s: %s", text, strerror(errnum)) < 0)
			msg = NULL;
		free(text);
	} else {
		msg = text;
	}
	struct lsh_err *e = msg ? malloc(sizeof *e) : NULL;
	if (e == NULL) {
		free(msg);
		lsh_err_free(*err);
		*err = &nomem;
		return -errnum;
	}
	e->code = errnum;
	e->msg = msg;
	lsh_err_free(*err);
	*err = e;
	return -errnum;
}

int lsh_err_set(struct lsh_err **err, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = set(err, errnum, 1, fmt, ap);
	va_end(ap);
	return r;
}

int lsh_err_msg(struct lsh_err **err, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = set(err, errnum, 0, fmt, ap);
	va_end(ap);
	return r;
}

int lsh_err_wrap(struct lsh_err **err, const char *fmt, ...)
{
	char *prefix = NULL, *msg = NULL;
	va_list ap;

	if (err == NULL || *err == NULL)
		return -EIO;
	if (*err == &nomem)
		return -ENOMEM;
	va_start(ap, fmt);
	int r = vasprintf(&prefix, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -(*err)->code;
	if (asprintf(&msg, "%s: %s", prefix, (*err)->msg) >= 0) {
		free((*err)->msg);
		(*err)->msg = msg;
	}
	free(prefix);
	return -(*err)->code;
}

void lsh_err_free(struct lsh_err *err)
{
	if (err == NULL || err == &nomem)
		return;
	free(err->msg);
	free(err);
}
