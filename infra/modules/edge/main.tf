# The edge of one environment: a private S3 bucket with the static site, reachable only through
# CloudFront (Origin Access Control); CloudFront routes the API paths to the internal ALB through a
# VPC origin (vpc_origin.tf) and adds a secret origin header (two rotating slots in Secrets Manager) that the ALB checks; access logs go to a
# private log bucket.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id   = data.aws_caller_identity.current.account_id
  site_origin  = "s3-site"
  alb_origin   = "alb-api"
  secret_slots = toset(["a", "b"])
  # S3 server access logs of the site bucket, inside the log bucket.
  site_log_prefix = "s3/site/"

  # AWS managed policies: the same IDs in every account. Used for APIs (no caching at all) and as
  # the fallback when create_cdn_policies is false.
  managed_caching_disabled       = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
  managed_caching_optimized      = "658327ea-f89d-4fab-a63d-7e88639e58f6"
  managed_all_viewer_except_host = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
  managed_security_headers       = "67f7725c-6f97-4210-82d7-5512b31e9d03"

  static_cache_policy_id = var.create_cdn_policies ? aws_cloudfront_cache_policy.static[0].id : local.managed_caching_optimized
  api_origin_request_id  = var.create_cdn_policies ? aws_cloudfront_origin_request_policy.api[0].id : local.managed_all_viewer_except_host
  response_headers_id    = var.create_cdn_policies ? aws_cloudfront_response_headers_policy.security[0].id : local.managed_security_headers
  origin_verify_values = {
    a = data.aws_secretsmanager_secret_version.origin_verify_a.secret_string
    b = data.aws_secretsmanager_secret_version.origin_verify_b.secret_string
  }

  # Deny anything not over TLS (the emulator, plain HTTP only, opts out with deny_insecure_transport).
  deny_insecure_transport_logs = var.deny_insecure_transport ? [{
    Sid       = "DenyInsecureTransport"
    Effect    = "Deny"
    Principal = { AWS = "*" }
    Action    = "s3:*"
    Resource  = [aws_s3_bucket.logs.arn, "${aws_s3_bucket.logs.arn}/*"]
    Condition = { Bool = { "aws:SecureTransport" = "false" } }
  }] : []
  deny_insecure_transport_site = var.deny_insecure_transport ? [{
    Sid       = "DenyInsecureTransport"
    Effect    = "Deny"
    Principal = { AWS = "*" }
    Action    = "s3:*"
    Resource  = [aws_s3_bucket.site.arn, "${aws_s3_bucket.site.arn}/*"]
    Condition = { Bool = { "aws:SecureTransport" = "false" } }
  }] : []
}


# --------------------------------------------------------------------------------------------
# Buckets
# --------------------------------------------------------------------------------------------

resource "aws_s3_bucket" "logs" {
  bucket        = "${var.name}-edge-logs-${local.account_id}"
  force_destroy = var.force_destroy
  tags          = var.tags
}

# CloudFront standard logging writes through bucket ACLs: the log bucket must allow them.
resource "aws_s3_bucket_ownership_controls" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    object_ownership = "BucketOwnerPreferred"
  }
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "logs" {
  bucket = aws_s3_bucket.logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

# CloudFront standard logs cannot be delivered to SSE-KMS buckets: S3-managed keys.
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
    id     = "expire-logs"
    status = "Enabled"
    filter {}
    expiration {
      days = var.log_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.logs]
}

resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.logs.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat([
      {
        Sid       = "S3ServerAccessLogs"
        Effect    = "Allow"
        Principal = { Service = "logging.s3.amazonaws.com" }
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.logs.arn}/${local.site_log_prefix}*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
          ArnLike      = { "aws:SourceArn" = aws_s3_bucket.site.arn }
        }
      },
    ], local.deny_insecure_transport_logs)
  })

  depends_on = [aws_s3_bucket_public_access_block.logs]
}

resource "aws_s3_bucket" "site" {
  bucket        = "${var.name}-site-${local.account_id}"
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "site" {
  bucket = aws_s3_bucket.site.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "site" {
  bucket                  = aws_s3_bucket.site.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "site" {
  bucket = aws_s3_bucket.site.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "site" {
  bucket = aws_s3_bucket.site.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

# Old versions are the rollback of a bad publish for 30 days, then go.
resource "aws_s3_bucket_lifecycle_configuration" "site" {
  bucket = aws_s3_bucket.site.id

  rule {
    id     = "expire-old-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.site]
}

resource "aws_s3_bucket_logging" "site" {
  bucket        = aws_s3_bucket.site.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = local.site_log_prefix

  # S3 checks that the log bucket policy admits the logging service.
  depends_on = [aws_s3_bucket_policy.logs]
}

# Only this distribution (through its Origin Access Control) may read the site; nothing over plain HTTP.
resource "aws_s3_bucket_policy" "site" {
  bucket = aws_s3_bucket.site.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat([
      {
        Sid       = "CloudFrontOriginAccessControl"
        Effect    = "Allow"
        Principal = { Service = "cloudfront.amazonaws.com" }
        Action    = "s3:GetObject"
        Resource  = "${aws_s3_bucket.site.arn}/*"
        Condition = { StringEquals = { "AWS:SourceArn" = aws_cloudfront_distribution.this.arn } }
      },
    ], local.deny_insecure_transport_site)
  })

  depends_on = [aws_s3_bucket_public_access_block.site]
}

# --------------------------------------------------------------------------------------------
# Origin secret: two slots; CloudFront sends the active one, the ALB accepts both.
# --------------------------------------------------------------------------------------------

resource "aws_secretsmanager_secret" "origin_verify" {
  for_each = local.secret_slots

  name                    = "${var.origin_secret_name_prefix}ORIGIN_VERIFY_${upper(each.key)}"
  description             = "Value of ${var.origin_verify_header_name}, slot ${upper(each.key)}: CloudFront sends it, the ALB requires it."
  recovery_window_in_days = var.secret_recovery_window_days
  tags                    = var.tags
}

# A fresh random value from Secrets Manager, written through the write-only argument: Terraform
# sends it only when a slot's version number changes, so re-reading it never causes a diff.
# (A data source rather than an ephemeral resource so plan-level tests can mock it; the value is
# in state either way, as CloudFront's origin header and the ALB rule carry it: keep state private.)
data "aws_secretsmanager_random_password" "origin_verify" {
  for_each = local.secret_slots

  password_length     = 64
  exclude_punctuation = true
}

# One version resource and one read-back per slot (not for_each): raising slot B's version then
# defers only B's read, so the value CloudFront sends (slot A) stays known and unchanged in the plan.
resource "aws_secretsmanager_secret_version" "origin_verify_a" {
  secret_id                = aws_secretsmanager_secret.origin_verify["a"].id
  secret_string_wo         = data.aws_secretsmanager_random_password.origin_verify["a"].random_password
  secret_string_wo_version = var.origin_secret_versions.a
}

resource "aws_secretsmanager_secret_version" "origin_verify_b" {
  secret_id                = aws_secretsmanager_secret.origin_verify["b"].id
  secret_string_wo         = data.aws_secretsmanager_random_password.origin_verify["b"].random_password
  secret_string_wo_version = var.origin_secret_versions.b
}

data "aws_secretsmanager_secret_version" "origin_verify_a" {
  secret_id  = aws_secretsmanager_secret.origin_verify["a"].id
  version_id = aws_secretsmanager_secret_version.origin_verify_a.version_id
}

data "aws_secretsmanager_secret_version" "origin_verify_b" {
  secret_id  = aws_secretsmanager_secret.origin_verify["b"].id
  version_id = aws_secretsmanager_secret_version.origin_verify_b.version_id
}

# --------------------------------------------------------------------------------------------
# CloudFront
# --------------------------------------------------------------------------------------------

resource "aws_cloudfront_origin_access_control" "site" {
  name                              = "${var.name}-site"
  description                       = "CloudFront reads ${aws_s3_bucket.site.id} with SigV4"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

# Static files: long-lived, compressed, no cookies/headers/query strings in the cache key.
resource "aws_cloudfront_cache_policy" "static" {
  count = var.create_cdn_policies ? 1 : 0

  name        = "${var.name}-static"
  comment     = "Static site: cache by path only"
  default_ttl = var.static_default_ttl_seconds
  max_ttl     = 31536000
  min_ttl     = 0

  parameters_in_cache_key_and_forwarded_to_origin {
    enable_accept_encoding_brotli = true
    enable_accept_encoding_gzip   = true
    cookies_config {
      cookie_behavior = "none"
    }
    headers_config {
      header_behavior = "none"
    }
    query_strings_config {
      query_string_behavior = "none"
    }
  }
}

# APIs: the headers the services read, every query string, no cookies (the APIs use none).
resource "aws_cloudfront_origin_request_policy" "api" {
  count = var.create_cdn_policies ? 1 : 0

  name    = "${var.name}-api"
  comment = "APIs: forward the headers the services need and every query string"

  cookies_config {
    cookie_behavior = "none"
  }
  headers_config {
    header_behavior = "whitelist"
    headers {
      items = var.api_forwarded_headers
    }
  }
  query_strings_config {
    query_string_behavior = "all"
  }
}

resource "aws_cloudfront_response_headers_policy" "security" {
  count = var.create_cdn_policies ? 1 : 0

  name    = "${var.name}-security-headers"
  comment = "HSTS, nosniff, no framing, strict referrer, CSP for a same-origin static page"

  security_headers_config {
    strict_transport_security {
      access_control_max_age_sec = var.strict_transport_security.max_age_seconds
      include_subdomains         = var.strict_transport_security.include_subdomains
      preload                    = var.strict_transport_security.preload
      override                   = true
    }
    content_type_options {
      override = true
    }
    frame_options {
      frame_option = "DENY"
      override     = true
    }
    referrer_policy {
      referrer_policy = var.referrer_policy
      override        = true
    }
    content_security_policy {
      content_security_policy = var.content_security_policy
      override                = true
    }
  }

  dynamic "custom_headers_config" {
    for_each = length(var.custom_response_headers) > 0 ? [1] : []
    content {
      dynamic "items" {
        for_each = var.custom_response_headers
        content {
          header   = items.key
          value    = items.value
          override = true
        }
      }
    }
  }
}

resource "aws_cloudfront_distribution" "this" {
  enabled             = true
  comment             = "${var.name}: static site from S3, APIs from the ALB"
  default_root_object = "index.html"
  http_version        = "http2and3"
  is_ipv6_enabled     = true
  price_class         = var.price_class
  aliases             = var.aliases
  web_acl_id          = var.web_acl_arn
  wait_for_deployment = var.wait_for_deployment
  tags                = var.tags

  origin {
    origin_id                = local.site_origin
    domain_name              = aws_s3_bucket.site.bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.site.id
  }

  origin {
    origin_id   = local.alb_origin
    domain_name = var.alb_origin_domain_name

    # The internal ALB through its VPC origin (vpc_origin.tf), never over the internet.
    vpc_origin_config {
      vpc_origin_id            = aws_cloudfront_vpc_origin.alb.id
      origin_read_timeout      = 30
      origin_keepalive_timeout = 5
    }

    custom_header {
      name  = var.origin_verify_header_name
      value = local.origin_verify_values[var.origin_secret_active]
    }
  }

  default_cache_behavior {
    target_origin_id           = local.site_origin
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD", "OPTIONS"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = local.static_cache_policy_id
    response_headers_policy_id = local.response_headers_id
  }

  dynamic "ordered_cache_behavior" {
    for_each = var.api_path_patterns
    content {
      path_pattern               = ordered_cache_behavior.value
      target_origin_id           = local.alb_origin
      viewer_protocol_policy     = "redirect-to-https"
      allowed_methods            = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
      cached_methods             = ["GET", "HEAD"]
      compress                   = true
      cache_policy_id            = local.managed_caching_disabled
      origin_request_policy_id   = local.api_origin_request_id
      response_headers_policy_id = local.response_headers_id
    }
  }

  logging_config {
    bucket          = aws_s3_bucket.logs.bucket_domain_name
    prefix          = "cloudfront/"
    include_cookies = false
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = var.acm_certificate_arn == null
    acm_certificate_arn            = var.acm_certificate_arn
    ssl_support_method             = var.acm_certificate_arn == null ? null : "sni-only"
    minimum_protocol_version       = var.acm_certificate_arn == null ? null : "TLSv1.2_2021"
  }

  depends_on = [aws_s3_bucket_ownership_controls.logs]
}
