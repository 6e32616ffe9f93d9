variable "name" {
  description = "Cluster name (e.g. storefront-prod)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,255}$", var.name))
    error_message = "name may contain only letters, digits, '-' and '_' (1-255 characters)."
  }
}

variable "use_fargate_spot" {
  description = "Run tasks on Fargate Spot by default (cheaper, may be interrupted: dev only)."
  type        = bool
  default     = false
}

variable "container_insights" {
  description = "CloudWatch Container Insights level: enabled or enhanced."
  type        = string
  default     = "enabled"

  validation {
    condition     = contains(["enabled", "enhanced"], var.container_insights)
    error_message = "container_insights must be enabled or enhanced (it is never switched off)."
  }
}

variable "vpc_id" {
  description = "VPC of the private DNS namespace services register in (service discovery)."
  type        = string
}

variable "namespace_name" {
  description = "Private DNS namespace for service-to-service calls (e.g. prod.storefront.internal)."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9-]+\\.)+[a-z]+$", var.namespace_name))
    error_message = "namespace_name must be a DNS name such as prod.storefront.internal."
  }
}

variable "tags" {
  description = "Extra tags (provider default_tags still apply)."
  type        = map(string)
  default     = {}
}
