"""The kopf operator that reconciles ProcessDefinition resources into the store."""
