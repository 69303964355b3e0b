/* Parsers of embedding providers' answers, treating every body as hostile (see embed_parse.h). */
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mdw/embed_parse.h"

/* An error body worth reading is small; anything bigger is not parsed. */
#define ERROR_BODY_MAX (1024u * 1024)

static const char *type_name(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "unknown";
}

static int window_has(const char *body, size_t len, size_t pos, const char *word)
{
	size_t from = pos > 16 ? pos - 16 : 0, to = pos + 16 < len ? pos + 16 : len, wl = strlen(word);

	for (size_t i = from; i + wl <= to; i++)
		if (memcmp(body + i, word, wl) == 0)
			return 1;
	return 0;
}

/*
 * Size checks and json_loadb. MAX_VALUES bounds the number of ',' in the
 * body (a cheap guard against answers that would expand into millions of
 * JSON nodes); 0 for no bound. NULL with ERR prefixed by WHAT.
 */
static json_t *load(const char *what, const char *body, size_t len, size_t maxlen, size_t max_values, char *err,
		    size_t errlen)
{
	json_error_t je;
	json_t *root;
	size_t pos;

	if (!body || len == 0) {
		snprintf(err, errlen, "invalid %s: empty body", what);
		return NULL;
	}
	if (len > maxlen) {
		snprintf(err, errlen, "invalid %s: body of %zu bytes is over the %zu-byte limit, not parsed", what, len,
			 maxlen);
		return NULL;
	}
	if (max_values) {
		size_t commas = 0;
		for (const char *p = body; (p = memchr(p, ',', len - (size_t)(p - body))) != NULL; p++)
			commas++;
		if (commas > max_values) {
			snprintf(err, errlen,
				 "invalid %s: body holds %zu separators, more than the expected vectors allow (%zu), "
				 "not parsed",
				 what, commas, max_values);
			return NULL;
		}
	}
	root = json_loadb(body, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
	if (root)
		return root;
	pos = je.position > 0 ? (size_t)je.position : 0;
	switch (json_error_code(&je)) {
	case json_error_premature_end_of_input:
		snprintf(err, errlen, "invalid %s: truncated JSON (%zu bytes, ends inside a value)", what, len);
		break;
	case json_error_end_of_input_expected:
		snprintf(err, errlen, "invalid %s: extra data after the JSON value at byte %zu", what, pos);
		break;
	case json_error_invalid_utf8:
		snprintf(err, errlen, "invalid %s: not UTF-8 near byte %zu", what, pos);
		break;
	case json_error_numeric_overflow:
		snprintf(err, errlen, "invalid %s: number out of range near byte %zu", what, pos);
		break;
	case json_error_duplicate_key:
		snprintf(err, errlen, "invalid %s: duplicate object key near byte %zu", what, pos);
		break;
	case json_error_null_character:
		snprintf(err, errlen, "invalid %s: NUL character near byte %zu", what, pos);
		break;
	case json_error_stack_overflow:
		snprintf(err, errlen, "invalid %s: JSON nested too deeply", what);
		break;
	case json_error_out_of_memory:
		snprintf(err, errlen, "invalid %s: out of memory while parsing %zu bytes", what, len);
		break;
	default:
		if (window_has(body, len, pos, "NaN") || window_has(body, len, pos, "nan") ||
		    window_has(body, len, pos, "Infinity") || window_has(body, len, pos, "inf"))
			snprintf(err, errlen, "invalid %s: non-finite number (NaN or Infinity) near byte %zu", what,
				 pos);
		else
			snprintf(err, errlen, "invalid %s: not JSON (syntax error near byte %zu)", what, pos);
		break;
	}
	return NULL;
}

/* Copy the WANT numbers of array ARR (named NAME, e.g. "data[2].embedding") into OUT. */
static int read_vector(const char *what, const char *name, const json_t *arr, int want, float *out, char *err,
		       size_t errlen)
{
	size_t n;

	if (!arr) {
		snprintf(err, errlen, "invalid %s: missing field \"%s\"", what, name);
		return -1;
	}
	if (!json_is_array(arr)) {
		snprintf(err, errlen, "invalid %s: \"%s\" is %s, expected an array of numbers", what, name,
			 type_name(arr));
		return -1;
	}
	n = json_array_size(arr);
	if (n != (size_t)want) {
		snprintf(err, errlen, "invalid %s: \"%s\" has %zu values, expected %d", what, name, n, want);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_array_get(arr, i);
		double d;
		if (!json_is_number(v)) {
			snprintf(err, errlen, "invalid %s: %s[%zu] is %s, expected a number", what, name, i,
				 type_name(v));
			return -1;
		}
		d = json_number_value(v);
		if (!isfinite(d) || fabs(d) > FLT_MAX) {
			snprintf(err, errlen, "invalid %s: %s[%zu] is not a finite float", what, name, i);
			return -1;
		}
		out[i] = (float)d;
	}
	return 0;
}

/* The count V (named PATH in messages, NULL when missing) as a non-negative int into *OUT. */
static int read_count(const char *what, const char *path, const json_t *v, int *out, char *err, size_t errlen)
{
	json_int_t n;

	if (!v) {
		snprintf(err, errlen, "invalid %s: missing field \"%s\"", what, path);
		return -1;
	}
	if (!json_is_integer(v)) {
		snprintf(err, errlen, "invalid %s: \"%s\" is %s, expected a non-negative integer", what, path,
			 json_is_real(v) ? "a fraction" : type_name(v));
		return -1;
	}
	n = json_integer_value(v);
	if (n < 0 || n > 0x7fffffff) {
		snprintf(err, errlen,
			 "invalid %s: \"%s\" is %" JSON_INTEGER_FORMAT ", expected an integer from 0 to %d", what, path,
			 n, 0x7fffffff);
		return -1;
	}
	*out = (int)n;
	return 0;
}

static int check_dims(const char *what, int want_dims, char *err, size_t errlen)
{
	if (want_dims < 1 || want_dims > EMBED_MAX_DIMS) {
		snprintf(err, errlen, "%s: dimensions %d out of range: expected 1 to %d", what, want_dims,
			 EMBED_MAX_DIMS);
		return -1;
	}
	return 0;
}

int embed_parse_bedrock(const char *body, size_t len, int want_dims, float *out, int *token_count, char *err,
			size_t errlen)
{
	static const char what[] = "Bedrock answer";
	json_t *root = NULL;
	int rc = -1;

	if (check_dims(what, want_dims, err, errlen) < 0)
		return -1;
	/* "embeddingsByType" may repeat the vector as float and binary. */
	root = load(what, body, len, EMBED_MAX_BODY, 3 * (size_t)want_dims + 64, err, errlen);
	if (!root)
		return -1;
	if (!json_is_object(root)) {
		snprintf(err, errlen, "invalid %s: top level is %s, expected an object", what, type_name(root));
		goto done;
	}
	if (read_vector(what, "embedding", json_object_get(root, "embedding"), want_dims, out, err, errlen) < 0 ||
	    read_count(what, "inputTextTokenCount", json_object_get(root, "inputTextTokenCount"), token_count, err,
		       errlen) < 0)
		goto done;
	rc = 0;
done:
	json_decref(root);
	return rc;
}

/* The answer's "data": an array of N_INPUTS items (borrowed from ROOT), or NULL with ERR. */
static json_t *openai_data(const char *what, json_t *root, int n_inputs, char *err, size_t errlen)
{
	json_t *data = json_object_get(root, "data");

	if (!data) {
		snprintf(err, errlen, "invalid %s: missing field \"data\"", what);
		return NULL;
	}
	if (!json_is_array(data)) {
		snprintf(err, errlen, "invalid %s: \"data\" is %s, expected an array", what, type_name(data));
		return NULL;
	}
	if (json_array_size(data) != (size_t)n_inputs) {
		snprintf(err, errlen, "invalid %s: \"data\" has %zu items, expected %d", what, json_array_size(data),
			 n_inputs);
		return NULL;
	}
	return data;
}

/*
 * Item I of "data": its index (0 to N_INPUTS - 1, not SEEN before: marked
 * now) and its vector of WANT_DIMS into OUT at that index. -1 with ERR.
 */
static int openai_item(const char *what, json_t *item, size_t i, int n_inputs, int want_dims, unsigned char *seen,
		       float *out, char *err, size_t errlen)
{
	json_t *idx;
	json_int_t k;
	char name[64];

	if (!json_is_object(item)) {
		snprintf(err, errlen, "invalid %s: data[%zu] is %s, expected an object", what, i, type_name(item));
		return -1;
	}
	idx = json_object_get(item, "index");
	if (!idx) {
		snprintf(err, errlen, "invalid %s: missing field \"data[%zu].index\"", what, i);
		return -1;
	}
	if (!json_is_integer(idx)) {
		snprintf(err, errlen, "invalid %s: data[%zu].index is %s, expected an integer", what, i,
			 type_name(idx));
		return -1;
	}
	k = json_integer_value(idx);
	if (k < 0 || k >= n_inputs) {
		snprintf(err, errlen, "invalid %s: data[%zu].index is %" JSON_INTEGER_FORMAT ", expected 0 to %d", what,
			 i, k, n_inputs - 1);
		return -1;
	}
	if (seen[k]) {
		snprintf(err, errlen, "invalid %s: index %" JSON_INTEGER_FORMAT " appears twice in \"data\"", what, k);
		return -1;
	}
	seen[k] = 1;
	snprintf(name, sizeof name, "data[%zu].embedding", i);
	return read_vector(what, name, json_object_get(item, "embedding"), want_dims,
			   out + (size_t)k * (size_t)want_dims, err, errlen);
}

/* The answer's "usage.prompt_tokens" into *TOTAL_TOKENS (-1 when there is no usage). */
static int openai_usage(const char *what, json_t *root, int *total_tokens, char *err, size_t errlen)
{
	json_t *usage = json_object_get(root, "usage");

	if (!usage || json_is_null(usage)) {
		*total_tokens = -1;
		return 0;
	}
	if (!json_is_object(usage)) {
		snprintf(err, errlen, "invalid %s: \"usage\" is %s, expected an object", what, type_name(usage));
		return -1;
	}
	return read_count(what, "usage.prompt_tokens", json_object_get(usage, "prompt_tokens"), total_tokens, err,
			  errlen);
}

int embed_parse_openai(const char *body, size_t len, int want_dims, int n_inputs, float *out, int *total_tokens,
		       char *err, size_t errlen)
{
	static const char what[] = "OpenAI-compatible answer";
	unsigned char seen[EMBED_MAX_INPUTS];
	json_t *root = NULL, *data;
	int rc = -1;

	if (check_dims(what, want_dims, err, errlen) < 0)
		return -1;
	if (n_inputs < 1 || n_inputs > EMBED_MAX_INPUTS) {
		snprintf(err, errlen, "%s: %d inputs out of range: expected 1 to %d", what, n_inputs, EMBED_MAX_INPUTS);
		return -1;
	}
	root = load(what, body, len, EMBED_MAX_BODY, (size_t)n_inputs * ((size_t)want_dims + 16) + 64, err, errlen);
	if (!root)
		return -1;
	if (!json_is_object(root)) {
		snprintf(err, errlen, "invalid %s: top level is %s, expected an object", what, type_name(root));
		goto done;
	}
	if (!(data = openai_data(what, root, n_inputs, err, errlen)))
		goto done;
	memset(seen, 0, (size_t)n_inputs);
	for (size_t i = 0; i < (size_t)n_inputs; i++)
		if (openai_item(what, json_array_get(data, i), i, n_inputs, want_dims, seen, out, err, errlen) < 0)
			goto done;
	/* N_INPUTS items, each index in range and none twice: every index is present. */
	if (openai_usage(what, root, total_tokens, err, errlen) < 0)
		goto done;
	rc = 0;
done:
	json_decref(root);
	return rc;
}

/* Copy S into OUT (size OUTLEN, capped at MAX bytes with "..."): control characters as spaces, non-ASCII as '?'. */
static void copy_safe(const char *s, size_t n, char *out, size_t outlen, size_t max)
{
	size_t cap, o = 0;
	int cut;

	if (!outlen)
		return;
	cap = outlen - 1 < max ? outlen - 1 : max;
	cut = n > cap;
	if (cut)
		n = cap >= 3 ? cap - 3 : 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char b = (unsigned char)s[i];
		out[o++] = b >= 0x80 ? '?' : (b < 0x20 || b == 0x7f) ? ' ' : (char)b;
	}
	if (cut)
		for (int i = 0; i < 3 && o < cap; i++)
			out[o++] = '.';
	out[o] = 0;
}

/* "ns#ValidationException:http://..." -> "ValidationException". */
static void copy_type(const char *s, char *out, size_t outlen)
{
	const char *hash = strrchr(s, '#'), *colon;
	size_t n;

	if (hash)
		s = hash + 1;
	colon = strchr(s, ':');
	n = colon ? (size_t)(colon - s) : strlen(s);
	copy_safe(s, n, out, outlen, 64);
}

static const char *str_field(const json_t *obj, const char *k)
{
	const json_t *v = json_object_get(obj, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

int embed_parse_error(const char *body, size_t len, char *type, size_t typelen, char *msg, size_t msglen)
{
	char why[160];
	json_t *root, *e;
	const char *m = NULL, *t = NULL;
	size_t mlen = 0;
	int rc = -1;

	if (typelen)
		type[0] = 0;
	if (msglen)
		msg[0] = 0;
	root = load("error answer", body, len, ERROR_BODY_MAX, 0, why, sizeof why);
	if (!root) {
		copy_safe(why, strlen(why), msg, msglen, EMBED_ERR_MSG_MAX);
		return -1;
	}
	if (!json_is_object(root)) {
		snprintf(why, sizeof why, "error answer is %s, expected an object", type_name(root));
		copy_safe(why, strlen(why), msg, msglen, EMBED_ERR_MSG_MAX);
		goto done;
	}
	t = str_field(root, "__type");
	if (!t)
		t = str_field(root, "code");
	if (!t)
		t = str_field(root, "error_type");
	e = json_object_get(root, "message");
	if (!e)
		e = json_object_get(root, "Message");
	if (!json_is_string(e)) {
		json_t *oe = json_object_get(root, "error");
		if (json_is_string(oe)) {
			e = oe;
		} else if (json_is_object(oe)) {
			e = json_object_get(oe, "message");
			if (!t)
				t = str_field(oe, "type");
			if (!t)
				t = str_field(oe, "code");
		}
	}
	if (t)
		copy_type(t, type, typelen);
	if (json_is_string(e)) {
		m = json_string_value(e);
		mlen = json_string_length(e);
		copy_safe(m, mlen, msg, msglen, EMBED_ERR_MSG_MAX);
		rc = 0;
	} else {
		snprintf(why, sizeof why, "error answer has no \"message\"");
		copy_safe(why, strlen(why), msg, msglen, EMBED_ERR_MSG_MAX);
	}
done:
	json_decref(root);
	return rc;
}
