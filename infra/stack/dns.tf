# Optional custom domain (var.domain_name): zone, DNS-validated certificates, alias and CNAME records.
# Without it everything runs on the default *.cloudfront.net and ALB names.

module "dns" {
  source = "../modules/dns"
  count  = local.edge_dns_zone ? 1 : 0
  providers = {
    aws           = aws
    aws.us_east_1 = aws.us_east_1
  }

  zone_name                 = var.domain_name
  create_zone               = var.create_hosted_zone
  delegated                 = local.edge_dns_enabled
  app_hostname              = local.edge_app_host
  cloudfront_domain_name    = module.edge.distribution_domain_name
  cloudfront_hosted_zone_id = module.edge.distribution_hosted_zone_id
  alb_dns_name              = module.alb.dns_name
  alb_zone_id               = module.alb.zone_id
}

# Every environment: a private zone of the VPC with an A/alias and a CNAME name for the internal
# ALB and a CNAME name for the distribution (modules/private_dns).
module "private_dns" {
  source = "../modules/private_dns"

  zone_name              = coalesce(var.private_zone_name, "${local.name}.internal")
  vpc_id                 = module.network.vpc_id
  alb_dns_name           = module.alb.dns_name
  alb_zone_id            = module.alb.zone_id
  cloudfront_domain_name = module.edge.distribution_domain_name
}
