/* Claims of texts being embedded (see embed_claims.h): SET NX PX, and Lua for compare-and-refresh / -delete. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embed_claims.h"
#include "mdw/queue.h"

/* KEYS: claims; ARGV[1] owner, ARGV[2] ttl ms. Refreshes the owner's claims, returns how many. */
static const char refresh_lua[] = "local n = 0\n"
				  "for _, k in ipairs(KEYS) do\n"
				  "  if redis.call('GET', k) == ARGV[1] then\n"
				  "    redis.call('PEXPIRE', k, ARGV[2])\n"
				  "    n = n + 1\n"
				  "  end\n"
				  "end\n"
				  "return n\n";

/* KEYS[1] claim; ARGV[1] owner. Deletes it only if the owner holds it. */
static const char release_lua[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
				  "  return redis.call('DEL', KEYS[1])\n"
				  "end\n"
				  "return 0\n";

static void claim_key(char *key, size_t len, const char *run, const char *hash)
{
	mdwq_key(key, len, strtoll(run, NULL, 10), "embedding", hash);
}

int embed_claim(struct rds *r, const char *run, const char *hash, const char *owner, long long ttl_ms)
{
	char key[160];
	redisReply *rep;
	int got;

	claim_key(key, sizeof key, run, hash);
	rep = rds_cmd(r, "SET %s %s NX PX %lld", key, owner, ttl_ms);
	if (!rep)
		return -1;
	got = rep->type == REDIS_REPLY_STATUS;
	freeReplyObject(rep);
	return got;
}

int embed_claims_refresh(struct rds *r, const char *run, char *const *hashes, int n, const char *owner,
			 long long ttl_ms)
{
	const char **argv = calloc((size_t)n + 5, sizeof *argv);
	char(*keys)[160] = calloc((size_t)n + 1, sizeof *keys);
	char nkeys[16], ttl[24];
	int argc = 3, rc = -1;
	redisReply *rep;

	if (!argv || !keys)
		goto out;
	argv[0] = "EVAL";
	argv[1] = refresh_lua;
	for (int i = 0; i < n; i++)
		if (hashes[i]) {
			claim_key(keys[argc - 3], sizeof keys[0], run, hashes[i]);
			argv[argc] = keys[argc - 3];
			argc++;
		}
	if (argc == 3) {
		rc = 0;
		goto out;
	}
	snprintf(nkeys, sizeof nkeys, "%d", argc - 3);
	snprintf(ttl, sizeof ttl, "%lld", ttl_ms);
	argv[2] = nkeys;
	argv[argc++] = owner;
	argv[argc++] = ttl;
	rep = rds_cmdv(r, argc, argv, NULL);
	if (rep && rep->type == REDIS_REPLY_INTEGER)
		rc = (int)rep->integer;
	freeReplyObject(rep);
out:
	free(argv);
	free(keys);
	return rc;
}

void embed_claim_release(struct rds *r, const char *run, const char *hash, const char *owner)
{
	char key[160];
	claim_key(key, sizeof key, run, hash);
	freeReplyObject(rds_cmd(r, "EVAL %s 1 %s %s", release_lua, key, owner));
}
