output "cloudfront_distribution_id" {
  description = "Id of the CloudFront distribution."
  value       = aws_cloudfront_distribution.this.id
}

output "cloudfront_domain_name" {
  description = "CloudFront domain name of the distribution."
  value       = aws_cloudfront_distribution.this.domain_name
}

output "acm_certificate_arn" {
  description = "ARN of the validated certificate (us-east-1)."
  value       = aws_acm_certificate_validation.this.certificate_arn
}

output "api_url" {
  description = "Public base URL of the API through the edge."
  value       = "https://${var.domain_name}"
}
