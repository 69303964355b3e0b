/*
 * The two embedding APIs bedrock-fake speaks. Each handler runs the same
 * steps: authenticate, validate the JSON body (messages in the provider's
 * own words), admit into the quota, draw a fault, then answer with the
 * deterministic vectors (bf_vector) and count every text embedded.
 *
 *   Bedrock InvokeModel, Titan Text Embeddings V2:
 *     {"inputText": "...", "dimensions": 256|512|1024, "normalize": true}
 *     -> {"embedding":[...], "embeddingsByType":{"float":[...]}, "inputTextTokenCount": N}
 *   OpenAI-compatible /v1/embeddings:
 *     {"model": "...", "input": "..." | ["...", ...]}
 *     -> {"object":"list","data":[{"object":"embedding","index":i,"embedding":[...]}],
 *         "model":"...","usage":{"prompt_tokens":N,"total_tokens":N}}
 *
 * Input tokens are ceil(bytes / 4) of each text: what the quota charges is
 * what the answer reports.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bedrock_fake.h"
#include "mdw/strbuf.h"

#define TITAN_MAX_CHARS 50000
#define OPENAI_MAX_INPUTS 2048

static void bvec(struct strbuf *b, const float *v, int n)
{
	strbuf_printf(b, "[");
	for (int i = 0; i < n; i++)
		strbuf_printf(b, i ? ",%.9g" : "%.9g", (double)v[i]);
	strbuf_printf(b, "]");
}

/* Hand B's string to A as a 200 body, cut or spoiled as FAULT says. */
static void answer_body(struct bf_answer *a, struct strbuf *b, enum bf_fault fault, long tokens)
{
	static const char not_json[] = "<html><body><h1>502 Bad Gateway</h1></body></html>\n";

	if (b->oom || !b->p) {
		strbuf_free(b);
		bf_aws_error(a, 500, BF_OTHER, "InternalServerException", "bedrock-fake: out of memory");
		return;
	}
	a->status = 200;
	a->outcome = fault == BF_FAULT_NONE ? BF_OK : BF_MALFORMED;
	a->tokens = tokens;
	a->body = b->p;
	a->body_len = b->len;
	if (fault == BF_FAULT_TRUNCATED) {
		a->body_len = b->len / 2;
		snprintf(a->reason, sizeof a->reason, "injected fault: truncated body");
	} else if (fault == BF_FAULT_NOT_JSON) {
		a->body_len = sizeof not_json - 1;
		memcpy(a->body, not_json, a->body_len);
		snprintf(a->reason, sizeof a->reason, "injected fault: body not JSON");
	} else if (fault == BF_FAULT_SHORT_VECTOR) {
		snprintf(a->reason, sizeof a->reason, "injected fault: vector one value short");
	}
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "JSONObject";
	case JSON_ARRAY:
		return "JSONArray";
	case JSON_STRING:
		return "String";
	case JSON_INTEGER:
		return "Integer";
	case JSON_REAL:
		return "BigDecimal";
	case JSON_TRUE:
	case JSON_FALSE:
		return "Boolean";
	default:
		return "Null";
	}
}

static void titan_invalid(struct bf_answer *a, const char *detail, const char *reason)
{
	char msg[300];
	snprintf(msg, sizeof msg, "Malformed input request: %s, please reformat your input and try again.", detail);
	bf_aws_error(a, 400, BF_VALIDATION, "ValidationException", msg);
	snprintf(a->reason, sizeof a->reason, "%s", reason);
}

static size_t utf8_chars(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

/* Fill DIMS/NORMALIZE/TEXT from a Titan V2 body; -1 with A filled (400) when invalid. */
static int titan_parse(json_t *root, struct bf_answer *a, const char **text, size_t *tlen, int *dims, int *normalize)
{
	const char *key;
	json_t *v;
	char d[200];

	if (!root || !json_is_object(root)) {
		bf_aws_error(a, 400, BF_VALIDATION, "ValidationException",
			     "Malformed input request, please reformat your input and try again.");
		snprintf(a->reason, sizeof a->reason, "body is not a JSON object");
		return -1;
	}
	json_object_foreach(root, key, v)
	{
		if (strcmp(key, "inputText") && strcmp(key, "dimensions") && strcmp(key, "normalize")) {
			snprintf(d, sizeof d, "#: extraneous key [%.64s] is not permitted", key);
			titan_invalid(a, d, "extraneous key");
			return -1;
		}
	}
	v = json_object_get(root, "inputText");
	if (!v) {
		titan_invalid(a, "#: required key [inputText] not found", "no inputText");
		return -1;
	}
	if (!json_is_string(v)) {
		snprintf(d, sizeof d, "#/inputText: expected type: String, found: %s", type_name(v));
		titan_invalid(a, d, "inputText not a string");
		return -1;
	}
	*text = json_string_value(v);
	*tlen = json_string_length(v);
	if (*tlen == 0) {
		titan_invalid(a, "#/inputText: expected minLength: 1, actual: 0", "empty inputText");
		return -1;
	}
	if (utf8_chars(*text, *tlen) > TITAN_MAX_CHARS) {
		snprintf(d, sizeof d, "#/inputText: expected maxLength: %d, actual: %zu", TITAN_MAX_CHARS,
			 utf8_chars(*text, *tlen));
		titan_invalid(a, d, "inputText too long");
		return -1;
	}
	v = json_object_get(root, "dimensions");
	if (v && !json_is_integer(v)) {
		snprintf(d, sizeof d, "#/dimensions: expected type: Integer, found: %s", type_name(v));
		titan_invalid(a, d, "dimensions not an integer");
		return -1;
	}
	if (v) {
		json_int_t n = json_integer_value(v);
		if (n != 256 && n != 512 && n != 1024) {
			snprintf(d, sizeof d, "#/dimensions: %lld is not a valid enum value", (long long)n);
			titan_invalid(a, d, "dimensions not 256, 512 or 1024");
			return -1;
		}
		*dims = (int)n;
	}
	v = json_object_get(root, "normalize");
	if (v && !json_is_boolean(v)) {
		snprintf(d, sizeof d, "#/normalize: expected type: Boolean, found: %s", type_name(v));
		titan_invalid(a, d, "normalize not a boolean");
		return -1;
	}
	if (v)
		*normalize = json_is_true(v);
	return 0;
}

/* Injected 5xx in Bedrock's words; 0 when FAULT is not one. */
static int aws_fault(struct bf_answer *a, enum bf_fault fault)
{
	if (fault == BF_FAULT_500)
		bf_aws_error(a, 500, BF_INJECTED_5XX, "InternalServerException",
			     "The server encountered an error processing your request.");
	else if (fault == BF_FAULT_503)
		bf_aws_error(a, 503, BF_INJECTED_5XX, "ServiceUnavailableException",
			     "Bedrock is unable to process your request.");
	else
		return 0;
	snprintf(a->reason, sizeof a->reason, "injected fault");
	return 1;
}

void bf_invoke(const struct bf_request *rq, const char *model_id, struct bf_answer *a)
{
	json_t *root = NULL;
	json_error_t je;
	const char *text = NULL;
	size_t tlen = 0;
	int dims = 1024, normalize = 1;
	long tokens;
	enum bf_fault fault;
	float vec[1024];
	struct strbuf b = STRBUF_INIT;

	bf_stats_user_agent(bf_header(rq, "User-Agent"));
	if (bf_sigcheck(rq, a) < 0)
		return;
	if (bf_cfg.expired_token && *bf_cfg.expired_token && bf_header(rq, "X-Amz-Security-Token") &&
	    !strcmp(bf_header(rq, "X-Amz-Security-Token"), bf_cfg.expired_token)) {
		bf_aws_error(a, 403, BF_EXPIRED_TOKEN, "ExpiredTokenException",
			     "The security token included in the request is expired");
		snprintf(a->reason, sizeof a->reason, "session token expired (--expired-token)");
		return;
	}
	if (!strstr(model_id, "titan-embed-text-v2")) {
		bf_aws_error(a, 400, BF_VALIDATION, "ValidationException", "The provided model identifier is invalid.");
		snprintf(a->reason, sizeof a->reason, "model is not Titan Text Embeddings V2");
		return;
	}
	root = json_loadb(rq->body ? rq->body : "", rq->body_len, JSON_REJECT_DUPLICATES, &je);
	if (titan_parse(root, a, &text, &tlen, &dims, &normalize) < 0)
		goto done;
	if (bf_cfg.reject_text && *bf_cfg.reject_text && strstr(text, bf_cfg.reject_text)) {
		titan_invalid(a, "#/inputText: the input text is not supported", "text refused (--reject-text)");
		goto done;
	}
	tokens = bf_tokens(tlen);
	if (bf_throttle_draw()) {
		bf_aws_error(a, 429, BF_THROTTLED_RANDOM, "ThrottlingException",
			     "Too many requests, please wait before trying again.");
		snprintf(a->reason, sizeof a->reason, "under quota, drawn by --throttle-rate");
		goto done;
	}
	if (bf_quota_admit(tokens) < 0) {
		bf_aws_error(a, 429, BF_THROTTLED, "ThrottlingException",
			     "Too many requests, please wait before trying again.");
		snprintf(a->reason, sizeof a->reason, "over --rpm or --tpm");
		goto done;
	}
	fault = bf_fault_draw();
	if (aws_fault(a, fault))
		goto done;
	bf_vector(text, tlen, dims, normalize, vec);
	{
		int n = fault == BF_FAULT_SHORT_VECTOR ? dims - 1 : dims;
		strbuf_printf(&b, "{\"embedding\":");
		bvec(&b, vec, n);
		strbuf_printf(&b, ",\"embeddingsByType\":{\"float\":");
		bvec(&b, vec, n);
		strbuf_printf(&b, "},\"inputTextTokenCount\":%ld}", tokens);
	}
	answer_body(a, &b, fault, tokens);
	if (a->outcome == BF_OK)
		bf_stats_ok_text(model_id, dims, text, tlen, tokens);
done:
	json_decref(root);
}

/* An OpenAI-style error: {"error":{"message":MSG,"type":TYPE,"param":null,"code":CODE}}. */
static void openai_error(struct bf_answer *a, int status, enum bf_outcome o, const char *type, const char *code,
			 const char *msg, const char *reason)
{
	json_t *j = json_pack("{s:{s:s,s:s,s:n,s:s?}}", "error", "message", msg, "type", type, "param", "code", code);
	a->status = status;
	a->outcome = o;
	a->error_type = NULL;
	free(a->body);
	a->body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!a->body)
		a->body = strdup("{\"error\":{\"message\":\"out of memory\",\"type\":\"server_error\"}}");
	a->body_len = a->body ? strlen(a->body) : 0;
	snprintf(a->reason, sizeof a->reason, "%s", reason);
}

static void openai_invalid(struct bf_answer *a, const char *msg, const char *reason)
{
	openai_error(a, 400, BF_VALIDATION, "invalid_request_error", NULL, msg, reason);
}

void bf_openai(const struct bf_request *rq, struct bf_answer *a)
{
	json_t *root = NULL, *input, *model, *v;
	json_error_t je;
	const char *key, *auth = bf_header(rq, "Authorization");
	char msg[200], *model_json = NULL;
	int dims = 1024, n;
	long tokens = 0;
	enum bf_fault fault;
	float vec[1024];
	struct strbuf b = STRBUF_INIT;
	bf_stats_user_agent(bf_header(rq, "User-Agent"));

	if (bf_cfg.api_key && *bf_cfg.api_key &&
	    (!auth || strncmp(auth, "Bearer ", 7) != 0 || strcmp(auth + 7, bf_cfg.api_key) != 0)) {
		openai_error(a, 401, BF_UNRECOGNIZED_KEY, "invalid_request_error", "invalid_api_key",
			     "Incorrect API key provided.", "wrong or missing bearer key");
		return;
	}
	root = json_loadb(rq->body ? rq->body : "", rq->body_len, JSON_REJECT_DUPLICATES, &je);
	if (!root || !json_is_object(root)) {
		openai_invalid(a, "We could not parse the JSON body of your request.", "body is not a JSON object");
		goto done;
	}
	json_object_foreach(root, key, v)
	{
		if (strcmp(key, "model") && strcmp(key, "input") && strcmp(key, "encoding_format") &&
		    strcmp(key, "dimensions") && strcmp(key, "user")) {
			snprintf(msg, sizeof msg, "Unrecognized request argument supplied: %.64s", key);
			openai_invalid(a, msg, "unknown argument");
			goto done;
		}
	}
	model = json_object_get(root, "model");
	input = json_object_get(root, "input");
	if (!json_is_string(model) || !json_string_length(model)) {
		openai_invalid(a, "'model' is required and must be a non-empty string.", "no model");
		goto done;
	}
	if ((v = json_object_get(root, "encoding_format")) &&
	    !(json_is_string(v) && !strcmp(json_string_value(v), "float"))) {
		openai_invalid(a, "'encoding_format' must be \"float\" here.", "encoding_format not float");
		goto done;
	}
	if ((v = json_object_get(root, "dimensions"))) {
		json_int_t d = json_is_integer(v) ? json_integer_value(v) : 0;
		if (d != 256 && d != 512 && d != 1024) {
			openai_invalid(a, "'dimensions' must be 256, 512 or 1024.", "bad dimensions");
			goto done;
		}
		dims = (int)d;
	}
	if (json_is_string(input)) {
		n = 1;
	} else if (json_is_array(input) && json_array_size(input) >= 1 && json_array_size(input) <= OPENAI_MAX_INPUTS) {
		n = (int)json_array_size(input);
	} else {
		openai_invalid(a, "'input' must be a string or an array of 1 to 2048 strings.", "bad input");
		goto done;
	}
	for (int i = 0; i < n; i++) {
		json_t *t = json_is_string(input) ? input : json_array_get(input, (size_t)i);
		if (!json_is_string(t) || !json_string_length(t)) {
			snprintf(msg, sizeof msg, "'$.input' is invalid: item %d must be a non-empty string.", i);
			openai_invalid(a, msg, "input item not a non-empty string");
			goto done;
		}
		tokens += bf_tokens(json_string_length(t));
	}
	if (bf_throttle_draw()) {
		openai_error(a, 429, BF_THROTTLED_RANDOM, "requests", "rate_limit_exceeded",
			     "Rate limit reached, please wait before trying again.",
			     "under quota, drawn by --throttle-rate");
		goto done;
	}
	if (bf_quota_admit(tokens) < 0) {
		openai_error(a, 429, BF_THROTTLED, "requests", "rate_limit_exceeded",
			     "Rate limit reached, please wait before trying again.", "over --rpm or --tpm");
		goto done;
	}
	fault = bf_fault_draw();
	if (fault == BF_FAULT_500 || fault == BF_FAULT_503) {
		openai_error(a, fault == BF_FAULT_500 ? 500 : 503, BF_INJECTED_5XX, "server_error", NULL,
			     "The server had an error while processing your request.", "injected fault");
		goto done;
	}
	model_json = json_dumps(model, JSON_ENCODE_ANY);
	strbuf_printf(&b, "{\"object\":\"list\",\"data\":[");
	for (int i = 0; i < n; i++) {
		json_t *t = json_is_string(input) ? input : json_array_get(input, (size_t)i);
		bf_vector(json_string_value(t), json_string_length(t), dims, 1, vec);
		strbuf_printf(&b, "%s{\"object\":\"embedding\",\"index\":%d,\"embedding\":", i ? "," : "", i);
		bvec(&b, vec, fault == BF_FAULT_SHORT_VECTOR && i == 0 ? dims - 1 : dims);
		strbuf_printf(&b, "}");
	}
	strbuf_printf(&b, "],\"model\":%s,\"usage\":{\"prompt_tokens\":%ld,\"total_tokens\":%ld}}",
		      model_json ? model_json : "\"\"", tokens, tokens);
	answer_body(a, &b, fault, tokens);
	if (a->outcome == BF_OK) {
		for (int i = 0; i < n; i++) {
			json_t *t = json_is_string(input) ? input : json_array_get(input, (size_t)i);
			bf_stats_ok_text(json_string_value(model), dims, json_string_value(t), json_string_length(t),
					 bf_tokens(json_string_length(t)));
		}
	}
done:
	free(model_json);
	json_decref(root);
}
