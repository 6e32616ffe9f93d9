# Private hosted zone of the stack's VPC: names for the internal ALB and for the distribution that
# resolve inside the VPC in every environment, with or without a custom domain.
#   api.<zone> A alias -> ALB
#   alb.<zone> CNAME   -> the ALB's DNS name
#   cdn.<zone> CNAME   -> the distribution's *.cloudfront.net name
# A CNAME answers with the target's name, so a client that connects through it still sends (and
# CloudFront and the ALB still see) the name it asked for: these are names for people and tools
# inside the VPC, not extra served host names.

resource "aws_route53_zone" "this" {
  name    = var.zone_name
  comment = "Private names of the internal ALB and the CloudFront distribution"
  tags    = var.tags

  vpc {
    vpc_id = var.vpc_id
  }
}

resource "aws_route53_record" "alb_alias" {
  zone_id = aws_route53_zone.this.zone_id
  name    = "api.${var.zone_name}"
  type    = "A"

  alias {
    name                   = var.alb_dns_name
    zone_id                = var.alb_zone_id
    evaluate_target_health = true
  }
}

resource "aws_route53_record" "cname" {
  for_each = {
    alb = var.alb_dns_name
    cdn = var.cloudfront_domain_name
  }

  zone_id = aws_route53_zone.this.zone_id
  name    = "${each.key}.${var.zone_name}"
  type    = "CNAME"
  ttl     = var.cname_ttl
  records = [each.value]
}
