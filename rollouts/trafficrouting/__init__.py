"""Traffic routing core: canary/stable Services, network providers and their orchestration.

Self-contained on purpose: the Rollout step machine calls ``manager.TrafficRoutingManager``
(DoTrafficRouting / finalise / restore) and nothing here imports the machine. See docs/traffic.md.
"""
