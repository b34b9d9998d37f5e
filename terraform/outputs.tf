output "api_endpoint" {
  description = "Invoke URL of the HTTP API; clients call <api_endpoint>/v1/..."
  value       = module.api_gateway.api_endpoint
}

output "api_public_url" {
  description = "Public URL through CloudFront when domain_name is set, else the API endpoint."
  value       = var.domain_name == "" ? module.api_gateway.api_endpoint : module.edge[0].api_url
}

output "cognito_user_pool_id" {
  description = "Cognito user pool id (COGNITO_USER_POOL_ID)."
  value       = module.cognito.user_pool_id
}

output "cognito_app_client_id" {
  description = "Cognito app client id (COGNITO_CLIENT_ID)."
  value       = module.cognito.app_client_id
}

output "cognito_issuer" {
  description = "Token issuer (COGNITO_ISSUER)."
  value       = module.cognito.user_pool_issuer
}

output "state_machine_arn" {
  description = "ARN of checkout_workflow (CHECKOUT_STATE_MACHINE_ARN)."
  value       = module.step_functions.state_machine_arn
}

output "queue_urls" {
  description = "SQS queue URL by logical name."
  value       = module.sns_sqs.queue_urls
}

output "topic_arns" {
  description = "SNS topic ARN by logical name."
  value       = module.sns_sqs.topic_arns
}

output "dynamodb_table_names" {
  description = "DynamoDB table name by logical name."
  value       = module.dynamodb.table_names
}

output "dynamodb_table_prefix" {
  description = "DYNAMODB_TABLE_PREFIX of this environment."
  value       = local.name_prefix
}

output "s3_images_bucket_name" {
  description = "Images bucket (IMAGES_BUCKET)."
  value       = module.s3.bucket_id
}

output "ecr_repository_urls" {
  description = "ECR repository URL by service crate; the deploy workflow pushes <url>:<git sha>."
  value       = module.ecr.repository_urls
}

output "images_public_base_url" {
  description = "Base URL of image links (CloudFront with origin access control; IMAGES_PUBLIC_BASE_URL)."
  value       = module.cdn.public_base_url
}

output "images_cloudfront_distribution_id" {
  description = "Id of the images distribution (for invalidations)."
  value       = module.cdn.cloudfront_distribution_id
}

output "migrate_function_name" {
  description = "Function applying the database migrations; the deploy workflow invokes it once per deploy."
  value       = module.lambdas.migrate_function_name
}

output "lambda_reserved_concurrency_total" {
  description = "Sum of reserved concurrency in this environment (must leave 100 of lambda_account_concurrency_limit unreserved)."
  value       = module.lambdas.reserved_concurrency_total
}

output "lambda_function_names" {
  description = "Lambda function name by manifest function name."
  value       = module.lambdas.function_names
}

output "db_secret_arn" {
  description = "Secret with the database credentials (DATABASE_SECRET_ID)."
  value       = module.secrets.db_secret_arn
}

output "db_proxy_endpoint" {
  description = "RDS Proxy host name (migrations run against it from inside the VPC)."
  value       = module.rds.db_proxy_endpoint
}

output "redis_url" {
  description = "Redis URL without credentials (REDIS_URL)."
  value       = module.elasticache.redis_url
}

output "alarm_topic_arn" {
  description = "SNS topic receiving the CloudWatch alarms."
  value       = module.monitoring.alarm_topic_arn
}

output "vpc_id" {
  description = "Id of the VPC."
  value       = module.networking.vpc_id
}

output "cloudwatch_dashboard_name" {
  description = "CloudWatch dashboard of the services' metrics (requests, errors, latency, cache, checkouts, projection lag, images)."
  value       = module.monitoring.dashboard_name
}
