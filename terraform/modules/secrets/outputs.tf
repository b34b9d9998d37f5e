output "db_secret_arn" {
  description = "ARN of the db secret (DATABASE_SECRET_ID)."
  value       = aws_secretsmanager_secret.db.arn
}

output "db_secret_name" {
  description = "Name of the db secret."
  value       = aws_secretsmanager_secret.db.name
}

output "db_password" {
  description = "Master password read back from the db secret (for the RDS instance's write-only password only)."
  value       = jsondecode(data.aws_secretsmanager_secret_version.db.secret_string).password
  sensitive   = true
}

output "redis_secret_arn" {
  description = "ARN of the Redis AUTH token secret (REDIS_AUTH_SECRET_ID)."
  value       = aws_secretsmanager_secret.redis.arn
}

output "redis_auth_token" {
  description = "Generated Redis AUTH token (for the replication group only)."
  value       = jsondecode(data.aws_secretsmanager_secret_version.redis.secret_string).auth_token
  sensitive   = true
}

output "credentials_version" {
  description = "Version of the generated credentials (the write-only version of the database's master password)."
  value       = var.credentials_version
}
