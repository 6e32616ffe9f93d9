mock_provider "aws" {}

variables {
  zone_name              = "storefront-dev.internal"
  vpc_id                 = "vpc-0123abcd"
  alb_dns_name           = "internal-storefront-dev-alb-1.eu-west-1.elb.amazonaws.com"
  alb_zone_id            = "Z32O12XQLNTSW2"
  cloudfront_domain_name = "d111111abcdef8.cloudfront.net"
}

run "private_zone_holds_alias_and_cnames" {
  command = plan

  assert {
    condition     = aws_route53_zone.this.name == "storefront-dev.internal" && one(aws_route53_zone.this.vpc).vpc_id == "vpc-0123abcd"
    error_message = "the zone must be private: associated with the stack's VPC"
  }
  assert {
    condition     = aws_route53_record.alb_alias.name == "api.storefront-dev.internal" && aws_route53_record.alb_alias.type == "A" && aws_route53_record.alb_alias.alias[0].name == var.alb_dns_name && aws_route53_record.alb_alias.alias[0].zone_id == var.alb_zone_id
    error_message = "api.<zone> must be an A alias to the ALB"
  }
  assert {
    condition     = aws_route53_record.cname["alb"].name == "alb.storefront-dev.internal" && aws_route53_record.cname["alb"].type == "CNAME" && aws_route53_record.cname["alb"].records == toset([var.alb_dns_name])
    error_message = "alb.<zone> must be a CNAME to the ALB's DNS name"
  }
  assert {
    condition     = aws_route53_record.cname["cdn"].name == "cdn.storefront-dev.internal" && aws_route53_record.cname["cdn"].type == "CNAME" && aws_route53_record.cname["cdn"].records == toset([var.cloudfront_domain_name])
    error_message = "cdn.<zone> must be a CNAME to the distribution's name"
  }
}

run "rejects_bad_inputs" {
  command = plan

  variables {
    zone_name              = "Storefront.internal."
    vpc_id                 = "subnet-1"
    alb_zone_id            = "nope"
    cloudfront_domain_name = "example.com"
    cname_ttl              = 5
  }

  expect_failures = [var.zone_name, var.vpc_id, var.alb_zone_id, var.cloudfront_domain_name, var.cname_ttl]
}
