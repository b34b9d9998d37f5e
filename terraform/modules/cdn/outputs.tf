output "cloudfront_distribution_arn" {
  description = "ARN of the distribution (the bucket policy lets only it read the processed prefixes)."
  value       = aws_cloudfront_distribution.images.arn
}

output "cloudfront_distribution_id" {
  description = "Id of the distribution (for invalidations)."
  value       = aws_cloudfront_distribution.images.id
}

output "cloudfront_domain_name" {
  description = "cloudfront.net domain name of the distribution."
  value       = aws_cloudfront_distribution.images.domain_name
}

output "public_base_url" {
  description = "Base URL of image links (IMAGES_PUBLIC_BASE_URL): the custom domain when set, else the cloudfront.net name."
  value       = var.domain_name != "" ? "https://${var.domain_name}" : "https://${aws_cloudfront_distribution.images.domain_name}"
}
