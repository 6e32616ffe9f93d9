variable "name" {
  description = "Name of the web ACL and prefix of its metrics and log group (e.g. storefront-prod-edge)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9-]{3,100}$", var.name))
    error_message = "name must be 3-100 characters of letters, digits and hyphens."
  }
}

variable "scope" {
  description = "CLOUDFRONT (the provider must then be in us-east-1) or REGIONAL (ALB, API Gateway...)."
  type        = string

  validation {
    condition     = contains(["CLOUDFRONT", "REGIONAL"], var.scope)
    error_message = "scope must be CLOUDFRONT or REGIONAL."
  }
}

variable "count_only" {
  description = "true: every rule only counts what it would block (observe a new environment first); false: rules block."
  type        = bool
  default     = false
}

variable "rate_limit_per_ip" {
  description = "Requests per client IP per evaluation window above which the IP is blocked."
  type        = number
  default     = 2000

  validation {
    condition     = var.rate_limit_per_ip >= 10 && var.rate_limit_per_ip <= 2000000000
    error_message = "rate_limit_per_ip must be between 10 and 2,000,000,000 (AWS WAF limits)."
  }
}

variable "rate_limit_window_seconds" {
  description = "Evaluation window of the rate-based rule, in seconds."
  type        = number
  default     = 300

  validation {
    condition     = contains([60, 120, 300, 600], var.rate_limit_window_seconds)
    error_message = "rate_limit_window_seconds must be one of 60, 120, 300, 600."
  }
}

variable "managed_rule_groups" {
  description = "AWS managed rule groups evaluated in this order (names in the AWS vendor namespace)."
  type        = list(string)
  default = [
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
  ]

  validation {
    condition     = length(var.managed_rule_groups) > 0 && alltrue([for g in var.managed_rule_groups : can(regex("^AWSManagedRules[A-Za-z]+$", g))])
    error_message = "managed_rule_groups must be non-empty AWS managed rule group names (AWSManagedRules...)."
  }
}

variable "common_rule_set_count_rules" {
  description = "Rules of AWSManagedRulesCommonRuleSet overridden to count (e.g. SizeRestrictions_BODY for large JSON bodies)."
  type        = list(string)
  default     = []
}

variable "redacted_headers" {
  description = "Request headers replaced by REDACTED in WAF logs (API keys, the origin secret). Lower case."
  type        = list(string)
  default     = ["x-api-key"]

  validation {
    condition     = length(var.redacted_headers) <= 100 && alltrue([for h in var.redacted_headers : h == lower(h) && can(regex("^[a-z0-9-]+$", h))])
    error_message = "redacted_headers must be lower-case header names (at most 100)."
  }
}

variable "log_retention_days" {
  description = "Days the WAF log group keeps its events."
  type        = number
  default     = 90

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "log_kms_key_arn" {
  description = "KMS key ARN encrypting the WAF log group; null uses CloudWatch Logs' own encryption."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}

variable "behind_cloudfront" {
  description = "The protected resource only receives requests from CloudFront (the ALB): the connecting address is a CloudFront edge, so the per-IP rate limit and the IP reputation list are left to the CloudFront web ACL, which sees the viewer's address."
  type        = bool
  default     = false
}
