"""The one reader of names: every accepted spelling, the spellings refused, and that no text
can crash it or make it slow. Then: the target rules, the investigation and the analysis read
the same names from the same text."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remediation.analysis.rules.diagnosis import detect_platform
from remediation.analysis.rules.matching import find_interface
from remediation.catalogue.rules import names
from remediation.catalogue.rules.operations import ObjectKind
from remediation.catalogue.rules.targets import ObjectRef, find_objects, parse_affected
from remediation.investigation.rules.subjects import interfaces_in, subjects_for

# (spelling, family, a network device's port)
INTERFACES = [
    ("GigabitEthernet0/1", "GigabitEthernet", True),
    ("GigabitEthernet1/0/24", "GigabitEthernet", True),
    ("Gi0/1", "GigabitEthernet", True),
    ("gi1/0/24", "GigabitEthernet", True),
    ("TenGigabitEthernet1/0/1", "TenGigabitEthernet", True),
    ("Te1/0/1", "TenGigabitEthernet", True),
    ("Te1/1/1.100", "TenGigabitEthernet", True),
    ("FastEthernet0/1", "FastEthernet", True),
    ("Fa0/1", "FastEthernet", True),
    ("HundredGigE1/0/1", "HundredGigE", True),
    ("TwentyFiveGigE1/0/1", "TwentyFiveGigE", True),
    ("FortyGigabitEthernet1/0/1", "FortyGigabitEthernet", True),
    ("Ethernet1", "Ethernet", True),
    ("Ethernet1/1", "Ethernet", True),
    ("Ethernet1/1:2", "Ethernet", True),
    ("Eth1/1", "Ethernet", True),
    ("Et1", "Ethernet", True),
    ("Port-channel1", "Port-channel", True),
    ("Port-Channel10", "Port-channel", True),
    ("Po1", "Port-channel", True),
    ("Vlan10", "Vlan", True),
    ("Loopback0", "Loopback", True),
    ("Lo0", "Loopback", True),
    ("Management1", "Management", True),
    ("mgmt0", "Management", True),
    ("Serial0/0/0", "Serial", True),
    ("Tunnel1", "Tunnel", True),
    ("xe-0/0/1", "xe", True),
    ("ge-0/0/0", "ge", True),
    ("ge-0/0/0.0", "ge", True),
    ("et-0/0/0:1", "et", True),
    ("ae0", "ae", True),
    ("lo0", "Loopback", True),
    ("irb.100", "irb", True),
    ("eth0", "eth", False),
    ("eth0.100", "eth", False),
    ("bond0", "bond", False),
    ("eno1", "eno", False),
    ("ens3", "ens", False),
    ("ens3f0", "ens", False),
    ("enp0s3", "enp", False),
    ("enp3s0f1", "enp", False),
]

NOT_INTERFACES = [
    "PO1234",  # an order number, not Po1234
    "TE1",
    "xe-0",  # Junos always writes FPC/PIC/port
    "Gi",
    "Gi0/",
    "eth",
    "prod-web-01",
    "GigabitEthernet0/1/2/3/4/5/6",
    "",
]


@pytest.mark.parametrize(("spelling", "family", "switch"), INTERFACES)
def test_every_accepted_interface_spelling_is_read_as_written(spelling, family, switch):
    found = names.interface(spelling)
    assert found == names.InterfaceName(spelling, family, switch)
    for text in (
        f"errors on {spelling} since 02:00",
        f"core-sw-01:{spelling} is down.",
        f"({spelling}), flapping",
        spelling,
    ):
        assert names.interface_names(text) == (spelling,), text


@pytest.mark.parametrize("text", NOT_INTERFACES)
def test_what_is_not_an_interface(text):
    assert names.interface(text) is None
    assert names.interface_names(f"see {text} now") == ()


def test_every_family_of_the_table_has_a_spelling_tested_here():
    tested = {family for _, family, _ in INTERFACES}
    missing = {f.name for f in names.INTERFACE_FAMILIES} - tested
    assert missing <= {"FiveGigabitEthernet", "TwoGigabitEthernet", "fxp", "em"}, missing


def test_a_name_with_anything_after_it_is_not_one_name():
    assert names.interface("Gi0/1; rm -rf /") is None
    assert names.interface("Gi0/1 ") is None


@st.composite
def interface_spellings(draw):
    family = draw(st.sampled_from(names.INTERFACE_FAMILIES))
    spelling = draw(st.sampled_from(family.spellings))
    numbers = draw(st.from_regex(f"^{family.numbering}$", fullmatch=True))
    return family, spelling + numbers.strip()


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(interface_spellings())
def test_every_spelling_the_table_generates_round_trips(generated):
    # The name may read as another family ("Eth1" is Linux's, "lo0" a loopback): it is
    # still read back exactly as written.
    _family, name = generated
    if len(name) > 64:
        return
    found = names.interface(name)
    assert found is not None and found.name == name, name
    assert names.interface_names(f"port {name} err-disabled") == (name,)


NAMESPACES = [
    ("kubectl -n payments get pods", "payments"),
    ("kubectl get pods --namespace payments", "payments"),
    ("kubectl get pods --namespace=payments", "payments"),
    ('namespace="payments" pod="api-1"', "payments"),
    ("namespace: payments", "payments"),
    ("Namespace: Payments", "payments"),
    ("in the namespace payments", "payments"),
    ("ns=payments", "payments"),
    ("ns: payments", "payments"),
    ("30 ns latency spikes", ""),  # "ns x" is a duration, not a namespace
    ("-n payments and -n orders", ""),  # two namespaces: none
    ("no namespace here", "here"),
    ("nothing", ""),
]


@pytest.mark.parametrize(("text", "expected"), NAMESPACES)
def test_the_namespace_a_text_names(text, expected):
    assert names.namespace(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("prod-web-01:9100", ("prod-web-01", 9100)),
        ("10.0.0.5:9100", ("10.0.0.5", 9100)),
        ("[2001:db8::1]:9100", ("2001:db8::1", 9100)),
        ("2001:db8::1", ("2001:db8::1", None)),
        ("fe80::1", ("fe80::1", None)),
        ("prod-web-01", ("prod-web-01", None)),
        ("prod-web-01:99999", ("prod-web-01:99999", None)),
        ("core-sw-01:Gi0/1", ("core-sw-01:Gi0/1", None)),
    ],
)
def test_ports(value, expected):
    assert names.split_port(value) == expected


@pytest.mark.parametrize(
    ("value", "host"),
    [
        ("prod-web-03:9100", "prod-web-03"),
        ("http://app-instance-01:8080/healthz", "app-instance-01"),
        ("https://user@api.example.com/x", "api.example.com"),
        ("10.0.0.5:9100", ""),
        ("[::1]:9100", ""),
        ("http://[2001:db8::1]:80/", ""),
        ("999.1.1.1", ""),
        ("a..b", ""),
        ("-rf", ""),
    ],
)
def test_hosts_and_addresses(value, host):
    assert names.host_of(value) == host


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("10.0.0.5", True),
        ("255.255.255.255", True),
        ("256.1.1.1", False),
        ("2001:db8::1", True),
        ("::1", True),
        ("fe80::1%eth0", False),
        ("prod-web-01", False),
        ("12:30:45", False),
    ],
)
def test_ip_addresses_v4_and_v6(text, address):
    assert names.is_ip_address(text) is address


def test_fqdns_and_short_names():
    assert names.is_fqdn("prod-web-07.corp.example.com")
    assert names.short_host("prod-web-07.corp.example.com") == "prod-web-07"
    assert not names.is_fqdn("prod-web-07")
    assert not names.is_host_name("10.0.0.5")
    assert names.short_host("10.0.0.5") == ""


@pytest.mark.parametrize(
    ("name", "volume"),
    [
        ("vol-data-01", True),
        ("lun_07", True),
        ("pvc-3f1c9a", True),
        ("disk-02", True),
        ("volcano-01", False),
        ("vol-", False),
        ("vol-a..b", False),
    ],
)
def test_volume_names(name, volume):
    assert names.is_volume_name(name) is volume


def test_volumes_in_mount_points_and_exports():
    assert names.volume_in_path("/mnt/vol-data-02") == "vol-data-02"
    assert names.volume_in_path("filer01:/vol-data-02/") == "vol-data-02"
    assert names.volume_in_path("/var/lib/data") == ""


def test_pods_name_their_owner():
    assert names.pod_owner("web-7d9f8b6c5-x2k4q") == ("deployment", "web")
    assert names.pod_owner("zk-1") == ("statefulset", "zk")
    assert names.pod_owner("standalone") is None


def test_namespace_name_pairs_in_prose():
    text = "pods in shop/web and read/write errors on kworker/2, 1/3 of them"
    assert names.k8s_pairs(text) == ("shop/web",)


# --- Any text ---------------------------------------------------------------------------------

READERS = (
    names.interfaces,
    names.namespaces,
    names.namespace,
    names.k8s_pairs,
    lambda t: list(names.host_words(t)),
    names.split_port,
    names.host_of,
    names.is_ip_address,
    names.is_volume_name,
    names.volume_in_path,
    names.interface,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_random_text_never_crashes_any_reader(text):
    for read in READERS:
        read(text)


@pytest.mark.parametrize(
    "text",
    [
        "\x00" * 1000 + "Gi0/1",
        "Gi0/1\x00eth0\x00-n payments",
        "a" * 100_000,
        "Gi" + "0/" * 50_000,
        "-n " * 30_000,
        ("prod-web-" + "1" * 60 + " ") * 2_000,
        "vol-" + "x" * 100_000,
        ":" * 100_000,
        "[" + "1:" * 50_000,
    ],
)
def test_hostile_input_is_bounded(text):
    for read in READERS:
        read(text)
    # Only the first MAX_TEXT_CHARS are read, and at most MAX_FOUND names come back.
    many = " ".join(f"Gi0/{i}" for i in range(5_000))
    assert len(names.interfaces(many)) == names.MAX_FOUND
    late = "x" * names.MAX_TEXT_CHARS + " Gi0/1"
    assert names.interfaces(late) == ()


# --- The three callers agree -------------------------------------------------------------------

AGREEMENT = [
    ("core-sw-01", "errors and flapping on Port-channel1 since the change", "Port-channel1"),
    ("core-sw-01", "CRC errors on GigabitEthernet0/1", "GigabitEthernet0/1"),
    ("core-sw-01", "Ethernet1 err-disabled", "Ethernet1"),
    ("edge-rt-01", "xe-0/0/1 down, ae0 degraded", "xe-0/0/1"),
    ("leaf-02", "Te1/0/1 flapping", "Te1/0/1"),
    ("prod-web-01", "eth0 link down on the host", "eth0"),
    ("prod-web-01", "NIC enp0s3 dropping packets", "enp0s3"),
]


@pytest.mark.parametrize(("affected", "text", "interface"), AGREEMENT)
def test_targets_investigation_and_analysis_read_the_same_interface(affected, text, interface):
    from_targets = [o.name for o in find_objects(text) if o.kind is ObjectKind.INTERFACE]
    from_investigation = interfaces_in(f"{affected}\n{text}")
    from_analysis = find_interface(text)
    assert from_targets[0] == from_investigation[0] == from_analysis == interface
    [subject, *_] = subjects_for(affected, text)
    assert subject.interfaces[0] == interface


@pytest.mark.parametrize(
    ("text", "namespace"),
    [
        ("kubectl -n payments describe pod api-8b7c", "payments"),
        ("Namespace: Payments; pod api-8b7c restarting", "payments"),
        ("pod api-8b7c --namespace=orders", "orders"),
        ("pod api-8b7c in namespace payments, not namespace orders", ""),
    ],
)
def test_targets_and_investigation_read_the_same_namespace(text, namespace):
    pods = [o for o in find_objects(text) if o.kind is ObjectKind.POD]
    subject = subjects_for("api-8b7c", text)[0]
    tried = [name for name, kinds in subject.alternatives if "pod" in kinds]
    if namespace:
        assert pods == [ObjectRef(ObjectKind.POD, f"{namespace}/api-8b7c")]
        assert tried == [f"{namespace}/api-8b7c"]
    else:
        # Two namespaces name none: neither reader guesses one.
        assert pods == [ObjectRef(ObjectKind.POD, "api-8b7c")]
        assert tried == []


@pytest.mark.parametrize(
    ("affected", "host"),
    [
        ("prod-web-07.corp.example.com", "prod-web-07.corp.example.com"),
        ("prod-web-01", "prod-web-01"),
        ("prod-web-01:9100", None),
    ],
)
def test_targets_and_investigation_read_the_same_host(affected, host):
    ref = parse_affected(affected)
    subjects = subjects_for(affected, "")
    if host is None:
        assert ref is None and subjects == []
    else:
        assert ref == ObjectRef(ObjectKind.HOST, host)
        assert subjects[0].name == host


def test_an_address_is_a_host_as_the_affected_system_and_no_object_in_labels():
    # The submitter named the host by its address: both readers take it as written.
    assert parse_affected("10.42.0.9") == ObjectRef(ObjectKind.HOST, "10.42.0.9")
    [subject] = subjects_for("10.42.0.9", "")
    assert subject.name == "10.42.0.9"
    assert subject.alternatives == ()  # no "10" short name, no "default/10" pod
    # In an alert's labels, an address is the scrape target: no host to look at.
    assert names.host_of("10.42.0.9:8080") == ""
    assert parse_affected("999.1.1.1") is None


@pytest.mark.parametrize(
    ("text", "network"),
    [
        ("Port-channel1 down on core-sw-01", True),
        ("GigabitEthernet0/1 flapping", True),
        ("xe-0/0/1 errors", True),
        ("eth0 down on the host", False),  # a host's NIC is no switch port
    ],
)
def test_the_analysis_counts_a_switch_port_as_a_network_signal(text, network):
    assert (detect_platform(text) == "network") is network
