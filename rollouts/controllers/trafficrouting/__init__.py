"""The TrafficRouting controller: end-to-end canary on a gateway shared by several Rollouts."""
