variable "name" {
  description = "Name prefix of every resource (e.g. storefront-prod)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}$", var.name))
    error_message = "name must be lowercase letters, digits and dashes (2-41 characters), starting with a letter."
  }
}

variable "cidr_block" {
  description = "IPv4 CIDR of the VPC; public and private /24s are carved from it."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrnetmask(var.cidr_block)) && tonumber(split("/", var.cidr_block)[1]) <= 20
    error_message = "cidr_block must be a valid IPv4 CIDR of /20 or larger."
  }
}

variable "availability_zones" {
  description = "Availability zones of the subnets, by name (2 to 6, distinct, e.g. [\"eu-west-1a\", \"eu-west-1b\"])."
  type        = list(string)

  validation {
    condition = (
      length(var.availability_zones) >= 2 && length(var.availability_zones) <= 6 &&
      length(distinct(var.availability_zones)) == length(var.availability_zones) &&
      alltrue([for az in var.availability_zones : can(regex("^[a-z]{2}(-[a-z]+)+-[0-9][a-z]$", az))])
    )
    error_message = "availability_zones must be 2 to 6 distinct zone names such as eu-west-1a."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all AZs (cheaper, for dev) instead of one per AZ (HA, for prod)."
  type        = bool
  default     = false
}

variable "flow_log_retention_days" {
  description = "Days CloudWatch keeps the VPC flow logs."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "flow_log_retention_days must be a retention period CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

variable "tags" {
  description = "Extra tags for every resource of this module (provider default_tags still apply)."
  type        = map(string)
  default     = {}
}

variable "permissions_boundary_arn" {
  description = "Managed policy set as the permissions boundary of every role this module creates (infra/bootstrap <project>-boundary-<env>; the deploy role may only create roles with it)."
  type        = string
  default     = null
}
