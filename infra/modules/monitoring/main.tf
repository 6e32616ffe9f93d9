# Alarms, their notification topics and the dashboard of one environment.
#
# Naming (relied on by the stack to wire ECS deployment alarms without a dependency cycle):
#   <name>-<service>-<kind>     metric alarms, kinds in local.kinds
#   <name>-<service>-deployment composite of the deployment guard kinds (local.deployment_kinds)

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name

  # Signals that a new task definition is bad: ECS rolls the deployment back when any of them fires.
  deployment_kinds = ["target-5xx-rate", "target-p99-latency", "unhealthy-hosts", "error-logs"]

  alarm_names = {
    for s in keys(var.services) : s => {
      for k in concat(local.deployment_kinds, ["request-count", "running-tasks", "cpu-high", "memory-high", "table-throttles", "table-system-errors"]) :
      k => "${var.name}-${s}-${k}"
    }
  }
  deployment_alarm_names = {
    for s in keys(var.services) : s => (
      var.create_composite_alarms ? ["${var.name}-${s}-deployment"] : [for k in local.deployment_kinds : local.alarm_names[s][k]]
    )
  }

  actions      = [aws_sns_topic.alarms.arn]
  edge_actions = [aws_sns_topic.edge_alarms.arn]

  log_metric_namespace = "${var.name}/services"

  # DynamoDB reports SystemErrors per operation: the ones our services call.
  table_operations = ["GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "TransactWriteItems", "TransactGetItems", "BatchWriteItem"]

  tg_dims = {
    for s, v in var.services : s => { LoadBalancer = var.alb_arn_suffix, TargetGroup = v.target_group_arn_suffix }
  }
  ecs_dims = {
    for s, v in var.services : s => { ClusterName = v.cluster_name, ServiceName = v.service_name }
  }
}

# --------------------------------------------------------------------------------------------
# Notification topics: one in the region, one in us-east-1 for the edge (CloudWatch alarms can
# only notify topics of their own region, and CloudFront/WAF edge metrics live in us-east-1).
# --------------------------------------------------------------------------------------------

locals {
  key_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministersKey"
        Effect    = "Allow"
        Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchPublishesEncryptedAlarms"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
      },
    ]
  }
}

resource "aws_kms_key" "alarms" {
  description             = "${var.name}: encrypts the alarm topic"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = jsonencode(local.key_policy)
  tags                    = var.tags
}

resource "aws_kms_alias" "alarms" {
  name          = "alias/${var.name}-alarms"
  target_key_id = aws_kms_key.alarms.key_id
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = aws_kms_key.alarms.arn
  tags              = var.tags
}

resource "aws_sns_topic_policy" "alarms" {
  arn = aws_sns_topic.alarms.arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "CloudWatchAlarmsPublish"
      Effect    = "Allow"
      Principal = { Service = "cloudwatch.amazonaws.com" }
      Action    = "sns:Publish"
      Resource  = aws_sns_topic.alarms.arn
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
}

resource "aws_sns_topic_subscription" "alarms" {
  for_each = toset(var.alarm_emails)

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

resource "aws_kms_key" "edge_alarms" {
  provider = aws.us_east_1

  description             = "${var.name}: encrypts the edge alarm topic (us-east-1)"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = jsonencode(local.key_policy)
  tags                    = var.tags
}

resource "aws_kms_alias" "edge_alarms" {
  provider = aws.us_east_1

  name          = "alias/${var.name}-edge-alarms"
  target_key_id = aws_kms_key.edge_alarms.key_id
}

resource "aws_sns_topic" "edge_alarms" {
  provider = aws.us_east_1

  name              = "${var.name}-edge-alarms"
  kms_master_key_id = aws_kms_key.edge_alarms.arn
  tags              = var.tags
}

resource "aws_sns_topic_policy" "edge_alarms" {
  provider = aws.us_east_1

  arn = aws_sns_topic.edge_alarms.arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "CloudWatchAlarmsPublish"
      Effect    = "Allow"
      Principal = { Service = "cloudwatch.amazonaws.com" }
      Action    = "sns:Publish"
      Resource  = aws_sns_topic.edge_alarms.arn
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
}

resource "aws_sns_topic_subscription" "edge_alarms" {
  provider = aws.us_east_1
  for_each = toset(var.alarm_emails)

  topic_arn = aws_sns_topic.edge_alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

# --------------------------------------------------------------------------------------------
# Per service: traffic, errors, latency (anomaly bands), health, capacity, table, logs.
# --------------------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "target_5xx_rate" {
  for_each = var.services

  alarm_name          = local.alarm_names[each.key]["target-5xx-rate"]
  alarm_description   = "${each.key}: share of target 5xx responses above its usual band"
  comparison_operator = "GreaterThanUpperThreshold"
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  threshold_metric_id = "band"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags

  metric_query {
    id          = "errors"
    return_data = false
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_Target_5XX_Count"
      dimensions  = local.tg_dims[each.key]
      period      = 60
      stat        = "Sum"
    }
  }
  metric_query {
    id          = "requests"
    return_data = false
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "RequestCount"
      dimensions  = local.tg_dims[each.key]
      period      = 60
      stat        = "Sum"
    }
  }
  metric_query {
    id          = "rate"
    label       = "5xx percent"
    expression  = "IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)"
    return_data = true
  }
  metric_query {
    id          = "band"
    label       = "expected 5xx percent"
    expression  = "ANOMALY_DETECTION_BAND(rate, ${var.anomaly_band_width})"
    return_data = true
  }
}

resource "aws_cloudwatch_metric_alarm" "target_p99_latency" {
  for_each = var.services

  alarm_name          = local.alarm_names[each.key]["target-p99-latency"]
  alarm_description   = "${each.key}: p99 target response time above its usual band"
  comparison_operator = "GreaterThanUpperThreshold"
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  threshold_metric_id = "band"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags

  metric_query {
    id          = "p99"
    return_data = true
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "TargetResponseTime"
      dimensions  = local.tg_dims[each.key]
      period      = 60
      stat        = "p99"
    }
  }
  metric_query {
    id          = "band"
    label       = "expected p99"
    expression  = "ANOMALY_DETECTION_BAND(p99, ${var.anomaly_band_width})"
    return_data = true
  }
}

# Both directions: a surge (attack, retry storm) and a drop (clients cannot reach us).
resource "aws_cloudwatch_metric_alarm" "request_count" {
  for_each = var.services

  alarm_name          = local.alarm_names[each.key]["request-count"]
  alarm_description   = "${each.key}: request count outside its usual band (surge or drop)"
  comparison_operator = "LessThanLowerOrGreaterThanUpperThreshold"
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  threshold_metric_id = "band"
  # The ALB publishes RequestCount only for periods with requests: when traffic stops entirely
  # there is no data at all, which must count as the drop it is (CloudWatch "treat missing data").
  treat_missing_data = var.no_traffic_is_an_outage ? "breaching" : "notBreaching"
  alarm_actions      = local.actions
  ok_actions         = local.actions
  tags               = var.tags

  metric_query {
    id          = "requests"
    return_data = true
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "RequestCount"
      dimensions  = local.tg_dims[each.key]
      period      = 300
      stat        = "Sum"
    }
  }
  metric_query {
    id          = "band"
    label       = "expected requests"
    expression  = "ANOMALY_DETECTION_BAND(requests, ${var.anomaly_band_width})"
    return_data = true
  }
}

resource "aws_cloudwatch_metric_alarm" "unhealthy_hosts" {
  for_each = var.services

  alarm_name          = local.alarm_names[each.key]["unhealthy-hosts"]
  alarm_description   = "${each.key}: at least one target failing its health check"
  namespace           = "AWS/ApplicationELB"
  metric_name         = "UnHealthyHostCount"
  dimensions          = local.tg_dims[each.key]
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 2
  datapoints_to_alarm = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

# Container Insights: fewer tasks running than ECS wants, for 5 minutes (longer than a rollout step).
resource "aws_cloudwatch_metric_alarm" "running_tasks" {
  for_each = var.services

  alarm_name          = local.alarm_names[each.key]["running-tasks"]
  alarm_description   = "${each.key}: running tasks below the desired count for 5 minutes"
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = 5
  datapoints_to_alarm = 5
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags

  metric_query {
    id          = "running"
    return_data = false
    metric {
      namespace   = "ECS/ContainerInsights"
      metric_name = "RunningTaskCount"
      dimensions  = local.ecs_dims[each.key]
      period      = 60
      stat        = "Average"
    }
  }
  metric_query {
    id          = "desired"
    return_data = false
    metric {
      namespace   = "ECS/ContainerInsights"
      metric_name = "DesiredTaskCount"
      dimensions  = local.ecs_dims[each.key]
      period      = 60
      stat        = "Average"
    }
  }
  metric_query {
    id          = "missing"
    label       = "tasks missing"
    expression  = "desired - running"
    return_data = true
  }
}

resource "aws_cloudwatch_metric_alarm" "cpu_high" {
  for_each = var.services

  alarm_name          = local.alarm_names[each.key]["cpu-high"]
  alarm_description   = "${each.key}: average CPU above ${var.cpu_high_percent}% for 5 minutes"
  namespace           = "AWS/ECS"
  metric_name         = "CPUUtilization"
  dimensions          = local.ecs_dims[each.key]
  statistic           = "Average"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 5
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.cpu_high_percent
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "memory_high" {
  for_each = var.services

  alarm_name          = local.alarm_names[each.key]["memory-high"]
  alarm_description   = "${each.key}: average memory above ${var.memory_high_percent}% for 5 minutes"
  namespace           = "AWS/ECS"
  metric_name         = "MemoryUtilization"
  dimensions          = local.ecs_dims[each.key]
  statistic           = "Average"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 5
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.memory_high_percent
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "table_throttles" {
  for_each = var.services

  alarm_name          = local.alarm_names[each.key]["table-throttles"]
  alarm_description   = "${each.key}: DynamoDB table ${each.value.table_name} throttled reads or writes"
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = 2
  datapoints_to_alarm = 2
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags

  metric_query {
    id          = "reads"
    return_data = false
    metric {
      namespace   = "AWS/DynamoDB"
      metric_name = "ReadThrottleEvents"
      dimensions  = { TableName = each.value.table_name }
      period      = 60
      stat        = "Sum"
    }
  }
  metric_query {
    id          = "writes"
    return_data = false
    metric {
      namespace   = "AWS/DynamoDB"
      metric_name = "WriteThrottleEvents"
      dimensions  = { TableName = each.value.table_name }
      period      = 60
      stat        = "Sum"
    }
  }
  metric_query {
    id          = "throttles"
    label       = "throttle events"
    expression  = "FILL(reads, 0) + FILL(writes, 0)"
    return_data = true
  }
}

resource "aws_cloudwatch_metric_alarm" "table_system_errors" {
  for_each = var.services

  alarm_name          = local.alarm_names[each.key]["table-system-errors"]
  alarm_description   = "${each.key}: DynamoDB answered ${each.value.table_name} requests with 5xx (SystemErrors)"
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = 2
  datapoints_to_alarm = 2
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags

  dynamic "metric_query" {
    for_each = local.table_operations
    content {
      id          = "op${metric_query.key}"
      return_data = false
      metric {
        namespace   = "AWS/DynamoDB"
        metric_name = "SystemErrors"
        dimensions  = { TableName = each.value.table_name, Operation = metric_query.value }
        period      = 60
        stat        = "Sum"
      }
    }
  }
  metric_query {
    id          = "errors"
    label       = "system errors"
    expression  = join(" + ", [for i, _ in local.table_operations : "FILL(op${i}, 0)"])
    return_data = true
  }
}

# Services write one JSON object per log line; "level":"ERROR" lines become a metric.
resource "aws_cloudwatch_log_metric_filter" "error_logs" {
  for_each = var.services

  name           = "${var.name}-${each.key}-error-logs"
  log_group_name = each.value.log_group_name
  pattern        = "{ $.level = \"ERROR\" }"

  metric_transformation {
    namespace     = local.log_metric_namespace
    name          = "${each.key}-error-log-lines"
    value         = "1"
    default_value = "0"
    unit          = "Count"
  }
}

resource "aws_cloudwatch_metric_alarm" "error_logs" {
  for_each = var.services

  alarm_name          = local.alarm_names[each.key]["error-logs"]
  alarm_description   = "${each.key}: ${var.error_log_threshold} or more ERROR log lines within 5 minutes"
  namespace           = local.log_metric_namespace
  metric_name         = aws_cloudwatch_log_metric_filter.error_logs[each.key].metric_transformation[0].name
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.error_log_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

# The deployment guard ECS watches (deployment alarms with rollback): any child in ALARM rolls back.
resource "aws_cloudwatch_composite_alarm" "deployment" {
  for_each = var.create_composite_alarms ? var.services : {}

  alarm_name        = "${var.name}-${each.key}-deployment"
  alarm_description = "${each.key}: a deployment in progress is unhealthy (ECS rolls it back)"
  alarm_rule = join(" OR ", [
    "ALARM(\"${aws_cloudwatch_metric_alarm.target_5xx_rate[each.key].alarm_name}\")",
    "ALARM(\"${aws_cloudwatch_metric_alarm.target_p99_latency[each.key].alarm_name}\")",
    "ALARM(\"${aws_cloudwatch_metric_alarm.unhealthy_hosts[each.key].alarm_name}\")",
    "ALARM(\"${aws_cloudwatch_metric_alarm.error_logs[each.key].alarm_name}\")",
  ])
  actions_enabled = true
  alarm_actions   = local.actions
  ok_actions      = local.actions
  tags            = var.tags
}

# --------------------------------------------------------------------------------------------
# WAF: blocked requests above their usual band (attack, or a rule blocking real users).
# --------------------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "regional_waf_blocked" {
  count = var.regional_web_acl_name == null ? 0 : 1

  alarm_name          = "${var.name}-alb-waf-blocked"
  alarm_description   = "ALB WAF: blocked requests outside their usual band"
  comparison_operator = "GreaterThanUpperThreshold"
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  threshold_metric_id = "band"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags

  metric_query {
    id          = "blocked"
    return_data = true
    metric {
      namespace   = "AWS/WAFV2"
      metric_name = "BlockedRequests"
      dimensions  = { WebACL = var.regional_web_acl_name, Region = local.region, Rule = "ALL" }
      period      = 300
      stat        = "Sum"
    }
  }
  metric_query {
    id          = "band"
    label       = "expected blocked requests"
    expression  = "ANOMALY_DETECTION_BAND(blocked, ${var.anomaly_band_width})"
    return_data = true
  }
}

resource "aws_cloudwatch_metric_alarm" "edge_waf_blocked" {
  provider = aws.us_east_1
  count    = var.edge_web_acl_name == null ? 0 : 1

  alarm_name          = "${var.name}-edge-waf-blocked"
  alarm_description   = "CloudFront WAF: blocked requests outside their usual band"
  comparison_operator = "GreaterThanUpperThreshold"
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  threshold_metric_id = "band"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.edge_actions
  ok_actions          = local.edge_actions
  tags                = var.tags

  metric_query {
    id          = "blocked"
    return_data = true
    metric {
      namespace   = "AWS/WAFV2"
      metric_name = "BlockedRequests"
      dimensions  = { WebACL = var.edge_web_acl_name, Rule = "ALL" }
      period      = 300
      stat        = "Sum"
    }
  }
  metric_query {
    id          = "band"
    label       = "expected blocked requests"
    expression  = "ANOMALY_DETECTION_BAND(blocked, ${var.anomaly_band_width})"
    return_data = true
  }
}
