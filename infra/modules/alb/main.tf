# Regional application load balancer in the given subnets of every AZ, internal by default (the
# stack puts it in the private subnets, reached only by CloudFront's VPC origin); access logs to
# an encrypted bucket; default action a fixed 404 (403 when an origin header is required); one
# path rule per service.

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_elb_service_account" "current" {}

locals {
  https         = var.certificate_arn != null
  logs_prefix   = "alb"
  from_prefixes = length(var.ingress_prefix_list_ids) > 0
  # Open CIDRs get both ports (80 redirects to 443); prefix lists only the serving port.
  ingress_ports = local.from_prefixes ? [local.https ? 443 : 80] : [80, 443]
  # Without the origin header a request is refused (403); with no header configured, unknown paths 404.
  default_status = var.origin_verify_header == null ? "404" : "403"
  default_body   = jsonencode({ detail = var.origin_verify_header == null ? "Not Found" : "Forbidden" })
  ingress_cidrs  = local.from_prefixes ? [] : var.ingress_cidr_blocks
  ingress_rules = merge(
    { for pair in setproduct(local.ingress_ports, local.ingress_cidrs) : "${pair[0]}-${pair[1]}" => { port = pair[0], cidr = pair[1], prefix_list = null } },
    { for pair in setproduct(local.ingress_ports, var.ingress_prefix_list_ids) : "${pair[0]}-${pair[1]}" => { port = pair[0], cidr = null, prefix_list = pair[1] } },
  )
  # The listener requests are served on: HTTPS when there is a certificate, else HTTP.
  serving_listener_arn = local.https ? aws_lb_listener.https[0].arn : aws_lb_listener.http.arn
}

# --- security group ---------------------------------------------------------------------------
# Egress rules to each service are added by the ecs_service module (container port only).

resource "aws_security_group" "this" {
  name        = "${var.name}-alb"
  description = "Load balancer of ${var.name}: HTTP/HTTPS in, service ports out"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-alb" })
}

resource "aws_vpc_security_group_ingress_rule" "this" {
  for_each = local.ingress_rules

  security_group_id = aws_security_group.this.id
  ip_protocol       = "tcp"
  from_port         = each.value.port
  to_port           = each.value.port
  cidr_ipv4         = each.value.cidr
  prefix_list_id    = each.value.prefix_list
  description       = "Clients on ${each.value.port}"

  tags = merge(var.tags, { Name = "Clients on ${each.value.port}" })
}

# --- access logs bucket -----------------------------------------------------------------------

resource "aws_s3_bucket" "logs" {
  bucket        = "${var.name}-alb-logs-${data.aws_caller_identity.current.account_id}"
  force_destroy = var.access_logs_force_destroy

  tags = var.tags
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

# ALB access logs support SSE-S3 (AES256) only.
resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    id     = "expire-access-logs"
    status = "Enabled"

    filter {
      prefix = "${local.logs_prefix}/"
    }

    expiration {
      days = var.access_logs_retention_days
    }
  }

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

data "aws_iam_policy_document" "logs" {
  statement {
    sid       = "ElbWritesAccessLogs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs.arn}/${local.logs_prefix}/AWSLogs/${data.aws_caller_identity.current.account_id}/*"]

    principals {
      type        = "AWS"
      identifiers = [data.aws_elb_service_account.current.arn]
    }
  }

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.logs.arn,
      "${aws_s3_bucket.logs.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.logs.id
  policy = data.aws_iam_policy_document.logs.json

  depends_on = [aws_s3_bucket_public_access_block.logs]
}

# --- load balancer and listeners ----------------------------------------------------------------

resource "aws_lb" "this" {
  name                       = "${var.name}-alb"
  internal                   = var.internal
  load_balancer_type         = "application"
  subnets                    = var.subnet_ids
  security_groups            = [aws_security_group.this.id]
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection
  idle_timeout               = var.idle_timeout

  access_logs {
    bucket  = aws_s3_bucket.logs.id
    prefix  = local.logs_prefix
    enabled = true
  }

  tags = merge(var.tags, { Name = "${var.name}-alb" })

  depends_on = [aws_s3_bucket_policy.logs]
}

# HTTP: redirect to HTTPS when there is a certificate, otherwise serve (fixed 404 by default).
# Serving HTTP is for the internal ALB without a certificate: only CloudFront's VPC origin reaches
# it, over AWS's network, never the internet (no public certificate can name an *.elb.amazonaws.com
# host, so without a domain there is nothing to serve HTTPS with).
resource "aws_lb_listener" "http" {
  #checkov:skip=CKV_AWS_2:HTTP only on the internal ALB, reached only by CloudFront's VPC origin over AWS's network; with a certificate it redirects to HTTPS
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = local.https ? "redirect" : "fixed-response"

    dynamic "redirect" {
      for_each = local.https ? [1] : []
      content {
        port        = "443"
        protocol    = "HTTPS"
        status_code = "HTTP_301"
      }
    }

    dynamic "fixed_response" {
      for_each = local.https ? [] : [1]
      content {
        content_type = "application/json"
        message_body = local.default_body
        status_code  = local.default_status
      }
    }
  }

  tags = var.tags
}

resource "aws_lb_listener" "https" {
  count = local.https ? 1 : 0

  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = var.certificate_arn

  default_action {
    type = "fixed-response"

    fixed_response {
      content_type = "application/json"
      message_body = local.default_body
      status_code  = local.default_status
    }
  }

  tags = var.tags
}

# One target group per service: IP targets (Fargate), health check on the service's health path.
resource "aws_lb_target_group" "route" {
  for_each = var.routes

  name                 = "${var.name}-${each.key}"
  port                 = each.value.port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = var.deregistration_delay

  # A new target serves after one passed check; the services answer their liveness path within
  # milliseconds of starting, so checks every 5 s (AWS's advice for services that start in under
  # 10 s: ECS developer guide, "Optimize load balancer health check parameters") put a new task in
  # service up to 5 s sooner and take a dead one out after 15 s instead of 30. The timeout must be
  # shorter than the interval.
  health_check {
    path                = each.value.health_path
    matcher             = "200"
    interval            = 5
    timeout             = 4
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = merge(var.tags, { service = each.key })
}

# One rule per service: its path prefix (and, when configured, the origin header) -> its targets.
resource "aws_lb_listener_rule" "route" {
  for_each = var.routes

  listener_arn = local.serving_listener_arn
  priority     = each.value.priority

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.route[each.key].arn
  }

  condition {
    path_pattern {
      values = [each.value.path_prefix, "${each.value.path_prefix}/*"]
    }
  }

  dynamic "condition" {
    for_each = var.origin_verify_header == null ? [] : [1]
    content {
      http_header {
        http_header_name = var.origin_verify_header.name
        values           = var.origin_verify_header.values
      }
    }
  }

  tags = merge(var.tags, { service = each.key })
}

# Internal paths (e.g. catalog's reservations API) are for other services, which call each other
# inside the VPC (Cloud Map): from the internet they are a 404, before the service's own rule.
# ALB path patterns: '*' matches 0 or more characters, '?' exactly one; case-sensitive.
resource "aws_lb_listener_rule" "internal" {
  for_each = { for k, r in var.routes : k => r if length(r.internal_paths) > 0 }

  listener_arn = local.serving_listener_arn
  priority     = each.value.priority - 5

  action {
    type = "fixed-response"

    fixed_response {
      content_type = "application/json"
      message_body = jsonencode({ detail = "Not Found" })
      status_code  = "404"
    }
  }

  condition {
    path_pattern {
      values = each.value.internal_paths
    }
  }

  tags = merge(var.tags, { service = each.key })
}
