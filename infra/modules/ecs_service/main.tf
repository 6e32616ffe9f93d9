# One service from its manifest: task definition, Fargate service behind its target group in the
# private subnets of every AZ, its log group, security group, IAM roles, service discovery name
# and (optionally) autoscaling. Secrets are only referenced here (valueFrom), never read.

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  name = "${var.project}-${var.environment}-${var.service}"
  tags = merge(var.tags, { service = var.service })

  # ECR images: the execution role may pull from this one repository only.
  ecr                = try(regex("^([0-9]{12})\\.dkr\\.ecr\\.([a-z0-9-]+)\\.amazonaws\\.com/([a-z0-9._/-]+)[:@]", var.image), null)
  ecr_repository_arn = local.ecr == null ? null : "arn:${data.aws_partition.current.partition}:ecr:${local.ecr[1]}:${local.ecr[0]}:repository/${local.ecr[2]}"

  environment = merge(var.environment_variables, {
    PORT         = tostring(var.port)
    HOST         = "0.0.0.0"
    SERVICE_NAME = var.service
    ENVIRONMENT  = var.environment
    TABLE_NAME   = var.table_name
    HEALTH_PATH  = var.health_path
    LOG_LEVEL    = var.log_level
    REVISION     = var.revision
    AWS_REGION   = data.aws_region.current.name
  })

  container = {
    name                   = var.service
    image                  = var.image
    essential              = true
    user                   = "10001"
    readonlyRootFilesystem = true
    stopTimeout            = 30
    portMappings = [{
      containerPort = var.port
      hostPort      = var.port
      protocol      = "tcp"
    }]
    environment = [for k in sort(keys(local.environment)) : { name = k, value = local.environment[k] }]
    secrets     = [for k in sort(keys(var.secrets)) : { name = k, valueFrom = var.secrets[k] }]
    mountPoints = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
    # Every 5 s (ECS minimum): with a container health check, ECS counts a new task towards the
    # minimum healthy percent only once it is HEALTHY *and* the ALB says healthy (ECS API,
    # DeploymentConfiguration.minimumHealthyPercent), and the first check runs one interval after
    # the container starts (Docker HEALTHCHECK). Our services answer within 1-3 s, so at 15 s the old
    # tasks kept serving ~10 s longer on every deploy. Same command, timeout, retries and start
    # period: an unhealthy task is now replaced after 3 failures in ~15 s instead of ~45 s. A check
    # is one stdlib-only Python process (about 20 ms of CPU).
    healthCheck = {
      command     = ["CMD", "python", "-m", "svc_common.healthcheck"]
      interval    = 5
      timeout     = 5
      retries     = 3
      startPeriod = 20
    }
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this.name
        awslogs-region        = data.aws_region.current.name
        awslogs-stream-prefix = var.service
      }
    }
  }
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/ecs/${var.project}-${var.environment}/${var.service}"
  retention_in_days = var.log_retention_days

  tags = local.tags
}

# --- IAM ---------------------------------------------------------------------------------------

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

# Execution role: what ECS needs to start the task (pull the image, read the secrets, write logs).
resource "aws_iam_role" "execution" {
  name               = "${local.name}-execution"
  assume_role_policy = data.aws_iam_policy_document.assume.json

  tags = local.tags
}

data "aws_iam_policy_document" "execution" {
  dynamic "statement" {
    for_each = local.ecr == null ? [] : [1]
    content {
      sid       = "EcrLogin"
      actions   = ["ecr:GetAuthorizationToken"] # has no resource-level permissions
      resources = ["*"]
    }
  }

  dynamic "statement" {
    for_each = local.ecr == null ? [] : [1]
    content {
      sid = "PullOwnImage"
      actions = [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
      ]
      resources = [local.ecr_repository_arn]
    }
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  dynamic "statement" {
    for_each = length(var.secrets) == 0 ? [] : [1]
    content {
      sid       = "ReadOwnSecrets"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = sort(distinct(values(var.secrets)))
    }
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "start-${var.service}"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# Task role: what the service's code may do (its own table and that table's indexes, nothing else).
resource "aws_iam_role" "task" {
  name               = "${local.name}-task"
  assume_role_policy = data.aws_iam_policy_document.assume.json

  tags = local.tags
}

data "aws_iam_policy_document" "task" {
  statement {
    sid = "OwnTable"
    actions = [
      "dynamodb:BatchGetItem",
      "dynamodb:BatchWriteItem",
      "dynamodb:ConditionCheckItem",
      "dynamodb:DeleteItem",
      "dynamodb:DescribeTable",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
      "dynamodb:UpdateItem",
    ]
    resources = [var.table_arn, "${var.table_arn}/index/*"]
  }
}

resource "aws_iam_role_policy" "task" {
  name   = "use-${var.service}-table"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}

# --- networking --------------------------------------------------------------------------------

resource "aws_security_group" "this" {
  name        = "${local.name}-svc"
  description = "Tasks of ${var.service}: container port from the load balancer (and declared dependents)"
  vpc_id      = var.vpc_id

  tags = merge(local.tags, { Name = "${local.name}-svc" })
}

resource "aws_vpc_security_group_ingress_rule" "from_alb" {
  security_group_id            = aws_security_group.this.id
  ip_protocol                  = "tcp"
  from_port                    = var.port
  to_port                      = var.port
  referenced_security_group_id = var.alb_security_group_id
  description                  = "Load balancer to the container port"

  tags = merge(local.tags, { Name = "Load balancer to the container port" })
}

resource "aws_vpc_security_group_egress_rule" "alb_to_service" {
  security_group_id            = var.alb_security_group_id
  ip_protocol                  = "tcp"
  from_port                    = var.port
  to_port                      = var.port
  referenced_security_group_id = aws_security_group.this.id
  description                  = "To ${var.service} on its container port"

  tags = merge(local.tags, { Name = "To ${var.service} on its container port" })
}

resource "aws_vpc_security_group_egress_rule" "https" {
  for_each = toset(var.https_egress_cidr_blocks)

  security_group_id = aws_security_group.this.id
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
  description       = "HTTPS to AWS APIs (ECR, Logs, Secrets Manager) through the NAT gateway"

  tags = merge(local.tags, { Name = "HTTPS to AWS APIs (ECR, Logs, Secrets Manager) through the NAT gateway" })
}

resource "aws_vpc_security_group_egress_rule" "prefix_list" {
  for_each = var.egress_prefix_list_ids

  security_group_id = aws_security_group.this.id
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = each.value
  description       = "HTTPS to ${each.key} through its gateway endpoint"

  tags = merge(local.tags, { Name = "HTTPS to ${each.key} through its gateway endpoint" })
}

resource "aws_service_discovery_service" "this" {
  name = var.service

  dns_config {
    namespace_id   = var.namespace_id
    routing_policy = "MULTIVALUE"

    dns_records {
      type = "A"
      ttl  = 10
    }
  }

  tags = local.tags
}

# --- task definition and service -----------------------------------------------------------

resource "aws_ecs_task_definition" "this" {
  family                   = local.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(var.cpu)
  memory                   = tostring(var.memory)
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  container_definitions    = jsonencode([local.container])

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  # The root filesystem is read-only; /tmp is a task-local scratch volume.
  volume {
    name = "tmp"
  }

  tags = local.tags
}

resource "aws_ecs_service" "this" {
  name                               = var.service
  cluster                            = var.cluster_arn
  task_definition                    = aws_ecs_task_definition.this.arn
  desired_count                      = var.desired_count
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = var.emulator_compat ? null : 30
  enable_ecs_managed_tags            = !var.emulator_compat
  propagate_tags                     = "SERVICE"
  wait_for_steady_state              = false
  launch_type                        = var.emulator_compat ? "FARGATE" : null
  # Move tasks back to a recovered AZ after an AZ outage.
  availability_zone_rebalancing = "ENABLED"

  deployment_controller {
    type = "ECS"
  }

  dynamic "capacity_provider_strategy" {
    for_each = var.emulator_compat ? [] : var.capacity_provider_strategy
    content {
      capacity_provider = capacity_provider_strategy.value.capacity_provider
      weight            = capacity_provider_strategy.value.weight
      base              = capacity_provider_strategy.value.base
    }
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  # A deployment also rolls back by itself when one of these alarms fires (monitoring module).
  dynamic "alarms" {
    for_each = length(var.deployment_alarm_names) > 0 ? [1] : []
    content {
      alarm_names = var.deployment_alarm_names
      enable      = true
      rollback    = true
    }
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.this.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = var.target_group_arn
    container_name   = var.service
    container_port   = var.port
  }

  # A records in awsvpc mode: no port (0 is "unset", which is what AWS and the emulator return).
  service_registries {
    registry_arn   = aws_service_discovery_service.this.arn
    port           = 0
    container_port = 0
  }

  tags = local.tags

  lifecycle {
    # After creation the task count belongs to autoscaling (min..max), not to Terraform.
    # availability_zone_rebalancing is set once at creation; the emulator does not return it, which
    # would otherwise show as a change on every plan.
    ignore_changes = [desired_count, availability_zone_rebalancing]
  }
}

# --- autoscaling (off for the emulator, which lacks the Application Auto Scaling tag API) ------

resource "aws_appautoscaling_target" "this" {
  count = var.autoscaling.enabled ? 1 : 0

  service_namespace  = "ecs"
  scalable_dimension = "ecs:service:DesiredCount"
  resource_id        = "service/${var.cluster_name}/${aws_ecs_service.this.name}"
  min_capacity       = var.autoscaling.min
  max_capacity       = var.autoscaling.max

  tags = local.tags
}

resource "aws_appautoscaling_policy" "cpu" {
  count = var.autoscaling.enabled ? 1 : 0

  name               = "${local.name}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this[0].service_namespace
  scalable_dimension = aws_appautoscaling_target.this[0].scalable_dimension
  resource_id        = aws_appautoscaling_target.this[0].resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.autoscaling.cpu_target
    scale_in_cooldown  = 120
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_policy" "requests" {
  count = var.autoscaling.enabled ? 1 : 0

  name               = "${local.name}-requests"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this[0].service_namespace
  scalable_dimension = aws_appautoscaling_target.this[0].scalable_dimension
  resource_id        = aws_appautoscaling_target.this[0].resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.autoscaling.requests_per_target
    scale_in_cooldown  = 120
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ALBRequestCountPerTarget"
      resource_label         = "${var.alb_arn_suffix}/${var.target_group_arn_suffix}"
    }
  }
}
