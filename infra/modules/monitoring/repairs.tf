# Self-healing, watched three ways per service with a reconciler (services/orders/orders/reconciler.py),
# all on the EMF metrics its leader writes every pass (namespace metrics_namespace, dimensions
# Service and Environment):
# - repairs:           it repairs more than the manifest's repairs_alarm_threshold in 5 minutes
#                      (Repairs): requests are being cut off (crashes, timeouts, a failing dependency);
# - repair-failures:   repairs fail in each of repair_failure_periods 5-minute periods in a row
#                      (RepairFailures > 0): something it must repair stays held (the reconciler
#                      retries a failing item at least every 4 minutes, so a stuck one fails in
#                      every period);
# - reconciler-silent: no pass at all for reconciler_silence_minutes (ReconcilerPasses missing,
#                      treated as breaching): the thread died, or no replica holds the lease.

variable "repair_alarms" {
  description = "Per service with a reconciler: repairs in 5 minutes above which to alarm (manifest repairs_alarm_threshold)."
  type        = map(number)
  default     = {}

  validation {
    condition     = alltrue([for t in values(var.repair_alarms) : t >= 1])
    error_message = "repair_alarms thresholds must be at least 1."
  }
}

variable "repair_failure_periods" {
  description = "Consecutive 5-minute periods with RepairFailures > 0 after which the repair-failures alarm fires."
  type        = number
  default     = 3

  validation {
    condition     = var.repair_failure_periods >= 1 && var.repair_failure_periods <= 12 && floor(var.repair_failure_periods) == var.repair_failure_periods
    error_message = "repair_failure_periods must be a whole number from 1 to 12."
  }
}

variable "reconciler_silence_minutes" {
  description = "Minutes without any reconciler pass (metric ReconcilerPasses missing) after which the reconciler-silent alarm fires."
  type        = number
  default     = 5

  validation {
    condition     = var.reconciler_silence_minutes >= 2 && var.reconciler_silence_minutes <= 60 && floor(var.reconciler_silence_minutes) == var.reconciler_silence_minutes
    error_message = "reconciler_silence_minutes must be a whole number from 2 to 60 (a leader change takes up to 3 passes)."
  }
}

variable "environment" {
  description = "Environment name as the services report it in their EMF metrics (the Environment dimension)."
  type        = string
  default     = null
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the services' EMF metrics (METRICS_NAMESPACE, default storefront)."
  type        = string
  default     = "storefront"
}

resource "aws_cloudwatch_metric_alarm" "repairs" {
  for_each = var.repair_alarms

  alarm_name          = "${var.name}-${each.key}-repairs"
  alarm_description   = "${each.key}: the reconciler repaired more than ${each.value} interrupted orders or cancels within 5 minutes"
  namespace           = var.metrics_namespace
  metric_name         = "Repairs"
  dimensions          = { Service = each.key, Environment = var.environment }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags

  lifecycle {
    precondition {
      condition     = var.environment != null
      error_message = "repair_alarms need the environment (the Environment dimension of the metric)."
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "repair_failures" {
  for_each = var.repair_alarms

  alarm_name          = "${var.name}-${each.key}-repair-failures"
  alarm_description   = "${each.key}: the reconciler failed to repair something in each of ${var.repair_failure_periods} 5-minute periods in a row: interrupted work stays held"
  namespace           = var.metrics_namespace
  metric_name         = "RepairFailures"
  dimensions          = { Service = each.key, Environment = var.environment }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = var.repair_failure_periods
  datapoints_to_alarm = var.repair_failure_periods
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags

  lifecycle {
    precondition {
      condition     = var.environment != null
      error_message = "repair_alarms need the environment (the Environment dimension of the metric)."
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "reconciler_silent" {
  for_each = var.repair_alarms

  alarm_name          = "${var.name}-${each.key}-reconciler-silent"
  alarm_description   = "${each.key}: no reconciler pass for ${var.reconciler_silence_minutes} minutes: its thread died or no replica holds its lease, so nothing interrupted is repaired"
  namespace           = var.metrics_namespace
  metric_name         = "ReconcilerPasses"
  dimensions          = { Service = each.key, Environment = var.environment }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = var.reconciler_silence_minutes
  datapoints_to_alarm = var.reconciler_silence_minutes
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  treat_missing_data  = "breaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags

  lifecycle {
    precondition {
      condition     = var.environment != null
      error_message = "repair_alarms need the environment (the Environment dimension of the metric)."
    }
  }
}
