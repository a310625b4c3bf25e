-- Which actions Argo CD offers for a rollouts.kruise.io/Rollout, and which are enabled now.
local actions = {}
local status = obj.status or {}
local sub = status.canaryStatus or status.blueGreenStatus or {}
local state = sub.currentStepState or status.currentStepState or ""
local spec = obj.spec or {}
local paused = spec.strategy ~= nil and spec.strategy.paused == true
-- A finished or disabled Rollout keeps its last sub-status (StepPaused included): approve only a live release.
actions["approve"] = {["disabled"] = status.phase ~= "Progressing" or state ~= "StepPaused"}
actions["pause"] = {["disabled"] = paused}
actions["resume"] = {["disabled"] = not paused}
actions["disable"] = {["disabled"] = spec.disabled == true}
return actions
