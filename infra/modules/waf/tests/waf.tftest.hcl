mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:aws-waf-logs-t" }
  }
  mock_resource "aws_wafv2_web_acl" {
    defaults = { arn = "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/t/abc" }
  }
}

variables {
  name             = "storefront-test-alb"
  scope            = "REGIONAL"
  redacted_headers = ["x-api-key", "x-origin-verify"]
}

run "blocks_by_default_with_all_managed_groups" {
  command = plan

  assert {
    condition     = length(jsondecode(aws_wafv2_web_acl.this.rule_json)) == 5
    error_message = "expected the rate rule plus four managed rule groups"
  }
  assert {
    condition = toset([for r in jsondecode(aws_wafv2_web_acl.this.rule_json) : r.Name]) == toset([
      "rate-limit-per-ip", "AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet",
      "AWSManagedRulesSQLiRuleSet", "AWSManagedRulesAmazonIpReputationList",
    ])
    error_message = "rule names differ from the managed groups and the rate rule"
  }
  assert {
    condition     = length(distinct([for r in jsondecode(aws_wafv2_web_acl.this.rule_json) : r.Priority])) == 5
    error_message = "rule priorities must be unique"
  }
  assert {
    condition     = alltrue([for r in jsondecode(aws_wafv2_web_acl.this.rule_json) : r.Name == "rate-limit-per-ip" ? keys(r.Action) == ["Block"] : keys(r.OverrideAction) == ["None"]])
    error_message = "rules must block outside count mode"
  }
  assert {
    condition     = one([for r in jsondecode(aws_wafv2_web_acl.this.rule_json) : r if r.Name == "rate-limit-per-ip"]).Statement.RateBasedStatement.AggregateKeyType == "IP"
    error_message = "the rate rule must aggregate per IP"
  }
  assert {
    condition     = startswith(aws_cloudwatch_log_group.this.name, "aws-waf-logs-")
    error_message = "WAF log groups must start with aws-waf-logs-"
  }
  assert {
    condition     = length(aws_wafv2_web_acl_logging_configuration.this.redacted_fields) == 2
    error_message = "both secret headers must be redacted"
  }
}

run "behind_cloudfront_no_ip_keyed_rules" {
  command = plan

  variables {
    behind_cloudfront = true
  }

  assert {
    condition = toset([for r in jsondecode(aws_wafv2_web_acl.this.rule_json) : r.Name]) == toset([
      "AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesSQLiRuleSet",
    ])
    error_message = "behind CloudFront only the content rule sets apply (no rate limit, no IP reputation)"
  }
}

run "count_mode_switches_every_rule" {
  command = plan

  variables {
    count_only                  = true
    common_rule_set_count_rules = ["SizeRestrictions_BODY"]
  }

  assert {
    condition     = alltrue([for r in jsondecode(aws_wafv2_web_acl.this.rule_json) : r.Name == "rate-limit-per-ip" ? keys(r.Action) == ["Count"] : keys(r.OverrideAction) == ["Count"]])
    error_message = "count_only must put every rule in count mode"
  }
  assert {
    condition     = one([for r in jsondecode(aws_wafv2_web_acl.this.rule_json) : r if r.Name == "AWSManagedRulesCommonRuleSet"]).Statement.ManagedRuleGroupStatement.RuleActionOverrides[0].Name == "SizeRestrictions_BODY"
    error_message = "single common rules can be overridden to count"
  }
}

run "rejects_bad_inputs" {
  command = plan

  variables {
    scope                     = "GLOBAL"
    rate_limit_per_ip         = 5
    rate_limit_window_seconds = 30
    redacted_headers          = ["X-Api-Key"]
    log_retention_days        = 42
  }

  expect_failures = [
    var.scope,
    var.rate_limit_per_ip,
    var.rate_limit_window_seconds,
    var.redacted_headers,
    var.log_retention_days,
  ]
}
