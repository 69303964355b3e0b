/*
 * Workflow template steps: parse with jansson, require an array, print it
 * back compact with the member order kept (see steps_json.h).
 *
 * Scalars and keys are printed by json_dumps (JSON_COMPACT); the containers
 * are walked here, in their stored order (jansson keeps object members in
 * insertion order since 2.8, what JSON_PRESERVE_ORDER used to ask for), so
 * that each real gets the fewest significant digits that give it back
 * exactly: "0.1" stays "0.1", where json_dumps's one precision for the
 * whole document (17 by default) would print "0.10000000000000001", a
 * different number to jsonb (a real with more digits than a double holds
 * comes out as the nearest double). Duplicate keys are allowed (the last one wins,
 * as in jsonb). jansson rejects what jsonb rejects too (\u0000, lone
 * surrogates, invalid UTF-8, trailing text), and in addition integers beyond
 * 64 bits and reals beyond the double range: reported as out of range.
 * Messages never quote the input (it is row content).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdw/strbuf.h"
#include "steps_json.h"

enum { MAX_PRECISION = 17 };

/* Put J's own compact text (a scalar, or a key as a string), as jansson prints it. */
static void put_dumped(struct strbuf *o, json_t *j, size_t flags)
{
	char *s;

	if (!j) {
		o->oom = 1;
		return;
	}
	s = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT | flags);
	if (!s) {
		o->oom = 1;
		return;
	}
	strbuf_puts(o, s);
	free(s);
}

/*
 * Fewest significant digits that print V back exactly, and without an
 * exponent where one is avoidable (100.0 stays 100.0, not 1e2).
 */
static int real_digits(double v)
{
	char tmp[40];
	int big = (v >= 1 || v <= -1) && v < 1e17 && v > -1e17;

	for (int p = 1; p < MAX_PRECISION; p++) {
		snprintf(tmp, sizeof tmp, "%.*g", p, v);
		if (strtod(tmp, NULL) == v && !(big && strchr(tmp, 'e')))
			return p;
	}
	return MAX_PRECISION;
}

/*
 * Print J compact, members in their order. The containers are walked here
 * so that each real gets its own precision (json_dumps has one for all).
 */
static void dump(struct strbuf *o, json_t *j)
{
	size_t i;
	const char *k;
	json_t *v;

	switch (json_typeof(j)) {
	case JSON_ARRAY:
		strbuf_putc(o, '[');
		json_array_foreach(j, i, v)
		{
			if (i > 0)
				strbuf_putc(o, ',');
			dump(o, v);
		}
		strbuf_putc(o, ']');
		break;
	case JSON_OBJECT:
		i = 0;
		strbuf_putc(o, '{');
		json_object_foreach(j, k, v)
		{
			json_t *key = json_string(k);
			if (i++ > 0)
				strbuf_putc(o, ',');
			put_dumped(o, key, 0);
			json_decref(key);
			strbuf_putc(o, ':');
			dump(o, v);
		}
		strbuf_putc(o, '}');
		break;
	case JSON_REAL:
		put_dumped(o, j, JSON_REAL_PRECISION(real_digits(json_real_value(j))));
		break;
	default:
		put_dumped(o, j, 0);
		break;
	}
}

/*
 * jansson's parser reports a failed allocation as a syntax error, which
 * would reject a good row for good. So the parse runs with an allocator that
 * forwards to the installed one and notes a failure.
 */
static json_malloc_t next_malloc;
static int alloc_failed;

static void *noting_malloc(size_t n)
{
	void *p = next_malloc(n);
	if (!p)
		alloc_failed = 1;
	return p;
}

static json_t *parse(const char *in, json_error_t *e, int *oom)
{
	json_malloc_t m;
	json_free_t f;
	json_t *j;

	json_get_alloc_funcs(&m, &f);
	next_malloc = m;
	alloc_failed = 0;
	json_set_alloc_funcs(noting_malloc, f);
	j = json_loads(in, JSON_DECODE_ANY, e);
	json_set_alloc_funcs(m, f);
	*oom = alloc_failed || (!j && json_error_code(e) == json_error_out_of_memory);
	if (j && *oom) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

static const char *type_name(json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return "a JSON object";
	case JSON_STRING:
		return "a JSON string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a JSON number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a JSON boolean";
	case JSON_NULL:
		return "JSON null";
	default:
		return "not an array";
	}
}

static int blank(const char *s)
{
	for (; *s; s++)
		if (!strchr(" \t\n\r\f\v", *s))
			return 0;
	return 1;
}

int wt_normalize_steps(const char *in, char **out, char *why, size_t whylen)
{
	json_error_t e;
	json_t *j;
	struct strbuf o = STRBUF_INIT;
	int oom;

	*out = NULL;
	if (!in) {
		*out = strdup("[]");
		return *out ? 0 : -2;
	}
	if (blank(in)) {
		snprintf(why, whylen, "steps is blank, not JSON");
		return -1;
	}
	j = parse(in, &e, &oom);
	if (oom)
		return -2;
	if (!j) {
		switch (json_error_code(&e)) {
		case json_error_invalid_utf8:
			snprintf(why, whylen, "steps is not valid UTF-8");
			break;
		case json_error_numeric_overflow:
			snprintf(why, whylen, "steps holds a number out of range (line %d, column %d)", e.line,
				 e.column);
			break;
		case json_error_stack_overflow:
			snprintf(why, whylen, "steps is nested too deeply");
			break;
		default:
			snprintf(why, whylen, "steps is not valid JSON (line %d, column %d)", e.line, e.column);
			break;
		}
		return -1;
	}
	if (!json_is_array(j)) {
		snprintf(why, whylen, "steps is %s, not an array", type_name(j));
		json_decref(j);
		return -1;
	}
	dump(&o, j);
	json_decref(j);
	*out = strbuf_take(&o);
	return *out ? 0 : -2;
}
