# The application stack of one environment, composed from small modules. Everything about a
# service comes from its manifest (services/<name>/service.yaml, read in locals.tf).
# Edge, WAF, DNS and monitoring live beside this file in edge*.tf, waf*.tf, dns*.tf and
# monitoring*.tf and build on the outputs of the modules below.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

module "network" {
  source = "../modules/network"

  name                     = local.name
  cidr_block               = var.vpc_cidr
  availability_zones       = var.availability_zones
  single_nat_gateway       = var.single_nat_gateway
  flow_log_retention_days  = var.flow_log_retention_days
  permissions_boundary_arn = local.permissions_boundary_arn
}

module "alb" {
  source = "../modules/alb"

  name                      = local.name
  vpc_id                    = module.network.vpc_id
  internal                  = true                              # no public address: CloudFront reaches it
  subnet_ids                = module.network.private_subnet_ids # through a VPC origin (edge.tf)
  certificate_arn           = local.edge_alb_certificate_arn
  deletion_protection       = var.deletion_protection
  ingress_prefix_list_ids   = local.edge_alb_ingress_prefix_list_ids # only CloudFront's origin-facing servers
  origin_verify_header      = local.edge_alb_origin_verify_header    # ...and only with the secret header
  access_logs_force_destroy = var.access_logs_force_destroy

  routes = {
    for s in local.service_names : s => {
      path_prefix    = local.manifests[s].path_prefix
      port           = local.manifests[s].port
      health_path    = local.manifests[s].health_path
      priority       = local.route_priority[s]
      internal_paths = try(local.manifests[s].internal_paths, [])
    }
  }
}

module "cluster" {
  source = "../modules/ecs_cluster"

  name             = local.name
  use_fargate_spot = var.use_fargate_spot
  vpc_id           = module.network.vpc_id
  namespace_name   = local.namespace_name
}

module "table" {
  source   = "../modules/dynamodb"
  for_each = local.manifests

  name                = "${local.project}-${var.environment}-${each.key}"
  hash_key            = each.value.table.hash_key
  range_key           = try(each.value.table.range_key, null)
  indexes             = try(each.value.table.indexes, [])
  ttl_attribute       = try(each.value.table.ttl_attribute, null)
  deletion_protection = var.deletion_protection
  tags                = { service = each.key }
}

# Secrets are created empty: values are written by scripts/sync_secrets.py and never enter state.
resource "aws_secretsmanager_secret" "service" {
  for_each = local.owned_secrets

  name                    = "${local.project}/${var.environment}/${each.value.service}/${each.value.name}"
  description             = each.value.description
  recovery_window_in_days = var.secret_recovery_window_days

  tags = { service = each.value.service }
}

module "service" {
  source   = "../modules/ecs_service"
  for_each = local.manifests

  deployment_alarm_names = local.edge_deployment_alarm_names[each.key]

  project     = local.project
  environment = var.environment
  service     = each.key

  cluster_arn                = module.cluster.cluster_arn
  cluster_name               = module.cluster.cluster_name
  capacity_provider_strategy = module.cluster.capacity_provider_strategy
  namespace_id               = module.cluster.namespace_id
  permissions_boundary_arn   = local.permissions_boundary_arn

  vpc_id                  = module.network.vpc_id
  subnet_ids              = module.network.private_subnet_ids
  alb_security_group_id   = module.alb.security_group_id
  alb_arn_suffix          = module.alb.arn_suffix
  target_group_arn        = module.alb.target_group_arns[each.key]
  target_group_arn_suffix = module.alb.target_group_arn_suffixes[each.key]
  egress_prefix_list_ids = {
    s3       = module.network.s3_prefix_list_id
    dynamodb = module.network.dynamodb_prefix_list_id
  }

  image                 = local.images[each.key]
  revision              = var.image_tag
  cpu                   = each.value.resources.cpu
  memory                = each.value.resources.memory
  port                  = each.value.port
  health_path           = each.value.health_path
  table_name            = module.table[each.key].name
  table_arn             = module.table[each.key].arn
  environment_variables = local.dependency_env[each.key]
  secrets               = { for env, key in local.service_secret_keys[each.key] : env => aws_secretsmanager_secret.service[key].arn }
  log_retention_days    = var.log_retention_days
  log_level             = var.log_level

  desired_count = local.desired_count[each.key]
  autoscaling = {
    enabled             = var.enable_autoscaling
    min                 = local.desired_count[each.key]
    max                 = max(each.value.scaling.max, local.desired_count[each.key])
    cpu_target          = each.value.scaling.cpu_target
    requests_per_target = each.value.scaling.requests_per_target
  }
}

# Declared dependencies (e.g. orders -> catalog): the caller may reach the callee on the callee's
# container port only, by its private DNS name <callee>.<namespace>.
resource "aws_vpc_security_group_ingress_rule" "dependency" {
  for_each = local.dependency_edges

  security_group_id            = module.service[each.value.callee].security_group_id
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  referenced_security_group_id = module.service[each.value.caller].security_group_id
  description                  = "${each.value.caller} calls ${each.value.callee}"

  tags = { service = each.value.callee, Name = "${each.value.caller} calls ${each.value.callee}" }
}

resource "aws_vpc_security_group_egress_rule" "dependency" {
  for_each = local.dependency_edges

  security_group_id            = module.service[each.value.caller].security_group_id
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  referenced_security_group_id = module.service[each.value.callee].security_group_id
  description                  = "${each.value.caller} calls ${each.value.callee}"

  tags = { service = each.value.caller, Name = "${each.value.caller} calls ${each.value.callee}" }
}
