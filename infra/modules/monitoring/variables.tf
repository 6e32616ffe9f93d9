variable "name" {
  description = "Prefix of every name, <project>-<env>. Alarms are named <name>-<service>-<kind>; the deployment guard <name>-<service>-deployment."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,40}$", var.name))
    error_message = "name must be 3-41 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "services" {
  description = "Per service (key = service name): its ECS cluster and service, ALB target group ARN suffix, log group and DynamoDB table."
  type = map(object({
    cluster_name            = string
    service_name            = string
    target_group_arn_suffix = string
    log_group_name          = string
    table_name              = string
  }))

  validation {
    condition     = length(var.services) > 0 && alltrue([for k in keys(var.services) : can(regex("^[a-z][a-z0-9-]{1,30}$", k))])
    error_message = "services must be non-empty and keyed by service names (lower case, digits, hyphens)."
  }
}

variable "alb_arn_suffix" {
  description = "ARN suffix of the ALB (the LoadBalancer dimension of AWS/ApplicationELB)."
  type        = string
}

variable "regional_web_acl_name" {
  description = "Name of the REGIONAL WAF web ACL on the ALB (null: no WAF alarm in the region)."
  type        = string
  default     = null
}

variable "edge_web_acl_name" {
  description = "Name of the CLOUDFRONT WAF web ACL (null: no edge WAF alarm). Its metrics live in us-east-1."
  type        = string
  default     = null
}

variable "cloudfront_distribution_id" {
  description = "Distribution shown on the dashboard (null: no edge widgets)."
  type        = string
  default     = null
}

variable "alarm_emails" {
  description = "Addresses subscribed to the alarm topics (each must confirm the subscription e-mail)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.alarm_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "alarm_emails must be e-mail addresses."
  }
}

variable "create_composite_alarms" {
  description = "One composite deployment alarm per service (true on AWS). false (an emulator without PutCompositeAlarm; ours has it): ECS watches the child alarms directly, which rolls back on the same conditions."
  type        = bool
  default     = true
}

variable "anomaly_band_width" {
  description = "Width of the anomaly detection bands in standard deviations (higher: fewer, surer alarms)."
  type        = number
  default     = 3

  validation {
    condition     = var.anomaly_band_width >= 1 && var.anomaly_band_width <= 10
    error_message = "anomaly_band_width must be between 1 and 10."
  }
}

variable "cpu_high_percent" {
  description = "Average CPU utilisation of a service (percent of its reservation) that raises an alarm after 5 minutes."
  type        = number
  default     = 85

  validation {
    condition     = var.cpu_high_percent > 0 && var.cpu_high_percent <= 100
    error_message = "cpu_high_percent must be 1-100."
  }
}

variable "memory_high_percent" {
  description = "Average memory utilisation of a service (percent) that raises an alarm after 5 minutes."
  type        = number
  default     = 85

  validation {
    condition     = var.memory_high_percent > 0 && var.memory_high_percent <= 100
    error_message = "memory_high_percent must be 1-100."
  }
}

variable "error_log_threshold" {
  description = "ERROR log lines of one service within 5 minutes that raise an alarm (and roll back a deployment)."
  type        = number
  default     = 5

  validation {
    condition     = var.error_log_threshold >= 1
    error_message = "error_log_threshold must be at least 1."
  }
}

variable "tags" {
  description = "Tags added to every resource (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}

variable "no_traffic_is_an_outage" {
  description = "The request-count alarm fires when a service receives no request at all for 15 minutes (missing RequestCount is breaching). false for environments without steady traffic."
  type        = bool
  default     = true
}
