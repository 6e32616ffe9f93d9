mock_provider "aws" {
  mock_data "aws_route53_zone" {
    defaults = { zone_id = "Z0EXISTING" }
  }
  mock_resource "aws_acm_certificate" {
    defaults = {
      arn                       = "arn:aws:acm:eu-west-1:123456789012:certificate/alb"
      domain_validation_options = [{ domain_name = "origin.shop.example.com", resource_record_name = "_a1.origin.shop.example.com.", resource_record_type = "CNAME", resource_record_value = "_b1.acm-validations.aws." }]
    }
  }
}

mock_provider "aws" {
  alias = "us_east_1"
  mock_resource "aws_acm_certificate" {
    defaults = {
      arn                       = "arn:aws:acm:us-east-1:123456789012:certificate/cf"
      domain_validation_options = [{ domain_name = "shop.example.com", resource_record_name = "_a2.shop.example.com.", resource_record_type = "CNAME", resource_record_value = "_b2.acm-validations.aws." }]
    }
  }
}

variables {
  zone_name                 = "example.com"
  app_hostname              = "shop.example.com"
  cloudfront_domain_name    = "d111111abcdef8.cloudfront.net"
  cloudfront_hosted_zone_id = "Z2FDTNDATAQYW2"
  alb_dns_name              = "storefront-prod-alb-1.eu-west-1.elb.amazonaws.com"
  alb_zone_id               = "Z32O12XQLNTSW2"
}

run "existing_zone_gets_alias_records_and_two_certificates" {
  command = plan

  assert {
    condition     = length(aws_route53_zone.this) == 0 && length(data.aws_route53_zone.this) == 1
    error_message = "an existing zone must be looked up, not created"
  }
  assert {
    condition     = toset(keys(aws_route53_record.app)) == toset(["A", "AAAA"]) && aws_route53_record.app["A"].alias[0].name == "d111111abcdef8.cloudfront.net"
    error_message = "the app name must alias to CloudFront for IPv4 and IPv6"
  }
  assert {
    condition     = aws_route53_record.origin[0].name == "origin.shop.example.com" && aws_route53_record.origin[0].alias[0].name == var.alb_dns_name
    error_message = "the origin name must alias to the ALB"
  }
  assert {
    condition     = aws_route53_record.cdn[0].name == "cdn.shop.example.com" && aws_route53_record.cdn[0].type == "CNAME" && aws_route53_record.cdn[0].records == toset(["d111111abcdef8.cloudfront.net"])
    error_message = "cdn.<app_hostname> must be a CNAME to the distribution"
  }
  assert {
    condition     = aws_acm_certificate.cloudfront[0].domain_name == "shop.example.com" && aws_acm_certificate.alb[0].domain_name == "origin.shop.example.com"
    error_message = "one certificate per name: CloudFront's (us-east-1) and the ALB's"
  }
  assert {
    condition     = aws_acm_certificate.cloudfront[0].validation_method == "DNS" && aws_acm_certificate.alb[0].validation_method == "DNS"
    error_message = "certificates must validate through DNS"
  }
}

run "created_zone_outputs_validated_certificates" {
  command = apply

  variables {
    create_zone = true
  }

  assert {
    condition     = length(aws_route53_zone.this) == 1
    error_message = "create_zone must create the zone"
  }
  assert {
    condition     = aws_route53_record.validation["cloudfront"].name == "_a2.shop.example.com." && aws_route53_record.validation["alb"].records == toset(["_b1.acm-validations.aws."])
    error_message = "each certificate must get its DNS validation record"
  }
  assert {
    condition     = output.cloudfront_certificate_arn == "arn:aws:acm:us-east-1:123456789012:certificate/cf"
    error_message = "the CloudFront certificate must come from us-east-1"
  }
}

run "created_zone_waits_for_its_delegation" {
  command = plan

  variables {
    create_zone = true
    delegated   = false
  }

  assert {
    condition     = length(aws_route53_zone.this) == 1
    error_message = "the zone is created first, alone"
  }
  assert {
    condition     = length(aws_acm_certificate.cloudfront) + length(aws_acm_certificate.alb) + length(aws_acm_certificate_validation.cloudfront) + length(aws_acm_certificate_validation.alb) == 0
    error_message = "no certificate may wait for validation in a zone nobody delegated to yet"
  }
  assert {
    condition     = length(aws_route53_record.validation) + length(aws_route53_record.app) + length(aws_route53_record.origin) + length(aws_route53_record.cdn) == 0 && !output.ready
    error_message = "no record before the delegation"
  }
}

run "rejects_names_outside_the_zone" {
  command = plan

  variables {
    app_hostname    = "shop.example.org"
    origin_hostname = "origin.example.org"
  }

  expect_failures = [var.app_hostname, var.origin_hostname]
}

run "rejects_a_bad_zone_name" {
  command = plan

  variables {
    zone_name    = "Example.com."
    app_hostname = "Example.com."
  }

  expect_failures = [var.zone_name]
}
