# Optional custom domain: the hosted zone (looked up or created), DNS-validated ACM certificates
# (us-east-1 for CloudFront, the stack's region for the ALB) and alias records:
#   app_hostname    -> CloudFront (A and AAAA)
#   origin_hostname -> ALB (A), the name CloudFront's HTTPS origin connection verifies.
#   cdn_hostname    -> CNAME to the distribution's *.cloudfront.net name (a name that finds the
#                      distribution; CloudFront serves only app_hostname, its alias).
# The ALB's CNAME is in the VPC's private zone (modules/private_dns): the ALB is internal.
# A zone created here answers nothing until the domain is delegated to its name servers, and ACM
# validates a certificate only through the public DNS: the validation would wait until it times
# out. So a created zone comes first alone (delegated = false: the zone and its name servers,
# nothing else), and the certificates and records follow once it is delegated (delegated = true).

locals {
  origin_hostname = coalesce(var.origin_hostname, "origin.${var.app_hostname}")
  cdn_hostname    = "cdn.${var.app_hostname}"
  zone_id         = var.create_zone ? aws_route53_zone.this[0].zone_id : data.aws_route53_zone.this[0].zone_id
  ready           = !var.create_zone || var.delegated
  records         = local.ready ? 1 : 0

  # Each certificate covers exactly one name, so one validation record each: static keys keep the
  # plan stable before the certificates exist.
  validation_records = local.ready ? {
    cloudfront = one(aws_acm_certificate.cloudfront[0].domain_validation_options)
    alb        = one(aws_acm_certificate.alb[0].domain_validation_options)
  } : {}
}

moved {
  from = aws_acm_certificate.cloudfront
  to   = aws_acm_certificate.cloudfront[0]
}

moved {
  from = aws_acm_certificate.alb
  to   = aws_acm_certificate.alb[0]
}

moved {
  from = aws_acm_certificate_validation.cloudfront
  to   = aws_acm_certificate_validation.cloudfront[0]
}

moved {
  from = aws_acm_certificate_validation.alb
  to   = aws_acm_certificate_validation.alb[0]
}

moved {
  from = aws_route53_record.origin
  to   = aws_route53_record.origin[0]
}

data "aws_route53_zone" "this" {
  count = var.create_zone ? 0 : 1

  name         = var.zone_name
  private_zone = false
}

resource "aws_route53_zone" "this" {
  count = var.create_zone ? 1 : 0

  name    = var.zone_name
  comment = "Public zone of ${var.app_hostname}"
  tags    = var.tags
}

resource "aws_acm_certificate" "cloudfront" {
  provider = aws.us_east_1
  count    = local.records

  domain_name       = var.app_hostname
  validation_method = "DNS"
  key_algorithm     = "RSA_2048"
  tags              = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_acm_certificate" "alb" {
  count             = local.records
  domain_name       = local.origin_hostname
  validation_method = "DNS"
  key_algorithm     = "RSA_2048"
  tags              = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_route53_record" "validation" {
  for_each = local.validation_records

  zone_id         = local.zone_id
  name            = each.value.resource_record_name
  type            = each.value.resource_record_type
  records         = [each.value.resource_record_value]
  ttl             = 300
  allow_overwrite = true
}

# Bounded: in a delegated zone ACM validates within minutes; a wait past this means the domain
# does not resolve through the zone (README, "Your own domain").
resource "aws_acm_certificate_validation" "cloudfront" {
  provider = aws.us_east_1
  count    = local.records

  certificate_arn         = aws_acm_certificate.cloudfront[0].arn
  validation_record_fqdns = [aws_route53_record.validation["cloudfront"].fqdn]

  timeouts {
    create = var.validation_timeout
  }
}

resource "aws_acm_certificate_validation" "alb" {
  count = local.records

  certificate_arn         = aws_acm_certificate.alb[0].arn
  validation_record_fqdns = [aws_route53_record.validation["alb"].fqdn]

  timeouts {
    create = var.validation_timeout
  }
}

resource "aws_route53_record" "app" {
  for_each = toset(local.ready ? ["A", "AAAA"] : [])

  zone_id = local.zone_id
  name    = var.app_hostname
  type    = each.value

  alias {
    name                   = var.cloudfront_domain_name
    zone_id                = var.cloudfront_hosted_zone_id
    evaluate_target_health = false
  }
}

resource "aws_route53_record" "origin" {
  count   = local.records
  zone_id = local.zone_id
  name    = local.origin_hostname
  type    = "A"

  alias {
    name                   = var.alb_dns_name
    zone_id                = var.alb_zone_id
    evaluate_target_health = true
  }
}

resource "aws_route53_record" "cdn" {
  count   = local.records
  zone_id = local.zone_id
  name    = local.cdn_hostname
  type    = "CNAME"
  ttl     = 300
  records = [var.cloudfront_domain_name]
}
