# The service module with a mocked AWS provider: task definition, service, IAM scope, scaling.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/storefront-test-orders" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/storefront-test/orders" }
  }
  mock_resource "aws_service_discovery_service" {
    defaults = { arn = "arn:aws:servicediscovery:eu-west-1:123456789012:service/srv-abcdefghijklmnop" }
  }
  mock_resource "aws_ecs_task_definition" {
    defaults = { arn = "arn:aws:ecs:eu-west-1:123456789012:task-definition/storefront-local-orders:1" }
  }
}

variables {
  project                    = "storefront"
  environment                = "local"
  service                    = "orders"
  cluster_arn                = "arn:aws:ecs:eu-west-1:123456789012:cluster/storefront-local"
  cluster_name               = "storefront-local"
  capacity_provider_strategy = [{ capacity_provider = "FARGATE", weight = 1, base = 0 }]
  vpc_id                     = "vpc-0123456789abcdef0"
  subnet_ids                 = ["subnet-0a", "subnet-0b"]
  alb_security_group_id      = "sg-0a1b2c3d4e5f60718"
  alb_arn_suffix             = "app/storefront-local-alb/50dc6c495c0c9188"
  target_group_arn           = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/storefront-local-orders/73e2d6bc24d8a067"
  target_group_arn_suffix    = "targetgroup/storefront-local-orders/73e2d6bc24d8a067"
  namespace_id               = "ns-abcdefghijklmnop"
  image                      = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/storefront/orders:git-4f9c2e1a7b3d"
  revision                   = "4f9c2e1a7b3d"
  cpu                        = 256
  memory                     = 512
  port                       = 8082
  health_path                = "/orders/health"
  table_name                 = "storefront-local-orders"
  table_arn                  = "arn:aws:dynamodb:eu-west-1:123456789012:table/storefront-local-orders"
  environment_variables      = { CATALOG_URL = "http://catalog.local.storefront.internal:8081" }
  secrets = {
    API_KEY               = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:storefront/local/orders/API_KEY-AbCdEf"
    CATALOG_SERVICE_TOKEN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:storefront/local/catalog/SERVICE_TOKEN-GhIjKl"
  }
  desired_count = 2
  autoscaling = {
    enabled             = true
    min                 = 2
    max                 = 6
    cpu_target          = 60
    requests_per_target = 500
  }
}

run "task_definition_follows_the_runtime_contract" {
  command = plan

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].readonlyRootFilesystem == true && jsondecode(aws_ecs_task_definition.this.container_definitions)[0].user == "10001"
    error_message = "Containers run read-only as a non-root user."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].healthCheck.command == ["CMD", "python", "-m", "svc_common.healthcheck"]
    error_message = "The container health check is svc_common.healthcheck."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].healthCheck.interval == 5 && jsondecode(aws_ecs_task_definition.this.container_definitions)[0].healthCheck.retries == 3 && jsondecode(aws_ecs_task_definition.this.container_definitions)[0].healthCheck.startPeriod == 20
    error_message = "Container health checked every 5 s (a new task counts as healthy sooner), 3 retries, 20 s start period."
  }

  assert {
    condition = {
      for e in jsondecode(aws_ecs_task_definition.this.container_definitions)[0].environment : e.name => e.value
      if contains(["PORT", "SERVICE_NAME", "ENVIRONMENT", "TABLE_NAME", "HEALTH_PATH", "CATALOG_URL", "REVISION"], e.name)
      } == {
      REVISION     = "4f9c2e1a7b3d"
      PORT         = "8082"
      SERVICE_NAME = "orders"
      ENVIRONMENT  = "local"
      TABLE_NAME   = "storefront-local-orders"
      HEALTH_PATH  = "/orders/health"
      CATALOG_URL  = "http://catalog.local.storefront.internal:8081"
    }
    error_message = "The environment must carry the contract variables and dependency URLs."
  }

  assert {
    condition     = [for s in jsondecode(aws_ecs_task_definition.this.container_definitions)[0].secrets : s.name] == ["API_KEY", "CATALOG_SERVICE_TOKEN"]
    error_message = "Secrets are injected by valueFrom, by name."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].logConfiguration.options["awslogs-group"] == "/ecs/storefront-local/orders"
    error_message = "Logs go to the service's own log group."
  }

  assert {
    condition     = aws_ecs_task_definition.this.cpu == "256" && aws_ecs_task_definition.this.memory == "512" && aws_ecs_task_definition.this.network_mode == "awsvpc"
    error_message = "cpu/memory from the manifest, awsvpc networking."
  }
}

run "service_is_private_safe_to_deploy_and_scaled" {
  command = plan

  assert {
    condition     = aws_ecs_service.this.deployment_circuit_breaker[0].enable && aws_ecs_service.this.deployment_circuit_breaker[0].rollback
    error_message = "Circuit breaker with rollback expected."
  }

  assert {
    condition     = aws_ecs_service.this.deployment_minimum_healthy_percent == 100 && aws_ecs_service.this.deployment_maximum_percent == 200
    error_message = "Rolling deployments keep 100% healthy, up to 200%."
  }

  assert {
    condition     = toset(one(aws_ecs_service.this.network_configuration).subnets) == toset(["subnet-0a", "subnet-0b"]) && !one(aws_ecs_service.this.network_configuration).assign_public_ip
    error_message = "Tasks run in every private subnet without public IPs."
  }

  assert {
    condition     = one(aws_ecs_service.this.load_balancer).container_port == 8082 && one(aws_ecs_service.this.load_balancer).target_group_arn == var.target_group_arn
    error_message = "The service registers in its target group on the container port."
  }

  assert {
    condition     = aws_ecs_service.this.desired_count == 2 && one(aws_ecs_service.this.capacity_provider_strategy).capacity_provider == "FARGATE"
    error_message = "Desired count and capacity provider from the inputs."
  }

  assert {
    condition     = aws_appautoscaling_target.this[0].min_capacity == 2 && aws_appautoscaling_target.this[0].max_capacity == 6
    error_message = "Autoscaling between min and max."
  }

  assert {
    condition     = aws_appautoscaling_policy.requests[0].target_tracking_scaling_policy_configuration[0].predefined_metric_specification[0].resource_label == "app/storefront-local-alb/50dc6c495c0c9188/targetgroup/storefront-local-orders/73e2d6bc24d8a067"
    error_message = "Request-count scaling must target this service's target group."
  }

  assert {
    condition     = aws_vpc_security_group_ingress_rule.from_alb.referenced_security_group_id == "sg-0a1b2c3d4e5f60718" && aws_vpc_security_group_ingress_rule.from_alb.from_port == 8082 && aws_vpc_security_group_ingress_rule.from_alb.to_port == 8082
    error_message = "Only the ALB reaches the container port."
  }

  assert {
    condition     = alltrue([for r in aws_vpc_security_group_egress_rule.https : r.from_port == 443 && r.to_port == 443])
    error_message = "Egress is HTTPS only."
  }
}

run "iam_is_scoped_to_own_table_and_secrets" {
  command = plan

  assert {
    condition     = toset(data.aws_iam_policy_document.task.statement[0].resources) == toset([var.table_arn, "${var.table_arn}/index/*"])
    error_message = "The task role may use only its own table and its indexes."
  }

  assert {
    condition     = toset(one([for s in data.aws_iam_policy_document.execution.statement : s.resources if s.sid == "ReadOwnSecrets"])) == toset(values(var.secrets))
    error_message = "The execution role may read exactly this service's secrets."
  }

  assert {
    condition     = one([for s in data.aws_iam_policy_document.execution.statement : s.resources if s.sid == "PullOwnImage"]) == toset(["arn:aws:ecr:eu-west-1:123456789012:repository/storefront/orders"])
    error_message = "The execution role may pull only from its own repository."
  }

  assert {
    condition     = alltrue([for s in data.aws_iam_policy_document.execution.statement : !contains(s.actions, "*")])
    error_message = "No wildcard actions."
  }
}

run "emulator_mode_without_autoscaling" {
  command = plan

  variables {
    emulator_compat = true
    autoscaling = {
      enabled             = false
      min                 = 2
      max                 = 6
      cpu_target          = 60
      requests_per_target = 500
    }
  }

  assert {
    condition     = length(aws_appautoscaling_target.this) == 0 && length(aws_appautoscaling_policy.cpu) == 0
    error_message = "Autoscaling must be switchable off."
  }

  assert {
    condition     = aws_ecs_service.this.launch_type == "FARGATE" && length(aws_ecs_service.this.capacity_provider_strategy) == 0
    error_message = "Emulator mode uses launch_type FARGATE."
  }
}

run "image_by_digest" {
  command = plan

  variables {
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/storefront/orders@sha256:9b2f3c1d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"
  }

  assert {
    condition     = endswith(jsondecode(aws_ecs_task_definition.this.container_definitions)[0].image, "@sha256:9b2f3c1d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9")
    error_message = "Digest references must reach the task definition unchanged."
  }
}

run "latest_tag_is_refused" {
  command = plan

  variables {
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/storefront/orders:latest"
  }

  expect_failures = [var.image]
}

run "untagged_image_is_refused" {
  command = plan

  variables {
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/storefront/orders"
  }

  expect_failures = [var.image]
}

run "secret_must_be_an_arn" {
  command = plan

  variables {
    secrets = { API_KEY = "plain-text-value" }
  }

  expect_failures = [var.secrets]
}

run "bad_cpu_is_refused" {
  command = plan

  variables {
    cpu = 300
  }

  expect_failures = [var.cpu]
}

run "single_subnet_is_refused" {
  command = plan

  variables {
    subnet_ids = ["subnet-0a"]
  }

  expect_failures = [var.subnet_ids]
}

run "inverted_scaling_bounds_are_refused" {
  command = plan

  variables {
    autoscaling = {
      enabled             = true
      min                 = 4
      max                 = 2
      cpu_target          = 60
      requests_per_target = 500
    }
  }

  expect_failures = [var.autoscaling]
}
