"""One observed cause in ten wordings is one pattern: the words, even those that name another
cause, neither split the pattern nor stop it being established (the observation wins, the
words are quoted). Pure: the lab's readings, the words' diagnosis, the weighing, the key."""

from __future__ import annotations

import pytest

from lab import engine, signals
from lab.inventory import default_hosts, default_inventory
from remediation.analysis.rules.diagnosis import diagnose
from remediation.analysis.rules.evidence import in_scope, weigh
from remediation.analysis.rules.pattern_key import pattern_key
from remediation.investigation.rules.observations import read_observations

# A deployment that is slow because it is saturated, told ten ways; four of them name a bad
# release (a different cause) and one says nothing of a cause at all.
WORDINGS = [
    ("web slow after deploy", "Latency is up on default/web since this morning's deploy."),
    ("bad release on default/web", "The new release broke web: please roll back the release."),
    ("default/web: rollout went wrong", "New version shipped at 09:10, pages now time out."),
    ("release 4.2 is broken", "After the release the app is slow. Roll it back?"),
    ("web overloaded", "Too much traffic for the web replicas, requests queue up."),
    ("slow responses from web", "Users report slow page loads on default/web."),
    ("default/web p99 latency high", "p99 over 2s for the last 20 minutes."),
    ("WEB IS DOWN???", "cant load anything, started after the deploy i think"),
    ("regression in latest build of web", "The latest build regressed response times."),
    ("capacity issue default/web", "Load spike, the replicas are all busy."),
]


def _objects(world, name):
    """What an investigation of the deployment records: it and its pods."""
    dep = signals.deployment_summary(world, name)
    objects = [{"kind": "deployment", "name": name, "primary": True,
                "answers": {"get_deployment": dep}}]  # fmt: skip
    for pod in dep["pods"]:
        objects.append(
            {
                "kind": "pod",
                "name": pod,
                "of": name,
                "answers": {
                    "get_pod": signals.pod_summary(world, pod),
                    "get_pod_logs": signals.pod_logs(world, pod),
                },
            }
        )
    return objects


@pytest.fixture
def observed():
    world = {"objects": default_inventory(), "hosts": default_hosts()}
    engine.set_condition(world, "default/web", "saturated", None)
    objects = _objects(world, "default/web")
    return read_observations(objects), in_scope(objects)


def test_one_cause_in_ten_wordings_is_one_pattern(observed):
    seen, scope = observed
    keys = set()
    contradicted = 0
    for title, body in WORDINGS:
        words = diagnose(f"{title}\n{body}", category="kubernetes")
        weighed = weigh(words, status="complete", observed=seen, scope=scope)
        assert weighed.diagnosis.established, (title, weighed.diagnosis.needs_human_reason)
        assert not weighed.diagnosis.needs_human, title
        keys.add(pattern_key(weighed.diagnosis.to_dict()))
        if weighed.diagnosis.extra["words_contradicted"]:
            contradicted += 1
            assert any("the ticket's words say" in e for e in weighed.diagnosis.evidence)
    assert len(keys) == 1
    (key,) = keys
    assert key is not None and key.cause == "load_spike"
    assert key.operation == "scale_deployment"
    assert contradicted >= 1  # the words that name a bad release were heard, and quoted
