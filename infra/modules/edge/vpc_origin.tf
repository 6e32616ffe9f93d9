# The API origin: a CloudFront VPC origin to the stack's internal ALB. CloudFront reaches it from
# elastic network interfaces it places in the ALB's (private) subnets, over AWS's network: the ALB
# has no public address and the CloudFront -> ALB hop never crosses the internet (CloudFront
# developer guide, "Restrict access with VPC origins"). Over that private hop the origin protocol is
# HTTPS when the ALB has a certificate for alb_origin_domain_name (a custom domain), HTTP otherwise.

resource "aws_cloudfront_vpc_origin" "alb" {
  vpc_origin_endpoint_config {
    name                   = "${var.name}-alb"
    arn                    = var.alb_arn
    http_port              = 80
    https_port             = 443
    origin_protocol_policy = var.alb_origin_protocol_policy

    origin_ssl_protocols {
      items    = ["TLSv1.2"]
      quantity = 1
    }
  }

  tags = var.tags
}
