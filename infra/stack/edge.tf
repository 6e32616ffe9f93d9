# Edge of the stack: CloudFront in front of the private S3 site bucket and the internal ALB, which it
# reaches through a VPC origin (modules/edge/vpc_origin.tf): the CloudFront -> ALB hop stays on AWS's
# network in every environment. The ALB's security group admits only the CloudFront origin-facing
# managed prefix list, on the serving port: the security-group prerequisite of the CloudFront
# developer guide, "Restrict access with VPC origins". (CloudFront also creates a
# CloudFront-VPCOrigins-Service-SG with the first VPC origin; it cannot be referenced before it
# exists, so the first apply could not use it: design.md, "The API origin is private".)
#
# Contract with main.tf (module "alb" and module "service"), all computed here:
#   local.edge_alb_ingress_prefix_list_ids  -> module.alb ingress_prefix_list_ids (only CloudFront reaches the ALB)
#   local.edge_alb_origin_verify_header     -> module.alb origin_verify_header {name, values: [current, previous]}
#   local.edge_alb_certificate_arn          -> module.alb certificate_arn (null without domain_name)
#   local.edge_deployment_alarm_names[svc]  -> module.service deployment alarms (rollback on alarm)
# Alarm names are deterministic strings, so the ECS services never depend on the alarms (no cycle).

# CloudFront, its certificate, its WAF and their alarms live in us-east-1.
provider "aws" {
  alias       = "us_east_1"
  region      = "us-east-1"
  max_retries = var.max_retries

  default_tags {
    tags = {
      project     = local.project
      environment = var.environment
      managed-by  = "terraform"
    }
  }
}

data "aws_ec2_managed_prefix_list" "cloudfront" {
  count = var.cloudfront_prefix_list_id == null ? 1 : 0
  name  = "com.amazonaws.global.cloudfront.origin-facing"
}

locals {
  # The emulator speaks plain HTTP: bucket policies denying non-TLS requests would lock the local
  # edge out. That is the one thing `emulator` switches off (design.md, "Not emulated").
  edge_emulator = var.emulator
  # A created zone is applied alone first (no certificate validates before the domain is delegated
  # to it); the custom domain is in use once the zone is an existing one or delegated.
  edge_dns_zone    = var.domain_name != null
  edge_dns_enabled = local.edge_dns_zone && (!var.create_hosted_zone || var.hosted_zone_delegated)
  edge_app_host    = local.edge_dns_zone ? coalesce(var.app_hostname, var.domain_name) : null

  # Every service's path prefix goes to the ALB: the prefix itself (POST /orders) and below it.
  edge_api_path_patterns = flatten([
    for s in local.service_names : [local.manifests[s].path_prefix, "${local.manifests[s].path_prefix}/*"]
  ])

  edge_cloudfront_prefix_list_id   = coalesce(var.cloudfront_prefix_list_id, try(data.aws_ec2_managed_prefix_list.cloudfront[0].id, null))
  edge_alb_ingress_prefix_list_ids = [local.edge_cloudfront_prefix_list_id]
  edge_alb_origin_verify_header = {
    name   = module.edge.origin_verify_header_name
    values = module.edge.origin_verify_values
  }
  # format() keeps the value known-not-null at plan time, so the ALB (HTTPS listener) and CloudFront
  # (TLS policy) can decide before the certificate exists.
  edge_alb_certificate_arn = local.edge_dns_enabled ? format("%s", module.dns[0].alb_certificate_arn) : null

  # The ECS deployment guard per service (names only): the composite alarm that combines the
  # service's 5xx rate, p99 latency, unhealthy hosts and error logs alarms.
  edge_deployment_alarm_names = {
    for s in local.service_names : s => ["${local.name}-${s}-deployment"]
  }
}

# Response headers: web/security-headers.json is their one source of truth (the local edge and the
# smoke test read it too). Without that file (e.g. a copy of infra/ alone) the module's defaults
# apply, which are NOT the same policy (their CSP adds upgrade-insecure-requests, their HSTS
# preload): always plan and apply from a full checkout.
locals {
  edge_headers_file = "${local.repo_root}/web/security-headers.json"
  edge_headers      = fileexists(local.edge_headers_file) ? jsondecode(file(local.edge_headers_file)) : {}
  edge_hsts         = lookup(local.edge_headers, "Strict-Transport-Security", null)
  edge_headers_own = [
    "content-security-policy", "strict-transport-security", "x-content-type-options", "x-frame-options", "referrer-policy",
  ]
  edge_custom_headers = {
    for k, v in local.edge_headers : k => v if !startswith(k, "_") && !contains(local.edge_headers_own, lower(k))
  }
}

module "edge" {
  source = "../modules/edge"

  name                       = local.name
  alb_arn                    = module.alb.arn
  alb_origin_domain_name     = local.edge_dns_enabled ? module.dns[0].origin_hostname : module.alb.dns_name
  alb_origin_protocol_policy = local.edge_dns_enabled ? "https-only" : "http-only"
  api_path_patterns          = local.edge_api_path_patterns
  price_class                = var.cloudfront_price_class
  web_acl_arn                = module.waf_edge.web_acl_arn
  aliases                    = local.edge_dns_enabled ? [local.edge_app_host] : []
  acm_certificate_arn        = local.edge_dns_enabled ? format("%s", module.dns[0].cloudfront_certificate_arn) : null

  origin_secret_name_prefix   = "${local.project}/${var.environment}/edge/"
  origin_secret_active        = var.origin_secret_active
  origin_secret_versions      = var.origin_secret_versions
  secret_recovery_window_days = var.secret_recovery_window_days

  content_security_policy = lookup(local.edge_headers, "Content-Security-Policy", null)
  referrer_policy         = lookup(local.edge_headers, "Referrer-Policy", null)
  custom_response_headers = length(local.edge_headers) > 0 ? local.edge_custom_headers : null
  strict_transport_security = local.edge_hsts == null ? null : {
    max_age_seconds    = tonumber(regex("max-age=([0-9]+)", local.edge_hsts)[0])
    include_subdomains = strcontains(lower(local.edge_hsts), "includesubdomains")
    preload            = strcontains(lower(local.edge_hsts), "preload")
  }

  deny_insecure_transport = !local.edge_emulator
  log_retention_days      = var.edge_log_retention_days
  force_destroy           = var.access_logs_force_destroy
}
