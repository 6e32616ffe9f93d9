variable "zone_name" {
  description = "Private hosted zone name (e.g. storefront-dev.internal); must differ from the Cloud Map namespace's."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.zone_name))
    error_message = "zone_name must be a lower-case DNS name without a trailing dot (e.g. storefront-dev.internal)."
  }
}

variable "vpc_id" {
  description = "VPC the zone is associated with (answers only inside it)."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "vpc_id must be a VPC ID (vpc-...)."
  }
}

variable "alb_dns_name" {
  description = "DNS name of the internal ALB (alias and CNAME target)."
  type        = string

  validation {
    condition     = length(var.alb_dns_name) > 0 && !endswith(var.alb_dns_name, ".")
    error_message = "alb_dns_name must be a DNS name without a trailing dot."
  }
}

variable "alb_zone_id" {
  description = "Route 53 zone ID of the ALB (alias target)."
  type        = string

  validation {
    condition     = can(regex("^Z[0-9A-Z]+$", var.alb_zone_id))
    error_message = "alb_zone_id must be a Route 53 hosted zone ID (Z...)."
  }
}

variable "cloudfront_domain_name" {
  description = "Domain name of the distribution (dxxxx.cloudfront.net), CNAME target."
  type        = string

  validation {
    condition     = endswith(var.cloudfront_domain_name, ".cloudfront.net")
    error_message = "cloudfront_domain_name must be the distribution's *.cloudfront.net name."
  }
}

variable "cname_ttl" {
  description = "TTL (seconds) of the CNAME records."
  type        = number
  default     = 300

  validation {
    condition     = var.cname_ttl >= 60 && var.cname_ttl <= 86400
    error_message = "cname_ttl must be between 60 and 86400 seconds."
  }
}

variable "tags" {
  description = "Tags added to the zone (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}
