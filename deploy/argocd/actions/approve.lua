-- Approve the current step: what `kubectl kruise rollout approve` writes (StepPaused -> StepReady)
-- in the active sub-status and, for v1beta1, in the top-level mirror. Argo CD sends the status
-- change to the /status subresource.
local v1alpha1 = obj.apiVersion == "rollouts.kruise.io/v1alpha1"
if obj.status == nil then obj.status = {} end
local status = obj.status
local key = "canaryStatus"
if not v1alpha1 and status.canaryStatus == nil and status.blueGreenStatus ~= nil then key = "blueGreenStatus" end
local sub = status[key]
local state = ""
if sub ~= nil and sub.currentStepState ~= nil then
  state = sub.currentStepState
elseif not v1alpha1 and sub == nil and status.currentStepState ~= nil then
  state = status.currentStepState
end
if status.phase ~= "Progressing" then
  error("Rollout is not releasing (phase '" .. (status.phase or "") .. "'): nothing to approve", 0)
end
if state ~= "StepPaused" then
  error("Rollout does not wait for approval (current step state is '" .. state .. "', not 'StepPaused')", 0)
end
if sub ~= nil or v1alpha1 then
  if sub == nil then status[key] = {} end
  status[key].currentStepState = "StepReady"
end
if not v1alpha1 then status.currentStepState = "StepReady" end
return obj
