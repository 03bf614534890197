"""Prometheus as an evidence source: the PromQL that reads each observation from the standard
exporters' series (node_exporter, kube-state-metrics, the kubelet's volume stats,
snmp_exporter's IF-MIB, blackbox_exporter, pryorda/vmware_exporter, the kubelet's probe
counters and cAdvisor, openstack-exporter), asked through the
published ``prometheus-mcp-server``'s read-only ``execute_query``. The data migration seeds a
frozen copy of it on the ``prometheus`` connector; an admin edits that one.

``$label`` placeholders are the object's label values (``profiles.label_values``), always
inserted as escaped string literals (``$host_re`` and ``$node_instance_re``: a host by its
short name or any FQDN of it, the name escaped as a regular expression first). Windows are
real ones (5 minutes for rates, an hour for changes); docs/investigation.md lists each
query, threshold and what it is evidence for.
"""

from __future__ import annotations

from typing import Any

PROMETHEUS_TOOLS = (
    "execute_query",
    "execute_range_query",
    "list_metrics",
    "get_metric_metadata",
    "get_targets",
    "health_check",
)
VALUE = "result.0.value.1"
_ARGS = {"query": "{query}"}

# node_exporter's filesystems (real ones: not the kernel's pseudo filesystems) and network
# devices of one host: the fullest filesystem's space and inodes, errors in and out.
_FS = 'instance=~$node_instance_re, fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|fuse.lxcfs"'
_FS_USED = (
    f"100 * max(1 - node_filesystem_avail_bytes{{{_FS}}} / node_filesystem_size_bytes{{{_FS}}})"
)
_FS_INODES = f"100 * max(1 - node_filesystem_files_free{{{_FS}}} / node_filesystem_files{{{_FS}}})"
_NET_ERRORS = (
    "sum(rate(node_network_receive_errs_total{instance=~$node_instance_re}[5m]))"
    " + sum(rate(node_network_transmit_errs_total{instance=~$node_instance_re}[5m]))"
)

# openstack-exporter's flavor of a server: the flavor series whose id is the server's flavor_id.
_FLAVOR = (
    "openstack_nova_flavor and on(id) label_replace(max by (flavor_id) "
    '(openstack_nova_server_status{name=~$host_re}), "id", "$1", "flavor_id", "(.+)")'
)
# A deployment's pods (``$pods_re``: its name, a dash, the ReplicaSet's hash and the pod's
# suffix), their containers' CPU from cAdvisor against kube-state-metrics' limits and
# requests, and the share of CFS periods in which the limit throttled them.
_PODS = 'namespace=$namespace, pod=~$pods_re, container!=""'
_CPU_USED = f"sum(rate(container_cpu_usage_seconds_total{{{_PODS}}}[5m]))"

# (observation, PromQL, where the value is, unit). The first entry of each kind tells
# whether Prometheus knows the object at all (an empty answer: it does not).
_QUERIES: tuple[tuple[str, str, str, str], ...] = (
    # A VM: its node_exporter (job node, instance host:9100) and vCenter (job vmware). It is
    # a VM when vCenter knows it (an OpenStack instance runs node_exporter too).
    ("vm.up", 'max(up{job="node", instance=~$node_instance_re})'
     " and on() max(vmware_vm_power_state{vm_name=~$host_re})", VALUE, "bool"),
    ("vm.powered_on", "max(vmware_vm_power_state{vm_name=~$host_re})", VALUE, "bool"),
    ("vm.tools_status", "vmware_vm_guest_tools_running_status{vm_name=~$host_re} == 1",
     "result.0.metric.tools_status", "text"),
    ("vm.memory_used_pct",
     "100 * (1 - max(node_memory_MemAvailable_bytes{instance=~$node_instance_re})"
     " / max(node_memory_MemTotal_bytes{instance=~$node_instance_re}))", VALUE, "percent"),
    ("vm.swap_used_pct",
     "100 * (1 - max(node_memory_SwapFree_bytes{instance=~$node_instance_re})"
     " / max(node_memory_SwapTotal_bytes{instance=~$node_instance_re}))", VALUE, "percent"),
    ("vm.major_faults_rate", "sum(rate(node_vmstat_pgmajfault{instance=~$node_instance_re}[5m]))",
     VALUE, "per_second"),
    ("vm.load_per_cpu",
     "max(node_load1{instance=~$node_instance_re}) / max(vmware_vm_num_cpu{vm_name=~$host_re})",
     VALUE, "number"),
    # vCenter's cpu.usage.average is in hundredths of a percent; cpu.ready.summation is ms
    # of ready time per 20 s sample summed over the vCPUs (ms / 200 = % of one vCPU).
    ("vm.cpu_usage_pct", "max(vmware_vm_cpu_usage_average{vm_name=~$host_re}) / 100", VALUE,
     "percent"),
    ("vm.cpu_ready_pct",
     "max(vmware_vm_cpu_ready_summation{vm_name=~$host_re}) / 200"
     " / max(vmware_vm_num_cpu{vm_name=~$host_re})", VALUE, "percent"),
    ("vm.ballooned", "max(vmware_vm_mem_vmmemctl_average{vm_name=~$host_re})", VALUE, "kib"),
    ("vm.swapped", "max(vmware_vm_mem_swapped_average{vm_name=~$host_re})", VALUE, "kib"),
    ("vm.cpus", "max(vmware_vm_num_cpu{vm_name=~$host_re})", VALUE, "count"),
    ("vm.memory", "max(vmware_vm_memory_max{vm_name=~$host_re})", VALUE, "mib"),
    # Last, so a tight call budget drops them first: the guest's filesystems (the fullest
    # one) and its network errors, from node_exporter.
    ("vm.filesystem_used_pct", _FS_USED, VALUE, "percent"),
    ("vm.filesystem_inodes_used_pct", _FS_INODES, VALUE, "percent"),
    ("vm.network_errors_rate", _NET_ERRORS, VALUE, "per_second"),
    # An OpenStack instance: its node_exporter.
    ("instance.up", 'max(up{job="node", instance=~$node_instance_re})', VALUE, "bool"),
    # openstack-exporter: nova's status of the server, its flavor (by the server's flavor_id).
    ("instance.status", "openstack_nova_server_status{name=~$host_re}", "result.0.metric.status",
     "text"),
    ("instance.flavor", _FLAVOR, "result.0.metric.name", "text"),
    ("instance.vcpus", _FLAVOR, "result.0.metric.vcpus", "count"),
    ("instance.load1", "max(node_load1{instance=~$node_instance_re})", VALUE, "number"),
    ("instance.memory_used_pct",
     "100 * (1 - max(node_memory_MemAvailable_bytes{instance=~$node_instance_re})"
     " / max(node_memory_MemTotal_bytes{instance=~$node_instance_re}))", VALUE, "percent"),
    ("instance.filesystem_used_pct", _FS_USED, VALUE, "percent"),
    ("instance.filesystem_inodes_used_pct", _FS_INODES, VALUE, "percent"),
    ("instance.network_errors_rate", _NET_ERRORS, VALUE, "per_second"),
    # A pod: kube-state-metrics.
    ("pod.restarts_rate",
     "sum(rate(kube_pod_container_status_restarts_total{namespace=$namespace, pod=$pod}[5m]))",
     VALUE, "per_second"),
    ("pod.waiting_reason",
     "kube_pod_container_status_waiting_reason{namespace=$namespace, pod=$pod} == 1",
     "result.0.metric.reason", "text"),
    ("pod.last_terminated_reason",
     "kube_pod_container_status_last_terminated_reason{namespace=$namespace, pod=$pod} == 1",
     "result.0.metric.reason", "text"),
    ("pod.last_exit_code",
     "max(kube_pod_container_status_last_terminated_exitcode{namespace=$namespace, pod=$pod})",
     VALUE, "number"),
    ("pod.liveness_failures_rate",
     'sum(rate(prober_probe_total{namespace=$namespace, pod=$pod, probe_type="Liveness", '
     'result="failed"}[5m]))', VALUE, "per_second"),
    ("pod.memory_limit",
     'max(kube_pod_container_resource_limits{namespace=$namespace, pod=$pod, '
     'resource="memory"})', VALUE, "bytes"),
    ("pod.namespace_deployments", "kube_deployment_spec_replicas{namespace=$namespace}",
     "result", "json"),
    # A deployment: kube-state-metrics, and blackbox's probe of its service.
    ("deployment.replicas",
     "max(kube_deployment_spec_replicas{namespace=$namespace, deployment=$deployment})",
     VALUE, "count"),
    ("deployment.available_replicas",
     "max(kube_deployment_status_replicas_available{namespace=$namespace, "
     "deployment=$deployment})", VALUE, "count"),
    ("deployment.generation_changes",
     "max(changes(kube_deployment_metadata_generation{namespace=$namespace, "
     "deployment=$deployment}[1h]))", VALUE, "count"),
    ("deployment.probe_success", 'max(probe_success{job="blackbox", instance=$service_url})',
     VALUE, "bool"),
    ("deployment.probe_status_code",
     'max(probe_http_status_code{job="blackbox", instance=$service_url})', VALUE, "number"),
    ("deployment.probe_duration",
     'max(probe_duration_seconds{job="blackbox", instance=$service_url})', VALUE, "seconds"),
    ("deployment.cpu_pct_of_limits",
     f"100 * {_CPU_USED} / sum(kube_pod_container_resource_limits{{{_PODS}, "
     'resource="cpu"})', VALUE, "percent"),
    ("deployment.cpu_pct_of_requests",
     f"100 * {_CPU_USED} / sum(kube_pod_container_resource_requests{{{_PODS}, "
     'resource="cpu"})', VALUE, "percent"),
    ("deployment.cpu_throttled_pct",
     f"100 * sum(rate(container_cpu_cfs_throttled_periods_total{{{_PODS}}}[5m]))"
     f" / sum(rate(container_cpu_cfs_periods_total{{{_PODS}}}[5m]))", VALUE, "percent"),
    # A claim: the kubelet's volume stats.
    ("volume.used_pct",
     "100 * (1 - max(kubelet_volume_stats_available_bytes{namespace=$namespace, "
     "persistentvolumeclaim=$claim}) / max(kubelet_volume_stats_capacity_bytes{"
     "namespace=$namespace, persistentvolumeclaim=$claim}))", VALUE, "percent"),
    ("volume.size",
     "max(kubelet_volume_stats_capacity_bytes{namespace=$namespace, "
     "persistentvolumeclaim=$claim})", VALUE, "bytes"),
    ("volume.inodes_used_pct",
     "100 * (1 - max(kubelet_volume_stats_inodes_free{namespace=$namespace, "
     "persistentvolumeclaim=$claim}) / max(kubelet_volume_stats_inodes{"
     "namespace=$namespace, persistentvolumeclaim=$claim}))", VALUE, "percent"),
    ("volume.growth",
     "-deriv(max(kubelet_volume_stats_available_bytes{namespace=$namespace, "
     "persistentvolumeclaim=$claim})[1h:1m])", VALUE, "bytes_per_second"),
    # A switch and its interfaces: snmp_exporter's if_mib (instance the device).
    ("device.up", 'max(up{job="snmp", instance=$device})', VALUE, "bool"),
    ("interface.oper_status", "max(ifOperStatus{instance=$device, ifName=$interface})",
     VALUE, "if_status"),
    ("interface.admin_status", "max(ifAdminStatus{instance=$device, ifName=$interface})",
     VALUE, "if_status"),
    ("interface.in_errors_total", "max(ifInErrors{instance=$device, ifName=$interface})",
     VALUE, "count"),
    ("interface.in_errors_rate", "sum(rate(ifInErrors{instance=$device, ifName=$interface}[5m]))",
     VALUE, "per_second"),
    ("interface.out_errors_rate",
     "sum(rate(ifOutErrors{instance=$device, ifName=$interface}[5m]))", VALUE, "per_second"),
    ("interface.flaps", "max(changes(ifLastChange{instance=$device, ifName=$interface}[1h]))",
     VALUE, "count"),
)  # fmt: skip

PROMETHEUS_PROFILE: dict[str, Any] = {
    "examples": {
        "vm": "prod-web-01", "pod": "default/web-7d9f", "deployment": "default/web",
        "device": "core-sw-01", "interface": "core-sw-01 Gi0/1", "volume": "vol-data-02",
        "instance": "app-instance-01",
    },
    "observations": [
        {"observation": o, "tool": "execute_query", "args": dict(_ARGS), "query": q, "path": p,
         "unit": u}
        for o, q, p, u in _QUERIES
    ],
}  # fmt: skip
