mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::mock-bucket", bucket_regional_domain_name = "mock-bucket.s3.eu-west-1.amazonaws.com", bucket_domain_name = "mock-bucket.s3.amazonaws.com" }
  }
  mock_resource "aws_cloudfront_distribution" {
    defaults = { arn = "arn:aws:cloudfront::123456789012:distribution/EMOCK" }
  }
  mock_resource "aws_cloudfront_vpc_origin" {
    defaults = { id = "vo_mock0123456789abcdef" }
  }
}

variables {
  name                      = "storefront-test"
  alb_origin_domain_name    = "internal-storefront-test-123.eu-west-1.elb.amazonaws.com"
  alb_arn                   = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/storefront-test-alb/50dc6c495c0c9188"
  api_path_patterns         = ["/catalog/*", "/orders/*"]
  origin_secret_name_prefix = "storefront/test/edge/"
  web_acl_arn               = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/t/abc"
}

run "routes_static_to_s3_and_apis_to_the_alb" {
  command = apply

  assert {
    condition     = length(aws_cloudfront_distribution.this.origin) == 2
    error_message = "the distribution needs the S3 and the ALB origins"
  }
  assert {
    condition     = aws_cloudfront_distribution.this.default_cache_behavior[0].target_origin_id == "s3-site"
    error_message = "the default behaviour must serve the static site"
  }
  assert {
    condition     = [for b in aws_cloudfront_distribution.this.ordered_cache_behavior : b.path_pattern] == ["/catalog/*", "/orders/*"]
    error_message = "one ordered behaviour per API path"
  }
  assert {
    condition     = alltrue([for b in aws_cloudfront_distribution.this.ordered_cache_behavior : b.target_origin_id == "alb-api" && b.cache_policy_id == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad" && length(b.allowed_methods) == 7])
    error_message = "API behaviours must go to the ALB, uncached, with every method"
  }
  assert {
    condition     = alltrue(concat([aws_cloudfront_distribution.this.default_cache_behavior[0].viewer_protocol_policy == "redirect-to-https"], [for b in aws_cloudfront_distribution.this.ordered_cache_behavior : b.viewer_protocol_policy == "redirect-to-https"]))
    error_message = "every behaviour must redirect HTTP to HTTPS"
  }
  assert {
    condition     = aws_cloudfront_distribution.this.http_version == "http2and3" && aws_cloudfront_distribution.this.web_acl_id != null
    error_message = "HTTP/3 and the WAF must be on"
  }
  assert {
    condition     = toset(aws_cloudfront_origin_request_policy.api[0].headers_config[0].headers[0].items) == toset(["Accept", "Content-Type", "Idempotency-Key", "If-Match", "If-None-Match", "X-Api-Key", "X-Request-Id"])
    error_message = "the API origin request policy must forward the headers the services read"
  }
  assert {
    condition     = aws_cloudfront_response_headers_policy.security[0].security_headers_config[0].frame_options[0].frame_option == "DENY"
    error_message = "frames must be denied"
  }
  assert {
    condition     = aws_cloudfront_response_headers_policy.security[0].security_headers_config[0].strict_transport_security[0].access_control_max_age_sec >= 31536000
    error_message = "HSTS must last at least a year"
  }
  assert {
    condition     = { for i in aws_cloudfront_response_headers_policy.security[0].custom_headers_config[0].items : i.header => i.value }["Cross-Origin-Opener-Policy"] == "same-origin"
    error_message = "the extra response headers must be set"
  }
  assert {
    condition     = [for h in one([for o in aws_cloudfront_distribution.this.origin : o if o.origin_id == "alb-api"]).custom_header : h.name] == ["X-Origin-Verify"]
    error_message = "CloudFront must add the origin secret header for the ALB"
  }
  assert {
    condition     = aws_cloudfront_distribution.this.viewer_certificate[0].cloudfront_default_certificate
    error_message = "without a certificate the default CloudFront certificate is used"
  }
  assert {
    condition     = one(one([for o in aws_cloudfront_distribution.this.origin : o if o.origin_id == "alb-api"]).vpc_origin_config).vpc_origin_id == aws_cloudfront_vpc_origin.alb.id && alltrue([for o in aws_cloudfront_distribution.this.origin : length(o.custom_origin_config) == 0])
    error_message = "the API origin must be the ALB's VPC origin, and no origin may be a custom (internet) origin"
  }
  assert {
    condition     = one(aws_cloudfront_vpc_origin.alb.vpc_origin_endpoint_config).arn == var.alb_arn && one(aws_cloudfront_vpc_origin.alb.vpc_origin_endpoint_config).origin_protocol_policy == "http-only"
    error_message = "without a certificate the VPC origin reaches the given ALB over its private HTTP hop"
  }
  assert {
    condition     = aws_s3_bucket_public_access_block.site.block_public_policy && aws_s3_bucket_public_access_block.site.restrict_public_buckets && aws_s3_bucket_public_access_block.site.block_public_acls && aws_s3_bucket_public_access_block.site.ignore_public_acls
    error_message = "the site bucket must block every kind of public access"
  }
  assert {
    condition     = aws_s3_bucket_versioning.site.versioning_configuration[0].status == "Enabled"
    error_message = "the site bucket must be versioned"
  }
  assert {
    condition     = one(aws_s3_bucket_server_side_encryption_configuration.site.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "AES256" && one(aws_s3_bucket_server_side_encryption_configuration.logs.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "AES256"
    error_message = "the site and log buckets must be encrypted (SSE-S3), stated in the configuration"
  }
  assert {
    condition     = length(aws_secretsmanager_secret.origin_verify) == 2
    error_message = "two origin secret slots are needed for a rotation without downtime"
  }
}

run "bucket_policy_admits_only_this_distribution" {
  command = apply

  assert {
    condition     = jsondecode(aws_s3_bucket_policy.site.policy).Statement[0].Condition.StringEquals["AWS:SourceArn"] == "arn:aws:cloudfront::123456789012:distribution/EMOCK"
    error_message = "the bucket policy must name this distribution only"
  }
  assert {
    condition     = jsondecode(aws_s3_bucket_policy.site.policy).Statement[0].Action == "s3:GetObject"
    error_message = "CloudFront may only read objects"
  }
  assert {
    condition     = length(jsondecode(aws_s3_bucket_policy.site.policy).Statement) == 2 && jsondecode(aws_s3_bucket_policy.site.policy).Statement[1].Condition.Bool["aws:SecureTransport"] == "false"
    error_message = "the site bucket must deny requests without TLS"
  }
  assert {
    condition     = length(nonsensitive(output.origin_verify_values)) == 2
    error_message = "the ALB must receive both slot values"
  }
}

run "custom_domain_enforces_tls12" {
  command = plan

  variables {
    aliases                    = ["shop.example.com"]
    acm_certificate_arn        = "arn:aws:acm:us-east-1:123456789012:certificate/abc"
    alb_origin_domain_name     = "origin.shop.example.com"
    alb_origin_protocol_policy = "https-only"
  }

  assert {
    condition     = aws_cloudfront_distribution.this.viewer_certificate[0].minimum_protocol_version == "TLSv1.2_2021" && aws_cloudfront_distribution.this.viewer_certificate[0].ssl_support_method == "sni-only"
    error_message = "a custom domain must require TLS 1.2 (2021 policy) with SNI"
  }
  assert {
    condition     = one(aws_cloudfront_vpc_origin.alb.vpc_origin_endpoint_config).origin_protocol_policy == "https-only" && one(one(aws_cloudfront_vpc_origin.alb.vpc_origin_endpoint_config).origin_ssl_protocols).items == toset(["TLSv1.2"])
    error_message = "with the ALB's certificate the VPC origin speaks TLS 1.2 only"
  }
}

run "emulator_mode_uses_managed_policies" {
  command = plan

  variables {
    create_cdn_policies = false
  }

  assert {
    condition     = length(aws_cloudfront_cache_policy.static) == 0 && aws_cloudfront_distribution.this.default_cache_behavior[0].cache_policy_id == "658327ea-f89d-4fab-a63d-7e88639e58f6"
    error_message = "without own policies the managed CachingOptimized policy serves the static site"
  }
}

run "rejects_bad_inputs" {
  command = plan

  variables {
    name                      = "Storefront_Test"
    api_path_patterns         = ["catalog/*"]
    price_class               = "PriceClass_Cheap"
    aliases                   = ["shop.example.com"]
    origin_secret_active      = "c"
    origin_verify_header_name = "Origin-Verify"
    api_forwarded_headers     = ["Host"]
    referrer_policy           = "never"
    custom_response_headers   = { "X-Frame-Options" = "SAMEORIGIN" }
  }

  expect_failures = [
    var.name,
    var.api_path_patterns,
    var.price_class,
    var.acm_certificate_arn,
    var.origin_secret_active,
    var.origin_verify_header_name,
    var.api_forwarded_headers,
    var.referrer_policy,
    var.custom_response_headers,
  ]
}
