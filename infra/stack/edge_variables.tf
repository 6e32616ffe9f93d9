# Variables of the edge (CloudFront + S3 site), WAF, DNS/TLS and monitoring parts of the stack.
# Every default works on the default CloudFront/ALB domains; prod settings are in the README/report.

variable "domain_name" {
  description = "Public DNS zone for a custom domain (e.g. example.com). null: no DNS/TLS resources; users use the *.cloudfront.net name."
  type        = string
  default     = null

  validation {
    condition     = var.domain_name == null || can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", coalesce(var.domain_name, "-")))
    error_message = "domain_name must be a lower-case DNS name without a trailing dot."
  }
}

variable "create_hosted_zone" {
  description = "true: create the domain_name zone (two applies: see hosted_zone_delegated); false: use the existing public zone."
  type        = bool
  default     = false

  validation {
    condition     = !var.create_hosted_zone || var.domain_name != null
    error_message = "create_hosted_zone needs domain_name."
  }
}

variable "hosted_zone_delegated" {
  description = "With create_hosted_zone: false for the first apply (the zone alone; delegate domain_name to the dns_name_servers output), then true (certificates, HTTPS, records)."
  type        = bool
  default     = false

  validation {
    condition     = !var.hosted_zone_delegated || var.create_hosted_zone
    error_message = "hosted_zone_delegated only applies with create_hosted_zone = true (an existing zone is already delegated)."
  }
}

variable "app_hostname" {
  description = "Name users open, inside domain_name (null: domain_name itself). CloudFront's origin for the ALB becomes origin.<app_hostname>."
  type        = string
  default     = null

  validation {
    condition     = var.app_hostname == null || (var.domain_name != null && (var.app_hostname == var.domain_name || endswith(coalesce(var.app_hostname, "-"), ".${coalesce(var.domain_name, "-")}")))
    error_message = "app_hostname needs domain_name and must be domain_name or a name inside it."
  }
}

variable "cloudfront_price_class" {
  description = "CloudFront price class: PriceClass_100 (Europe and North America edges), PriceClass_200, PriceClass_All."
  type        = string
  default     = "PriceClass_100"

  validation {
    condition     = contains(["PriceClass_100", "PriceClass_200", "PriceClass_All"], var.cloudfront_price_class)
    error_message = "cloudfront_price_class must be PriceClass_100, PriceClass_200 or PriceClass_All."
  }
}

variable "cloudfront_prefix_list_id" {
  description = "ID of the CloudFront origin-facing managed prefix list; null looks up com.amazonaws.global.cloudfront.origin-facing (set it only for an emulator without that list)."
  type        = string
  default     = null

  validation {
    condition     = var.cloudfront_prefix_list_id == null || can(regex("^pl-[0-9a-f]+$", coalesce(var.cloudfront_prefix_list_id, "-")))
    error_message = "cloudfront_prefix_list_id must be a prefix list ID (pl-...)."
  }
}

variable "waf_count_only" {
  description = "true: both web ACLs only count what they would block (observe a new environment); false: they block."
  type        = bool
  default     = false
}

variable "waf_rate_limit_per_ip" {
  description = "Requests per client IP per 5 minutes above which WAF blocks the IP (edge and ALB)."
  type        = number
  default     = 2000

  validation {
    condition     = var.waf_rate_limit_per_ip >= 10
    error_message = "waf_rate_limit_per_ip must be at least 10."
  }
}

variable "waf_log_retention_days" {
  description = "Days the WAF log groups keep their events."
  type        = number
  default     = 90
}

variable "edge_log_retention_days" {
  description = "Days CloudFront and S3 access logs are kept."
  type        = number
  default     = 90
}

variable "origin_secret_active" {
  description = "Origin secret slot (a or b) CloudFront sends; the ALB accepts both. Rotation: see docs (raise the other slot's version, apply, switch, apply)."
  type        = string
  default     = "a"
}

variable "origin_secret_versions" {
  description = "Generation of each origin secret slot; raising one replaces that slot's value with a fresh random one."
  type        = object({ a = number, b = number })
  default     = { a = 1, b = 1 }
}

variable "alarm_emails" {
  description = "E-mail addresses subscribed to the alarm topics (each confirms the subscription from the e-mail AWS sends). prod requires at least one: an alarm nobody receives protects nothing."
  type        = list(string)
  default     = []

  validation {
    condition     = var.environment != "prod" || length(var.alarm_emails) > 0
    error_message = "prod needs at least one alarm_emails address (infra/envs/prod/terraform.tfvars): every alarm would notify a topic nobody reads."
  }
}

variable "alarm_on_no_traffic" {
  description = "A service that receives no request for 15 minutes is an outage (request-drop alarm fires). false where traffic is not steady (dev)."
  type        = bool
  default     = true
}

variable "anomaly_band_width" {
  description = "Width (standard deviations) of the anomaly detection bands of the alarms."
  type        = number
  default     = 3
}

variable "private_zone_name" {
  description = "Private hosted zone of the VPC with the ALB's and the distribution's names (modules/private_dns). null: <project>-<environment>.internal (distinct from the Cloud Map namespace <environment>.<project>.internal)."
  type        = string
  default     = null

  validation {
    condition     = var.private_zone_name == null || can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", coalesce(var.private_zone_name, "-")))
    error_message = "private_zone_name must be a lower-case DNS name without a trailing dot."
  }
}
