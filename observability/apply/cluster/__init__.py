"""I/O layer, Kubernetes bootstrap (`obs plan/apply/status/destroy`): logic behind an injected client.

client.py    the ClusterClient protocol the logic talks to (the real adapter is apply/kubernetes.py)
diff.py      pure: field-level diff of two objects, server-populated fields ignored, secrets masked
plan.py      apply order, dry-run plan (create/change/unchanged/prune), prune selection
preflight.py reachability, version range, RBAC (SelfSubjectAccessReview), storage class, ownership conflicts
wait.py      readiness of components (why not ready) and the wait-with-timeout loop
ops.py       apply / status / destroy built from the pieces above
"""
