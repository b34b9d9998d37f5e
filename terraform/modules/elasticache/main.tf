# Owns the Redis replication group used as an optional read cache (the
# services work without it): TLS in transit, KMS at rest, AUTH token, slow
# log to CloudWatch. Automatic failover and multi-AZ follow from having more
# than one node.
resource "aws_elasticache_subnet_group" "this" {
  name       = "${var.name_prefix}redis"
  subnet_ids = var.subnet_ids
}

resource "aws_cloudwatch_log_group" "slow" {
  name              = "/aws/elasticache/${var.name_prefix}redis/slow-log"
  retention_in_days = var.settings.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_elasticache_replication_group" "this" {
  #checkov:skip=CKV2_AWS_50:Failover and multi-AZ are on whenever num_cache_clusters > 1 (staging, prod); dev runs one node of an optional cache.
  replication_group_id = "${var.name_prefix}redis"
  description          = "Read cache of the shop services"
  engine               = "redis"
  engine_version       = "7.1"
  parameter_group_name = "default.redis7"
  node_type            = var.settings.node_type
  num_cache_clusters   = var.settings.num_cache_clusters
  port                 = 6379

  subnet_group_name  = aws_elasticache_subnet_group.this.name
  security_group_ids = [var.security_group_id]

  automatic_failover_enabled = var.settings.num_cache_clusters > 1
  multi_az_enabled           = var.settings.num_cache_clusters > 1

  at_rest_encryption_enabled = true
  kms_key_id                 = var.kms_key_arn
  transit_encryption_enabled = true
  auth_token                 = var.auth_token
  auth_token_update_strategy = "ROTATE"

  snapshot_retention_limit   = var.settings.snapshot_retention_limit
  snapshot_window            = "02:00-03:00"
  maintenance_window         = "sun:05:30-sun:06:30"
  auto_minor_version_upgrade = true
  apply_immediately          = false

  log_delivery_configuration {
    destination      = aws_cloudwatch_log_group.slow.name
    destination_type = "cloudwatch-logs"
    log_format       = "json"
    log_type         = "slow-log"
  }
}
