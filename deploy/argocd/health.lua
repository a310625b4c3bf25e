-- Argo CD health check for rollouts.kruise.io/Rollout (v1alpha1 and v1beta1).
-- Reads only wire fields (docs/api.md): metadata.generation, status.observedGeneration,
-- status.phase, status.message, the Progressing condition, the current step state, and the
-- current step's pause. Returns {status = Healthy|Progressing|Suspended|Degraded, message = ...}.
-- Uses only Lua's base and table libraries: Argo CD opens no string/math library for these scripts
-- unless resource.customizations.useOpenLibs is set (tests/unit/argocd checks this).
local hs = {status = "Progressing", message = ""}

local function progressing_condition(status)
  if status.conditions == nil then return nil end
  for _, c in ipairs(status.conditions) do
    if c.type == "Progressing" then return c end
  end
  return nil
end

-- v1beta1 mirrors index/state at the top of status; v1alpha1 keeps them in canaryStatus only.
local function current_step(status)
  local sub = status.canaryStatus or status.blueGreenStatus or {}
  local state = sub.currentStepState or status.currentStepState or ""
  local index = sub.currentStepIndex or status.currentStepIndex or 0
  return index, state
end

local function steps_of(spec)
  local strategy = spec.strategy
  if strategy == nil then return {} end
  if strategy.canary ~= nil and strategy.canary.steps ~= nil then return strategy.canary.steps end
  if strategy.blueGreen ~= nil and strategy.blueGreen.steps ~= nil then return strategy.blueGreen.steps end
  return {}
end

local function health()
  local status = obj.status
  if status == nil then
    return "Progressing", "Waiting for the rollout controller to write a status"
  end
  local generation = obj.metadata.generation or 0
  if status.observedGeneration == nil or status.observedGeneration < generation then
    return "Progressing", "Waiting for rollout spec update to be observed"
  end
  local spec = obj.spec or {}
  local phase = status.phase or ""
  local message = status.message or ""
  local cond = progressing_condition(status)

  if cond ~= nil and cond.status == "False" and cond.reason ~= "Completed" then
    return "Degraded", cond.reason .. ": " .. (cond.message or message)
  end
  if phase == "Initial" and message == "Workload Not Found" then
    return "Degraded", "the workload named by the Rollout does not exist"
  end
  if phase == "Disabled" then
    return "Healthy", "Rollout is disabled: the workload is not managed"
  end
  if phase == "Disabling" or (spec.disabled == true and phase ~= "Terminating") then
    if message ~= "" and message ~= "Disabling rollout, release resources" and message ~= "Rollout is disabled" then
      return "Degraded", "disabling failed: " .. message
    end
    return "Progressing", "Disabling rollout, release resources"
  end
  if phase == "Terminating" then
    return "Progressing", "Rollout is being deleted"
  end
  if phase == "Healthy" then
    return "Healthy", message
  end
  if phase ~= "Progressing" then
    return "Progressing", message
  end
  -- Progressing: a non-retryable stop first, then pauses, then ordinary progress.
  if message == "new version releasing detected in the progress of blue-green release, please rollback first" then
    return "Degraded", message
  end
  local reason = cond and cond.reason or ""
  if reason == "Paused" or (spec.strategy ~= nil and spec.strategy.paused == true) then
    return "Suspended", "Rollout is paused (spec.strategy.paused)"
  end
  if reason == "Cancelling" then
    return "Progressing", "rolling back: " .. message
  end
  local index, state = current_step(status)
  if state == "StepPaused" then
    local step = steps_of(spec)[index]
    if step == nil or step.pause == nil or step.pause.duration == nil then
      return "Suspended", "waiting for approval at step " .. index .. ": " .. message
    end
    return "Progressing", "paused for " .. step.pause.duration .. "s at step " .. index
  end
  return "Progressing", message
end

hs.status, hs.message = health()
return hs
