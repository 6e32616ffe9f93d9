variable "environment" {
  description = "Environment: dev, prod, or local (the AWS emulator)."
  type        = string

  validation {
    condition     = contains(["dev", "prod", "local"], var.environment)
    error_message = "environment must be dev, prod or local."
  }
}

variable "region" {
  description = "AWS region of the stack."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must look like eu-west-1."
  }
}

variable "max_retries" {
  description = "How often the AWS provider retries a failing call (keep small for the emulator)."
  type        = number
  default     = 25

  validation {
    condition     = var.max_retries >= 0 && var.max_retries <= 50
    error_message = "max_retries must be 0-50."
  }
}

variable "vpc_cidr" {
  description = "IPv4 CIDR of the VPC."
  type        = string
  default     = "10.20.0.0/16"
}

variable "availability_zones" {
  description = "Availability zones of the stack, by name, in var.region (at least 2; prod uses 3). Explicit so that a zone AWS reports impaired never changes the plan."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) >= 2 && length(distinct(var.availability_zones)) == length(var.availability_zones)
    error_message = "availability_zones must name at least 2 distinct zones: the stack is always spread over several AZs."
  }

  validation {
    condition     = alltrue([for az in var.availability_zones : can(regex("^${var.region}[a-z]$", az))])
    error_message = "availability_zones must be zones of var.region (e.g. eu-west-1a for eu-west-1)."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all AZs (dev) instead of one per AZ (prod)."
  type        = bool
  default     = false

  validation {
    condition     = !(var.environment == "prod" && var.single_nat_gateway)
    error_message = "prod must have a NAT gateway per AZ (single_nat_gateway = false)."
  }
}

variable "use_fargate_spot" {
  description = "Run tasks on Fargate Spot (dev only: tasks may be interrupted)."
  type        = bool
  default     = false

  validation {
    condition     = !(var.environment == "prod" && var.use_fargate_spot)
    error_message = "prod must not run on Fargate Spot."
  }
}

variable "desired_count" {
  description = "Tasks per service at creation; null takes each manifest's scaling.min (the HA count)."
  type        = number
  default     = null

  validation {
    condition     = var.desired_count == null || try(var.desired_count >= 1, false)
    error_message = "desired_count must be null or >= 1."
  }

  validation {
    condition     = !(var.environment == "prod" && anytrue([for m in values(local.manifests) : coalesce(var.desired_count, m.scaling.min) < 2]))
    error_message = "prod runs at least 2 tasks per service (desired_count, or each manifest's scaling.min)."
  }
}

variable "enable_autoscaling" {
  description = "Target tracking autoscaling per service."
  type        = bool
  default     = true
}

variable "emulator" {
  description = "True only for env local (the AWS emulator, served over plain HTTP): bucket policies do not deny non-TLS requests. Everything else applies as in dev and prod (design.md, \"Not emulated\")."
  type        = bool
  default     = false

  validation {
    condition     = !var.emulator || var.environment == "local"
    error_message = "emulator = true is only for environment local."
  }
}

variable "deletion_protection" {
  description = "Deletion protection on the load balancer and the tables (true in prod)."
  type        = bool
  default     = true

  validation {
    condition     = !(var.environment == "prod" && !var.deletion_protection)
    error_message = "prod must keep deletion protection on."
  }
}

variable "access_logs_force_destroy" {
  description = "Allow destroy to delete the ALB access-log bucket with its objects (not in prod)."
  type        = bool
  default     = false
}

variable "image_tag" {
  description = "Release tag of every service image (e.g. git-<sha>); set by the pipeline."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag)) && var.image_tag != "latest"
    error_message = "image_tag must be a valid, immutable tag (not latest)."
  }
}

variable "image_digests" {
  description = "Optional per-service image digests (sha256:...); a digest wins over image_tag."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for d in values(var.image_digests) : can(regex("^sha256:[0-9a-f]{64}$", d))])
    error_message = "image_digests values must be sha256:<64 hex>."
  }
}

variable "image_registry" {
  description = "Registry host of the images; null means this account's ECR in var.region."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Days container logs are kept."
  type        = number
  default     = 30
}

variable "flow_log_retention_days" {
  description = "Days VPC flow logs are kept."
  type        = number
  default     = 30
}

variable "log_level" {
  description = "LOG_LEVEL of every service."
  type        = string
  default     = "INFO"
}

variable "secret_recovery_window_days" {
  description = "Days a deleted secret can be restored (0 deletes at once: emulator and throwaway stacks)."
  type        = number
  default     = 30

  validation {
    condition     = var.secret_recovery_window_days == 0 || (var.secret_recovery_window_days >= 7 && var.secret_recovery_window_days <= 30)
    error_message = "secret_recovery_window_days must be 0 or 7-30."
  }
}
