/* The relational phases' ops, keyed by the phase table's enum (see phase_ops.h). */
#include "phase_ops.h"

extern const struct phase_ops phase_practices, phase_profiles, phase_patients, phase_cases, phase_projects,
	phase_practice_members, phase_case_states, phase_workflow_templates;

const struct phase_ops *const mdw_phase_ops[MDW_NPHASES] = {
	[MDW_PH_PRACTICES] = &phase_practices,
	[MDW_PH_PROFILES] = &phase_profiles,
	[MDW_PH_PATIENTS] = &phase_patients,
	[MDW_PH_CASES] = &phase_cases,
	[MDW_PH_PROJECTS] = &phase_projects,
	[MDW_PH_PRACTICE_MEMBERS] = &phase_practice_members,
	[MDW_PH_CASE_STATES] = &phase_case_states,
	[MDW_PH_WORKFLOW_TEMPLATES] = &phase_workflow_templates,
	[MDW_PH_EMBEDDINGS] = 0,
};
