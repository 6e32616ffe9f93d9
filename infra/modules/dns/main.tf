# Optional custom domain: the hosted zone (looked up or created), DNS-validated ACM certificates
# (us-east-1 for CloudFront, the stack's region for the ALB) and alias records:
#   app_hostname    -> CloudFront (A and AAAA)
#   origin_hostname -> ALB (A), the name CloudFront's HTTPS origin connection verifies.

locals {
  origin_hostname = coalesce(var.origin_hostname, "origin.${var.app_hostname}")
  zone_id         = var.create_zone ? aws_route53_zone.this[0].zone_id : data.aws_route53_zone.this[0].zone_id

  # Each certificate covers exactly one name, so one validation record each: static keys keep the
  # plan stable before the certificates exist.
  validation_records = {
    cloudfront = one(aws_acm_certificate.cloudfront.domain_validation_options)
    alb        = one(aws_acm_certificate.alb.domain_validation_options)
  }
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

  domain_name       = var.app_hostname
  validation_method = "DNS"
  key_algorithm     = "RSA_2048"
  tags              = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_acm_certificate" "alb" {
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

resource "aws_acm_certificate_validation" "cloudfront" {
  provider = aws.us_east_1

  certificate_arn         = aws_acm_certificate.cloudfront.arn
  validation_record_fqdns = [aws_route53_record.validation["cloudfront"].fqdn]
}

resource "aws_acm_certificate_validation" "alb" {
  certificate_arn         = aws_acm_certificate.alb.arn
  validation_record_fqdns = [aws_route53_record.validation["alb"].fqdn]
}

resource "aws_route53_record" "app" {
  for_each = toset(["A", "AAAA"])

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
  zone_id = local.zone_id
  name    = local.origin_hostname
  type    = "A"

  alias {
    name                   = var.alb_dns_name
    zone_id                = var.alb_zone_id
    evaluate_target_health = true
  }
}
