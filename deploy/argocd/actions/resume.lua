-- Resume: what `kubectl kruise rollout resume` writes (spec.strategy.paused = false).
if obj.spec.strategy == nil then obj.spec.strategy = {} end
obj.spec.strategy.paused = false
return obj
