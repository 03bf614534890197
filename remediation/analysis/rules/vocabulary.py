# ruff: noqa: E501  (wording tables: one spelling list per line reads better than wrapped)
"""Wording as data: the terms alerts, logs and people use, the causes they establish, and
which catalogue operation fixes which cause. Pure, no Django; every table is tested
(tests/remediation/analysis/test_vocabulary.py), and wording is added here, not in code.

* ``TERMS``: a canonical term and the spellings that mean it in real alerts and logs
  (Kubernetes reason fields, Prometheus alert names, switch syslog, vSphere and Nova
  messages). Patterns below refer to a term as ``<<term>>``.
* ``SYMPTOMS``: what is observed (a pod crash-looping, a disk 97% full). A symptom never
  chooses an action on its own.
* ``CAUSES``: why it happens. Each cause lists its evidence: ``decisive`` patterns establish
  it alone (a reason field, an exit code, a named root cause); ``supporting`` ones need a
  second piece of evidence. ``requires`` names symptoms of which one must also be present.
* ``FIXES`` / ``DOES_NOT_FIX``: the default knowledge of what each operation fixes and
  where it does not help or harms. Runbooks can narrow ``FIXES``; ``DOES_NOT_FIX`` always
  applies, whatever a runbook (or feedback) says.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

# fmt: off
TERMS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "crashloop": (r"crash\s?loop\s?back\s?off", r"crash[- ]?loop(?:ing|s|ed)?", r"back-?off restarting failed container",
                  r"restarting (?:repeatedly|continuously|in a loop)", r"KubePodCrashLooping"),
    "oomkilled": (r"\boom[- _]?kill(?:ed|er)?", r"out of memory: kill(?:ed)? process", r"OutOfMemoryError",
                  r"exceed(?:ed|s|ing)? (?:its |the |their )?(?:container )?memory limit",
                  r"memory cgroup out of memory", r"java heap space"),
    "exit137": (r"exit(?:ed)?(?: with)?(?: code| status)?[ :=]*137\b", r"\bsigkill\b",),
    "exit127": (r"exit(?:ed)?(?: with)?(?: code| status)?[ :=]*12[67]\b",),
    "exec_missing": (r"executable file not found", r"exec: \S{1,80}: no such file or directory",
                     r"command not found", r"exec format error", r"\bRunContainerError\b",
                     r"\bStartError\b", r"no such file or directory.{0,40}(?:entrypoint|command|exec)",
                     r"(?:entrypoint|command|args?) (?:has a |had a |contains a )?typo",
                     r"typo in (?:the )?(?:container )?(?:command|entrypoint|args?)"),
    "config_error": (r"CreateContainerConfigError", r"configmaps? \"?[\w.-]{1,80}\"? not found",
                     r"couldn'?t find key \S{1,80} in configmap", r"invalid config(?:uration)?",
                     r"failed to (?:parse|load|read) (?:the )?config", r"config(?:uration)? (?:file )?(?:is )?(?:invalid|malformed|missing)",
                     r"yaml: (?:line \d{1,12}|unmarshal)", r"unknown (?:flag|option|configuration key)",
                     r"misconfigur(?:ed|ation)", r"bad config(?:uration)? (?:change|push|value)"),
    "secret_missing": (r"secrets? \"?[\w.-]{1,80}\"? not found", r"couldn'?t find key \S{1,80} in secret",
                       r"missing secret", r"secret (?:was )?(?:deleted|removed|missing)"),
    "env_missing": (r"environment variable \S{1,80} (?:is )?(?:not set|missing|undefined|required|empty)",
                    r"env(?:ironment)? var(?:iable)? \S{1,80} (?:is )?(?:not set|missing|undefined|required)",
                    r"missing (?:required )?env(?:ironment)? var(?:iable)?s?",
                    r"\b[A-Z][A-Z0-9_]{2,} (?:is )?(?:not set|unset|undefined)\b", r"keyerror: '[A-Z0-9_]+'"),
    "image_pull": (r"ImagePullBackOff", r"ErrImagePull", r"ErrImageNeverPull", r"InvalidImageName",
                   r"manifest (?:for \S{1,80} )?(?:unknown|not found)", r"pull access denied",
                   r"failed to pull image", r"image \S{1,80} not found", r"repository does not exist"),
    "probe_failed": (r"(?:liveness|readiness|startup) probe (?:failed|failing|errored|timed out)",
                     r"probe failed", r"failing (?:liveness|readiness|startup) probes?",
                     r"unhealthy.{0,40}probe"),
    "probe_wrong": (r"(?:probe|health ?check)\S* (?:\w{1,40} ){0,3}(?:wrong|incorrect|misconfigured|mismatched) (?:port|path)",
                    r"(?:wrong|incorrect) (?:probe )?(?:port|path)", r"port mismatch",
                    r"(?:listens|listening|serves|bound) on (?:port )?\d{1,12}.{0,60}probe",
                    r"probe.{0,80}(?:but|while) (?:the )?(?:app|application|container|server) (?:listens|is listening|serves)",
                    r"initialdelayseconds (?:is )?too (?:short|low)", r"probe.{0,40}(?:path|endpoint) (?:returns|returned|gives) 404"),
    "deadlock": (r"dead-?lock(?:ed|s)?", r"\bhung\b", r"\bhangs?\b", r"\bhanging\b", r"\bfrozen\b", r"\bfroze\b",
                 r"soft lockup", r"blocked for more than \d{1,12} seconds", r"hung_task",
                 r"all (?:worker )?threads (?:are )?(?:blocked|waiting|stuck)", r"thread pool exhausted",
                 r"stopped (?:responding|processing|consuming)", r"event loop (?:is )?blocked",
                 r"wedged", r"stuck (?:process|thread|worker|in a bad state)"),
    "unresponsive": (r"not responding", r"unresponsive", r"does not respond", r"doesn'?t respond",
                     r"no response", r"timed? ?out", r"heartbeat (?:lost|missing|failed)",
                     r"vmware tools (?:is )?not running", r"console (?:is )?(?:blank|black|frozen|unresponsive)",
                     r"ssh (?:times out|timed out|hangs|unreachable)"),
    "host_healthy": (r"(?:host|hypervisor|esxi|node|compute node|cluster) (?:is |looks |seems )?(?:healthy|fine|ok|normal)",
                     r"other (?:vms|instances|guests|pods) (?:on (?:the|that) (?:host|node) )?(?:are )?(?:fine|healthy|ok|unaffected)",
                     r"(?:still )?(?:answers|responds to) ping", r"ping (?:works|ok|succeeds)"),
    "release": (r"after (?:the |today'?s |this morning'?s |last night'?s )?(?:deploy(?:ment)?|release|rollout|roll-out|upgrade|update|rollout of)\b",
                r"since (?:the |today'?s )?(?:deploy(?:ment)?|release|rollout|upgrade)\b",
                r"new (?:version|release|build|image|image tag)", r"(?:image|tag|version) (?:was )?(?:bumped|changed|updated)",
                r"(?:regression|bug) (?:in|introduced in|from) (?:the )?(?:new |latest )?(?:v\d|version|release|build)",
                r"(?:rolled|pushed) out (?:v?\d|version|release|a new)", r"(?:deployed|released|shipped) (?:v?\d{1,12}\.\d{1,12}|version|release|build)",
                r"(?:started|began) (?:right )?(?:after|when) (?:we )?(?:deployed|released|rolled out|upgraded)",
                r"after (?:we|they|someone) (?:deployed|released|rolled out|upgraded|shipped)",
                r"previous (?:version|revision|release) (?:was|worked|is) (?:fine|ok|healthy|stable)"),
    "no_release": (r"no (?:recent )?(?:deploy(?:ment)?s?|releases?|rollouts?|changes?|code changes?)",
                   r"nothing (?:was )?(?:deployed|changed|released)", r"(?:same|unchanged) (?:version|image|build) for"),
    "errors": (r"\b5\d\d\b", r"\berrors?\b", r"exceptions?", r"fail(?:ing|ed|ures?)", r"crash(?:es|ing|ed)?",
               r"KubeDeploymentReplicasMismatch", r"\bdown\b", r"latency"),
    "load": (r"traffic (?:spike|surge|increase|jump|burst)", r"spike in (?:traffic|requests|load|users)",
             r"(?:request|traffic|query) (?:rate|volume|load)s? (?:\w{1,40} ){0,2}(?:up|increased|doubled|tripled|rising|spiked|grew)",
             r"(?:requests|rps|qps) (?:\w{1,40} ){0,2}(?:doubled|tripled|\d{1,12}x|spiked)",
             r"(?:\d{1,12}x|double|twice|triple) (?:the )?(?:normal |usual )?(?:traffic|load|requests)",
             r"(?:marketing )?campaign", r"black friday", r"flash sale", r"product launch", r"promotion",
             r"KubeHpaMaxedOut", r"hpa (?:\S{1,80} )?(?:at|reached|maxed|hit) (?:its )?(?:max|maximum)",
             r"(?:more|many more) (?:users|customers|clients|requests) than (?:usual|normal)", r"peak (?:traffic|season|load)"),
    "capacity": (r"undersized", r"under-?provisioned",
                 r"(?:workload|usage|data ?set|user base|users|tenants|traffic|demand|volume|load|requests|jobs|transactions|throughput|keyspace) (?:has |have )?(?:grown|grew|increased|doubled|tripled|risen|rose)",
                 r"(?:increased|grown|grew|growth of) (?:by )?\d{1,12}(?:\.\d{1,12})? ?(?:x|%)", r"\b\d{1,12}(?:\.\d{1,12})?x (?:more|growth|increase)",
                 r"outgr(?:own|ew)", r"sized for", r"(?:not|no longer) enough (?:memory|ram|cpu|vcpus?) for",
                 r"needs? more (?:memory|ram|cpu|vcpus?|cores)", r"capacity (?:planning|review|limit)",
                 r"more (?:users|tenants|customers|data) (?:were )?(?:onboarded|added)", r"legitimate (?:load|growth|usage)",
                 r"steady (?:growth|increase)", r"organic growth"),
    "leak": (r"memory leak", r"leak(?:s|ing|ed)? memory", r"(?:rss|heap|memory|resident) (?:\w{1,40} ){0,2}(?:grows|growing|climbs|climbing|creeps|increases) (?:steadily |linearly |slowly |continuously )?(?:until|over|without|and never)",
             r"never (?:frees|released|releases|returns) memory", r"sawtooth"),
    "runaway": (r"catastrophic backtracking", r"\bregex(?:es|p)?\b", r"regular expression", r"infinite loop", r"busy[- ]loop",
                r"(?:spinning|spins) (?:at|on) 100", r"runaway (?:process|query|job|thread|script|cron)",
                r"(?:bad|broken|faulty|new) (?:\w{1,40} )?rules?\b", r"rule (?:evaluation|matching) (?:is )?(?:slow|expensive)",
                r"crypto ?min(?:er|ing)", r"xmrig", r"single (?:thread|process|core) (?:at|pegged|pinned)",
                r"one (?:process|thread) (?:at|using|pegged) 100", r"fork bomb", r"stuck (?:query|job)"),
    "contention": (r"cpu ready", r"co-?stop", r"noisy neighbou?r", r"(?:host|hypervisor) (?:is )?(?:over-?committed|contended|saturated)",
                   r"steal time", r"%steal", r"cpu throttl(?:ed|ing)"),
    "memory_symptom": (r"out of memory", r"\boom\b", r"memory (?:pressure|exhausted|usage (?:is )?high|at \d{1,12} ?%)",
                       r"(?:memory|ram) (?:usage |utili[sz]ation )?(?:at |is |of )?(?:[89]\d|100)(?:\.\d{1,12})? ?%",
                       r"high memory", r"swapping", r"cannot allocate memory", r"NodeMemoryHighUtilization",
                       r"(?:ram|memory) (?:is )?(?:full|exhausted)", r"<<oomkilled>>"),
    "cpu_symptom": (r"high cpu", r"cpu (?:usage |utili[sz]ation |load )?(?:at |is |of )?(?:9\d|100) ?%", r"cpu (?:saturat|pegged|maxed)",
                    r"load average (?:high|of \d{1,12})", r"high load", r"NodeCPUHighUsage", r"cpu[- ]bound", r"cpu starvation"),
    "disk_full": (r"\b(?:9\d|100)(?:\.\d{1,12})? ?% (?:full|used|utili[sz]ed|capacity)",
                  r"(?:disk|filesystem|file system|volume|datastore|lun|pvc|partition|storage|space|mount(?:point)?|/[\w/.-]{0,80})\s+(?:[\w.-]{1,40}\s+){0,2}(?:used|usage|utili[sz]ation|capacity)?\s*(?:at |of |is |reached )?(?:9\d|100)(?:\.\d{1,12})? ?%",
                  r"no space left on device", r"\benospc\b", r"disk (?:is )?(?:almost |nearly )?full", r"(?:filesystem|file system|volume|datastore|lun|pvc|partition) (?:is )?(?:almost |nearly )?full",
                  r"out of (?:disk )?space", r"running out of (?:disk )?space", r"low (?:on )?(?:disk|free) space",
                  r"NodeFilesystem(?:AlmostOutOfSpace|SpaceFillingUp)", r"KubePersistentVolumeFillingUp", r"datastore usage on disk",
                  r"only (?:[0-9]|10)(?:\.\d{1,12})? ?% (?:available|free)", r"(?:is )?only (?:[0-9]|10)(?:\.\d{1,12})? ?% free",
                  r"(?:free|available) space (?:is |left |below |under |of )?(?:[0-9]|10)(?:\.\d{1,12})? ?%", r"less than (?:[0-9]|10) ?% (?:free|available|space)"),
    "inodes": (r"inodes?", r"NodeFilesystem(?:AlmostOutOfFiles|FilesFillingUp)", r"out of files"),
    "logs_growth": (r"\blogs?\b.{0,40}(?:grow|fill|huge|\d{1,12} ?[gt]b|runaway|verbose)", r"(?:debug|trace|verbose) logging", r"log (?:file|rotation) ",
                    r"logrotate", r"core ?dumps?", r"/var/log", r"audit log", r"journal (?:is )?(?:huge|large)"),
    "data_growth": (r"data (?:growth|grows|is growing|has grown|volume (?:grew|increased))", r"(?:grow|grew|growing|grows|filling) (?:steadily|linearly|by \d)",
                    r"(?:expected|organic|normal|steady|business) growth", r"predicted to (?:fill|run out)", r"will (?:be full|fill(?: up)?|run out) (?:in|within)",
                    r"(?:new|more) (?:data|customers|records|uploads|ingest)", r"ingest(?:ion)? (?:rate )?(?:increased|grew|up)", r"retention (?:period )?(?:increased|extended)",
                    r"(?:database|db|tablespace|data set|dataset) (?:has )?(?:grown|grew)",
                    r"(?:more|new) (?:users|tenants|customers|clients|vms|desktops) (?:were |have been )?(?:onboarded|added)",
                    r"growth (?:is|comes from|from) (?:the )?(?:new|more)"),
    "deleted_open": (r"deleted (?:but )?(?:still )?open", r"lsof.{0,30}deleted", r"\(deleted\)"),
    "snapshots": (r"snapshots? (?:\w{1,40} ){0,3}(?:consum|eat|us|fill|grow|tak|piling|accumulat)\w*", r"(?:old|stale|many|too many|hundreds of|accumulated|orphaned) snapshots",
                  r"snapshot (?:reserve|space|chain)", r"snapshots? older than", r"snapshot retention"),
    "snapshot_request": (r"take (?:a )?snapshot", r"snapshot (?:the vm |it )?before", r"pre-?change snapshot", r"snapshot (?:is )?requested",
                         r"(?:need|want|please|request) (?:a )?snapshot", r"snapshot the vm"),
    "err_disabled": (r"err-?disabled?", r"errdisable", r"err_disabled", r"error[- ]disabled", r"psecure[- ]violation",
                     r"bpdu ?guard", r"port[- ]security violation", r"loop(?:back)? detected", r"udld"),
    "admin_down": (r"administratively down", r"admin(?:istratively)?[- ]?(?:down|shut(?:down)?)", r"(?:left|was|is|been) (?:in )?shut(?:down)?\b",
                   r"shut (?:down )?(?:during|for|in) (?:the )?maintenance", r"disabled (?:by|during) (?:an? )?(?:operator|admin|engineer|maintenance|change)",
                   r"not re-?enabled", r"forgot to (?:re-?)?enable", r"(?:nobody|no one|never) re-?enabled",
                   r"'?shut(?:down)?'? (?:\w{1,40} ){0,2}left (?:over |in place |from )", r"(?:config|configuration) (?:still )?(?:shows|has|contains) '?shutdown", r"no shut(?:down)? (?:was )?(?:never|not) (?:applied|run|issued)"),
    "interface_errors": (r"\bcrc\b", r"input errors?", r"output errors?", r"rx errors?", r"tx errors?", r"frame errors?",
                         r"fcs errors?", r"NodeNetwork(?:Receive|Transmit)Errs", r"interface errors?", r"error counters?", r"ifInErrors", r"ifOutErrors",
                         r"giants|runts", r"discards"),
    "physical": (r"(?:bad|faulty|damaged|dirty|loose) (?:cable|fiber|fibre|optic|sfp|transceiver|patch)", r"(?:rx|tx|receive|transmit) (?:power|light) (?:\w{1,40} ){0,2}(?:low|high|out of range|below)",
                 r"light levels?", r"duplex mismatch", r"late collisions", r"(?:errors?|crc) (?:\w{1,40} ){0,3}(?:increasing|incrementing|rising|growing|climbing|keep(?:s)? (?:growing|increasing))",
                 r"(?:increasing|incrementing|rising|growing|climbing) (?:\w{1,40} ){0,2}(?:errors|crc)", r"dom (?:alarm|warning)"),
    "stale_errors": (r"(?:errors?|counters?|crc) (?:\w{1,40} ){0,3}(?:not|no longer|stopped) (?:increasing|incrementing|growing|rising)",
                     r"no new errors", r"(?:counters?|errors?) (?:\w{1,40} ){0,3}(?:stable|flat|static|unchanged|historical|old)",
                     r"after (?:the )?(?:cable|optic|sfp|transceiver|patch cord|fiber|fibre) (?:was |were )?(?:replaced|swapped|reseated|changed|cleaned)",
                     r"(?:cable|optic|sfp|transceiver|patch cord|fiber|fibre) (?:was |were |has been )?(?:replaced|swapped|reseated|changed|cleaned)",
                     r"since (?:the )?(?:last|previous) (?:incident|outage|clear)"),
    "flapping": (r"flap(?:ping|s|ped)?\b", r"NodeNetworkInterfaceFlapping", r"changed state to down.{0,200}changed state to up",
                 r"bouncing up and down", r"up/down repeatedly"),
    "stuck_interface": (r"(?:interface|port|link) (?:is )?stuck (?:in )?(?:down|init|err|the down state)",
                        r"\bstuck (?:in )?(?:the )?(?:down|init|down/down)(?: state)?", r"(?:carrier|provider|isp|peer|neighbou?r|far end|other side) (?:confirms |says |reports )?(?:their |its )?(?:side |end )?(?:is )?up", r"line protocol (?:is )?down.{0,80}(?:peer|neighbou?r|far end|other side) (?:is )?up",
                        r"(?:peer|neighbou?r|far end|other side) (?:is )?up.{0,80}line protocol (?:is )?down", r"did not come back (?:up )?after (?:the )?(?:peer|neighbou?r|far end|upstream)",
                        r"stayed down after (?:the )?(?:peer|neighbou?r|far end|upstream|maintenance)", r"(?:link|interface) (?:is )?wedged", r"down/down after"),
    "unschedulable": (r"FailedScheduling", r"\bunschedulable\b", r"\d{1,12}/\d{1,12} nodes are available", r"insufficient (?:cpu|memory|ephemeral-storage|nvidia)",
                      r"didn'?t match (?:pod'?s )?node (?:affinity|selector)", r"untolerated taint", r"KubePodNotScheduled"),
    "node_down": (r"KubeNodeNotReady", r"KubeNodeUnreachable", r"node \S{1,80} (?:is )?notready", r"\bnotready\b", r"kubelet stopped posting",
                  r"esxi host (?:\S{1,80} )?(?:is )?(?:down|not responding|disconnected|unreachable)", r"host connection (?:state )?lost",
                  r"\bha failover\b", r"host (?:\S{1,80} )?(?:has )?(?:failed|crashed|purple screen|psod)", r"\bpsod\b", r"nova-compute (?:is )?down",
                  r"hypervisor (?:\S{1,80} )?(?:is )?(?:down|unreachable|failed)", r"compute (?:node|host) (?:\S{1,80} )?(?:is )?down"),
    "storage_path": (r"all paths down", r"\bapd\b", r"permanent device loss", r"\bpdl\b", r"datastore (?:\S{1,80} )?(?:is )?inaccessible", r"read-only file ?system",
                     r"i/o errors?", r"scsi (?:error|sense)"),
    "instance_error": (r"no valid host", r"novalidhost", r"(?:is |went |in )(?:the )?error state", r"status:? error\b", r"failed to spawn", r"libvirt(?:error)?",
                       r"block device mapping", r"failed to (?:build|schedule) (?:the )?instance"),
    "dependency": (r"(?:database|db|redis|postgres|mysql|kafka|upstream|backend|dependency|api) (?:\w{1,40} ){0,2}(?:is )?(?:down|unreachable|unavailable|refusing connections)",
                   r"connection refused (?:to|from|by) (?:the )?(?:database|db|redis|postgres|mysql|kafka|upstream|backend)",
                   r"could not (?:connect|resolve)", r"dns (?:resolution|lookup) (?:fail|error)", r"(?:name|host) (?:resolution )?not (?:known|found)", r"no route to host",
                   r"upstream connect error", r"connection pool exhausted"),
    "cert": (r"certificate (?:has )?expired", r"x509: certificate", r"cert(?:ificate)? (?:is )?(?:expired|invalid|not yet valid)", r"tls handshake (?:error|fail)"),
    "quota": (r"quota (?:exceeded|reached)", r"exceeded quota", r"resourcequota", r"limit ?range"),
})
# fmt: on


@dataclass(frozen=True)
class Symptom:
    key: str
    label: str
    patterns: tuple[str, ...]


@dataclass(frozen=True)
class Cause:
    key: str
    label: str
    # What a person should do when no catalogue operation fixes it (shown when abstaining).
    advice: str
    decisive: tuple[str, ...] = ()
    supporting: tuple[str, ...] = ()
    # One of these symptoms must be present too (empty: none needed).
    requires: tuple[str, ...] = ()
    # Patterns that rule the cause out ("no recent deploys").
    ruled_out_by: tuple[str, ...] = ()
    # The platforms on which the cause is meaningful (empty: any).
    platforms: tuple[str, ...] = ()


SYMPTOMS: tuple[Symptom, ...] = (
    Symptom("crashloop", "container crash-looping", ("<<crashloop>>",)),
    Symptom("probe_failed", "health probe failing", ("<<probe_failed>>",)),
    Symptom("unresponsive", "not responding", ("<<unresponsive>>", "<<deadlock>>")),
    Symptom("memory", "memory exhausted", ("<<memory_symptom>>",)),
    Symptom("cpu", "CPU saturated", ("<<cpu_symptom>>",)),
    Symptom("disk_full", "storage full", ("<<disk_full>>", "<<inodes>>")),
    Symptom("errors", "errors or failures", ("<<errors>>", "<<crashloop>>")),
    Symptom("interface_errors", "interface errors", ("<<interface_errors>>",)),
    Symptom("port_down", "port down", ("<<admin_down>>", "<<err_disabled>>", r"\bport (?:is )?down\b",
                                       r"(?:interface|port|link) (?:\S{1,80} )?(?:is |went )?down",
                                       r"line protocol (?:is )?down")),
    Symptom("flapping", "link flapping", ("<<flapping>>",)),
    Symptom("pending", "pod pending", (r"\bpending\b", "<<unschedulable>>")),
    Symptom("load", "load or latency up", ("<<load>>", "<<cpu_symptom>>", r"latency", r"slow(?:ness)?\b",
                                           r"queue (?:depth|length|backlog)", r"saturat")),
)  # fmt: skip

CAUSES: tuple[Cause, ...] = (
    Cause("oom_killed", "container killed for exceeding its memory limit (OOMKilled)",
          "Raise the container's memory limit or fix what uses the memory; a restart ends the same way.",
          decisive=("<<oomkilled>>",), supporting=("<<exit137>>",), platforms=("kubernetes",)),
    Cause("memory_leak", "memory leak",
          "Find the leak (heap profile, the release that introduced it); restarting or adding memory only postpones it.",
          decisive=("<<leak>>",)),
    Cause("memory_undersized", "workload outgrew the memory it was given",
          "Add memory after confirming the growth is legitimate.",
          decisive=("<<capacity>>",), requires=("memory",), platforms=("vmware", "openstack"),
          ruled_out_by=("<<leak>>",)),
    Cause("cpu_undersized", "workload outgrew its vCPUs",
          "Add vCPUs after confirming the load is legitimate.",
          decisive=("<<capacity>>",), requires=("cpu",), platforms=("vmware", "openstack"),
          ruled_out_by=("<<runaway>>", "<<contention>>")),
    Cause("runaway_cpu", "CPU burned by a runaway process, regex or rule",
          "Stop or fix the runaway work (the regex, the rule, the job); more vCPUs only feed it.",
          decisive=("<<runaway>>",), requires=("cpu", "unresponsive", "load")),
    Cause("cpu_contention", "CPU contention on the host (CPU ready / steal)",
          "Relieve the host (move VMs, fix over-commit); adding vCPUs makes CPU ready worse.",
          decisive=("<<contention>>",)),
    Cause("config_error", "configuration error",
          "Fix the configuration (ConfigMap, flags, config file) and redeploy; restarting re-reads the same error.",
          decisive=("<<config_error>>",)),
    Cause("secret_missing", "missing Secret",
          "Create or restore the Secret the pod references; restarting cannot create it.",
          decisive=("<<secret_missing>>",)),
    Cause("env_missing", "missing environment variable",
          "Set the variable in the pod spec or its ConfigMap/Secret and roll out; restarting keeps the same spec.",
          decisive=("<<env_missing>>",)),
    Cause("image_missing", "image cannot be pulled",
          "Fix the image name/tag or the registry credentials; no restart pulls an image that is not there.",
          decisive=("<<image_pull>>",)),
    Cause("bad_command", "container command or entrypoint is wrong",
          "Correct the command/args in the spec and roll out; a restart runs the same command.",
          decisive=("<<exec_missing>>", "<<exit127>>")),
    Cause("probe_misconfigured", "health probe misconfigured (port, path or timing)",
          "Fix the probe (port, path, initialDelaySeconds); the container is restarted by the probe itself.",
          decisive=("<<probe_wrong>>",), supporting=(r"probe.{0,120}connection refused", r"connection refused.{0,120}probe"),
          requires=("probe_failed", "crashloop")),
    Cause("bad_release", "a new release broke it",
          "Roll back to the previous revision; a restart runs the same bad version.",
          decisive=("<<release>>",), requires=("errors", "crashloop", "probe_failed"),
          ruled_out_by=("<<no_release>>",)),
    Cause("load_spike", "more load than the replicas can serve",
          "Add replicas for the peak; check the HPA's maximum.",
          decisive=("<<load>>",), platforms=("kubernetes",),
          ruled_out_by=(r"(?:spike|peak|surge|campaign|load|traffic) (?:is |was |has )?(?:over|gone|ended|subsided|passed)", r"back to normal")),
    Cause("hung", "process or guest hung while its host is healthy",
          "Restart the hung workload, then look for why it hung.",
          decisive=("<<deadlock>>",), supporting=("<<unresponsive>>", "<<host_healthy>>")),
    Cause("unschedulable", "pod cannot be scheduled",
          "Free or add node capacity, or fix the affinity/taints; deleting the pod reschedules it nowhere.",
          decisive=("<<unschedulable>>",)),
    Cause("host_down", "the node or hypervisor under it failed",
          "Recover the host (or let HA move the workloads); restarting the guest does not help while its host is down.",
          decisive=("<<node_down>>",)),
    Cause("storage_path", "storage path or device failure",
          "Check the storage paths, array and file system; a restart or expansion does not fix I/O errors.",
          decisive=("<<storage_path>>",)),
    Cause("instance_error", "instance in ERROR state (scheduling or hypervisor failure)",
          "Read the instance's fault (openstack server show) and fix scheduling/hypervisor; a reboot does not clear ERROR.",
          decisive=("<<instance_error>>",), platforms=("openstack",)),
    Cause("data_growth", "volume filled by growing data",
          "Grow the volume (and plan capacity).",
          decisive=("<<data_growth>>",), requires=("disk_full",), ruled_out_by=("<<logs_growth>>",)),
    Cause("log_growth", "space used by logs or dumps",
          "Rotate/compress the logs, lower the log level, remove core dumps; growing the volume hides it.",
          decisive=("<<logs_growth>>",), requires=("disk_full",)),
    Cause("inode_exhaustion", "file system out of inodes",
          "Remove the many small files (or rebuild with more inodes); more space does not add inodes on most file systems.",
          decisive=("<<inodes>>",), requires=("disk_full",)),
    Cause("deleted_open_files", "space held by deleted files still open",
          "Restart or signal the process holding the deleted files (lsof +L1).",
          decisive=("<<deleted_open>>",)),
    Cause("snapshot_growth", "space consumed by old snapshots",
          "Delete old snapshots past retention (a backup must exist).",
          decisive=("<<snapshots>>",)),
    Cause("snapshot_requested", "a snapshot is requested before a change",
          "Take the snapshot before the change.",
          decisive=("<<snapshot_request>>",), platforms=("vmware",)),
    Cause("admin_down", "port left administratively down",
          "Enable the port (no shutdown) after checking why it was shut.",
          decisive=("<<admin_down>>",), ruled_out_by=("<<err_disabled>>",)),
    Cause("err_disabled", "port err-disabled by a protection (BPDU guard, port security, loop, UDLD)",
          "Remove the cause the switch reported (loop, rogue device, cabling) before re-enabling; enabling re-triggers it.",
          decisive=("<<err_disabled>>",)),
    Cause("physical_layer", "physical-layer fault (cable, optic, duplex)",
          "Replace or clean the cable/optic, fix duplex; clearing counters or bouncing the port hides it.",
          decisive=("<<physical>>",), requires=("interface_errors", "flapping"),
          ruled_out_by=("<<stale_errors>>",)),
    Cause("stale_counters", "error counters left over from a resolved fault",
          "Clear the counters so monitoring shows new errors only.",
          decisive=("<<stale_errors>>",), requires=("interface_errors",)),
    Cause("interface_stuck", "interface stuck down while its peer is up",
          "Bounce the interface (shutdown / no shutdown).",
          decisive=("<<stuck_interface>>",)),
    # Established only by observation (no words decide them): the platform shows the
    # protection's trigger has stopped, or the physical layer is clean while the link flaps.
    Cause("err_disabled_recovered", "port err-disabled by a protection whose trigger has stopped",
          "Re-enable the port; watch that the protection does not trip again."),
    Cause("negotiation_flap", "link flapping with a clean physical layer (negotiation)",
          "Bounce the interface to renegotiate; replace the optic or cable if it flaps again."),
    Cause("link_flapping", "link flapping (cause not established)",
          "Check optics, cabling and the far end before touching the port; a bounce does not fix a flapping link.",
          supporting=("<<flapping>>",)),
    Cause("dependency_down", "a dependency (database, upstream, DNS) is failing",
          "Fix the dependency; restarting or scaling the caller does not.",
          decisive=("<<dependency>>",)),
    Cause("cert_expired", "TLS certificate expired or invalid",
          "Renew/replace the certificate.", decisive=("<<cert>>",)),
    Cause("quota_exceeded", "quota or limit reached",
          "Raise the quota or reduce usage.", decisive=("<<quota>>",)),
)  # fmt: skip

CAUSE_BY_KEY: Mapping[str, Cause] = MappingProxyType({c.key: c for c in CAUSES})

# The default knowledge: which causes each operation fixes. A runbook may list fewer.
FIXES: Mapping[str, frozenset[str]] = MappingProxyType({
    "restart_vm": frozenset({"hung"}),
    "reboot_instance": frozenset({"hung"}),
    "restart_pod": frozenset({"hung"}),
    "snapshot_vm": frozenset({"snapshot_requested"}),
    "increase_memory": frozenset({"memory_undersized"}),
    "increase_cpu": frozenset({"cpu_undersized"}),
    "resize_instance": frozenset({"memory_undersized", "cpu_undersized"}),
    "scale_deployment": frozenset({"load_spike"}),
    "rollback_deployment": frozenset({"bad_release"}),
    "clear_interface_errors": frozenset({"stale_counters"}),
    "enable_port": frozenset({"admin_down", "err_disabled_recovered"}),
    "restart_interface": frozenset({"interface_stuck", "negotiation_flap"}),
    "expand_volume": frozenset({"data_growth"}),
    "clear_snapshots": frozenset({"snapshot_growth"}),
})  # fmt: skip

_RESTART_DOES_NOT_FIX = frozenset({
    "oom_killed", "memory_leak", "config_error", "secret_missing", "env_missing", "image_missing",
    "bad_command", "probe_misconfigured", "bad_release", "unschedulable", "host_down", "storage_path",
    "data_growth", "log_growth", "inode_exhaustion", "snapshot_growth", "dependency_down",
    "cert_expired", "quota_exceeded", "instance_error", "runaway_cpu", "cpu_contention",
})  # fmt: skip

# Causes where an operation does not help or harms. Always applied, whatever a runbook says.
DOES_NOT_FIX: Mapping[str, frozenset[str]] = MappingProxyType({
    "restart_vm": _RESTART_DOES_NOT_FIX,
    "reboot_instance": _RESTART_DOES_NOT_FIX,
    "restart_pod": _RESTART_DOES_NOT_FIX,
    "increase_memory": frozenset({"memory_leak", "oom_killed", "host_down", "bad_release"}),
    "increase_cpu": frozenset({"runaway_cpu", "cpu_contention", "host_down", "bad_release"}),
    "resize_instance": frozenset({"runaway_cpu", "memory_leak", "instance_error", "host_down"}),
    "scale_deployment": frozenset({"bad_release", "oom_killed", "config_error", "secret_missing",
                                   "env_missing", "image_missing", "bad_command", "probe_misconfigured",
                                   "unschedulable", "dependency_down", "memory_leak"}),
    "rollback_deployment": frozenset({"unschedulable", "host_down", "dependency_down", "load_spike",
                                      "secret_missing", "cert_expired", "quota_exceeded"}),
    "enable_port": frozenset({"err_disabled", "physical_layer", "link_flapping"}),
    "restart_interface": frozenset({"err_disabled", "physical_layer", "link_flapping", "admin_down"}),
    "clear_interface_errors": frozenset({"physical_layer", "link_flapping", "err_disabled"}),
    "expand_volume": frozenset({"log_growth", "inode_exhaustion", "deleted_open_files",
                                "snapshot_growth", "storage_path"}),
    "clear_snapshots": frozenset({"data_growth", "log_growth", "inode_exhaustion", "storage_path"}),
    "snapshot_vm": frozenset({"storage_path", "host_down"}),
})  # fmt: skip

# Words that say which platform a ticket is about. Counted; the category counts double. A
# network device's interface name counts for "network" too, read by catalogue.rules.names
# (diagnosis.detect_platform), not by a pattern here.
PLATFORM_SIGNALS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "kubernetes": (r"\bpods?\b", r"\bkubectl\b", r"\bk8s\b", r"kubernetes", r"\bnamespace\b", r"\bdeployment\b", r"statefulset",
                   r"\bkube\w*", r"<<crashloop>>", r"<<image_pull>>", r"CreateContainerConfigError", r"\bcontainers?\b",
                   r"\bhpa\b", r"replicaset", r"\bhelm\b", r"\bpvc\b", r"persistentvolume", r"openshift"),
    "vmware": (r"vmware", r"vsphere", r"vcenter", r"\besxi?\b", r"\bvms?\b", r"\bguest\b", r"vmware tools", r"vmotion",
               r"\bdatastore\b", r"vrops", r"\bvcsa\b"),
    "openstack": (r"openstack", r"\bnova\b", r"\bneutron\b", r"\bcinder\b", r"\bflavou?r\b", r"\binstances?\b", r"\bhorizon\b",
                  r"\bkeystone\b", r"hypervisor"),
    "network": (r"\bswitch(?:es)?\b", r"\brouter\b", r"\binterface\b", r"\bport\b", r"<<err_disabled>>", r"\bvlan\b",
                r"\bbgp\b", r"\bospf\b", r"\bcrc\b", r"line protocol", r"<<flapping>>", r"\btrunk\b", r"\buplink\b"),
    "storage": (r"\bvolumes?\b", r"\blun\b", r"\bnas\b", r"\bsan\b", r"\bnfs\b", r"filesystem", r"file system", r"<<disk_full>>",
                r"\barray\b", r"\bsnapshots?\b", r"\bnetapp\b", r"\bceph\b"),
})  # fmt: skip

CATEGORY_PLATFORM: Mapping[str, str] = MappingProxyType({
    "server": "vmware", "vm": "vmware", "vmware": "vmware", "virtualization": "vmware",
    "kubernetes": "kubernetes", "k8s": "kubernetes", "container": "kubernetes", "containers": "kubernetes",
    "application": "kubernetes", "app": "kubernetes",
    "network": "network", "networking": "network",
    "storage": "storage", "disk": "storage",
    "openstack": "openstack", "cloud": "openstack", "iaas": "openstack",
})  # fmt: skip

# A word right before a match that negates it ("no OOMKilled events", "not a leak").
NEGATION = re.compile(
    r"(?:\bno\b|\bnot\b|\bwithout\b|\bnever\b|\bisn'?t\b|\bwasn'?t\b|\baren'?t\b|\bruled out\b"
    r"|\bnone\b|\bzero\b)[^.;:!?\n]{0,20}$",
    re.IGNORECASE,
)

_TERM_REF = re.compile(r"<<(\w+)>>")


def expand(pattern: str, _depth: int = 0) -> str:
    """A pattern with every ``<<term>>`` replaced by the alternation of its spellings."""
    if _depth > 3:
        raise ValueError(f"terms nest too deep in {pattern!r}")

    def one(match: re.Match[str]) -> str:
        spellings = TERMS[match.group(1)]
        return "(?:" + "|".join(expand(s, _depth + 1) for s in spellings) + ")"

    return _TERM_REF.sub(one, pattern)


def compile_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(expand(pattern), re.IGNORECASE)


@dataclass(frozen=True)
class Compiled:
    """Every pattern above, compiled once."""

    symptoms: Mapping[str, tuple[re.Pattern[str], ...]] = field(default_factory=dict)
    decisive: Mapping[str, tuple[re.Pattern[str], ...]] = field(default_factory=dict)
    supporting: Mapping[str, tuple[re.Pattern[str], ...]] = field(default_factory=dict)
    ruled_out_by: Mapping[str, tuple[re.Pattern[str], ...]] = field(default_factory=dict)
    platforms: Mapping[str, tuple[re.Pattern[str], ...]] = field(default_factory=dict)


def _all(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(compile_pattern(p) for p in patterns)


COMPILED = Compiled(
    symptoms={s.key: _all(s.patterns) for s in SYMPTOMS},
    decisive={c.key: _all(c.decisive) for c in CAUSES},
    supporting={c.key: _all(c.supporting) for c in CAUSES},
    ruled_out_by={c.key: _all(c.ruled_out_by) for c in CAUSES},
    platforms={k: _all(v) for k, v in PLATFORM_SIGNALS.items()},
)
