/*
 * libFuzzer target: the config loader. The input is split on NUL bytes into
 * arguments; the first byte chooses the program whose table rows apply. A
 * few environment variables are set from the input too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mdw/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy, *argv[64];
	int argc = 0;
	struct mdw_config cfg;
	struct mdw_args args;
	char err[512], masked[512];
	unsigned prog;

	if (size < 1 || size > 4096)
		return 0;
	prog = 1u << (data[0] % 3);
	copy = malloc(size);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size - 1);
	copy[size - 1] = 0;
	argv[argc++] = "fuzz";
	for (char *p = copy; p < copy + size - 1 && argc < 63; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	/* the environment side: the last argument, if it looks like NAME=VALUE for a known variable */
	static const char *const vars[] = {"MDW_CHUNK_ROWS", "MDW_LEASE_MS", "MDW_TARGET_DSN", "MDW_SOURCE_DSN",
					   "MDW_EMBED_PROVIDER"};
	if (argc > 1 && strchr(argv[argc - 1], '=')) {
		char *eq = strchr(argv[argc - 1], '=');
		*eq = 0;
		for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
			if (!strcmp(argv[argc - 1], vars[i]))
				setenv(vars[i], eq + 1, 1);
		*eq = '=';
	}
	if (mdw_config_load(&cfg, prog, argc, argv, &args, err, sizeof err) == 0) {
		mdw_mask_secret(cfg.target_dsn, masked, sizeof masked);
		mdw_mask_secret(cfg.redis_url, masked, sizeof masked);
		mdw_config_free(&cfg);
	}
	mdw_mask_secret(copy, masked, sizeof masked);
	unsetenv("MDW_CHUNK_ROWS");
	unsetenv("MDW_LEASE_MS");
	unsetenv("MDW_TARGET_DSN");
	unsetenv("MDW_SOURCE_DSN");
	unsetenv("MDW_EMBED_PROVIDER");
	free(copy);
	return 0;
}
