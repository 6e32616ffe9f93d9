mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:eu-west-1:123456789012:storefront-test-alarms" }
  }
}

mock_provider "aws" {
  alias = "us_east_1"
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:us-east-1:123456789012:storefront-test-edge-alarms" }
  }
}

variables {
  name = "storefront-test"
  services = {
    catalog = {
      cluster_name            = "storefront-test"
      service_name            = "storefront-test-catalog"
      target_group_arn_suffix = "targetgroup/catalog/abc"
      log_group_name          = "/ecs/storefront-test/catalog"
      table_name              = "storefront-test-catalog"
    }
    orders = {
      cluster_name            = "storefront-test"
      service_name            = "storefront-test-orders"
      target_group_arn_suffix = "targetgroup/orders/def"
      log_group_name          = "/ecs/storefront-test/orders"
      table_name              = "storefront-test-orders"
    }
  }
  alb_arn_suffix             = "app/storefront-test-alb/123"
  regional_web_acl_name      = "storefront-test-alb"
  edge_web_acl_name          = "storefront-test-edge"
  cloudfront_distribution_id = "EDFDVBD6EXAMPLE"
  alarm_emails               = ["oncall@example.com"]
}

run "every_alarm_notifies_the_topic" {
  command = apply

  assert {
    condition = alltrue(flatten([
      for group in [aws_cloudwatch_metric_alarm.target_5xx_rate, aws_cloudwatch_metric_alarm.target_p99_latency, aws_cloudwatch_metric_alarm.request_count,
        aws_cloudwatch_metric_alarm.unhealthy_hosts, aws_cloudwatch_metric_alarm.running_tasks, aws_cloudwatch_metric_alarm.cpu_high,
        aws_cloudwatch_metric_alarm.memory_high, aws_cloudwatch_metric_alarm.table_throttles, aws_cloudwatch_metric_alarm.table_system_errors,
      aws_cloudwatch_metric_alarm.error_logs, aws_cloudwatch_composite_alarm.deployment] :
      [for a in values(group) : contains(a.alarm_actions, aws_sns_topic.alarms.arn)]
    ]))
    error_message = "every service alarm must notify the environment's topic"
  }
  assert {
    condition     = contains(aws_cloudwatch_metric_alarm.edge_waf_blocked[0].alarm_actions, aws_sns_topic.edge_alarms.arn)
    error_message = "the edge WAF alarm must notify the us-east-1 topic"
  }
  assert {
    condition     = aws_sns_topic.alarms.kms_master_key_id != null && aws_sns_topic.edge_alarms.kms_master_key_id != null
    error_message = "alarm topics must be KMS-encrypted"
  }
}

run "anomaly_alarms_use_bands" {
  command = plan

  assert {
    condition = alltrue([
      for a in concat(values(aws_cloudwatch_metric_alarm.target_5xx_rate), values(aws_cloudwatch_metric_alarm.target_p99_latency), values(aws_cloudwatch_metric_alarm.request_count), aws_cloudwatch_metric_alarm.edge_waf_blocked, aws_cloudwatch_metric_alarm.regional_waf_blocked) :
      a.threshold_metric_id == "band" && length([for q in a.metric_query : q if q.id == "band" && startswith(coalesce(q.expression, "-"), "ANOMALY_DETECTION_BAND(")]) == 1
    ])
    error_message = "anomaly alarms must compare against an ANOMALY_DETECTION_BAND"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.request_count["orders"].comparison_operator == "LessThanLowerOrGreaterThanUpperThreshold"
    error_message = "request count anomalies must alarm in both directions"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.request_count["orders"].treat_missing_data == "breaching"
    error_message = "no RequestCount at all (traffic stopped) must fire the request-drop alarm"
  }
  assert {
    condition     = one([for q in aws_cloudwatch_metric_alarm.target_p99_latency["catalog"].metric_query : q if q.id == "p99"]).metric[0].stat == "p99"
    error_message = "the latency alarm must watch p99"
  }
  assert {
    condition     = aws_cloudwatch_log_metric_filter.error_logs["catalog"].pattern == "{ $.level = \"ERROR\" }"
    error_message = "the log filter must count JSON lines with level ERROR"
  }
}

run "quiet_environments_can_accept_no_traffic" {
  command = plan

  variables {
    no_traffic_is_an_outage = false
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.request_count["orders"].treat_missing_data == "notBreaching"
    error_message = "with no_traffic_is_an_outage = false, missing data is not an alarm"
  }
}

run "composite_guards_each_deployment" {
  command = plan

  assert {
    condition     = jsonencode(output.deployment_alarm_names) == jsonencode({ catalog = ["storefront-test-catalog-deployment"], orders = ["storefront-test-orders-deployment"] })
    error_message = "ECS must watch one composite alarm per service, with deterministic names"
  }
  assert {
    condition     = aws_cloudwatch_composite_alarm.deployment["orders"].alarm_rule == "ALARM(\"storefront-test-orders-target-5xx-rate\") OR ALARM(\"storefront-test-orders-target-p99-latency\") OR ALARM(\"storefront-test-orders-unhealthy-hosts\") OR ALARM(\"storefront-test-orders-error-logs\")"
    error_message = "the composite must fire on 5xx rate, p99 latency, unhealthy hosts or error logs"
  }
}

run "without_composites_ecs_watches_the_children" {
  command = plan

  variables {
    create_composite_alarms = false
  }

  assert {
    condition     = length(aws_cloudwatch_composite_alarm.deployment) == 0 && length(output.deployment_alarm_names["catalog"]) == 4
    error_message = "without composites ECS must watch the four child alarms"
  }
}

run "rejects_bad_inputs" {
  command = plan

  variables {
    name               = "Storefront"
    alarm_emails       = ["not-an-address"]
    anomaly_band_width = 0
    cpu_high_percent   = 150
  }

  expect_failures = [var.name, var.alarm_emails, var.anomaly_band_width, var.cpu_high_percent]
}

run "reconciler_repairs_alarm_per_declared_service" {
  command = plan

  variables {
    environment   = "test"
    repair_alarms = { orders = 20 }
  }

  assert {
    condition     = keys(aws_cloudwatch_metric_alarm.repairs) == ["orders"]
    error_message = "One repairs alarm, for the service that declares a threshold."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.repairs["orders"].metric_name == "Repairs" && aws_cloudwatch_metric_alarm.repairs["orders"].namespace == "storefront" && aws_cloudwatch_metric_alarm.repairs["orders"].threshold == 20 && aws_cloudwatch_metric_alarm.repairs["orders"].comparison_operator == "GreaterThanThreshold"
    error_message = "The alarm watches the reconciler's EMF metric Repairs against the manifest threshold."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.repairs["orders"].dimensions == tomap({ Service = "orders", Environment = "test" })
    error_message = "The alarm's dimensions are those the reconciler writes (Service, Environment)."
  }
}

run "reconciler_failures_and_silence_are_alarmed" {
  command = plan

  variables {
    environment   = "test"
    repair_alarms = { orders = 20 }
  }

  assert {
    condition     = keys(aws_cloudwatch_metric_alarm.repair_failures) == ["orders"] && keys(aws_cloudwatch_metric_alarm.reconciler_silent) == ["orders"]
    error_message = "Each service with a reconciler gets a repair-failures and a reconciler-silent alarm."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.repair_failures["orders"].metric_name == "RepairFailures" && aws_cloudwatch_metric_alarm.repair_failures["orders"].threshold == 0 && aws_cloudwatch_metric_alarm.repair_failures["orders"].comparison_operator == "GreaterThanThreshold" && aws_cloudwatch_metric_alarm.repair_failures["orders"].evaluation_periods == 3 && aws_cloudwatch_metric_alarm.repair_failures["orders"].datapoints_to_alarm == 3 && aws_cloudwatch_metric_alarm.repair_failures["orders"].treat_missing_data == "notBreaching"
    error_message = "Repairs that fail in 3 periods in a row raise an alarm; no failures (no data) does not."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.reconciler_silent["orders"].metric_name == "ReconcilerPasses" && aws_cloudwatch_metric_alarm.reconciler_silent["orders"].treat_missing_data == "breaching" && aws_cloudwatch_metric_alarm.reconciler_silent["orders"].comparison_operator == "LessThanThreshold" && aws_cloudwatch_metric_alarm.reconciler_silent["orders"].threshold == 1 && aws_cloudwatch_metric_alarm.reconciler_silent["orders"].period * aws_cloudwatch_metric_alarm.reconciler_silent["orders"].evaluation_periods == 300
    error_message = "A missing heartbeat (no ReconcilerPasses for 5 minutes) is an alarm: missing data breaches."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.repair_failures["orders"].dimensions == tomap({ Service = "orders", Environment = "test" }) && aws_cloudwatch_metric_alarm.reconciler_silent["orders"].dimensions == tomap({ Service = "orders", Environment = "test" }) && aws_cloudwatch_metric_alarm.reconciler_silent["orders"].namespace == "storefront"
    error_message = "The alarms' dimensions are those the reconciler writes (Service, Environment)."
  }
}

run "no_reconciler_no_reconciler_alarms" {
  command = plan

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.repair_failures) == 0 && length(aws_cloudwatch_metric_alarm.reconciler_silent) == 0
    error_message = "A service without a reconciler gets no heartbeat alarm (it would always fire)."
  }
}

run "rejects_bad_reconciler_alarm_inputs" {
  command = plan

  variables {
    environment                = "test"
    repair_alarms              = { orders = 20 }
    repair_failure_periods     = 0
    reconciler_silence_minutes = 1
  }

  expect_failures = [var.repair_failure_periods, var.reconciler_silence_minutes]
}
