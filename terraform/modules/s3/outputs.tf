output "bucket_id" {
  description = "Name of the images bucket (IMAGES_BUCKET)."
  value       = aws_s3_bucket.images.id
}

output "bucket_arn" {
  description = "ARN of the images bucket."
  value       = aws_s3_bucket.images.arn
}

output "bucket_regional_domain_name" {
  description = "Regional domain name of the images bucket."
  value       = aws_s3_bucket.images.bucket_regional_domain_name
}

output "logs_bucket_id" {
  description = "Name of the access-log bucket."
  value       = aws_s3_bucket.logs.id
}
