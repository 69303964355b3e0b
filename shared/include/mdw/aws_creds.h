/*
 * The AWS credential chain, in the SDKs' order for the two sources we use:
 *   1. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the
 *      optional AWS_SESSION_TOKEN;
 *   2. the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, else
 *      ~/.aws/credentials; INI), section AWS_PROFILE (default "default"),
 *      keys aws_access_key_id, aws_secret_access_key, aws_session_token.
 * No message ever holds a secret or a session token; they are only named.
 */
#ifndef MDW_AWS_CREDS_H
#define MDW_AWS_CREDS_H

#include <stddef.h>

#include "mdw/sigv4.h"

/*
 * Fill OUT from the first source that has both keys. 0, or -1 with ERR
 * naming every source tried and why it gave nothing ("no AWS credentials:
 * tried environment (AWS_ACCESS_KEY_ID unset), shared credentials file
 * /root/.aws/credentials (not found), profile default").
 */
SIGV4_MUST int aws_creds_load(struct sigv4_creds *out, char *err, size_t errlen);

/* aws_creds_load that also names the source used in SRC ("environment", "profile p in /path"). */
SIGV4_MUST int aws_creds_load_src(struct sigv4_creds *out, char *src, size_t srclen, char *err, size_t errlen);

/* Wipe C (secret and token included). */
void aws_creds_clear(struct sigv4_creds *c);

#endif
