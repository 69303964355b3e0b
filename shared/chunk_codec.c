/* Chunk body codec over msgpack-c (see chunk_codec.h). */
#include <inttypes.h>
#include <msgpack.h>
#include <stdio.h>
#include <string.h>

#include "mdw/chunk_codec.h"

struct outbuf {
	char *p;
	size_t len, cap;
	int overflow;
};

static int out_write(void *data, const char *buf, size_t len)
{
	struct outbuf *o = data;
	if (o->len + len > o->cap) {
		o->overflow = 1;
		return -1;
	}
	memcpy(o->p + o->len, buf, len);
	o->len += len;
	return 0;
}

static void pack_key(msgpack_packer *pk, const char *k)
{
	msgpack_pack_str(pk, strlen(k));
	msgpack_pack_str_body(pk, k, strlen(k));
}

int mdw_chunk_encode(const struct mdw_chunk *c, char *out, size_t outlen)
{
	struct outbuf o = {out, 0, outlen, 0};
	msgpack_packer pk;
	const char *name = mdw_phases[c->phase].name;

	msgpack_packer_init(&pk, &o, out_write);
	msgpack_pack_map(&pk, c->part ? 7 : 6);
	pack_key(&pk, "v");
	msgpack_pack_int(&pk, MDW_CHUNK_VERSION);
	pack_key(&pk, "run");
	msgpack_pack_int64(&pk, c->run);
	pack_key(&pk, "phase");
	pack_key(&pk, name);
	pack_key(&pk, "chunk");
	msgpack_pack_int32(&pk, c->chunk_no);
	pack_key(&pk, "lo");
	msgpack_pack_int64(&pk, c->lo);
	pack_key(&pk, "hi");
	msgpack_pack_int64(&pk, c->hi);
	if (c->part) {
		pack_key(&pk, "part");
		pack_key(&pk, mdw_parts[c->part].name);
	}
	return o.overflow ? -1 : (int)o.len;
}

/* An integer field into *OUT: 0, -1 if not an integer, -2 if past INT64_MAX. */
static int get_int(const msgpack_object *v, int64_t *out)
{
	if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		if (v->via.u64 > INT64_MAX)
			return -2;
		*out = (int64_t)v->via.u64;
		return 0;
	}
	if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		*out = v->via.i64;
		return 0;
	}
	return -1;
}

static uint64_t be(const unsigned char *p, int k);

/* What one msgpack object's head says: where its payload starts, and its size. */
struct frame_head {
	size_t off;    /* bytes of the head: the type byte and any length */
	uint64_t skip; /* bytes of a scalar's payload */
	uint64_t n;    /* elements of an array, pairs of a map */
	int container; /* 1 array, 2 map */
};

/* A big-endian length of K bytes at OFF; a truncated one reads as "more than the body". */
static uint64_t be_at(const unsigned char *p, size_t len, size_t off, int k)
{
	return len < off + (size_t)k ? (uint64_t)len + 1 : be(p + off, k);
}

/* Payload bytes of a fixed-size type T (integers, floats, fixext, with its type byte), or -1. */
static int fixed_size(unsigned char t)
{
	switch (t) {
	case 0xcc:
	case 0xd0:
		return 1;
	case 0xcd:
	case 0xd1:
	case 0xd4:
		return 2;
	case 0xd5:
		return 3;
	case 0xce:
	case 0xd2:
	case 0xca:
		return 4;
	case 0xd6:
		return 5;
	case 0xcf:
	case 0xd3:
	case 0xcb:
		return 8;
	case 0xd7:
		return 9;
	case 0xd8:
		return 17;
	default:
		return -1;
	}
}

/*
 * The head of a type T that gives its length in 1, 2 or 4 bytes: str, bin
 * and ext (whose payload has a type byte more), array and map 16/32.
 * 0 into *H, -1 if T is none of them.
 */
static int sized_head(unsigned char t, const unsigned char *p, size_t len, struct frame_head *h)
{
	static const struct {
		unsigned char t;
		int k, extra, container;
	} sized[] = {
		{0xc4, 1, 0, 0}, {0xd9, 1, 0, 0}, {0xc5, 2, 0, 0}, {0xda, 2, 0, 0}, {0xc6, 4, 0, 0},
		{0xdb, 4, 0, 0}, {0xc7, 1, 1, 0}, {0xc8, 2, 1, 0}, {0xc9, 4, 1, 0}, {0xdc, 2, 0, 1},
		{0xdd, 4, 0, 1}, {0xde, 2, 0, 2}, {0xdf, 4, 0, 2},
	};

	for (size_t i = 0; i < sizeof sized / sizeof sized[0]; i++) {
		uint64_t v;
		if (sized[i].t != t)
			continue;
		v = be_at(p, len, h->off, sized[i].k);
		h->off += (size_t)sized[i].k;
		h->container = sized[i].container;
		if (h->container)
			h->n = v;
		else
			h->skip = v + (uint64_t)sized[i].extra;
		return 0;
	}
	return -1;
}

/* Read the head of the object at P (LEN > 0 bytes) into *H: 0, or -1 for a type byte msgpack does not define. */
static int frame_head(const unsigned char *p, size_t len, struct frame_head *h)
{
	unsigned char t = p[0];
	int fixed;

	*h = (struct frame_head){.off = 1};
	if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3)
		return 0;
	if ((t & 0xe0) == 0xa0)
		h->skip = t & 0x1f;
	else if ((t & 0xf0) == 0x90)
		h->n = t & 0x0f, h->container = 1;
	else if ((t & 0xf0) == 0x80)
		h->n = t & 0x0f, h->container = 2;
	else if ((fixed = fixed_size(t)) >= 0)
		h->skip = (uint64_t)fixed;
	else
		return sized_head(t, p, len, h);
	return 0;
}

/*
 * Walk the msgpack framing of BUF without building objects and refuse any
 * array or map that claims more elements than bytes remain: msgpack-c would
 * otherwise allocate for the claimed count first (a 5-byte body can claim
 * 4 billion entries). Returns the bytes used by one object, or -1.
 */
static long frame(const unsigned char *p, size_t len, int depth)
{
	struct frame_head h;
	size_t off;
	uint64_t n;

	if (len == 0 || depth > 32)
		return -1;
	if (frame_head(p, len, &h) < 0)
		return -1;
	off = h.off;
	if (!h.container) {
		if (off > len || h.skip > len - off)
			return -1;
		return (long)(off + h.skip);
	}
	n = h.n;
	if (off > len || n > len - off || (h.container == 2 && 2 * n > len - off))
		return -1;
	if (h.container == 2)
		n *= 2;
	for (uint64_t k = 0; k < n; k++) {
		long used = frame(p + off, len - off, depth + 1);
		if (used < 0)
			return -1;
		off += (size_t)used;
	}
	return (long)off;
}

static uint64_t be(const unsigned char *p, int k)
{
	uint64_t v = 0;
	for (int i = 0; i < k; i++)
		v = v << 8 | p[i];
	return v;
}

/* The size and the msgpack framing of BUF: one object, nothing after it, no container larger than the body. */
static int decode_frame(const char *buf, size_t len, char *err, size_t errlen)
{
	long used;

	if (len == 0 || len > MDW_CHUNK_MAX_BODY) {
		snprintf(err, errlen, "body is %zu bytes: expected 1 to %d", len, MDW_CHUNK_MAX_BODY);
		return -1;
	}
	used = frame((const unsigned char *)buf, len, 0);
	if (used < 0) {
		snprintf(err, errlen, "body is not msgpack, or truncated msgpack");
		return -1;
	}
	if ((size_t)used != len) {
		snprintf(err, errlen, "body has %zu trailing bytes after the map", len - (size_t)used);
		return -1;
	}
	return 0;
}

/* Field phase V (a known phase's name) into C. */
static int decode_phase(const msgpack_object *v, struct mdw_chunk *c, char *err, size_t errlen)
{
	char name[64];
	const struct mdw_phase *ph;

	if (v->type != MSGPACK_OBJECT_STR || v->via.str.size >= sizeof name) {
		snprintf(err, errlen, "field phase is not a phase name");
		return -1;
	}
	if (v->via.str.size)
		memcpy(name, v->via.str.ptr, v->via.str.size);
	name[v->via.str.size] = 0;
	if (memchr(name, 0, v->via.str.size) || !(ph = mdw_phase_find(name))) {
		snprintf(err, errlen, "field phase names no known phase");
		return -1;
	}
	c->phase = ph->id;
	return 0;
}

/* Field part V (patient, case or project) into C. */
static int decode_part(const msgpack_object *v, struct mdw_chunk *c, char *err, size_t errlen)
{
	int found = 0;

	for (int p = 1; p < MDW_NPARTS && v->type == MSGPACK_OBJECT_STR; p++)
		if (v->via.str.size == strlen(mdw_parts[p].name) && v->via.str.size &&
		    !memcmp(v->via.str.ptr, mdw_parts[p].name, v->via.str.size)) {
			c->part = (enum mdw_part)p;
			found = 1;
		}
	if (!found) {
		snprintf(err, errlen, "field part is not patient, case or project");
		return -1;
	}
	return 0;
}

enum { F_V = 1, F_RUN = 2, F_PHASE = 4, F_CHUNK = 8, F_LO = 16, F_HI = 32, F_ALL = 63, F_PART = 64 };

/* The integer field KEY (v, run, chunk, lo or hi) V into C; *BIT says which. */
static int decode_int(const char *key, const msgpack_object *v, struct mdw_chunk *c, unsigned *bit, char *err,
		      size_t errlen)
{
	int64_t n = 0;
	int got = get_int(v, &n);

	if (got == -2) {
		snprintf(err, errlen, "field %s %" PRIu64 " is out of the bigint range", key, v->via.u64);
		return -1;
	}
	if (got < 0) {
		snprintf(err, errlen, "field %s is not an integer", key);
		return -1;
	}
	if (!strcmp(key, "v")) {
		if (n != MDW_CHUNK_VERSION) {
			snprintf(err, errlen, "body version %" PRId64 " is not supported: expected %d", n,
				 MDW_CHUNK_VERSION);
			return -1;
		}
		*bit = F_V;
	} else if (!strcmp(key, "run")) {
		if (n < 1) {
			snprintf(err, errlen, "field run %" PRId64 " is out of range", n);
			return -1;
		}
		c->run = n;
		*bit = F_RUN;
	} else if (!strcmp(key, "chunk")) {
		if (n < 0 || n > INT32_MAX) {
			snprintf(err, errlen, "field chunk %" PRId64 " is out of range", n);
			return -1;
		}
		c->chunk_no = (int32_t)n;
		*bit = F_CHUNK;
	} else {
		/* ids are Postgres bigints: target ids (embeddings) may pass int32 */
		if (!strcmp(key, "lo"))
			c->lo = n, *bit = F_LO;
		else
			c->hi = n, *bit = F_HI;
	}
	return 0;
}

/*
 * One member K: V of the body's map into C. *BIT says which field it was
 * (0: a key this version does not know, ignored). 0, or -1 with ERR.
 */
static int decode_field(const msgpack_object *k, const msgpack_object *v, struct mdw_chunk *c, unsigned *bit, char *err,
			size_t errlen)
{
	char key[16];

	*bit = 0;
	if (k->type != MSGPACK_OBJECT_STR || k->via.str.size >= sizeof key) {
		snprintf(err, errlen, "body has a key that is not a short string");
		return -1;
	}
	if (k->via.str.size) /* an empty string's pointer may be NULL */
		memcpy(key, k->via.str.ptr, k->via.str.size);
	key[k->via.str.size] = 0;
	if (!strcmp(key, "phase")) {
		*bit = F_PHASE;
		return decode_phase(v, c, err, errlen);
	}
	if (!strcmp(key, "part")) {
		*bit = F_PART;
		return decode_part(v, c, err, errlen);
	}
	if (!strcmp(key, "v") || !strcmp(key, "run") || !strcmp(key, "chunk") || !strcmp(key, "lo") ||
	    !strcmp(key, "hi"))
		return decode_int(key, v, c, bit, err, errlen);
	return 0; /* unknown keys of the same version are ignored */
}

/* Whether the fields SEEN make a whole chunk C: every field once, part exactly on embeddings, lo <= hi. */
static int decode_complete(const struct mdw_chunk *c, unsigned seen, char *err, size_t errlen)
{
	if (!(seen & F_V)) {
		snprintf(err, errlen, "body has no version field v");
		return -1;
	}
	if ((seen & F_ALL) != F_ALL) {
		static const char *const names[] = {"v", "run", "phase", "chunk", "lo", "hi"};
		for (int i = 0; i < 6; i++)
			if (!(seen & (1u << i))) {
				snprintf(err, errlen, "body lacks field %s", names[i]);
				break;
			}
		return -1;
	}
	if ((c->phase == MDW_PH_EMBEDDINGS) != (c->part != MDW_PART_NONE)) {
		snprintf(err, errlen,
			 c->part ? "field part on a chunk of phase %s" : "chunk of phase %s lacks field part",
			 mdw_phases[c->phase].name);
		return -1;
	}
	if (c->lo > c->hi) {
		snprintf(err, errlen, "bounds lo %" PRId64 " > hi %" PRId64, c->lo, c->hi);
		return -1;
	}
	return 0;
}

int mdw_chunk_decode(const char *buf, size_t len, struct mdw_chunk *c, char *err, size_t errlen)
{
	msgpack_unpacked u;
	size_t off = 0;
	unsigned seen = 0;
	int rc = -1;

	memset(c, 0, sizeof *c);
	if (decode_frame(buf, len, err, errlen) < 0)
		return -1;
	msgpack_unpacked_init(&u);
	switch (msgpack_unpack_next(&u, buf, len, &off)) {
	case MSGPACK_UNPACK_SUCCESS:
		break;
	case MSGPACK_UNPACK_CONTINUE:
		snprintf(err, errlen, "body is truncated msgpack");
		goto out;
	default:
		snprintf(err, errlen, "body is not msgpack");
		goto out;
	}
	if (off != len) {
		snprintf(err, errlen, "body has %zu trailing bytes after the map", len - off);
		goto out;
	}
	if (u.data.type != MSGPACK_OBJECT_MAP) {
		snprintf(err, errlen, "body is not a msgpack map");
		goto out;
	}
	for (uint32_t i = 0; i < u.data.via.map.size; i++) {
		const msgpack_object_kv *kv = &u.data.via.map.ptr[i];
		unsigned bit;

		if (decode_field(&kv->key, &kv->val, c, &bit, err, errlen) < 0)
			goto out;
		if (seen & bit) {
			snprintf(err, errlen, "field %.*s appears twice", (int)kv->key.via.str.size,
				 kv->key.via.str.ptr);
			goto out;
		}
		seen |= bit;
	}
	rc = decode_complete(c, seen, err, errlen);
out:
	msgpack_unpacked_destroy(&u);
	return rc;
}

void mdw_chunk_describe(const struct mdw_chunk *c, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s #%d %s%sids %" PRId64 "..%" PRId64, mdw_phases[c->phase].name, (int)c->chunk_no,
		 c->part ? mdw_parts[c->part].name : "", c->part ? " " : "", c->lo, c->hi);
}
