# One dashboard per environment: the golden signals (traffic, errors, latency, saturation) of every
# service, the edge (CloudFront and both WAFs) and the tables, plus the state of every alarm.

locals {
  tg_metric = {
    for s, v in var.services : s => ["LoadBalancer", var.alb_arn_suffix, "TargetGroup", v.target_group_arn_suffix]
  }
  ecs_metric = {
    for s, v in var.services : s => ["ClusterName", v.cluster_name, "ServiceName", v.service_name]
  }

  service_widgets = flatten([
    for s, v in var.services : [
      {
        type = "metric", width = 6, height = 6
        properties = {
          title   = "${s}: traffic (requests/min)", region = local.region, view = "timeSeries", stat = "Sum", period = 60
          metrics = [concat(["AWS/ApplicationELB", "RequestCount"], local.tg_metric[s])]
        }
      },
      {
        type = "metric", width = 6, height = 6
        properties = {
          title = "${s}: errors (5xx/min)", region = local.region, view = "timeSeries", stat = "Sum", period = 60
          metrics = [
            concat(["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"], local.tg_metric[s]),
            concat(["AWS/ApplicationELB", "HTTPCode_Target_4XX_Count"], local.tg_metric[s]),
            [local.log_metric_namespace, "${s}-error-log-lines", { label = "ERROR log lines" }],
          ]
        }
      },
      {
        type = "metric", width = 6, height = 6
        properties = {
          title = "${s}: latency (seconds)", region = local.region, view = "timeSeries", period = 60
          metrics = [
            concat(["AWS/ApplicationELB", "TargetResponseTime"], local.tg_metric[s], [{ stat = "p50", label = "p50" }]),
            concat(["AWS/ApplicationELB", "TargetResponseTime"], local.tg_metric[s], [{ stat = "p99", label = "p99" }]),
          ]
        }
      },
      {
        type = "metric", width = 6, height = 6
        properties = {
          title = "${s}: saturation (%, tasks)", region = local.region, view = "timeSeries", stat = "Average", period = 60
          metrics = [
            concat(["AWS/ECS", "CPUUtilization"], local.ecs_metric[s]),
            concat(["AWS/ECS", "MemoryUtilization"], local.ecs_metric[s]),
            concat(["ECS/ContainerInsights", "RunningTaskCount"], local.ecs_metric[s], [{ yAxis = "right" }]),
            concat(["ECS/ContainerInsights", "DesiredTaskCount"], local.ecs_metric[s], [{ yAxis = "right" }]),
            concat(["AWS/ApplicationELB", "UnHealthyHostCount"], local.tg_metric[s], [{ yAxis = "right", stat = "Maximum" }]),
          ]
        }
      },
    ]
  ])

  table_widgets = [
    {
      type = "metric", width = 8, height = 6
      properties = {
        title = "Tables: consumed capacity", region = local.region, view = "timeSeries", stat = "Sum", period = 60
        metrics = flatten([for s, v in var.services : [
          ["AWS/DynamoDB", "ConsumedReadCapacityUnits", "TableName", v.table_name],
          ["AWS/DynamoDB", "ConsumedWriteCapacityUnits", "TableName", v.table_name],
        ]])
      }
    },
    {
      type = "metric", width = 8, height = 6
      properties = {
        title = "Tables: throttles and system errors", region = local.region, view = "timeSeries", stat = "Sum", period = 60
        metrics = flatten([for s, v in var.services : [
          ["AWS/DynamoDB", "ReadThrottleEvents", "TableName", v.table_name],
          ["AWS/DynamoDB", "WriteThrottleEvents", "TableName", v.table_name],
          ["AWS/DynamoDB", "SystemErrors", "TableName", v.table_name, "Operation", "PutItem"],
        ]])
      }
    },
    {
      type = "metric", width = 8, height = 6
      properties = {
        title = "Tables: latency (ms)", region = local.region, view = "timeSeries", stat = "Average", period = 60
        metrics = flatten([for s, v in var.services : [
          ["AWS/DynamoDB", "SuccessfulRequestLatency", "TableName", v.table_name, "Operation", "GetItem"],
          ["AWS/DynamoDB", "SuccessfulRequestLatency", "TableName", v.table_name, "Operation", "Query"],
          ["AWS/DynamoDB", "SuccessfulRequestLatency", "TableName", v.table_name, "Operation", "PutItem"],
        ]])
      }
    },
  ]

  edge_widgets = concat(
    var.cloudfront_distribution_id == null ? [] : [
      {
        type = "metric", width = 8, height = 6
        properties = {
          title   = "Edge: CloudFront requests", region = "us-east-1", view = "timeSeries", stat = "Sum", period = 300
          metrics = [["AWS/CloudFront", "Requests", "Region", "Global", "DistributionId", var.cloudfront_distribution_id]]
        }
      },
      {
        type = "metric", width = 8, height = 6
        properties = {
          title = "Edge: CloudFront error rates (%)", region = "us-east-1", view = "timeSeries", stat = "Average", period = 300
          metrics = [
            ["AWS/CloudFront", "4xxErrorRate", "Region", "Global", "DistributionId", var.cloudfront_distribution_id],
            ["AWS/CloudFront", "5xxErrorRate", "Region", "Global", "DistributionId", var.cloudfront_distribution_id],
          ]
        }
      },
    ],
    var.edge_web_acl_name == null && var.regional_web_acl_name == null ? [] : [
      {
        type = "metric", width = 8, height = 6
        properties = {
          title = "WAF: blocked requests", view = "timeSeries", stat = "Sum", period = 300, region = local.region
          metrics = concat(
            var.edge_web_acl_name == null ? [] : [["AWS/WAFV2", "BlockedRequests", "WebACL", var.edge_web_acl_name, "Rule", "ALL", { region = "us-east-1", label = "CloudFront WAF" }]],
            var.regional_web_acl_name == null ? [] : [["AWS/WAFV2", "BlockedRequests", "WebACL", var.regional_web_acl_name, "Region", local.region, "Rule", "ALL", { label = "ALB WAF" }]],
          )
        }
      },
    ],
  )

  alarm_widget = {
    type = "alarm", width = 24, height = 4
    properties = {
      title  = "Alarms"
      alarms = flatten([for s in keys(var.services) : [for k in local.deployment_kinds : "arn:${data.aws_partition.current.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${local.alarm_names[s][k]}"]])
    }
  }
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name
  dashboard_body = jsonencode({
    widgets = concat(
      [{ type = "text", width = 24, height = 1, properties = { markdown = "## ${var.name}: services (traffic, errors, latency, saturation), edge, tables" } }],
      [local.alarm_widget],
      local.service_widgets,
      local.edge_widgets,
      local.table_widgets,
    )
  })
}
