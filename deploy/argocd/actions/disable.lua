-- Disable: spec.disabled = true. The controller releases the workload (phase Disabling, then
-- Disabled); the workload stays as it is. Note: Argo CD's next sync puts back what Git says.
obj.spec.disabled = true
return obj
