# ECS cluster with Fargate and Fargate Spot capacity providers, Container Insights on, and the
# private DNS namespace (Cloud Map) services register in so they can reach each other privately.

locals {
  # The strategy every service uses: Fargate, or Fargate Spot for cheap environments.
  capacity_provider_strategy = var.use_fargate_spot ? [
    { capacity_provider = "FARGATE_SPOT", weight = 1, base = 0 },
    ] : [
    { capacity_provider = "FARGATE", weight = 1, base = 0 },
  ]
}

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = var.container_insights
  }

  tags = var.tags
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]

  dynamic "default_capacity_provider_strategy" {
    for_each = local.capacity_provider_strategy
    content {
      capacity_provider = default_capacity_provider_strategy.value.capacity_provider
      weight            = default_capacity_provider_strategy.value.weight
      base              = default_capacity_provider_strategy.value.base
    }
  }
}

resource "aws_service_discovery_private_dns_namespace" "this" {
  name        = var.namespace_name
  description = "Service-to-service names of ${var.name}"
  vpc         = var.vpc_id

  tags = var.tags
}
