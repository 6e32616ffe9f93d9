variable "zone_name" {
  description = "Public hosted zone (e.g. example.com) holding the records and the certificate validation records."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.zone_name))
    error_message = "zone_name must be a lower-case DNS name without a trailing dot (e.g. example.com)."
  }
}

variable "create_zone" {
  description = "true: create the hosted zone (then delegate to its name servers); false: look up an existing public zone."
  type        = bool
  default     = false
}

variable "app_hostname" {
  description = "Name users open (alias A/AAAA to CloudFront), inside zone_name (e.g. shop.example.com or example.com)."
  type        = string

  validation {
    condition     = var.app_hostname == var.zone_name || endswith(var.app_hostname, ".${var.zone_name}")
    error_message = "app_hostname must be zone_name or a name inside it."
  }
}

variable "origin_hostname" {
  description = "Name CloudFront uses to reach the ALB over HTTPS (alias A to the ALB); null: origin.<app_hostname>."
  type        = string
  default     = null

  validation {
    condition     = var.origin_hostname == null || endswith(coalesce(var.origin_hostname, "-"), ".${var.zone_name}")
    error_message = "origin_hostname must be a name inside zone_name."
  }
}

variable "cloudfront_domain_name" {
  description = "Domain name of the distribution (dxxxx.cloudfront.net)."
  type        = string
}

variable "cloudfront_hosted_zone_id" {
  description = "Route 53 zone ID of the distribution (alias target)."
  type        = string
}

variable "alb_dns_name" {
  description = "DNS name of the ALB."
  type        = string
}

variable "alb_zone_id" {
  description = "Route 53 zone ID of the ALB (alias target)."
  type        = string
}

variable "tags" {
  description = "Tags added to every resource (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}

variable "delegated" {
  description = "With create_zone: the domain is delegated to the zone's name servers. false creates the zone alone (no certificate would validate before the delegation)."
  type        = bool
  default     = true
}

variable "validation_timeout" {
  description = "Longest wait for ACM to validate a certificate through the zone (Terraform duration)."
  type        = string
  default     = "30m"
}
