output "replication_group_id" {
  description = "Id of the replication group."
  value       = aws_elasticache_replication_group.this.id
}

output "replication_group_primary_endpoint_address" {
  description = "Primary endpoint host name."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "replication_group_port" {
  description = "Port of the replication group."
  value       = aws_elasticache_replication_group.this.port
}

output "redis_url" {
  description = "rediss:// URL without credentials (the token is in the redis-auth secret)."
  value       = "rediss://${aws_elasticache_replication_group.this.primary_endpoint_address}:${aws_elasticache_replication_group.this.port}"
}
