# Owns the generated credentials and the secrets that hold them: "db"
# ({username,password,host,port,dbname}, the shape DATABASE_SECRET_ID expects,
# host = the RDS Proxy endpoint) and "redis-auth" (the ElastiCache AUTH token).
# The values never leave Terraform state except through Secrets Manager.
#
# Rotation is not configured: RDS Proxy reads the secret on every new
# connection, so a rotation Lambda can be added later without code changes.

resource "random_password" "db" {
  length           = 32
  special          = true
  override_special = "!#$%^&*()-_=+[]{}<>:?"
}

# ElastiCache AUTH tokens: 16-128 characters, letters, digits and only the
# specials ! & # $ ^ < > - (CreateReplicationGroup rejects any other).
# tests/infra/test_deploy_guards.py holds this set to that rule.
resource "random_password" "redis" {
  length           = 64
  special          = true
  override_special = "!&#$^<>-"
  min_special      = 4
}

resource "aws_secretsmanager_secret" "db" {
  #checkov:skip=CKV2_AWS_57:No rotation Lambda yet; RDS Proxy re-reads the secret on each new connection, so rotation can be enabled without downtime (tracked as follow-up).
  name                    = "${var.name_prefix}db"
  description             = "PostgreSQL credentials {username,password,host,port,dbname}; host is the RDS Proxy endpoint."
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_in_days
}

resource "aws_secretsmanager_secret_version" "db" {
  secret_id = aws_secretsmanager_secret.db.id
  secret_string = jsonencode({
    username = var.database.username
    password = random_password.db.result
    host     = var.database.host
    port     = var.database.port
    dbname   = var.database.dbname
    engine   = "postgres"
  })
}

resource "aws_secretsmanager_secret" "redis" {
  #checkov:skip=CKV2_AWS_57:Rotating the ElastiCache AUTH token needs a coordinated ROTATE/SET on the replication group; done by a runbook, not automatically.
  name                    = "${var.name_prefix}redis-auth"
  description             = "ElastiCache Redis AUTH token {auth_token}."
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_in_days
}

resource "aws_secretsmanager_secret_version" "redis" {
  secret_id     = aws_secretsmanager_secret.redis.id
  secret_string = jsonencode({ auth_token = random_password.redis.result })
}
