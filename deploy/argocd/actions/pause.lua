-- Pause: what `kubectl kruise rollout pause` writes (spec.strategy.paused = true).
if obj.spec.strategy == nil then obj.spec.strategy = {} end
obj.spec.strategy.paused = true
return obj
