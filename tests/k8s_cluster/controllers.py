"""The reconcile loop: what the controller manager, scheduler and kubelets do.

- Deployments own one ReplicaSet per pod template (named `<deployment>-<hash>`);
  a new template scales the old ones to zero at once.
- ReplicaSets keep `spec.replicas` pods alive, so a deleted pod comes back
  under a new name; StatefulSets keep `<name>-<ordinal>` pods (same name back).
- The scheduler binds a pending pod to the Ready, schedulable node with the
  fewest pods; cordoned nodes get the `unschedulable` taint.
- A kubelet starts every bound pod at once: `Running` and Ready. The annotation
  `loopback.kallisti.dev/phase` forces another phase (and not Ready), so tests
  can make a pod unhealthy.
- Garbage collection deletes objects whose controller owner is gone, and pods
  bound to a node that is gone.

- Pods whose containers exit on SIGTERM terminate at once when deleted (the
  API folds the kubelet's confirmation into the request). A pod that ignores
  SIGTERM (annotation `loopback.kallisti.dev/ignores-sigterm`) stays with its
  `deletionTimestamp` until then, when the kubelet kills it; ReplicaSets do not
  count such a terminating pod, so its replacement starts at once.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import threading
from collections.abc import Mapping
from typing import Any

from .resources import Resource, find_resource
from .store import Store, now_rfc3339

__all__ = ["PHASE_ANNOTATION", "Controllers", "is_ready"]

PHASE_ANNOTATION = "loopback.kallisti.dev/phase"
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_UNSCHEDULABLE_TAINT = {
    "key": "node.kubernetes.io/unschedulable",
    "effect": "NoSchedule",
}


def _resource(group: str, plural: str) -> Resource:
    found = find_resource(group, "v1", plural)
    assert found is not None
    return found


PODS = _resource("", "pods")
NODES = _resource("", "nodes")
DEPLOYMENTS = _resource("apps", "deployments")
DAEMON_SETS = _resource("apps", "daemonsets")
REPLICA_SETS = _resource("apps", "replicasets")
STATEFUL_SETS = _resource("apps", "statefulsets")


def _template_hash(template: Any) -> str:
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    return "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[:10])


def _owner_ref(owner: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _controller_uid(obj: dict[str, Any]) -> str | None:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return str(ref["uid"])
    return None


def is_ready(pod: Mapping[str, Any]) -> bool:
    return any(
        c["type"] == "Ready" and c["status"] == "True"
        for c in pod.get("status", {}).get("conditions", [])
    )


def _without_zeroes(status: dict[str, Any]) -> dict[str, Any]:
    # The real API omits zero counts (`omitempty`); clients see None for them.
    return {k: v for k, v in status.items() if v != 0}


class Controllers:
    """Runs `reconcile()` on a thread whenever the store changes (and on a tick)."""

    def __init__(self, store: Store, interval_seconds: float = 0.05) -> None:
        self._store = store
        self._interval = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="loopback-controllers", daemon=True
        )
        self._ips = itertools.count(2)
        self._random = random.Random()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._store.changed:
            self._store.changed.notify_all()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._store.changed:
                self._store.changed.wait(timeout=self._interval)
                if self._stop.is_set():
                    return
                self.reconcile()

    def reconcile(self) -> None:
        """One pass of every controller, under the store's lock."""
        with self._store.lock:
            self._collect_garbage()
            self._nodes()
            self._deployments()
            self._replica_sets()
            self._stateful_sets()
            self._pods()

    def _collect_garbage(self) -> None:
        store = self._store
        while True:
            uids = {
                obj["metadata"]["uid"]
                for resource in (DEPLOYMENTS, REPLICA_SETS, STATEFUL_SETS, DAEMON_SETS)
                for obj in store.list(resource)
            }
            node_names = {node["metadata"]["name"] for node in store.list(NODES)}
            orphans = [
                (resource, obj)
                for resource in (REPLICA_SETS, PODS)
                for obj in store.list(resource)
                if (_controller_uid(obj) or "") not in uids | {""}
                or (
                    resource is PODS
                    and obj["spec"].get("nodeName")
                    and obj["spec"]["nodeName"] not in node_names
                )
            ]
            if not orphans:
                return
            for resource, obj in orphans:
                store.delete(
                    resource, obj["metadata"]["namespace"], obj["metadata"]["name"]
                )

    def _nodes(self) -> None:
        for node in self._store.list(NODES):
            spec = node.setdefault("spec", {})
            taints = [
                t
                for t in spec.get("taints") or []
                if t["key"] != _UNSCHEDULABLE_TAINT["key"]
            ]
            if spec.get("unschedulable"):
                taints.append(dict(_UNSCHEDULABLE_TAINT))
            if taints != (spec.get("taints") or []):
                if taints:
                    spec["taints"] = taints
                else:
                    spec.pop("taints", None)
                self._store.update(NODES, "", node, check_version=False)

    def _owned(self, resource: Resource, owner: dict[str, Any]) -> list[dict[str, Any]]:
        uid = owner["metadata"]["uid"]
        return [
            obj
            for obj in self._store.list(resource, owner["metadata"]["namespace"])
            if _controller_uid(obj) == uid
        ]

    def _deployments(self) -> None:
        store = self._store
        for deployment in store.list(DEPLOYMENTS):
            ns, name = (
                deployment["metadata"]["namespace"],
                deployment["metadata"]["name"],
            )
            spec = deployment["spec"]
            template_hash = _template_hash(spec["template"])
            owned = self._owned(REPLICA_SETS, deployment)
            current = next(
                (
                    rs
                    for rs in owned
                    if rs["metadata"].get("labels", {}).get("pod-template-hash")
                    == template_hash
                ),
                None,
            )
            if current is None:
                template = json.loads(json.dumps(spec["template"]))
                template.setdefault("metadata", {}).setdefault("labels", {})
                template["metadata"]["labels"]["pod-template-hash"] = template_hash
                selector = dict(spec["selector"]["matchLabels"])
                selector["pod-template-hash"] = template_hash
                current = store.create(
                    REPLICA_SETS,
                    ns,
                    {
                        "metadata": {
                            "name": f"{name}-{template_hash}",
                            "labels": dict(template["metadata"]["labels"]),
                            "ownerReferences": [_owner_ref(deployment)],
                        },
                        "spec": {
                            "replicas": spec["replicas"],
                            "selector": {"matchLabels": selector},
                            "template": template,
                        },
                    },
                )
            for rs in owned:
                wanted = (
                    spec["replicas"]
                    if rs["metadata"]["uid"] == current["metadata"]["uid"]
                    else 0
                )
                if rs["spec"]["replicas"] != wanted:
                    rs["spec"]["replicas"] = wanted
                    store.update(REPLICA_SETS, ns, rs, check_version=False)
            pods = [
                pod
                for rs in self._owned(REPLICA_SETS, deployment)
                for pod in self._owned(PODS, rs)
            ]
            updated = self._owned(PODS, current)
            ready = sum(1 for pod in pods if is_ready(pod))
            available = ready == spec["replicas"]
            deployment["status"] = _without_zeroes(
                {
                    "observedGeneration": deployment["metadata"]["generation"],
                    "replicas": len(pods),
                    "updatedReplicas": len(updated),
                    "readyReplicas": ready,
                    "availableReplicas": ready,
                    "unavailableReplicas": max(spec["replicas"] - ready, 0),
                }
            )
            deployment["status"]["conditions"] = [
                {
                    "type": "Available",
                    "status": "True" if available else "False",
                    "reason": "MinimumReplicasAvailable"
                    if available
                    else "MinimumReplicasUnavailable",
                    "message": "Deployment has minimum availability."
                    if available
                    else "Deployment does not have minimum availability.",
                },
                {
                    "type": "Progressing",
                    "status": "True",
                    "reason": "NewReplicaSetAvailable",
                    "message": f'ReplicaSet "{current["metadata"]["name"]}" has '
                    "successfully progressed.",
                },
            ]
            store.update(DEPLOYMENTS, ns, deployment, check_version=False)

    def _new_pod(
        self, owner: dict[str, Any], name: str, extra_labels: dict[str, str]
    ) -> dict[str, Any]:
        template = json.loads(json.dumps(owner["spec"]["template"]))
        metadata = template.get("metadata") or {}
        metadata["name"] = name
        metadata["labels"] = {**(metadata.get("labels") or {}), **extra_labels}
        metadata["ownerReferences"] = [_owner_ref(owner)]
        return {"metadata": metadata, "spec": template.get("spec") or {}}

    def _replica_sets(self) -> None:
        store = self._store
        for rs in store.list(REPLICA_SETS):
            ns, name = rs["metadata"]["namespace"], rs["metadata"]["name"]
            pods = [
                pod
                for pod in self._owned(PODS, rs)
                if not pod["metadata"].get("deletionTimestamp")
            ]
            wanted = rs["spec"]["replicas"]
            for _ in range(wanted - len(pods)):
                suffix = "".join(self._random.choice(_ALPHABET) for _ in range(5))
                pods.append(
                    store.create(PODS, ns, self._new_pod(rs, f"{name}-{suffix}", {}))
                )
            if len(pods) > wanted:
                newest_first = sorted(
                    pods,
                    key=lambda p: int(p["metadata"]["resourceVersion"]),
                    reverse=True,
                )
                for pod in newest_first[: len(pods) - wanted]:
                    store.delete(PODS, ns, pod["metadata"]["name"])
                    pods.remove(pod)
            ready = sum(1 for pod in pods if is_ready(pod))
            rs["status"] = _without_zeroes(
                {
                    "replicas": len(pods),
                    "fullyLabeledReplicas": len(pods),
                    "readyReplicas": ready,
                    "availableReplicas": ready,
                    "observedGeneration": rs["metadata"]["generation"],
                }
            )
            rs["status"].setdefault("replicas", 0)
            store.update(REPLICA_SETS, ns, rs, check_version=False)

    def _stateful_sets(self) -> None:
        store = self._store
        for sts in store.list(STATEFUL_SETS):
            ns, name = sts["metadata"]["namespace"], sts["metadata"]["name"]
            revision = f"{name}-{_template_hash(sts['spec']['template'])}"
            pods = {pod["metadata"]["name"]: pod for pod in self._owned(PODS, sts)}
            wanted = [f"{name}-{i}" for i in range(sts["spec"]["replicas"])]
            for pod_name in wanted:
                if pod_name not in pods:
                    labels = {
                        "statefulset.kubernetes.io/pod-name": pod_name,
                        "controller-revision-hash": revision,
                    }
                    pods[pod_name] = store.create(
                        PODS, ns, self._new_pod(sts, pod_name, labels)
                    )
            for pod_name in sorted(set(pods) - set(wanted), reverse=True):
                store.delete(PODS, ns, pod_name)
                del pods[pod_name]
            ready = sum(1 for pod in pods.values() if is_ready(pod))
            sts["status"] = _without_zeroes(
                {
                    "observedGeneration": sts["metadata"]["generation"],
                    "replicas": len(pods),
                    "readyReplicas": ready,
                    "currentReplicas": len(pods),
                    "updatedReplicas": len(pods),
                    "availableReplicas": ready,
                }
            )
            sts["status"].setdefault("replicas", 0)
            sts["status"]["currentRevision"] = sts["status"]["updateRevision"] = (
                revision
            )
            store.update(STATEFUL_SETS, ns, sts, check_version=False)

    def _schedulable_node(self, pods_by_node: dict[str, int]) -> str | None:
        candidates = [
            node["metadata"]["name"]
            for node in self._store.list(NODES)
            if not node["spec"].get("unschedulable")
            and any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in node.get("status", {}).get("conditions", [])
            )
        ]
        if not candidates:
            return None
        return min(candidates, key=lambda n: (pods_by_node.get(n, 0), n))

    def _pods(self) -> None:
        store = self._store
        now = now_rfc3339()
        for pod in store.list(PODS):
            doomed_at = pod["metadata"].get("deletionTimestamp")
            if doomed_at and doomed_at <= now:  # same format: text order is time
                store.delete(
                    PODS, pod["metadata"]["namespace"], pod["metadata"]["name"]
                )
        pods = store.list(PODS)
        pods_by_node: dict[str, int] = {}
        for pod in pods:
            node = pod["spec"].get("nodeName")
            if node:
                pods_by_node[node] = pods_by_node.get(node, 0) + 1
        for pod in pods:
            ns = pod["metadata"]["namespace"]
            if not pod["spec"].get("nodeName"):
                node = self._schedulable_node(pods_by_node)
                if node is None:
                    pod["status"] = {
                        "phase": "Pending",
                        "qosClass": "BestEffort",
                        "conditions": [
                            {
                                "type": "PodScheduled",
                                "status": "False",
                                "reason": "Unschedulable",
                                "message": "0/0 nodes are available.",
                            }
                        ],
                    }
                    store.update(PODS, ns, pod, check_version=False)
                    continue
                pod["spec"]["nodeName"] = node
                pods_by_node[node] = pods_by_node.get(node, 0) + 1
            forced = (pod["metadata"].get("annotations") or {}).get(PHASE_ANNOTATION)
            pod["status"] = self._kubelet_status(pod, forced)
            store.update(PODS, ns, pod, check_version=False)

    def _kubelet_status(
        self, pod: dict[str, Any], forced_phase: str | None
    ) -> dict[str, Any]:
        old = pod.get("status") or {}
        started = old.get("startTime") or now_rfc3339()
        ready = forced_phase is None
        flag = "True" if ready else "False"
        conditions = [
            {"type": t, "status": s, "lastTransitionTime": started}
            for t, s in (
                ("PodScheduled", "True"),
                ("Initialized", "True"),
                ("ContainersReady", flag),
                ("Ready", flag),
            )
        ]
        if old.get("podIP"):
            pod_ip = old["podIP"]
        else:
            n = next(self._ips)
            pod_ip = f"10.244.{n // 250}.{n % 250 + 2}"
        return {
            "phase": forced_phase or "Running",
            "conditions": conditions,
            "hostIP": "10.0.0.1",
            "podIP": pod_ip,
            "startTime": started,
            "qosClass": "BestEffort",
            "containerStatuses": [
                {
                    "name": container["name"],
                    "image": container.get("image", ""),
                    "imageID": "",
                    "containerID": f"loopback://{pod['metadata']['uid']}-{container['name']}",
                    "ready": ready,
                    "started": ready,
                    "restartCount": 0,
                    "state": {"running": {"startedAt": started}}
                    if ready
                    else {"terminated": {"exitCode": 1, "reason": "Error"}},
                }
                for container in pod["spec"].get("containers", [])
            ],
        }
