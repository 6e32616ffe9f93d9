variable "name" {
  description = "Prefix of every resource name, <project>-<env> (e.g. storefront-prod)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,40}$", var.name))
    error_message = "name must be 3-41 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "alb_origin_domain_name" {
  description = "Domain name CloudFront uses to reach the ALB: its DNS name, or the origin record (origin.<domain>) when the ALB has a certificate."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9.-]+$", var.alb_origin_domain_name))
    error_message = "alb_origin_domain_name must be a host name."
  }
}

variable "alb_arn" {
  description = "ARN of the internal ALB that serves the APIs; CloudFront reaches it through a VPC origin."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:loadbalancer/app/", var.alb_arn))
    error_message = "alb_arn must be the ARN of an Application Load Balancer."
  }
}

variable "alb_origin_protocol_policy" {
  description = "Protocol of the private VPC-origin hop: https-only when the ALB has a certificate matching alb_origin_domain_name, http-only otherwise."
  type        = string
  default     = "http-only"

  validation {
    condition     = contains(["http-only", "https-only"], var.alb_origin_protocol_policy)
    error_message = "alb_origin_protocol_policy must be http-only or https-only."
  }
}

variable "api_path_patterns" {
  description = "CloudFront path patterns routed to the ALB (one per service, from service.yaml path_prefix, e.g. /catalog/*)."
  type        = list(string)

  validation {
    condition     = length(var.api_path_patterns) > 0 && alltrue([for p in var.api_path_patterns : can(regex("^/[A-Za-z0-9._/-]+\\*?$", p))])
    error_message = "api_path_patterns must be non-empty paths starting with / (e.g. /catalog/*)."
  }
}

variable "api_forwarded_headers" {
  description = "Viewer headers CloudFront forwards to the APIs (Host is never forwarded: the ALB origin gets its own name)."
  type        = list(string)
  default = [
    "Accept", "Content-Type", "Idempotency-Key", "If-Match", "If-None-Match", "X-Api-Key", "X-Request-Id",
  ]

  validation {
    condition     = length(var.api_forwarded_headers) <= 10 && alltrue([for h in var.api_forwarded_headers : can(regex("^[A-Za-z0-9-]+$", h)) && lower(h) != "host"])
    error_message = "api_forwarded_headers: at most 10 header names (a CloudFront limit for a whitelist), never Host."
  }
}

variable "price_class" {
  description = "CloudFront price class: PriceClass_100 (Europe/North America), PriceClass_200, PriceClass_All."
  type        = string
  default     = "PriceClass_100"

  validation {
    condition     = contains(["PriceClass_100", "PriceClass_200", "PriceClass_All"], var.price_class)
    error_message = "price_class must be PriceClass_100, PriceClass_200 or PriceClass_All."
  }
}

variable "web_acl_arn" {
  description = "ARN of a CLOUDFRONT-scope WAF web ACL protecting the distribution (null: none)."
  type        = string
  default     = null
}

variable "aliases" {
  description = "Alternate domain names of the distribution (needs acm_certificate_arn). Empty: the default *.cloudfront.net name."
  type        = list(string)
  default     = []
}

variable "acm_certificate_arn" {
  description = "ACM certificate in us-east-1 covering aliases. With it, viewers need TLS 1.2 (TLSv1.2_2021) or newer."
  type        = string
  default     = null

  validation {
    condition     = length(var.aliases) == 0 || var.acm_certificate_arn != null
    error_message = "aliases need an acm_certificate_arn (us-east-1) covering them."
  }
}

variable "origin_verify_header_name" {
  description = "Header CloudFront adds to every request to the ALB; the ALB answers 403 without a valid value."
  type        = string
  default     = "X-Origin-Verify"

  validation {
    condition     = can(regex("^X-[A-Za-z0-9-]+$", var.origin_verify_header_name))
    error_message = "origin_verify_header_name must be a custom header name starting with X-."
  }
}

variable "origin_secret_name_prefix" {
  description = "Secrets Manager name prefix of the two origin secret slots (<prefix>ORIGIN_VERIFY_A and _B), e.g. storefront/prod/edge/."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9/_+=.@-]+/$", var.origin_secret_name_prefix))
    error_message = "origin_secret_name_prefix must be a Secrets Manager path ending with /."
  }
}

variable "origin_secret_active" {
  description = "Slot (a or b) whose value CloudFront sends. The ALB accepts both slots. See the rotation procedure in the module README."
  type        = string
  default     = "a"

  validation {
    condition     = contains(["a", "b"], var.origin_secret_active)
    error_message = "origin_secret_active must be a or b."
  }
}

variable "origin_secret_versions" {
  description = "Generation number of each slot's random value; raising a slot's number replaces its value with a new random one."
  type        = object({ a = number, b = number })
  default     = { a = 1, b = 1 }

  validation {
    condition     = var.origin_secret_versions.a >= 1 && var.origin_secret_versions.b >= 1
    error_message = "origin_secret_versions numbers start at 1."
  }
}

variable "secret_recovery_window_days" {
  description = "Days a deleted origin secret can be restored (0 deletes at once: only for throw-away environments)."
  type        = number
  default     = 7

  validation {
    condition     = var.secret_recovery_window_days == 0 || (var.secret_recovery_window_days >= 7 && var.secret_recovery_window_days <= 30)
    error_message = "secret_recovery_window_days must be 0 or 7-30."
  }
}

variable "deny_insecure_transport" {
  description = "Bucket policies deny every request not made over TLS (true everywhere on AWS; false only for an emulator served over plain HTTP)."
  type        = bool
  default     = true
}

variable "create_cdn_policies" {
  description = "Create our own cache, origin request and response headers policies (true everywhere on AWS). false falls back to the AWS managed policies (our emulator has these APIs: scripts/emu_cloudfront_policies.py)."
  type        = bool
  default     = true
}

variable "content_security_policy" {
  description = "Content-Security-Policy of every response: the static page loads only its own files and calls same-origin APIs. null: this default."
  type        = string
  nullable    = false
  default     = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'; upgrade-insecure-requests"

  validation {
    condition     = length(var.content_security_policy) > 0 && length(var.content_security_policy) <= 1783 && strcontains(var.content_security_policy, "frame-ancestors")
    error_message = "content_security_policy must be 1-1783 characters and set frame-ancestors."
  }
}

variable "strict_transport_security" {
  description = "HSTS of every response. null: two years, subdomains included, preload."
  type = object({
    max_age_seconds    = number
    include_subdomains = bool
    preload            = bool
  })
  nullable = false
  default = {
    max_age_seconds    = 63072000
    include_subdomains = true
    preload            = true
  }

  validation {
    condition     = var.strict_transport_security.max_age_seconds >= 31536000
    error_message = "strict_transport_security.max_age_seconds must be at least one year (31536000)."
  }
}

variable "referrer_policy" {
  description = "Referrer-Policy of every response. null: strict-origin-when-cross-origin."
  type        = string
  nullable    = false
  default     = "strict-origin-when-cross-origin"

  validation {
    condition     = contains(["no-referrer", "no-referrer-when-downgrade", "origin", "origin-when-cross-origin", "same-origin", "strict-origin", "strict-origin-when-cross-origin", "unsafe-url"], var.referrer_policy)
    error_message = "referrer_policy must be a Referrer-Policy value CloudFront accepts."
  }
}

variable "custom_response_headers" {
  description = "Further headers added to every response (name -> value). null: Permissions-Policy and Cross-Origin-Opener-Policy defaults."
  type        = map(string)
  nullable    = false
  default = {
    "Permissions-Policy"         = "camera=(), microphone=(), geolocation=(), payment=()"
    "Cross-Origin-Opener-Policy" = "same-origin"
  }

  validation {
    condition     = length(var.custom_response_headers) <= 10 && alltrue([for k in keys(var.custom_response_headers) : can(regex("^[A-Za-z0-9-]+$", k)) && !contains(["content-security-policy", "strict-transport-security", "x-content-type-options", "x-frame-options", "referrer-policy"], lower(k))])
    error_message = "custom_response_headers: at most 10 header names; the security headers have their own variables."
  }
}

variable "static_default_ttl_seconds" {
  description = "Cache time of static files that send no Cache-Control of their own."
  type        = number
  default     = 3600

  validation {
    condition     = var.static_default_ttl_seconds >= 0 && var.static_default_ttl_seconds <= 31536000
    error_message = "static_default_ttl_seconds must be 0-31536000."
  }
}

variable "log_retention_days" {
  description = "Days CloudFront and S3 access logs are kept in the log bucket."
  type        = number
  default     = 90

  validation {
    condition     = var.log_retention_days >= 1
    error_message = "log_retention_days must be at least 1."
  }
}

variable "force_destroy" {
  description = "Allow destroying the buckets with their objects (throw-away environments only)."
  type        = bool
  default     = false
}

variable "wait_for_deployment" {
  description = "Wait until CloudFront has deployed a change everywhere (needed for a safe origin secret rotation)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every resource (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}
