variable "name" {
  description = "Name prefix (e.g. storefront-prod); the ALB is <name>-alb."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,27}$", var.name))
    error_message = "name must be 2-28 lowercase letters, digits or dashes (ALB names are limited to 32 characters)."
  }
}

variable "vpc_id" {
  description = "VPC of the load balancer."
  type        = string
}

variable "subnet_ids" {
  description = "Subnets, one in every availability zone in use: private ones for an internal ALB, public ones otherwise."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "An ALB needs subnets in at least two availability zones."
  }
}

variable "internal" {
  description = "true: an internal ALB (private addresses only; put it in private subnets and reach it through a CloudFront VPC origin). false: internet-facing (public subnets)."
  type        = bool
  default     = true
}

variable "certificate_arn" {
  description = "ACM certificate for an HTTPS listener (HTTP then redirects to HTTPS). Null: HTTP listener only."
  type        = string
  default     = null

  validation {
    condition     = var.certificate_arn == null || can(regex("^arn:aws[a-z-]*:acm:", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN or null."
  }
}

variable "ssl_policy" {
  description = "TLS policy of the HTTPS listener."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

variable "deletion_protection" {
  description = "Refuse to delete the load balancer (true in prod)."
  type        = bool
  default     = true
}

variable "ingress_cidr_blocks" {
  description = "IPv4 CIDRs allowed to reach ports 80/443 (used when ingress_prefix_list_ids is empty)."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = alltrue([for c in var.ingress_cidr_blocks : can(cidrnetmask(c))])
    error_message = "ingress_cidr_blocks must be IPv4 CIDRs."
  }
}

variable "ingress_prefix_list_ids" {
  description = "Managed prefix lists allowed to reach the serving port (443 with a certificate, else 80), e.g. CloudFront origin-facing. When set, they replace ingress_cidr_blocks. Only the serving port is opened: CloudFront's list counts as ~55 rules per reference against the 60-rule quota."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for p in var.ingress_prefix_list_ids : can(regex("^pl-[0-9a-f]+$", p))])
    error_message = "ingress_prefix_list_ids must be prefix list IDs (pl-...)."
  }
}

variable "origin_verify_header" {
  description = "Optional header every routed request must carry with one of the given values (CloudFront adds it; two values during a rotation). Requests without it get 403."
  type = object({
    name   = string
    values = list(string)
  })
  default   = null
  sensitive = true

  validation {
    condition     = var.origin_verify_header == null || (can(regex("^[A-Za-z0-9-]{1,40}$", try(var.origin_verify_header.name, ""))) && try(length(var.origin_verify_header.values), 0) >= 1 && try(length(var.origin_verify_header.values), 0) <= 2)
    error_message = "origin_verify_header needs a header name of letters, digits and dashes and one or two accepted values."
  }
}

variable "routes" {
  description = "Per service: path prefix, container port, health check path, a unique rule priority (multiple of 10) and internal paths (answered 404: only other services call them, inside the VPC). The module creates each service's target group and path rules."
  type = map(object({
    path_prefix    = string
    port           = number
    health_path    = string
    priority       = number
    internal_paths = optional(list(string), [])
  }))
  default = {}

  validation {
    condition     = alltrue([for r in values(var.routes) : can(regex("^/[a-z0-9-]+$", r.path_prefix)) && startswith(r.health_path, "${r.path_prefix}/")])
    error_message = "Each route path_prefix must look like /name and its health_path must live under it."
  }

  validation {
    condition     = length(distinct([for r in values(var.routes) : r.priority])) == length(var.routes)
    error_message = "Route priorities must be unique."
  }

  validation {
    condition     = alltrue([for r in values(var.routes) : r.priority % 10 == 0 && r.priority >= 10 && length(r.internal_paths) <= 3 && alltrue([for p in r.internal_paths : startswith(p, "${r.path_prefix}/") && length(p) <= 128])])
    error_message = "Route priorities must be multiples of 10 (the internal-path rule takes priority - 5); at most 3 internal paths per route (AWS: 3 values per rule condition), each under its path_prefix and at most 128 characters."
  }

  validation {
    condition     = alltrue([for k in keys(var.routes) : length("${var.name}-${k}") <= 32])
    error_message = "Target group names (<name>-<service>) must be at most 32 characters."
  }
}

variable "deregistration_delay" {
  description = "Seconds a target group drains a stopping task (shorter than the services' shutdown grace)."
  type        = number
  default     = 15

  validation {
    condition     = var.deregistration_delay >= 0 && var.deregistration_delay <= 3600
    error_message = "deregistration_delay must be 0-3600 seconds."
  }
}

variable "access_logs_retention_days" {
  description = "Days access log objects are kept."
  type        = number
  default     = 90

  validation {
    condition     = var.access_logs_retention_days >= 1
    error_message = "access_logs_retention_days must be at least 1."
  }
}

variable "access_logs_force_destroy" {
  description = "Let terraform destroy delete the access-log bucket with its logs (false in prod)."
  type        = bool
  default     = false
}

variable "idle_timeout" {
  description = "Seconds an idle connection is kept open."
  type        = number
  default     = 60
}

variable "tags" {
  description = "Extra tags (provider default_tags still apply)."
  type        = map(string)
  default     = {}
}
