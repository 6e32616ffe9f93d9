# The load balancer module with a mocked AWS provider.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_elb_service_account" {
    defaults = { arn = "arn:aws:iam::156460612806:root" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_resource "aws_lb" {
    defaults = {
      arn        = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/storefront-test-alb/50dc6c495c0c9188"
      arn_suffix = "app/storefront-test-alb/50dc6c495c0c9188"
    }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::storefront-test-alb-logs-123456789012" }
  }
  mock_resource "aws_lb_listener" {
    defaults = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/storefront-test-alb/50dc6c495c0c9188/f2f7dc8efc522ab2" }
  }
  mock_resource "aws_lb_target_group" {
    defaults = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/storefront-test/73e2d6bc24d8a067" }
  }
}

variables {
  name       = "storefront-test"
  vpc_id     = "vpc-0123456789abcdef0"
  subnet_ids = ["subnet-0a", "subnet-0b"]
  routes = {
    catalog = {
      path_prefix    = "/catalog", port = 8081, health_path = "/catalog/health", priority = 100
      internal_paths = ["/catalog/products/*/reservations", "/catalog/products/*/reservations/*"]
    }
    orders = { path_prefix = "/orders", port = 8082, health_path = "/orders/health", priority = 110 }
  }
}

run "internal_paths_are_a_404_before_the_service_rule" {
  command = apply

  assert {
    condition     = keys(aws_lb_listener_rule.internal) == ["catalog"]
    error_message = "One internal-path rule, for the service that declares internal paths."
  }

  assert {
    condition     = aws_lb_listener_rule.internal["catalog"].priority < aws_lb_listener_rule.route["catalog"].priority
    error_message = "The internal-path rule must be evaluated before the service's forward rule."
  }

  assert {
    condition     = toset(one(aws_lb_listener_rule.internal["catalog"].condition).path_pattern[0].values) == toset(["/catalog/products/*/reservations", "/catalog/products/*/reservations/*"])
    error_message = "The internal-path rule matches the declared paths."
  }

  assert {
    condition     = one(aws_lb_listener_rule.internal["catalog"].action).type == "fixed-response" && one(aws_lb_listener_rule.internal["catalog"].action).fixed_response[0].status_code == "404" && one(aws_lb_listener_rule.internal["catalog"].action).fixed_response[0].content_type == "application/json"
    error_message = "Internal paths answer a JSON 404 at the load balancer."
  }
}

run "http_only_without_certificate" {
  command = apply

  assert {
    condition     = aws_lb.this.internal && aws_lb.this.load_balancer_type == "application" && aws_lb.this.drop_invalid_header_fields
    error_message = "An internal ALB (the default) dropping invalid headers expected."
  }

  assert {
    condition     = toset(aws_lb.this.subnets) == toset(["subnet-0a", "subnet-0b"])
    error_message = "The ALB must sit in every subnet given."
  }

  assert {
    condition     = length(aws_lb_listener.https) == 0 && aws_lb_listener.http.default_action[0].fixed_response[0].status_code == "404"
    error_message = "Without a certificate: HTTP listener with a fixed 404 default."
  }

  assert {
    condition     = aws_lb.this.access_logs[0].enabled && aws_lb.this.access_logs[0].bucket == aws_s3_bucket.logs.id
    error_message = "Access logs must go to the module's bucket."
  }

  assert {
    condition     = one(aws_s3_bucket_server_side_encryption_configuration.logs.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "AES256"
    error_message = "The access log bucket must be encrypted."
  }

  assert {
    condition     = aws_s3_bucket_public_access_block.logs.block_public_acls && aws_s3_bucket_public_access_block.logs.restrict_public_buckets
    error_message = "The access log bucket must block public access."
  }

  assert {
    condition     = toset(keys(aws_vpc_security_group_ingress_rule.this)) == toset(["80-0.0.0.0/0", "443-0.0.0.0/0"])
    error_message = "Ingress defaults to 80 and 443 from anywhere."
  }

  assert {
    condition     = aws_lb_listener_rule.route["catalog"].priority == 100 && toset(one(aws_lb_listener_rule.route["catalog"].condition).path_pattern[0].values) == toset(["/catalog", "/catalog/*"])
    error_message = "One path rule per service on its prefix."
  }

  assert {
    condition     = aws_lb_listener_rule.route["orders"].listener_arn == aws_lb_listener.http.arn
    error_message = "Without HTTPS, rules live on the HTTP listener."
  }

  assert {
    condition     = aws_lb_target_group.route["orders"].health_check[0].path == "/orders/health" && aws_lb_target_group.route["orders"].port == 8082 && aws_lb_target_group.route["orders"].target_type == "ip"
    error_message = "Target groups use the service's port and health path, IP targets."
  }

  assert {
    condition     = aws_lb_target_group.route["orders"].deregistration_delay == "15"
    error_message = "Short deregistration delay expected."
  }

  assert {
    condition     = aws_lb_target_group.route["orders"].health_check[0].interval == 5 && aws_lb_target_group.route["orders"].health_check[0].timeout < aws_lb_target_group.route["orders"].health_check[0].interval && aws_lb_target_group.route["orders"].health_check[0].unhealthy_threshold == 3
    error_message = "Health checks every 5 s, timeout under the interval, 3 failures to take a target out."
  }

  assert {
    condition     = aws_lb.this.enable_deletion_protection
    error_message = "Deletion protection is on by default."
  }
}

run "https_with_certificate_redirects_http" {
  command = apply

  variables {
    certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/4f0bb1b4-36b9-4e4d-a9c2-2d1f3e0f6a11"
  }

  assert {
    condition     = length(aws_lb_listener.https) == 1 && aws_lb_listener.https[0].port == 443 && aws_lb_listener.https[0].default_action[0].fixed_response[0].status_code == "404"
    error_message = "With a certificate: HTTPS listener with a fixed 404 default."
  }

  assert {
    condition     = aws_lb_listener.http.default_action[0].type == "redirect" && aws_lb_listener.http.default_action[0].redirect[0].protocol == "HTTPS"
    error_message = "HTTP must redirect to HTTPS."
  }

  assert {
    condition     = output.listener_arn == aws_lb_listener.https[0].arn && aws_lb_listener_rule.route["catalog"].listener_arn == aws_lb_listener.https[0].arn
    error_message = "Path rules must live on the HTTPS listener."
  }
}

run "edge_can_tighten_ingress_and_require_origin_header" {
  command = plan

  variables {
    ingress_prefix_list_ids = ["pl-4fa04526"]
    origin_verify_header    = { name = "X-Origin-Verify", values = ["not-a-real-value", "previous-value"] }
  }

  assert {
    condition     = toset(keys(aws_vpc_security_group_ingress_rule.this)) == toset(["80-pl-4fa04526"]) && alltrue([for r in aws_vpc_security_group_ingress_rule.this : r.cidr_ipv4 == null])
    error_message = "Prefix lists must replace the open CIDR ingress, on the serving port only."
  }

  assert {
    condition     = length(aws_lb_listener_rule.route["catalog"].condition) == 2
    error_message = "With an origin header, each rule also matches the header."
  }

  assert {
    condition     = aws_lb_listener.http.default_action[0].fixed_response[0].status_code == "403"
    error_message = "With an origin header, requests without it are refused with 403."
  }
}

run "single_subnet_is_refused" {
  command = plan

  variables {
    subnet_ids = ["subnet-0a"]
  }

  expect_failures = [var.subnet_ids]
}

run "duplicate_priorities_are_refused" {
  command = plan

  variables {
    routes = {
      catalog = { path_prefix = "/catalog", port = 8081, health_path = "/catalog/health", priority = 100 }
      orders  = { path_prefix = "/orders", port = 8082, health_path = "/orders/health", priority = 100 }
    }
  }

  expect_failures = [var.routes]
}

run "health_path_outside_prefix_is_refused" {
  command = plan

  variables {
    routes = {
      catalog = { path_prefix = "/catalog", port = 8081, health_path = "/health", priority = 100 }
    }
  }

  expect_failures = [var.routes]
}

run "bad_certificate_arn_is_refused" {
  command = plan

  variables {
    certificate_arn = "not-an-arn"
  }

  expect_failures = [var.certificate_arn]
}

run "internet_facing_only_when_asked" {
  command = plan

  variables {
    internal = false
  }

  assert {
    condition     = !aws_lb.this.internal
    error_message = "internal = false must give an internet-facing ALB."
  }
}
