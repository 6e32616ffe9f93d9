# Self-healing that works too hard: a service whose reconciler (services/orders/orders/reconciler.py)
# repairs more than its manifest's repairs_alarm_threshold in 5 minutes means requests are being cut
# off (crashes, timeouts, a failing dependency). The reconciler writes the count as the EMF metric
# Repairs (namespace metrics_namespace, dimensions Service and Environment).

variable "repair_alarms" {
  description = "Per service with a reconciler: repairs in 5 minutes above which to alarm (manifest repairs_alarm_threshold)."
  type        = map(number)
  default     = {}

  validation {
    condition     = alltrue([for t in values(var.repair_alarms) : t >= 1])
    error_message = "repair_alarms thresholds must be at least 1."
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
