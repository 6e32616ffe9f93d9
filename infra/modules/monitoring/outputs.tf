output "alarm_topic_arn" {
  description = "SNS topic (KMS-encrypted) receiving every alarm of the region."
  value       = aws_sns_topic.alarms.arn
}

output "edge_alarm_topic_arn" {
  description = "SNS topic in us-east-1 receiving the edge (CloudFront WAF) alarms."
  value       = aws_sns_topic.edge_alarms.arn
}

output "alarm_names" {
  description = "Per service: alarm kind -> alarm name."
  value       = local.alarm_names
}

output "anomaly_alarm_names" {
  description = "Every alarm that uses an anomaly detection band."
  value = concat(
    flatten([for s in keys(var.services) : [for k in ["target-5xx-rate", "target-p99-latency", "request-count"] : local.alarm_names[s][k]]]),
    [for a in aws_cloudwatch_metric_alarm.regional_waf_blocked : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.edge_waf_blocked : a.alarm_name],
  )
}

output "deployment_alarm_names" {
  description = "Per service: the alarm names its ECS service watches during deployments (the composite, or its children where composites are unavailable)."
  value       = local.deployment_alarm_names
}

output "dashboard_name" {
  description = "CloudWatch dashboard of the environment."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}
