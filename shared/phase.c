/* The phase table (see phase.h). Order is a valid dependency order. */
#include <stdio.h>
#include <string.h>

#include "mdw/phase.h"

#define B MDW_PH_BIT

#define R MDW_KIND_RELATIONAL
#define NONE MDW_PART_NONE

const struct mdw_phase mdw_phases[MDW_NPHASES] = {
	{MDW_PH_PRACTICES,
	 "practices",
	 "Practice",
	 "dispatch_office",
	 "practices",
	 0,
	 R,
	 "legacy_id",
	 {"practices"},
	 NULL,
	 NONE},
	{MDW_PH_PROFILES,
	 "profiles",
	 "Profile",
	 "auth_user",
	 "profiles",
	 0,
	 R,
	 "legacy_id",
	 {"profiles", "profile_legacy_users"},
	 "profile_legacy_users",
	 NONE},
	{MDW_PH_PATIENTS,
	 "patients",
	 "Patient",
	 "dispatch_patient",
	 "patients",
	 B(MDW_PH_PRACTICES) | B(MDW_PH_PROFILES),
	 R,
	 "legacy_id",
	 {"patients"},
	 NULL,
	 MDW_PART_PATIENT},
	{MDW_PH_CASES,
	 "cases",
	 "Case",
	 "dispatch_project",
	 "cases",
	 B(MDW_PH_PATIENTS) | B(MDW_PH_PROFILES),
	 R,
	 "legacy_project_id",
	 {"cases"},
	 NULL,
	 MDW_PART_CASE},
	{MDW_PH_PROJECTS,
	 "projects",
	 "Project",
	 "dispatch_project",
	 "projects",
	 B(MDW_PH_CASES),
	 R,
	 "legacy_id",
	 {"projects"},
	 NULL,
	 MDW_PART_PROJECT},
	{MDW_PH_PRACTICE_MEMBERS,
	 "practice_members",
	 "PracticeMember",
	 "dispatch_office_doctors",
	 "practice_members",
	 B(MDW_PH_PRACTICES) | B(MDW_PH_PROFILES),
	 R,
	 "legacy_id",
	 {"practice_members"},
	 NULL,
	 NONE},
	{MDW_PH_CASE_STATES,
	 "case_states",
	 "CaseState",
	 "dispatch_state",
	 "case_states",
	 B(MDW_PH_CASES) | B(MDW_PH_PROFILES),
	 R,
	 "legacy_id",
	 {"case_states"},
	 NULL,
	 NONE},
	{MDW_PH_WORKFLOW_TEMPLATES,
	 "workflow_templates",
	 "WorkflowTemplate",
	 "dispatch_template",
	 "workflow_templates",
	 B(MDW_PH_PRACTICES),
	 R,
	 "legacy_id",
	 {"workflow_templates"},
	 NULL,
	 NONE},
	{MDW_PH_EMBEDDINGS,
	 "embeddings",
	 "Embedding",
	 NULL,
	 "ai_embeddings",
	 B(MDW_PH_PATIENTS) | B(MDW_PH_CASES) | B(MDW_PH_PROJECTS),
	 MDW_KIND_EMBEDDINGS,
	 NULL,
	 {"ai_embeddings", "ai_embedding_sources"},
	 NULL,
	 NONE},
};

/* The patient's text: its status and its treatment history (every case); identified, its name and birth year first. */
#define PATIENT_TEXT(who)                                                                                              \
	"SELECT p.id, p.practice_id, " who "'. Status: ' || p.status || '.' || "                                       \
	"CASE WHEN p.is_archived THEN ' Archived.' ELSE '' END || "                                                    \
	"CASE WHEN p.is_suspended THEN ' Suspended.' ELSE '' END || ' Treatment history: ' || "                        \
	"coalesce((SELECT count(*) || ' cases: ' || string_agg(c.case_type || ' (' || c.status || ')', ', ' "          \
	"ORDER BY c.created_at, c.id) FROM public.cases c WHERE c.patient_id = p.id), 'no cases') || '.' "             \
	"FROM public.patients p WHERE p.id BETWEEN $1 AND $2 ORDER BY p.id"

const struct mdw_part_info mdw_parts[MDW_NPARTS] = {
	[MDW_PART_NONE] = {NULL, MDW_PH_EMBEDDINGS, NULL, NULL, NULL},
	[MDW_PART_PATIENT] = {"patient", MDW_PH_PATIENTS, PATIENT_TEXT("'Patient record' || "),
			      PATIENT_TEXT("'Patient ' || btrim(p.first_name || ' ' || p.last_name) || "
					   "coalesce(', born ' || extract(year FROM p.birthdate)::int, '') || "),
			      "NOT EXISTS (SELECT 1 FROM public.ai_embedding_sources s WHERE s.content_type = 'patient' "
			      "AND s.content_id = t.id) OR EXISTS (SELECT 1 FROM public.cases x JOIN "
			      "public.ai_embedding_sources s ON s.content_type = 'patient' AND s.content_id = t.id "
			      "WHERE x.patient_id = t.id AND coalesce(x.mdw_run_id, 0) > coalesce(s.mdw_run_id, 0))"},
	[MDW_PART_CASE] =
		{"case", MDW_PH_CASES,
		 "SELECT id, practice_id, 'Case type: ' || case_type || '. Status: ' || status || "
		 "'. Clinical notes: ' || coalesce(nullif(btrim(clinical_notes), ''), 'none') FROM public.cases "
		 "WHERE id BETWEEN $1 AND $2 ORDER BY id",
		 NULL,
		 "NOT EXISTS (SELECT 1 FROM public.ai_embedding_sources s WHERE s.content_type = 'case' "
		 "AND s.content_id = t.id)"},
	[MDW_PART_PROJECT] =
		{"project", MDW_PH_PROJECTS,
		 "SELECT id, practice_id, 'Digital asset: ' || asset_type || '. ' || name FROM public.projects "
		 "WHERE id BETWEEN $1 AND $2 ORDER BY id",
		 NULL,
		 "NOT EXISTS (SELECT 1 FROM public.ai_embedding_sources s WHERE s.content_type = 'project' "
		 "AND s.content_id = t.id)"},
};

const struct mdw_phase *mdw_phase_find(const char *name)
{
	for (int i = 0; i < MDW_NPHASES; i++)
		if (strcmp(mdw_phases[i].name, name) == 0)
			return &mdw_phases[i];
	return NULL;
}

int mdw_phase_parse_list(const char *csv, unsigned *mask, char *err, size_t errlen)
{
	const char *p = csv;

	*mask = 0;
	if (!csv || !*csv) {
		*mask = MDW_PH_ALL;
		return 0;
	}
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char name[64];
		const struct mdw_phase *ph;

		if (len == 0 || len >= sizeof name) {
			snprintf(err, errlen, "invalid phase list \"%.60s\": expected names separated by commas", csv);
			return -1;
		}
		memcpy(name, p, len);
		name[len] = 0;
		ph = mdw_phase_find(name);
		if (!ph) {
			char all[256];
			size_t o = 0;
			for (int i = 0; i < MDW_NPHASES; i++)
				o += snprintf(all + o, sizeof all - o, "%s%s", i ? ", " : "", mdw_phases[i].name);
			snprintf(err, errlen, "unknown phase \"%s\": expected one of %s", name, all);
			return -1;
		}
		*mask |= MDW_PH_BIT(ph->id);
		p += len + (comma ? 1 : 0);
		if (comma && !*p) {
			snprintf(err, errlen, "invalid phase list \"%.60s\": trailing comma", csv);
			return -1;
		}
	}
	return 0;
}

unsigned mdw_phase_needs_closure(enum mdw_phase_id phase)
{
	unsigned all = mdw_phases[phase].needs, prev;

	do {
		prev = all;
		for (int i = 0; i < MDW_NPHASES; i++)
			if (all & MDW_PH_BIT(i))
				all |= mdw_phases[i].needs;
	} while (all != prev);
	return all;
}
