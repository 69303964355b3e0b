/*
 * The phase table: every phase of the migration, in dependency order, with
 * every fact of it: its needs, kind, legacy source, target table and legacy
 * id column, the tables it writes, and the embeddings part its rows are. The
 * coordinator's scheduler, the worker's dispatch, the CLI's --phases,
 * validation, rollback, backup, the report and the docs all read this one
 * table; the worker keys its transforms by the same enum (worker/phase_ops.c).
 * The embeddings' parts have their table here too (mdw_parts).
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

/* What an embeddings chunk covers (MDW_PART_NONE for the relational phases). */
enum mdw_part { MDW_PART_NONE, MDW_PART_PATIENT, MDW_PART_CASE, MDW_PART_PROJECT, MDW_NPARTS };

/* How a phase's chunks are processed: legacy rows transformed and loaded, or target rows embedded. */
enum mdw_phase_kind { MDW_KIND_RELATIONAL, MDW_KIND_EMBEDDINGS };

#define MDW_PH_BIT(p) (1u << (p))
#define MDW_PH_ALL ((1u << MDW_NPHASES) - 1)

struct mdw_phase {
	enum mdw_phase_id id;
	const char *name;   /* "patients": stream, ledger, CLI and report name */
	const char *entity; /* entityType in the report: "Patient" */
	const char *source; /* legacy table, keyset-walked by its integer id */
	const char *target; /* target table */
	unsigned needs;     /* MDW_PH_BIT of each phase that must be complete first */
	enum mdw_phase_kind kind;
	const char *legacy_col; /* the target's column holding the legacy id (NULL: none) */
	const char *writes[3];  /* every table the phase writes, its target first (rollback, backup, validation) */
	const char *mapping;    /* a table mapping legacy ids to its rows (column profile_id), or NULL */
	enum mdw_part part;     /* the embeddings part its rows are (their links' content_type), or NONE */
};

extern const struct mdw_phase mdw_phases[MDW_NPHASES];

/*
 * An embeddings part: every fact of it. Its name (a link's content_type, the
 * chunk's "part"), the phase whose rows it embeds, its text ($1 lo, $2 hi over
 * the target ids; columns id, practice_id, text; identified: the text with
 * direct identifiers, MDW_EMBED_IDENTIFIERS=1, NULL where it is the same), and
 * when an entity of it is due for an embedding (a condition on its target row
 * t; the patient's text holds its cases, so a newer case makes it due again).
 */
struct mdw_part_info {
	const char *name;
	enum mdw_phase_id phase;
	const char *text_sql;
	const char *identified_sql;
	const char *due_sql;
};

extern const struct mdw_part_info mdw_parts[MDW_NPARTS];

/* The target table that part P reads ("patients"). */
static inline const char *mdw_part_table(enum mdw_part p)
{
	return mdw_phases[mdw_parts[p].phase].target;
}

/* The phase named NAME, or NULL. */
const struct mdw_phase *mdw_phase_find(const char *name);

/*
 * Parse a comma-separated list of phase names into a bit mask (empty: all).
 * Returns -1 with a message naming the unknown phase.
 */
__attribute__((warn_unused_result)) int mdw_phase_parse_list(const char *csv, unsigned *mask, char *err, size_t errlen);

/* Every phase that PHASE needs, directly or not (bit mask). */
unsigned mdw_phase_needs_closure(enum mdw_phase_id phase);

#endif
