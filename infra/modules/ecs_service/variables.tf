variable "project" {
  description = "Project name (from services/project.yaml)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.project))
    error_message = "project must be lowercase letters, digits and dashes."
  }
}

variable "environment" {
  description = "Environment name: dev, prod or local."
  type        = string

  validation {
    condition     = contains(["dev", "prod", "local"], var.environment)
    error_message = "environment must be dev, prod or local."
  }
}

variable "service" {
  description = "Service name (from its manifest)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.service))
    error_message = "service must be lowercase letters, digits and dashes."
  }
}

variable "cluster_arn" {
  description = "ECS cluster ARN."
  type        = string
}

variable "cluster_name" {
  description = "ECS cluster name (for autoscaling resource IDs)."
  type        = string
}

variable "capacity_provider_strategy" {
  description = "Capacity provider strategy (from the ecs_cluster module)."
  type = list(object({
    capacity_provider = string
    weight            = number
    base              = number
  }))

  validation {
    condition     = length(var.capacity_provider_strategy) > 0 && alltrue([for s in var.capacity_provider_strategy : contains(["FARGATE", "FARGATE_SPOT"], s.capacity_provider)])
    error_message = "capacity_provider_strategy must name FARGATE and/or FARGATE_SPOT."
  }
}

variable "vpc_id" {
  description = "VPC of the service."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of every AZ the tasks may run in."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "Tasks need private subnets in at least two availability zones."
  }
}

variable "alb_security_group_id" {
  description = "Security group of the load balancer; the only default source of traffic to the service."
  type        = string
}

variable "target_group_arn" {
  description = "Target group of this service (from the alb module, which also owns its path rule)."
  type        = string
}

variable "target_group_arn_suffix" {
  description = "ARN suffix of that target group (request-count autoscaling, monitoring)."
  type        = string
}

variable "alb_arn_suffix" {
  description = "ARN suffix of the load balancer (for request-count autoscaling)."
  type        = string
}

variable "image" {
  description = "Container image by tag (repo:tag) or digest (repo@sha256:...); 'latest' is refused."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})$", var.image)) && !endswith(var.image, ":latest")
    error_message = "image must be registry/repository:tag or registry/repository@sha256:<64 hex>, and not :latest."
  }
}

variable "cpu" {
  description = "Fargate CPU units of the task."
  type        = number

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096], var.cpu)
    error_message = "cpu must be 256, 512, 1024, 2048 or 4096."
  }
}

variable "memory" {
  description = "Task memory in MiB."
  type        = number

  validation {
    condition     = var.memory >= 512 && var.memory <= 30720
    error_message = "memory must be between 512 and 30720 MiB."
  }
}

variable "port" {
  description = "Container port (from the manifest)."
  type        = number

  validation {
    condition     = var.port >= 1024 && var.port <= 65535
    error_message = "port must be between 1024 and 65535."
  }
}

variable "health_path" {
  description = "Liveness path, used by the target group health check and the container."
  type        = string

  validation {
    condition     = can(regex("^/", var.health_path))
    error_message = "health_path must start with /."
  }
}

variable "table_name" {
  description = "The service's own DynamoDB table."
  type        = string
}

variable "table_arn" {
  description = "ARN of the service's own DynamoDB table (the task role may use only it and its indexes)."
  type        = string
}

variable "environment_variables" {
  description = "Extra plain environment variables (e.g. dependency URLs); never secrets."
  type        = map(string)
  default     = {}
}

variable "secrets" {
  description = "Environment variable name -> Secrets Manager secret ARN, injected with valueFrom."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for arn in values(var.secrets) : can(regex("^arn:aws[a-z-]*:secretsmanager:", arn))])
    error_message = "Every secret must be a Secrets Manager ARN."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the container logs."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention period CloudWatch Logs accepts."
  }
}

variable "revision" {
  description = "The release the task runs (the image tag, i.e. the commit): REVISION, reported by the health check body so a smoke test can wait for it."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,128}$", var.revision))
    error_message = "revision must be 1-128 letters, digits, '_', '.' or '-'."
  }
}

variable "log_level" {
  description = "LOG_LEVEL of the service."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "desired_count" {
  description = "Tasks at creation (afterwards autoscaling, when on, owns the count)."
  type        = number

  validation {
    condition     = var.desired_count >= 1 && floor(var.desired_count) == var.desired_count
    error_message = "desired_count must be a whole number >= 1."
  }
}

variable "autoscaling" {
  description = "Target tracking on CPU and ALB requests per target (enabled = false switches it off)."
  type = object({
    enabled             = bool
    min                 = number
    max                 = number
    cpu_target          = number
    requests_per_target = number
  })

  validation {
    condition     = var.autoscaling.min >= 1 && var.autoscaling.max >= var.autoscaling.min
    error_message = "autoscaling needs 1 <= min <= max."
  }

  validation {
    condition     = var.autoscaling.cpu_target >= 10 && var.autoscaling.cpu_target <= 95 && var.autoscaling.requests_per_target >= 1
    error_message = "autoscaling.cpu_target must be 10-95 and requests_per_target >= 1."
  }
}

variable "namespace_id" {
  description = "Private DNS namespace the service registers in (<service>.<namespace>)."
  type        = string
}

variable "https_egress_cidr_blocks" {
  description = "Where tasks may open HTTPS connections (AWS APIs through the NAT: ECR, Logs, Secrets Manager)."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = alltrue([for c in var.https_egress_cidr_blocks : can(cidrnetmask(c))])
    error_message = "https_egress_cidr_blocks must be IPv4 CIDRs."
  }
}

variable "egress_prefix_list_ids" {
  description = "Named prefix lists (e.g. s3, dynamodb gateway endpoints) tasks may reach on HTTPS."
  type        = map(string)
  default     = {}
}

variable "tags" {
  description = "Extra tags (provider default_tags still apply; a service tag is added)."
  type        = map(string)
  default     = {}
}

variable "deployment_alarm_names" {
  description = "CloudWatch alarms that roll a deployment back when one fires (empty: none)."
  type        = list(string)
  default     = []
}

variable "permissions_boundary_arn" {
  description = "Managed policy set as the permissions boundary of every role this module creates (infra/bootstrap <project>-boundary-<env>; the deploy role may only create roles with it)."
  type        = string
  default     = null
}
