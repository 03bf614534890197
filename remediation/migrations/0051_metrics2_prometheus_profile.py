"""The Prometheus connector's profile gains the series that tell look-alikes apart: the
kubelet's failed liveness probes and kube-state-metrics' last exit code for a pod; cAdvisor's
CPU against the containers' limits and requests, and CFS throttling, for a deployment;
openstack-exporter's nova status and flavor (with node_exporter's load) for an instance. A
frozen copy; a profile an admin edited (anything but the previous shipped copy) is left
alone."""

from django.db import migrations

PREVIOUS = {
    "examples": {
        "vm": "prod-web-01",
        "pod": "default/web-7d9f",
        "deployment": "default/web",
        "device": "core-sw-01",
        "interface": "core-sw-01 Gi0/1",
        "volume": "vol-data-02",
        "instance": "app-instance-01",
    },
    "observations": [
        {
            "observation": "vm.up",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": 'max(up{job="node", instance=~$node_instance_re})',
            "path": "result.0.value.1",
            "unit": "bool",
        },
        {
            "observation": "vm.powered_on",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(vmware_vm_power_state{vm_name=~$host_re})",
            "path": "result.0.value.1",
            "unit": "bool",
        },
        {
            "observation": "vm.tools_status",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "vmware_vm_guest_tools_running_status{vm_name=~$host_re} == 1",
            "path": "result.0.metric.tools_status",
            "unit": "text",
        },
        {
            "observation": "vm.memory_used_pct",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "100 * (1 - "
            "max(node_memory_MemAvailable_bytes{instance=~$node_instance_re}) "
            "/ "
            "max(node_memory_MemTotal_bytes{instance=~$node_instance_re}))",
            "path": "result.0.value.1",
            "unit": "percent",
        },
        {
            "observation": "vm.swap_used_pct",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "100 * (1 - "
            "max(node_memory_SwapFree_bytes{instance=~$node_instance_re}) "
            "/ "
            "max(node_memory_SwapTotal_bytes{instance=~$node_instance_re}))",
            "path": "result.0.value.1",
            "unit": "percent",
        },
        {
            "observation": "vm.major_faults_rate",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "sum(rate(node_vmstat_pgmajfault{instance=~$node_instance_re}[5m]))",
            "path": "result.0.value.1",
            "unit": "per_second",
        },
        {
            "observation": "vm.load_per_cpu",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(node_load1{instance=~$node_instance_re}) / "
            "max(vmware_vm_num_cpu{vm_name=~$host_re})",
            "path": "result.0.value.1",
            "unit": "number",
        },
        {
            "observation": "vm.cpu_usage_pct",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(vmware_vm_cpu_usage_average{vm_name=~$host_re}) / 100",
            "path": "result.0.value.1",
            "unit": "percent",
        },
        {
            "observation": "vm.cpu_ready_pct",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(vmware_vm_cpu_ready_summation{vm_name=~$host_re}) / "
            "200 / max(vmware_vm_num_cpu{vm_name=~$host_re})",
            "path": "result.0.value.1",
            "unit": "percent",
        },
        {
            "observation": "vm.ballooned",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(vmware_vm_mem_vmmemctl_average{vm_name=~$host_re})",
            "path": "result.0.value.1",
            "unit": "kib",
        },
        {
            "observation": "vm.swapped",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(vmware_vm_mem_swapped_average{vm_name=~$host_re})",
            "path": "result.0.value.1",
            "unit": "kib",
        },
        {
            "observation": "vm.cpus",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(vmware_vm_num_cpu{vm_name=~$host_re})",
            "path": "result.0.value.1",
            "unit": "count",
        },
        {
            "observation": "vm.memory",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(vmware_vm_memory_max{vm_name=~$host_re})",
            "path": "result.0.value.1",
            "unit": "mib",
        },
        {
            "observation": "vm.filesystem_used_pct",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "100 * max(1 - "
            "node_filesystem_avail_bytes{instance=~$node_instance_re, "
            'fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|fuse.lxcfs"} / '
            "node_filesystem_size_bytes{instance=~$node_instance_re, "
            'fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|fuse.lxcfs"})',
            "path": "result.0.value.1",
            "unit": "percent",
        },
        {
            "observation": "vm.filesystem_inodes_used_pct",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "100 * max(1 - "
            "node_filesystem_files_free{instance=~$node_instance_re, "
            'fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|fuse.lxcfs"} / '
            "node_filesystem_files{instance=~$node_instance_re, "
            'fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|fuse.lxcfs"})',
            "path": "result.0.value.1",
            "unit": "percent",
        },
        {
            "observation": "vm.network_errors_rate",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "sum(rate(node_network_receive_errs_total{instance=~$node_instance_re}[5m])) "
            "+ "
            "sum(rate(node_network_transmit_errs_total{instance=~$node_instance_re}[5m]))",
            "path": "result.0.value.1",
            "unit": "per_second",
        },
        {
            "observation": "instance.up",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": 'max(up{job="node", instance=~$node_instance_re})',
            "path": "result.0.value.1",
            "unit": "bool",
        },
        {
            "observation": "instance.memory_used_pct",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "100 * (1 - "
            "max(node_memory_MemAvailable_bytes{instance=~$node_instance_re}) "
            "/ "
            "max(node_memory_MemTotal_bytes{instance=~$node_instance_re}))",
            "path": "result.0.value.1",
            "unit": "percent",
        },
        {
            "observation": "instance.filesystem_used_pct",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "100 * max(1 - "
            "node_filesystem_avail_bytes{instance=~$node_instance_re, "
            'fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|fuse.lxcfs"} / '
            "node_filesystem_size_bytes{instance=~$node_instance_re, "
            'fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|fuse.lxcfs"})',
            "path": "result.0.value.1",
            "unit": "percent",
        },
        {
            "observation": "instance.filesystem_inodes_used_pct",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "100 * max(1 - "
            "node_filesystem_files_free{instance=~$node_instance_re, "
            'fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|fuse.lxcfs"} / '
            "node_filesystem_files{instance=~$node_instance_re, "
            'fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|fuse.lxcfs"})',
            "path": "result.0.value.1",
            "unit": "percent",
        },
        {
            "observation": "instance.network_errors_rate",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "sum(rate(node_network_receive_errs_total{instance=~$node_instance_re}[5m])) "
            "+ "
            "sum(rate(node_network_transmit_errs_total{instance=~$node_instance_re}[5m]))",
            "path": "result.0.value.1",
            "unit": "per_second",
        },
        {
            "observation": "pod.restarts_rate",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "sum(rate(kube_pod_container_status_restarts_total{namespace=$namespace, "
            "pod=$pod}[5m]))",
            "path": "result.0.value.1",
            "unit": "per_second",
        },
        {
            "observation": "pod.waiting_reason",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "kube_pod_container_status_waiting_reason{namespace=$namespace, "
            "pod=$pod} == 1",
            "path": "result.0.metric.reason",
            "unit": "text",
        },
        {
            "observation": "pod.last_terminated_reason",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "kube_pod_container_status_last_terminated_reason{namespace=$namespace, "
            "pod=$pod} == 1",
            "path": "result.0.metric.reason",
            "unit": "text",
        },
        {
            "observation": "pod.memory_limit",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(kube_pod_container_resource_limits{namespace=$namespace, "
            'pod=$pod, resource="memory"})',
            "path": "result.0.value.1",
            "unit": "bytes",
        },
        {
            "observation": "pod.namespace_deployments",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "kube_deployment_spec_replicas{namespace=$namespace}",
            "path": "result",
            "unit": "json",
        },
        {
            "observation": "deployment.replicas",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(kube_deployment_spec_replicas{namespace=$namespace, "
            "deployment=$deployment})",
            "path": "result.0.value.1",
            "unit": "count",
        },
        {
            "observation": "deployment.available_replicas",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(kube_deployment_status_replicas_available{namespace=$namespace, "
            "deployment=$deployment})",
            "path": "result.0.value.1",
            "unit": "count",
        },
        {
            "observation": "deployment.generation_changes",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(changes(kube_deployment_metadata_generation{namespace=$namespace, "
            "deployment=$deployment}[1h]))",
            "path": "result.0.value.1",
            "unit": "count",
        },
        {
            "observation": "deployment.probe_success",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": 'max(probe_success{job="blackbox", instance=$service_url})',
            "path": "result.0.value.1",
            "unit": "bool",
        },
        {
            "observation": "deployment.probe_status_code",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": 'max(probe_http_status_code{job="blackbox", instance=$service_url})',
            "path": "result.0.value.1",
            "unit": "number",
        },
        {
            "observation": "deployment.probe_duration",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": 'max(probe_duration_seconds{job="blackbox", instance=$service_url})',
            "path": "result.0.value.1",
            "unit": "seconds",
        },
        {
            "observation": "volume.used_pct",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "100 * (1 - "
            "max(kubelet_volume_stats_available_bytes{namespace=$namespace, "
            "persistentvolumeclaim=$claim}) / "
            "max(kubelet_volume_stats_capacity_bytes{namespace=$namespace, "
            "persistentvolumeclaim=$claim}))",
            "path": "result.0.value.1",
            "unit": "percent",
        },
        {
            "observation": "volume.size",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(kubelet_volume_stats_capacity_bytes{namespace=$namespace, "
            "persistentvolumeclaim=$claim})",
            "path": "result.0.value.1",
            "unit": "bytes",
        },
        {
            "observation": "volume.inodes_used_pct",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "100 * (1 - "
            "max(kubelet_volume_stats_inodes_free{namespace=$namespace, "
            "persistentvolumeclaim=$claim}) / "
            "max(kubelet_volume_stats_inodes{namespace=$namespace, "
            "persistentvolumeclaim=$claim}))",
            "path": "result.0.value.1",
            "unit": "percent",
        },
        {
            "observation": "volume.growth",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "-deriv(max(kubelet_volume_stats_available_bytes{namespace=$namespace, "
            "persistentvolumeclaim=$claim})[1h:1m])",
            "path": "result.0.value.1",
            "unit": "bytes_per_second",
        },
        {
            "observation": "device.up",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": 'max(up{job="snmp", instance=$device})',
            "path": "result.0.value.1",
            "unit": "bool",
        },
        {
            "observation": "interface.oper_status",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(ifOperStatus{instance=$device, ifName=$interface})",
            "path": "result.0.value.1",
            "unit": "if_status",
        },
        {
            "observation": "interface.admin_status",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(ifAdminStatus{instance=$device, ifName=$interface})",
            "path": "result.0.value.1",
            "unit": "if_status",
        },
        {
            "observation": "interface.in_errors_total",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(ifInErrors{instance=$device, ifName=$interface})",
            "path": "result.0.value.1",
            "unit": "count",
        },
        {
            "observation": "interface.in_errors_rate",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "sum(rate(ifInErrors{instance=$device, ifName=$interface}[5m]))",
            "path": "result.0.value.1",
            "unit": "per_second",
        },
        {
            "observation": "interface.out_errors_rate",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "sum(rate(ifOutErrors{instance=$device, ifName=$interface}[5m]))",
            "path": "result.0.value.1",
            "unit": "per_second",
        },
        {
            "observation": "interface.flaps",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(changes(ifLastChange{instance=$device, ifName=$interface}[1h]))",
            "path": "result.0.value.1",
            "unit": "count",
        },
    ],
}

PROMETHEUS_PROFILE = {
    "examples": {
        "vm": "prod-web-01",
        "pod": "default/web-7d9f",
        "deployment": "default/web",
        "device": "core-sw-01",
        "interface": "core-sw-01 Gi0/1",
        "volume": "vol-data-02",
        "instance": "app-instance-01",
    },
    "observations": [
        {
            "observation": "vm.up",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": 'max(up{job="node", instance=~$node_instance_re}) and on() '
            "max(vmware_vm_power_state{vm_name=~$host_re})",
            "path": "result.0.value.1",
            "unit": "bool",
        },
        {
            "observation": "vm.powered_on",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(vmware_vm_power_state{vm_name=~$host_re})",
            "path": "result.0.value.1",
            "unit": "bool",
        },
        {
            "observation": "vm.tools_status",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "vmware_vm_guest_tools_running_status{vm_name=~$host_re} == 1",
            "path": "result.0.metric.tools_status",
            "unit": "text",
        },
        {
            "observation": "vm.memory_used_pct",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "100 * (1 - "
            "max(node_memory_MemAvailable_bytes{instance=~$node_instance_re}) "
            "/ "
            "max(node_memory_MemTotal_bytes{instance=~$node_instance_re}))",
            "path": "result.0.value.1",
            "unit": "percent",
        },
        {
            "observation": "vm.swap_used_pct",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "100 * (1 - "
            "max(node_memory_SwapFree_bytes{instance=~$node_instance_re}) "
            "/ "
            "max(node_memory_SwapTotal_bytes{instance=~$node_instance_re}))",
            "path": "result.0.value.1",
            "unit": "percent",
        },
        {
            "observation": "vm.major_faults_rate",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "sum(rate(node_vmstat_pgmajfault{instance=~$node_instance_re}[5m]))",
            "path": "result.0.value.1",
            "unit": "per_second",
        },
        {
            "observation": "vm.load_per_cpu",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(node_load1{instance=~$node_instance_re}) / "
            "max(vmware_vm_num_cpu{vm_name=~$host_re})",
            "path": "result.0.value.1",
            "unit": "number",
        },
        {
            "observation": "vm.cpu_usage_pct",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(vmware_vm_cpu_usage_average{vm_name=~$host_re}) / 100",
            "path": "result.0.value.1",
            "unit": "percent",
        },
        {
            "observation": "vm.cpu_ready_pct",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(vmware_vm_cpu_ready_summation{vm_name=~$host_re}) / "
            "200 / max(vmware_vm_num_cpu{vm_name=~$host_re})",
            "path": "result.0.value.1",
            "unit": "percent",
        },
        {
            "observation": "vm.ballooned",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(vmware_vm_mem_vmmemctl_average{vm_name=~$host_re})",
            "path": "result.0.value.1",
            "unit": "kib",
        },
        {
            "observation": "vm.swapped",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(vmware_vm_mem_swapped_average{vm_name=~$host_re})",
            "path": "result.0.value.1",
            "unit": "kib",
        },
        {
            "observation": "vm.cpus",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(vmware_vm_num_cpu{vm_name=~$host_re})",
            "path": "result.0.value.1",
            "unit": "count",
        },
        {
            "observation": "vm.memory",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(vmware_vm_memory_max{vm_name=~$host_re})",
            "path": "result.0.value.1",
            "unit": "mib",
        },
        {
            "observation": "vm.filesystem_used_pct",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "100 * max(1 - "
            "node_filesystem_avail_bytes{instance=~$node_instance_re, "
            'fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|fuse.lxcfs"} / '
            "node_filesystem_size_bytes{instance=~$node_instance_re, "
            'fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|fuse.lxcfs"})',
            "path": "result.0.value.1",
            "unit": "percent",
        },
        {
            "observation": "vm.filesystem_inodes_used_pct",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "100 * max(1 - "
            "node_filesystem_files_free{instance=~$node_instance_re, "
            'fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|fuse.lxcfs"} / '
            "node_filesystem_files{instance=~$node_instance_re, "
            'fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|fuse.lxcfs"})',
            "path": "result.0.value.1",
            "unit": "percent",
        },
        {
            "observation": "vm.network_errors_rate",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "sum(rate(node_network_receive_errs_total{instance=~$node_instance_re}[5m])) "
            "+ "
            "sum(rate(node_network_transmit_errs_total{instance=~$node_instance_re}[5m]))",
            "path": "result.0.value.1",
            "unit": "per_second",
        },
        {
            "observation": "instance.up",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": 'max(up{job="node", instance=~$node_instance_re})',
            "path": "result.0.value.1",
            "unit": "bool",
        },
        {
            "observation": "instance.status",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "openstack_nova_server_status{name=~$host_re}",
            "path": "result.0.metric.status",
            "unit": "text",
        },
        {
            "observation": "instance.flavor",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "openstack_nova_flavor and on(id) label_replace(max by "
            "(flavor_id) "
            '(openstack_nova_server_status{name=~$host_re}), "id", '
            '"$1", "flavor_id", "(.+)")',
            "path": "result.0.metric.name",
            "unit": "text",
        },
        {
            "observation": "instance.vcpus",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "openstack_nova_flavor and on(id) label_replace(max by "
            "(flavor_id) "
            '(openstack_nova_server_status{name=~$host_re}), "id", '
            '"$1", "flavor_id", "(.+)")',
            "path": "result.0.metric.vcpus",
            "unit": "count",
        },
        {
            "observation": "instance.load1",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(node_load1{instance=~$node_instance_re})",
            "path": "result.0.value.1",
            "unit": "number",
        },
        {
            "observation": "instance.memory_used_pct",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "100 * (1 - "
            "max(node_memory_MemAvailable_bytes{instance=~$node_instance_re}) "
            "/ "
            "max(node_memory_MemTotal_bytes{instance=~$node_instance_re}))",
            "path": "result.0.value.1",
            "unit": "percent",
        },
        {
            "observation": "instance.filesystem_used_pct",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "100 * max(1 - "
            "node_filesystem_avail_bytes{instance=~$node_instance_re, "
            'fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|fuse.lxcfs"} / '
            "node_filesystem_size_bytes{instance=~$node_instance_re, "
            'fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|fuse.lxcfs"})',
            "path": "result.0.value.1",
            "unit": "percent",
        },
        {
            "observation": "instance.filesystem_inodes_used_pct",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "100 * max(1 - "
            "node_filesystem_files_free{instance=~$node_instance_re, "
            'fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|fuse.lxcfs"} / '
            "node_filesystem_files{instance=~$node_instance_re, "
            'fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|fuse.lxcfs"})',
            "path": "result.0.value.1",
            "unit": "percent",
        },
        {
            "observation": "instance.network_errors_rate",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "sum(rate(node_network_receive_errs_total{instance=~$node_instance_re}[5m])) "
            "+ "
            "sum(rate(node_network_transmit_errs_total{instance=~$node_instance_re}[5m]))",
            "path": "result.0.value.1",
            "unit": "per_second",
        },
        {
            "observation": "pod.restarts_rate",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "sum(rate(kube_pod_container_status_restarts_total{namespace=$namespace, "
            "pod=$pod}[5m]))",
            "path": "result.0.value.1",
            "unit": "per_second",
        },
        {
            "observation": "pod.waiting_reason",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "kube_pod_container_status_waiting_reason{namespace=$namespace, "
            "pod=$pod} == 1",
            "path": "result.0.metric.reason",
            "unit": "text",
        },
        {
            "observation": "pod.last_terminated_reason",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "kube_pod_container_status_last_terminated_reason{namespace=$namespace, "
            "pod=$pod} == 1",
            "path": "result.0.metric.reason",
            "unit": "text",
        },
        {
            "observation": "pod.last_exit_code",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(kube_pod_container_status_last_terminated_exitcode{namespace=$namespace, "
            "pod=$pod})",
            "path": "result.0.value.1",
            "unit": "number",
        },
        {
            "observation": "pod.liveness_failures_rate",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "sum(rate(prober_probe_total{namespace=$namespace, "
            'pod=$pod, probe_type="Liveness", result="failed"}[5m]))',
            "path": "result.0.value.1",
            "unit": "per_second",
        },
        {
            "observation": "pod.memory_limit",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(kube_pod_container_resource_limits{namespace=$namespace, "
            'pod=$pod, resource="memory"})',
            "path": "result.0.value.1",
            "unit": "bytes",
        },
        {
            "observation": "pod.namespace_deployments",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "kube_deployment_spec_replicas{namespace=$namespace}",
            "path": "result",
            "unit": "json",
        },
        {
            "observation": "deployment.replicas",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(kube_deployment_spec_replicas{namespace=$namespace, "
            "deployment=$deployment})",
            "path": "result.0.value.1",
            "unit": "count",
        },
        {
            "observation": "deployment.available_replicas",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(kube_deployment_status_replicas_available{namespace=$namespace, "
            "deployment=$deployment})",
            "path": "result.0.value.1",
            "unit": "count",
        },
        {
            "observation": "deployment.generation_changes",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(changes(kube_deployment_metadata_generation{namespace=$namespace, "
            "deployment=$deployment}[1h]))",
            "path": "result.0.value.1",
            "unit": "count",
        },
        {
            "observation": "deployment.probe_success",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": 'max(probe_success{job="blackbox", instance=$service_url})',
            "path": "result.0.value.1",
            "unit": "bool",
        },
        {
            "observation": "deployment.probe_status_code",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": 'max(probe_http_status_code{job="blackbox", instance=$service_url})',
            "path": "result.0.value.1",
            "unit": "number",
        },
        {
            "observation": "deployment.probe_duration",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": 'max(probe_duration_seconds{job="blackbox", instance=$service_url})',
            "path": "result.0.value.1",
            "unit": "seconds",
        },
        {
            "observation": "deployment.cpu_pct_of_limits",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "100 * "
            "sum(rate(container_cpu_usage_seconds_total{namespace=$namespace, "
            'pod=~$pods_re, container!=""}[5m])) / '
            "sum(kube_pod_container_resource_limits{namespace=$namespace, "
            'pod=~$pods_re, container!="", resource="cpu"})',
            "path": "result.0.value.1",
            "unit": "percent",
        },
        {
            "observation": "deployment.cpu_pct_of_requests",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "100 * "
            "sum(rate(container_cpu_usage_seconds_total{namespace=$namespace, "
            'pod=~$pods_re, container!=""}[5m])) / '
            "sum(kube_pod_container_resource_requests{namespace=$namespace, "
            'pod=~$pods_re, container!="", resource="cpu"})',
            "path": "result.0.value.1",
            "unit": "percent",
        },
        {
            "observation": "deployment.cpu_throttled_pct",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "100 * "
            "sum(rate(container_cpu_cfs_throttled_periods_total{namespace=$namespace, "
            'pod=~$pods_re, container!=""}[5m])) / '
            "sum(rate(container_cpu_cfs_periods_total{namespace=$namespace, "
            'pod=~$pods_re, container!=""}[5m]))',
            "path": "result.0.value.1",
            "unit": "percent",
        },
        {
            "observation": "volume.used_pct",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "100 * (1 - "
            "max(kubelet_volume_stats_available_bytes{namespace=$namespace, "
            "persistentvolumeclaim=$claim}) / "
            "max(kubelet_volume_stats_capacity_bytes{namespace=$namespace, "
            "persistentvolumeclaim=$claim}))",
            "path": "result.0.value.1",
            "unit": "percent",
        },
        {
            "observation": "volume.size",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(kubelet_volume_stats_capacity_bytes{namespace=$namespace, "
            "persistentvolumeclaim=$claim})",
            "path": "result.0.value.1",
            "unit": "bytes",
        },
        {
            "observation": "volume.inodes_used_pct",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "100 * (1 - "
            "max(kubelet_volume_stats_inodes_free{namespace=$namespace, "
            "persistentvolumeclaim=$claim}) / "
            "max(kubelet_volume_stats_inodes{namespace=$namespace, "
            "persistentvolumeclaim=$claim}))",
            "path": "result.0.value.1",
            "unit": "percent",
        },
        {
            "observation": "volume.growth",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "-deriv(max(kubelet_volume_stats_available_bytes{namespace=$namespace, "
            "persistentvolumeclaim=$claim})[1h:1m])",
            "path": "result.0.value.1",
            "unit": "bytes_per_second",
        },
        {
            "observation": "device.up",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": 'max(up{job="snmp", instance=$device})',
            "path": "result.0.value.1",
            "unit": "bool",
        },
        {
            "observation": "interface.oper_status",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(ifOperStatus{instance=$device, ifName=$interface})",
            "path": "result.0.value.1",
            "unit": "if_status",
        },
        {
            "observation": "interface.admin_status",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(ifAdminStatus{instance=$device, ifName=$interface})",
            "path": "result.0.value.1",
            "unit": "if_status",
        },
        {
            "observation": "interface.in_errors_total",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(ifInErrors{instance=$device, ifName=$interface})",
            "path": "result.0.value.1",
            "unit": "count",
        },
        {
            "observation": "interface.in_errors_rate",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "sum(rate(ifInErrors{instance=$device, ifName=$interface}[5m]))",
            "path": "result.0.value.1",
            "unit": "per_second",
        },
        {
            "observation": "interface.out_errors_rate",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "sum(rate(ifOutErrors{instance=$device, ifName=$interface}[5m]))",
            "path": "result.0.value.1",
            "unit": "per_second",
        },
        {
            "observation": "interface.flaps",
            "tool": "execute_query",
            "args": {"query": "{query}"},
            "query": "max(changes(ifLastChange{instance=$device, ifName=$interface}[1h]))",
            "path": "result.0.value.1",
            "unit": "count",
        },
    ],
}


def forward(apps, schema_editor):
    PlatformConnector = apps.get_model("remediation", "PlatformConnector")
    for row in PlatformConnector.objects.filter(platform="prometheus"):
        if row.profile == PREVIOUS:
            row.profile = PROMETHEUS_PROFILE
            row.save(update_fields=["profile"])


def backward(apps, schema_editor):
    PlatformConnector = apps.get_model("remediation", "PlatformConnector")
    for row in PlatformConnector.objects.filter(platform="prometheus"):
        if row.profile == PROMETHEUS_PROFILE:
            row.profile = PREVIOUS
            row.save(update_fields=["profile"])


class Migration(migrations.Migration):
    dependencies = [
        ("remediation", "0050_audit_actions_calibration"),
    ]

    operations = [migrations.RunPython(forward, backward)]
