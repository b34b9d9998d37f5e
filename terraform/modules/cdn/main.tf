# Owns the public delivery of the processed images: a CloudFront distribution
# in front of the private images bucket with origin access control (SigV4
# signed requests from CloudFront only), always on, on its cloudfront.net name
# or an optional custom domain (ACM certificate in us-east-1, DNS-validated,
# Route 53 alias). It must not grant the bucket policy itself: the s3 module
# lets this distribution read the processed prefixes only, so raw/ uploads are
# never served.
locals {
  custom_domain = var.domain_name != ""
}

resource "aws_cloudfront_origin_access_control" "images" {
  name                              = "${var.name_prefix}images"
  description                       = "CloudFront reads the processed images of ${var.bucket_name}"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

data "aws_cloudfront_cache_policy" "optimized" {
  name = "Managed-CachingOptimized"
}

data "aws_cloudfront_response_headers_policy" "security" {
  name = "Managed-SecurityHeadersPolicy"
}

resource "aws_acm_certificate" "images" {
  count             = local.custom_domain ? 1 : 0
  provider          = aws.us_east_1
  domain_name       = var.domain_name
  validation_method = "DNS"

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_route53_record" "validation" {
  for_each = {
    for o in flatten([for c in aws_acm_certificate.images : tolist(c.domain_validation_options)]) : o.domain_name => {
      name   = o.resource_record_name
      type   = o.resource_record_type
      record = o.resource_record_value
    }
  }

  zone_id         = var.hosted_zone_id
  name            = each.value.name
  type            = each.value.type
  records         = [each.value.record]
  ttl             = 300
  allow_overwrite = true
}

resource "aws_acm_certificate_validation" "images" {
  count                   = local.custom_domain ? 1 : 0
  provider                = aws.us_east_1
  certificate_arn         = aws_acm_certificate.images[0].arn
  validation_record_fqdns = [for r in aws_route53_record.validation : r.fqdn]
}

resource "aws_cloudfront_distribution" "images" {
  #checkov:skip=CKV_AWS_86:Image delivery is public, cacheable and anonymous; standard logs would need an ACL-enabled bucket and hold nothing the S3 access logs and CloudFront metrics do not.
  #checkov:skip=CKV_AWS_310:A single bucket is the only origin; there is no secondary origin to fail over to.
  #checkov:skip=CKV_AWS_305:The distribution serves image objects by key; there is no root document.
  #checkov:skip=CKV_AWS_374:The shop sells world-wide; no geo restriction.
  #checkov:skip=CKV_AWS_68:Only cached GET/HEAD of public image files reach this distribution (no API, no writes); the API's edge has the WAF.
  #checkov:skip=CKV2_AWS_47:No WAF here (see CKV_AWS_68): the origin is S3 serving JPEGs, not an application that could be vulnerable to Log4j.
  #checkov:skip=CKV2_AWS_42:The custom domain is optional; without it the distribution uses its cloudfront.net certificate.
  #checkov:skip=CKV_AWS_174:With the default cloudfront.net certificate CloudFront fixes the TLS policy; a custom domain sets TLSv1.2_2021.
  enabled         = true
  is_ipv6_enabled = true
  comment         = "${var.name_prefix}images"
  aliases         = local.custom_domain ? [var.domain_name] : []
  price_class     = var.price_class
  http_version    = "http2and3"

  origin {
    origin_id                = "images"
    domain_name              = var.bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.images.id
  }

  default_cache_behavior {
    target_origin_id           = "images"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD", "OPTIONS"]
    cached_methods             = ["GET", "HEAD"]
    cache_policy_id            = data.aws_cloudfront_cache_policy.optimized.id
    response_headers_policy_id = data.aws_cloudfront_response_headers_policy.security.id
    compress                   = true
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = !local.custom_domain
    acm_certificate_arn            = local.custom_domain ? aws_acm_certificate_validation.images[0].certificate_arn : null
    ssl_support_method             = local.custom_domain ? "sni-only" : null
    minimum_protocol_version       = local.custom_domain ? "TLSv1.2_2021" : "TLSv1"
  }
}

resource "aws_route53_record" "alias" {
  for_each = local.custom_domain ? toset(["A", "AAAA"]) : toset([])
  zone_id  = var.hosted_zone_id
  name     = var.domain_name
  type     = each.key

  alias {
    name                   = aws_cloudfront_distribution.images.domain_name
    zone_id                = aws_cloudfront_distribution.images.hosted_zone_id
    evaluate_target_health = false
  }
}
