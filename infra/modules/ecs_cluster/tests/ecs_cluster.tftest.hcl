# The cluster module with a mocked AWS provider.

mock_provider "aws" {}

variables {
  name           = "storefront-test"
  vpc_id         = "vpc-0123456789abcdef0"
  namespace_name = "test.storefront.internal"
}

run "on_demand_fargate_with_insights" {
  command = plan

  assert {
    condition     = one([for s in aws_ecs_cluster.this.setting : s.value if s.name == "containerInsights"]) == "enabled"
    error_message = "Container Insights must be on."
  }

  assert {
    condition     = toset(aws_ecs_cluster_capacity_providers.this.capacity_providers) == toset(["FARGATE", "FARGATE_SPOT"])
    error_message = "Both Fargate capacity providers must be registered."
  }

  assert {
    condition     = output.capacity_provider_strategy == [{ capacity_provider = "FARGATE", weight = 1, base = 0 }]
    error_message = "Services run on on-demand Fargate by default."
  }

  assert {
    condition     = aws_service_discovery_private_dns_namespace.this.name == "test.storefront.internal" && aws_service_discovery_private_dns_namespace.this.vpc == "vpc-0123456789abcdef0"
    error_message = "The private DNS namespace belongs to the VPC."
  }
}

run "spot_for_dev" {
  command = plan

  variables {
    use_fargate_spot = true
  }

  assert {
    condition     = output.capacity_provider_strategy[0].capacity_provider == "FARGATE_SPOT"
    error_message = "use_fargate_spot must switch services to Fargate Spot."
  }

  assert {
    condition     = one(aws_ecs_cluster_capacity_providers.this.default_capacity_provider_strategy).capacity_provider == "FARGATE_SPOT"
    error_message = "The cluster default must be Fargate Spot too."
  }
}

run "insights_cannot_be_switched_off" {
  command = plan

  variables {
    container_insights = "disabled"
  }

  expect_failures = [var.container_insights]
}

run "bad_namespace_is_refused" {
  command = plan

  variables {
    namespace_name = "not a dns name"
  }

  expect_failures = [var.namespace_name]
}
