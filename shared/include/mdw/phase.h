/*
 * The phase table: every phase of the migration, in dependency order, with
 * its needs, legacy source and target table. The coordinator's scheduler,
 * the CLI's --phases, the report and the docs all read this one table; the
 * worker keys its transforms by the same enum (worker/phase_ops.c).
 */
#ifndef MDW_PHASE_H
#define MDW_PHASE_H

#include <stddef.h>

enum mdw_phase_id {
	MDW_PH_PRACTICES,
	MDW_PH_PROFILES,
	MDW_PH_PATIENTS,
	MDW_PH_CASES,
	MDW_PH_PROJECTS,
	MDW_PH_PRACTICE_MEMBERS,
	MDW_PH_CASE_STATES,
	MDW_PH_WORKFLOW_TEMPLATES,
	MDW_PH_EMBEDDINGS,
	MDW_NPHASES
};

#define MDW_PH_BIT(p) (1u << (p))
#define MDW_PH_ALL ((1u << MDW_NPHASES) - 1)

struct mdw_phase {
	enum mdw_phase_id id;
	const char *name;	  /* "patients": stream, ledger, CLI and report name */
	const char *entity;	  /* entityType in the report: "Patient" */
	const char *source;	  /* legacy table, keyset-walked by its integer id */
	const char *target;	  /* target table */
	unsigned needs;		  /* MDW_PH_BIT of each phase that must be complete first */
};

extern const struct mdw_phase mdw_phases[MDW_NPHASES];

/* The phase named NAME, or NULL. */
const struct mdw_phase *mdw_phase_find(const char *name);

/*
 * Parse a comma-separated list of phase names into a bit mask (empty: all).
 * Returns -1 with a message naming the unknown phase.
 */
__attribute__((warn_unused_result)) int mdw_phase_parse_list(const char *csv, unsigned *mask, char *err,
							     size_t errlen);

/* Every phase that PHASE needs, directly or not (bit mask). */
unsigned mdw_phase_needs_closure(enum mdw_phase_id phase);

#endif
