output "repository_urls" {
  description = "Repository URL by service crate (<account>.dkr.ecr.<region>.amazonaws.com/shop-dev/users)."
  value       = { for k, r in aws_ecr_repository.this : k => r.repository_url }
}

output "repository_arns" {
  description = "Repository ARN by service crate."
  value       = { for k, r in aws_ecr_repository.this : k => r.arn }
}
