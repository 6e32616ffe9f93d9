"""CloudWatch composite alarms (PutCompositeAlarm), added to the emulator.

moto 5.2.5 stores and describes composite alarms (an alarm with an ``AlarmRule``: DescribeAlarms
answers them under ``CompositeAlarms``, DeleteAlarms deletes them) but has no PutCompositeAlarm
operation, so a stack with composite alarms could not apply against it. Installed into the emulator
process (moto_fidelity.install), this module adds the operation as the CloudWatch API reference
documents it: create or replace the alarm named ``AlarmName`` with ``AlarmRule``, its actions,
description and tags. ``AlarmRule`` is required; a rule naming an alarm that does not exist is
refused (``ValidationError``), as CloudWatch validates the alarms a rule references.
"""

from __future__ import annotations

import re
from typing import Any

# ALARM("name"), OK(name), INSUFFICIENT_DATA("name"): the alarm names a rule references.
_REFERENCE = re.compile(r'\b(?:ALARM|OK|INSUFFICIENT_DATA)\(\s*"?([^")]+?)"?\s*\)')


def put_composite_alarm(self: Any) -> Any:
    from moto.cloudwatch.exceptions import ValidationError
    from moto.core.responses import EmptyResult

    name = self._get_param("AlarmName")
    rule = self._get_param("AlarmRule")
    if not name or not rule:
        raise ValidationError("AlarmName and AlarmRule are required.")
    backend = self.cloudwatch_backend
    missing = [ref for ref in _REFERENCE.findall(rule) if ref not in backend.alarms]
    if missing:
        raise ValidationError(
            f"Could not save the composite alarm as alarms [{', '.join(missing)}] "
            "in the alarm rule do not exist"
        )
    actions_enabled = self._get_param("ActionsEnabled")
    backend.put_metric_alarm(
        name=name,
        namespace=None,
        metric_name=None,
        comparison_operator=None,
        evaluation_periods=None,
        period=None,
        threshold=None,
        statistic=None,
        description=self._get_param("AlarmDescription"),
        dimensions=[],
        alarm_actions=self._get_param("AlarmActions", []),
        ok_actions=self._get_param("OKActions", []),
        insufficient_data_actions=self._get_param("InsufficientDataActions", []),
        actions_enabled=True if actions_enabled is None else bool(actions_enabled),
        rule=rule,
        tags=self._get_param("Tags", []),
    )
    return EmptyResult()


def install() -> None:
    """Add PutCompositeAlarm to moto's CloudWatch responder (idempotent)."""
    from moto.cloudwatch.responses import CloudWatchResponse

    CloudWatchResponse.put_composite_alarm = put_composite_alarm  # type: ignore[attr-defined]
