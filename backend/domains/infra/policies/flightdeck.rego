# Flightdeck's default policy in rego, for `opa` users: the same four rules as default.yaml.
#
# Input: the plan as `terraform show -json` gives it (`resource_changes[_].change.actions`,
# `.before`, `.after`; `variables.<name>.value`). Flightdeck reads `data.flightdeck.policy`:
#   checks: every rule the policy evaluates, {"id", "description"}
#   deny:   every violation, {"id", "msg", "resources"}; a check with no deny passed
package flightdeck.policy

import rego.v1

admin_access := {"admin", "owner"}

principal_types := {"temporalcloud_user", "temporalcloud_service_account"}

protected_environments := {"prod", "production"}

max_changes := 10

tagged_types := {"temporalcloud_namespace"}

required_tags := ["owner", "environment"]

checks contains {
	"id": "no-admin-principals",
	"description": "no user or service account is given admin or owner access",
}

checks contains {
	"id": "no-deletes-in-protected-environment",
	"description": "nothing is destroyed in a protected environment (prod, production)",
}

checks contains {
	"id": "at-most-10-changes",
	"description": "a plan changes at most 10 resources without approval",
}

checks contains {
	"id": "required-tags",
	"description": "namespaces are tagged with their owner and environment",
}

# Changes that do something: not no-ops, not reads of data sources.
effective_changes := [rc |
	some rc in input.resource_changes
	not no_effect(rc)
]

no_effect(rc) if rc.change.actions == ["no-op"]

no_effect(rc) if rc.change.actions == ["read"]

# Created, updated or replaced: the resource has new attributes in `change.after`.
writes(rc) if "create" in rc.change.actions

writes(rc) if "update" in rc.change.actions

deny contains {"id": "no-admin-principals", "msg": msg, "resources": [rc.address]} if {
	some rc in effective_changes
	rc.type in principal_types
	writes(rc)
	access := rc.change.after.account_access
	lower(access) in admin_access
	msg := sprintf("%s grants %s access; admin principals need approval", [rc.address, access])
}

deny contains {"id": "no-deletes-in-protected-environment", "msg": msg, "resources": [rc.address]} if {
	environment := input.variables.environment.value
	lower(environment) in protected_environments
	some rc in effective_changes
	"delete" in rc.change.actions
	msg := sprintf("%s would be destroyed in %s", [rc.address, environment])
}

deny contains {"id": "at-most-10-changes", "msg": msg, "resources": addresses} if {
	changed := count(effective_changes)
	changed > max_changes
	addresses := [rc.address | some rc in effective_changes]
	template := "the plan changes %d resources (at most %d without approval)"
	msg := sprintf(template, [changed, max_changes])
}

deny contains {"id": "required-tags", "msg": msg, "resources": [rc.address]} if {
	some rc in effective_changes
	rc.type in tagged_types
	writes(rc)
	missing := [tag | some tag in required_tags; not has_tag(rc, tag)]
	count(missing) > 0
	msg := sprintf("%s lacks tags: %s", [rc.address, concat(", ", missing)])
}

has_tag(rc, tag) if {
	value := rc.change.after.tags[tag]
	value != null
	value != ""
}
