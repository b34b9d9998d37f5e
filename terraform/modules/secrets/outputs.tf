output "db_secret_arn" {
  description = "ARN of the db secret (DATABASE_SECRET_ID)."
  value       = aws_secretsmanager_secret.db.arn
}

output "db_secret_name" {
  description = "Name of the db secret."
  value       = aws_secretsmanager_secret.db.name
}

output "db_password" {
  description = "Generated master password (for the RDS instance only)."
  value       = random_password.db.result
  sensitive   = true
}

output "redis_secret_arn" {
  description = "ARN of the Redis AUTH token secret (REDIS_AUTH_SECRET_ID)."
  value       = aws_secretsmanager_secret.redis.arn
}

output "redis_auth_token" {
  description = "Generated Redis AUTH token (for the replication group only)."
  value       = random_password.redis.result
  sensitive   = true
}
