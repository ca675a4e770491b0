"""Organizations are Dagster's partitions: one partition per tenant, keyed by the opaque
organization id (never a name), kept in sync with the control plane by a sensor."""

from dagster import DynamicPartitionsDefinition

organization_partitions = DynamicPartitionsDefinition(name="organizations")
